"""A refill's dose that differs from the prescription is refused with the prescribed dose in the
drug's own unit (morphine in mg, the canonical mcg after), never in mcg alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, implanted_pump
from painpump.clinic.models import Patient
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


def test_a_morphine_dose_other_than_prescribed_is_refused_naming_the_dose_in_mg(
    patient: Patient, physician: User, pharmacist: User
) -> None:
    implant = implanted_pump(physician, patient.id, "NGP-MG")
    prescribed(
        physician,
        pharmacist,
        implant.id,
        MORPHINE,
        parse("3.3166667 mg/day", Kind.DOSE_RATE, "d"),
        at=FIRST_FILL - timedelta(hours=1),
        overrides={"max_start_dose": "opioid-tolerant patient on this dose by mouth equivalent"},
    )
    with pytest.raises(Refusal) as caught:
        executed_prescription(implant, MORPHINE, parse("4 mg/day", Kind.DOSE_RATE, "d"))
    assert caught.value.field == "dose"
    assert caught.value.limit.startswith(
        "3.316667 mg/day (= 3316.667 mcg/day) as prescribed (prescription #1 by dr.house"
    )
