"""The clinical reviewer's morphine pumps: a prescription signed while a clinic limit was soft (its
warning passed with the prescriber's reason) and double-checked, then the limit hardened by a
pharmacist and approved by a physician. The programming and the refill that execute the
prescription are refused naming the clinic limit, its value and source, with nothing written;
a limit that stayed soft passes with the prescriber's reason, and one made soft after signing
needs a reason typed where the prescription is executed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from frozen import NOW, at, day
from painpump.clinic.actions import implantation, library, patients, prescriptions, refills
from painpump.clinic.actions.programs import program_pump
from painpump.clinic.models import AuditEntry, ClinicLimit, Implant, Prescription, Program, Refill
from painpump.clinic.reads import prescription_history, pump_history
from painpump.clinic.reads.refill_preview import preview_refill
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core import prescription as rx
from painpump.core.clinic_limits import parse_value
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse, round_places

pytestmark = pytest.mark.django_db

MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
POLICY = "Opioid policy v3, section 4"
REASON = "agreed with the patient's oncologist at the visit"
BOLUS, DECREASE = "max_single_bolus", "max_decrease_percent"


def flex(*steps: tuple[str, str]) -> rx.PrescribedProgram:
    return rx.flex_program(
        [
            rx.step_row("every day", start, dose, f"steps[{i}]")
            for i, (start, dose) in enumerate(steps)
        ]
    )


RUNNING = flex(("00:00", "2.8 mg/day"), ("08:00", "3.4 mg/day"), ("20:00", "2.8 mg/day"))
"""3.1 mg/day over the day, 3.4 mg/day from 08:00 to 20:00."""
WITH_BOLUS = rx.Prescription(
    MORPHINE,
    flex(("00:00", "2.5 mg/day"), ("08:00", "2.7 mg/day"), ("20:00", "2.5 mg/day")),
    rx.patient_bolus("0.35 mg", "10 min", "4 hour", "3"),
)
CUT = rx.Prescription(
    MORPHINE, rx.PrescribedProgram.continuous(parse("2.6 mg/day", Kind.DOSE_RATE, "d"))
)
"""16.13 % less over the day than RUNNING, but 23.53 % less from 08:00."""
SIGNED = at(-1, 9)
CHECKED = SIGNED + timedelta(minutes=30)


def signed_and_checked(
    physician: User, pharmacist: User, implant: Implant, value: rx.Prescription, when: datetime
) -> Prescription:
    """`value` signed at `when` with a reason for every warning its preview shows, and
    double-checked by `pharmacist` half an hour later."""
    preview = prescription_history.preview_prescription(physician, implant.id, value, at=when)
    assert preview.stop is None
    record = prescriptions.prescribe(
        physician,
        implant.id,
        value,
        reason="change agreed at the visit",
        now=when,
        expected_version=Implant.objects.get(id=implant.id).version,
        overrides={w.rule: REASON for w in preview.warnings},
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(value.drugs, value.program, value.ptm),
        accept=True,
        comment="",
        now=when + timedelta(minutes=30),
    )
    return Prescription.objects.get(id=record.id)


@pytest.fixture
def morphine_pump(physician: User, nurse: User, pharmacist: User) -> Implant:
    """An opioid-tolerant tumour-pain patient's pump, filled with morphine 10 mg/mL two days ago
    and running RUNNING since."""
    patient = patients.create_patient(
        nurse,
        mrn="MRN-EXEC",
        family_name="Ernst",
        given_name="Edith",
        birth_date=date(1955, 5, 5),
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
        pump_serial="NGP-EXEC",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=day(-30),
    )
    first = rx.Prescription(MORPHINE, RUNNING)
    signed_and_checked(physician, pharmacist, implant, first, at(-2, 9))
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="first-fill",
        performed_at=at(-2, 10),
        expected=None,
        aspirated=None,
        fill=Fill(MORPHINE, parse("20 mL", Kind.VOLUME, "v"), "LOT-1"),
    )
    return implant


def soft_limit(pharmacist: User, rule: str, value: str) -> ClinicLimit:
    return library.add_limit(
        pharmacist,
        drug="morphine",
        rule=rule,
        value=parse_value(rule, value),
        severity="soft",
        source=POLICY,
        idempotency_key=str(uuid4()),
    )


def hardened(pharmacist: User, approver: User, row: ClinicLimit, value: str) -> ClinicLimit:
    """`row` made a hard limit of `value` by `pharmacist`, in force once `approver` approves."""
    pending = library.change_limit(
        pharmacist,
        row.id,
        expected_version=row.version,
        value=parse_value(row.rule, value),
        severity="hard",
        source=POLICY,
    )
    assert pending.approved_at is None  # nothing applies before the second approval
    return library.approve_limit(approver, pending.id, expected_version=pending.version)


def refill_now(nurse: User, implant: Implant, **overrides: str) -> Refill:
    """A 20 mL refill at NOW of a pump that delivered as its twin expects."""
    left = pump_history.expected_residual(implant, NOW, None).least
    residual = parse(f"{round_places(left.canonical, 3)} mL", Kind.VOLUME, "left")
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=NOW,
        expected=residual,
        aspirated=residual,
        fill=Fill(MORPHINE, parse("20 mL", Kind.VOLUME, "v"), "LOT-2"),
        overrides=overrides,
    )


def program_now(user: User, implant: Implant, **overrides: str) -> Program:
    return program_pump(
        user,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=NOW,
        overrides=overrides,
    )


def written() -> tuple[int, int, int]:
    return Program.objects.count(), Refill.objects.count(), AuditEntry.objects.count()


BOLUS_STOP = (
    "is stopped by clinic_max_single_bolus: a patient bolus of 0.35 mg morphine exceeds the "
    "clinic's largest single bolus 0.3 mg"
)


@pytest.mark.parametrize("how", ["programming", "refill"])
def test_a_bolus_limit_hardened_after_signing_stops_the_programming_and_the_refill(
    morphine_pump: Implant, physician: User, pharmacist: User, nurse: User, how: str
) -> None:
    row = soft_limit(pharmacist, BOLUS, "0.3 mg")
    record = signed_and_checked(physician, pharmacist, morphine_pump, WITH_BOLUS, SIGNED)
    assert {o["rule"] for o in record.overrides} >= {"clinic_max_single_bolus"}
    hardened(pharmacist, physician, row, "0.3 mg")
    before = written()
    with pytest.raises(Refusal) as caught:
        if how == "programming":
            program_now(nurse, morphine_pump)
        else:
            refill_now(nurse, morphine_pump, clinic_max_single_bolus=REASON)
    refusal = caught.value
    assert (refusal.field, refusal.value) == (
        "ptm.dose",
        "morphine 10 mg/mL: a patient bolus of 0.35 mg",
    )
    assert refusal.problem == BOLUS_STOP
    assert refusal.limit == "<= 0.3 mg a single bolus (hard limit: no override)"
    assert refusal.source.startswith(f"clinic policy: {POLICY} (clinic limit set by pharma.cist")
    assert written() == before
    assert Prescription.objects.get(id=record.id).status == Prescription.Status.READY
    # the reviewer's case: the refill form, opened before anything is aspirated, says so
    opened = preview_refill(nurse, morphine_pump.id, at=NOW)
    assert opened.prescription_stop is not None
    assert opened.prescription_stop.as_dict() == refusal.as_dict()
    # the prescription, previewed now, meets the very same stop
    preview = prescription_history.preview_prescription(
        physician, morphine_pump.id, WITH_BOLUS, at=NOW
    )
    assert preview.stop is not None and preview.stop.as_dict() == refusal.as_dict()


def test_a_decrease_limit_hardened_after_signing_stops_the_programming_at_the_step(
    morphine_pump: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """The day total falls 16.13 %, within the hardened 22 %; its 08:00 step falls 23.53 %."""
    row = soft_limit(pharmacist, DECREASE, "20 %")
    record = signed_and_checked(physician, pharmacist, morphine_pump, CUT, SIGNED)
    assert {o["rule"] for o in record.overrides} >= {"clinic_max_decrease_percent"}
    hardened(pharmacist, physician, row, "22 %")
    before = written()
    with pytest.raises(Refusal) as caught:
        program_now(nurse, morphine_pump)
    refusal = caught.value
    assert (refusal.field, refusal.value) == (
        "program.days.mon[0].dose",
        "morphine 10 mg/mL, 2.6 mg/day",
    )
    assert refusal.problem == (
        "is stopped by clinic_max_decrease_percent: a cut of 23.53 % of morphine in one change "
        "(from 3.4 mg/day to 2.6 mg/day) exceeds the clinic's largest single decrease, 22 % "
        "(opioid withdrawal or a pain crisis; a slip of units?): taper in smaller steps"
    )
    assert refusal.limit == "<= 22 % less (hard limit: no override)"
    assert written() == before


def test_a_soft_limit_passes_the_refill_with_the_prescribers_reason_for_it(
    morphine_pump: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    soft_limit(pharmacist, BOLUS, "0.3 mg")
    record = signed_and_checked(physician, pharmacist, morphine_pump, WITH_BOLUS, SIGNED)
    assert preview_refill(nurse, morphine_pump.id, at=NOW).prescription_stop is None
    refill = refill_now(nurse, morphine_pump)
    (shown,) = [w for w in refill.warnings if w["rule"] == "clinic_max_single_bolus"]
    assert shown["message"] == (
        "a patient bolus of 0.35 mg morphine exceeds the clinic's largest single bolus 0.3 mg"
    )
    passed = {o["rule"]: o for o in refill.acknowledged}
    assert passed["clinic_max_single_bolus"]["given_at"] == "prescribing"
    assert passed["clinic_max_single_bolus"]["reason"] == REASON
    assert not refill.needs_verification  # the prescriber's reason covers it
    assert Prescription.objects.get(id=record.id).status == Prescription.Status.ACTIVE


def test_a_soft_limit_set_after_signing_needs_a_reason_where_it_is_executed(
    morphine_pump: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    signed_and_checked(physician, pharmacist, morphine_pump, WITH_BOLUS, SIGNED)
    soft_limit(pharmacist, BOLUS, "0.3 mg")
    before = written()
    with pytest.raises(Refusal) as caught:
        program_now(nurse, morphine_pump)
    assert (caught.value.field, caught.value.value) == ("overrides", "clinic_max_single_bolus")
    assert written() == before
    program = program_now(physician, morphine_pump, clinic_max_single_bolus=REASON)
    passed = {o["rule"]: o for o in program.overrides}
    assert passed["clinic_max_single_bolus"] == {
        "rule": "clinic_max_single_bolus",
        "reason": REASON,
        "given_at": "programming",
    }
