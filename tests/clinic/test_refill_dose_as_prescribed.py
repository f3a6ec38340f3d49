"""A refill's dose that differs from the prescription is refused with the prescribed dose in the
drug's own unit (morphine in mg, the canonical mcg after), never in mcg alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, implanted_pump
from flex_pump import BACLOFEN, flex_ptm_pump
from painpump.clinic.models import Implant, Patient
from painpump.clinic.reads.prescriptions import executed_prescription
from painpump.clinic.testing import prescribed
from painpump.core.errors import Refusal
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

MORPHINE = Fill(
    drugs=(("morphine", parse("20 mg/mL", Kind.CONCENTRATION, "c")),),
    volume=parse("20 mL", Kind.VOLUME, "v"),
    lot="LOT-M",
)


def morphine_pump(
    physician: User, pharmacist: User, patient: Patient, serial: str, dose: str
) -> Implant:
    """A pump implanted for `patient` with morphine 20 mg/mL prescribed at `dose` and
    double-checked, ready for its first fill."""
    implant = implanted_pump(physician, patient.id, serial)
    prescribed(
        physician,
        pharmacist,
        implant.id,
        MORPHINE,
        parse(dose, Kind.DOSE_RATE, "d"),
        at=FIRST_FILL - timedelta(hours=1),
        overrides={"max_start_dose": "opioid-tolerant patient on this dose by mouth equivalent"},
    )
    return implant


def test_a_morphine_dose_other_than_prescribed_is_refused_naming_the_dose_in_mg(
    patient: Patient, physician: User, pharmacist: User
) -> None:
    implant = morphine_pump(physician, pharmacist, patient, "NGP-MG", "3.3166667 mg/day")
    with pytest.raises(Refusal) as caught:
        executed_prescription(implant, MORPHINE, parse("4 mg/day", Kind.DOSE_RATE, "d"))
    assert caught.value.field == "dose"
    assert caught.value.limit.startswith(
        "3.316667 mg/day (= 3316.667 mcg/day) as prescribed (prescription #1 by dr.house"
    )


def test_a_dose_typed_for_a_flex_prescription_is_refused_asking_for_none_not_its_largest_day(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """The reviewer's case: "limit: 510 mcg/day as prescribed", the flex program's largest day,
    read as a dose to program."""
    flex = flex_ptm_pump(implant, physician, pharmacist, nurse)
    fill = Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "v"), "LOT-9")
    with pytest.raises(Refusal) as caught:
        executed_prescription(flex, fill, parse("600 mcg/day", Kind.DOSE_RATE, "d"))
    assert caught.value.field == "dose"
    assert caught.value.limit.startswith(
        "none: leave it empty, the refill programs the flex program as prescribed (prescription "
        "#2 by dr.house"
    )
    assert "480 mcg/day" not in caught.value.limit


def test_a_dose_a_thousand_times_off_the_prescribed_one_is_named_a_likely_unit_slip(
    patient: Patient, physician: User, pharmacist: User
) -> None:
    implant = morphine_pump(physician, pharmacist, patient, "NGP-SLIP", "3 mg/day")
    with pytest.raises(Refusal) as caught:
        executed_prescription(implant, MORPHINE, parse("3 mcg/day", Kind.DOSE_RATE, "d"))
    assert caught.value.problem == (
        "differs from the prescription by a factor of 1000: it may be a unit slip (mg vs mcg); "
        "read the unit on the order again"
    )


def test_a_dose_rounding_to_the_prescribed_one_is_shown_unrounded_where_it_differs(
    patient: Patient, physician: User, pharmacist: User
) -> None:
    """The reviewer's case: 339.583333 mcg/h was refused as "8150 mcg/day differs from ...
    8150 mcg/day"."""
    implant = morphine_pump(physician, pharmacist, patient, "NGP-ROUND", "8.15 mg/day")
    with pytest.raises(Refusal) as caught:
        executed_prescription(implant, MORPHINE, parse("339.583333 mcg/h", Kind.DOSE_RATE, "d"))
    assert caught.value.value == "8149.999992 mcg/day"
