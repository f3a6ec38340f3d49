"""A clinic hardens morphine's largest single decrease and largest single bolus: a pharmacist adds
the hard limit, a physician approves it (four eyes), and from then on a prescription that cuts
the running morphine by more, or gives a patient bolus (PTM) above it, is refused naming the
clinic limit and its source, with nothing written; one at the limit is signed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from frozen import NOW, at, day
from hard_stops import every_rule
from painpump.clinic.actions import implantation, library, patients, prescriptions, refills
from painpump.clinic.models import AuditEntry, ClinicLimit, Implant, Prescription
from painpump.clinic.reads import prescription_history
from painpump.clinic.reads.clinic_limits import as_limit
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core import prescription as rx
from painpump.core.clinic_limits import parse_value
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
RUNNING = "2 mg/day"
POLICY = "Opioid policy v3, section 4"
REASON = "agreed with the patient's oncologist at the visit"


def continuous(daily: str) -> rx.PrescribedProgram:
    return rx.PrescribedProgram.continuous(parse(daily, Kind.DOSE_RATE, "d"))


def sign(
    physician: User, implant: Implant, value: rx.Prescription, now: datetime, **reasons: str
) -> Prescription:
    return prescriptions.prescribe(
        physician,
        implant.id,
        value,
        reason="change agreed at the visit",
        now=now,
        expected_version=Implant.objects.get(id=implant.id).version,
        overrides=reasons,
    )


def sign_with_reasons(
    physician: User, implant: Implant, value: rx.Prescription, now: datetime
) -> Prescription:
    """Signed with a reason for every warning its preview shows (none is a clinic limit's)."""
    preview = prescription_history.preview_prescription(physician, implant.id, value, at=now)
    assert preview.stop is None
    return sign(physician, implant, value, now, **{w.rule: REASON for w in preview.warnings})


@pytest.fixture
def morphine_pump(physician: User, nurse: User, pharmacist: User) -> Implant:
    """An opioid-tolerant tumour-pain patient's pump, filled with morphine 10 mg/mL two days ago
    and running 2 mg/day since."""
    patient = patients.create_patient(
        nurse,
        mrn="MRN-CUT",
        family_name="Kurz",
        given_name="Karla",
        birth_date=date(1956, 6, 6),
        today=day(-40),
        opioid_status="tolerant",
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-60)
    )
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=at(-30, 9),
        pump_model="synchromed-ii-20",
        pump_serial="NGP-CUT",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=day(-30),
    )
    signed_at = at(-2)
    first = rx.Prescription(MORPHINE, continuous(RUNNING))
    record = sign_with_reasons(physician, implant, first, signed_at)
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(MORPHINE, continuous(RUNNING), None),
        accept=True,
        comment="",
        now=signed_at + timedelta(minutes=30),
    )
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="first-fill",
        performed_at=signed_at + timedelta(hours=1),
        expected=None,
        aspirated=None,
        fill=Fill(MORPHINE, parse("20 mL", Kind.VOLUME, "v"), "LOT-1"),
    )
    return implant


def harden(pharmacist: User, approver: User, rule: str, value: str) -> ClinicLimit:
    """A hard clinic limit of morphine set by `pharmacist` and approved by `approver`."""
    row = library.add_limit(
        pharmacist,
        drug="morphine",
        rule=rule,
        value=parse_value(rule, value),
        severity="hard",
        source=POLICY,
        idempotency_key=str(uuid4()),
    )
    assert row.pending  # not applied before its second approver
    return library.approve_limit(approver, row.id, expected_version=row.version)


def written() -> tuple[int, int]:
    return Prescription.objects.count(), AuditEntry.objects.count()


def test_a_hard_clinic_decrease_limit_refuses_a_35_percent_morphine_cut_and_writes_nothing(
    morphine_pump: Implant, physician: User, pharmacist: User
) -> None:
    row = harden(pharmacist, physician, "max_decrease_percent", "30 %")
    assert (row.approved_by, row.set_by) == ("dr.house", "pharma.cist")
    before = written()
    cut = rx.Prescription(MORPHINE, continuous("1.3 mg/day"))  # 35 % less than 2 mg/day
    with pytest.raises(Refusal) as caught:
        sign(physician, morphine_pump, cut, NOW, **every_rule(), max_decrease_percent=REASON)
    refusal = caught.value
    assert (refusal.field, refusal.value) == (
        "dose",
        "morphine 10 mg/mL, 1.3 mg/day (= 1300 mcg/day)",
    )
    assert refusal.problem == (
        "is stopped by clinic_max_decrease_percent: a cut of 35.00 % of morphine in one change "
        "(from 2 mg/day to 1.3 mg/day) exceeds the clinic's largest single decrease, 30 % "
        "(opioid withdrawal or a pain crisis; a slip of units?): taper in smaller steps"
    )
    assert refusal.limit == "<= 30 % less (hard limit: no override)"
    assert refusal.source.startswith(f"clinic policy: {POLICY} (clinic limit set by pharma.cist")
    assert written() == before
    # a cut of exactly 30 % is within it
    at_limit = sign_with_reasons(
        physician, morphine_pump, rx.Prescription(MORPHINE, continuous("1.4 mg/day")), NOW
    )
    assert at_limit.daily_dose_mcg_per_day == Decimal(1400)


def test_a_hard_clinic_bolus_limit_refuses_a_larger_patient_bolus_and_writes_nothing(
    morphine_pump: Implant, physician: User, pharmacist: User
) -> None:
    harden(pharmacist, physician, "max_single_bolus", "0.3 mg")
    before = written()

    def with_bolus(dose: str) -> rx.Prescription:
        ptm = rx.patient_bolus(dose, "10 min", "24 hour", "1")
        return rx.Prescription(MORPHINE, continuous(RUNNING), ptm)

    with pytest.raises(Refusal) as caught:
        sign(physician, morphine_pump, with_bolus("0.4 mg"), NOW, **every_rule())
    refusal = caught.value
    assert (refusal.field, refusal.value) == (
        "ptm.dose",
        "morphine 10 mg/mL: a patient bolus of 0.4 mg",
    )
    assert refusal.problem == (
        "is stopped by clinic_max_single_bolus: a patient bolus of 0.4 mg morphine exceeds the "
        "clinic's largest single bolus 0.3 mg"
    )
    assert refusal.limit == "<= 0.3 mg a single bolus (hard limit: no override)"
    assert refusal.source.startswith(f"clinic policy: {POLICY} (clinic limit set by pharma.cist")
    assert written() == before
    signed = sign_with_reasons(physician, morphine_pump, with_bolus("0.3 mg"), NOW)
    assert signed.ptm_dose_mcg == Decimal(300)


def test_regression_a_stored_percentage_limit_reads_without_the_databases_trailing_zeros() -> None:
    """Regression: a clinic's 20 % read back from its six-place column was worded "20.000000 %"
    in every message naming it."""
    row = ClinicLimit.objects.create(
        drug="morphine",
        rule="max_step_percent",
        value=Decimal("20"),
        unit="%",
        severity="soft",
        source=POLICY,
        set_by="pharma.cist",
        set_at=NOW,
    )
    row.refresh_from_db()
    assert as_limit(row).text() == "20 %"
