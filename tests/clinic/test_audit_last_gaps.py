"""The three gaps the sixth outside attack (issue 14) left open in `painpump audit verify`: a
malformed prescription step (weekday 9) ended verify in an internal error; a program's
prescriber, limiting factor and warnings, a refill's warnings and idempotency key and an
assessment's recording time could be edited in the database unseen; and an account inserted in
the database was only a note. Each is reproduced here with a direct database edit and now fails
verify, naming the record, the field and what its trail recorded. (The chart of a pump whose step
is malformed: tests/web/test_web_chart_unreadable.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db.models import F

from clinic_fixtures import FIRST_FILL, titrated
from frozen import NOW
from painpump.clinic import audit, audit_checkpoints
from painpump.clinic.actions import patients
from painpump.clinic.models import (
    Assessment,
    AuditEntry,
    Implant,
    Prescription,
    PrescriptionStep,
    Program,
    Refill,
)
from painpump.clinic.reads import prescriptions
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

LATER = FIRST_FILL + timedelta(hours=2)
OUTSIDE = "a row written outside the application"


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def verified() -> audit.Verification:
    """The outcome once the test's entries are checkpointed (as at their commit), so that its
    notes are the records' alone."""
    audit_checkpoints.write()
    return audit.verify()


def entry_of(action: str, object_id: object) -> int:
    found = AuditEntry.objects.filter(action=action, object_id=str(object_id)).last()
    assert found is not None
    return found.seq


def in_force(implant: Implant) -> Prescription:
    record = prescriptions.in_force(implant)
    assert record is not None
    return record


# -- 1. a malformed prescription step --------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("weekday", 9, "a step's weekday is 9, not a day of the week (0 Monday to 6 Sunday)"),
        ("weekday", 7, "a step's weekday is 7, not a day of the week (0 Monday to 6 Sunday)"),
        (
            "start_s",
            86_400,
            "a step's start_s is 86400, not a time of day (0 to 86399 seconds after midnight)",
        ),
    ],
)
def test_a_malformed_prescription_step_is_named_not_an_internal_error(
    implant: Implant, column: str, value: int, reason: str
) -> None:
    record = in_force(implant)
    step = record.steps.order_by("weekday").last()
    assert step is not None
    PrescriptionStep.objects.filter(id=step.id).update(**{column: value})
    assert problems() == (f"prescription {record.id}: its row cannot be read: {reason}: {OUTSIDE}",)


def test_a_patient_bolus_without_its_lockout_is_named_by_its_field(implant: Implant) -> None:
    record = in_force(implant)
    Prescription.objects.filter(id=record.id).update(ptm_dose_mcg=50)
    assert problems() == (
        f"prescription {record.id}: its row cannot be read: ptm_duration_s is None, not a positive "
        f"number (the patient bolus's dose is set): {OUTSIDE}",
    )


def test_the_drill_moving_a_step_to_weekday_9_is_caught(implant: Implant) -> None:
    record = tamper.step_on_weekday_nine()
    assert any(
        p.startswith(f"prescription {record}: its row cannot be read: a step's weekday is 9")
        for p in problems()
    )


# -- 2. fields verify did not compare --------------------------------------------------------------


def first_program(implant: Implant) -> Program:
    """The program the `implant` fixture's first fill started."""
    program = Program.objects.filter(implant=implant).order_by("started_at").first()
    assert program is not None
    return program


def titration(implant: Implant, physician: User) -> Program:
    return titrated(physician, implant.id, parse("350 mcg/day", Kind.DOSE_RATE, "d"), at=LATER)


def test_a_programs_prescriber_edited_in_the_database_is_named(implant: Implant) -> None:
    program = first_program(implant)
    Program.objects.filter(id=program.id).update(prescribed_by="in.sider")
    assert problems() == (
        f"program {program.id}: prescribed_by is 'in.sider' in the database, but its "
        "prescription (#1, signed by dr.house) gives 'dr.house': it was changed outside the "
        "application",
    )


@pytest.mark.parametrize("started_by", ["refill.perform", "program.change"])
def test_a_programs_limiting_factor_edited_in_the_database_is_named(
    implant: Implant, physician: User, started_by: str
) -> None:
    """The refill that started a program records it with the refill; a program change, now, in
    its own entry."""
    if started_by == "program.change":
        program = titration(implant, physician)
        entry = entry_of("program.change", program.id)
    else:
        program = first_program(implant)
        entry = entry_of("refill.perform", Refill.objects.get(program=program).id)
    other = "stability" if program.limited_by == "reservoir" else "reservoir"
    Program.objects.filter(id=program.id).update(limited_by=other)
    assert problems() == (
        f"program {program.id}: limited_by is {other!r} in the database, "
        f"{program.limited_by!r} in its audit trail (entry {entry})",
    )


@pytest.mark.parametrize("started_by", ["refill.perform", "program.change"])
def test_a_programs_warnings_forged_in_the_database_are_named(
    implant: Implant, physician: User, started_by: str
) -> None:
    """A refill's program holds none (the warnings are the refill's); a titration's hold those
    it was prescribed with, as its entry records them."""
    if started_by == "program.change":
        program = titration(implant, physician)
        entry = entry_of("program.change", program.id)
    else:
        program = first_program(implant)
        entry = entry_of("refill.perform", Refill.objects.get(program=program).id)
    audited = program.warnings
    Program.objects.filter(id=program.id).update(warnings=[tamper.FORGED_WARNING])
    assert Program.objects.get(id=program.id).warnings == [tamper.FORGED_WARNING]
    assert problems() == (
        f"program {program.id}: warnings is {Program.objects.get(id=program.id).warnings!r} in "
        "the database, "
        f"{audited!r} in its audit trail (entry {entry})",
    )


RefillEdit = Callable[[], object]


@pytest.mark.parametrize(
    ("edit", "field", "stored"),
    [
        (tamper.forge_refill_warnings, "warnings", [tamper.FORGED_WARNING]),
        (tamper.reuse_refill_key, "idempotency_key", "the-next-refill"),
    ],
)
def test_a_refills_warnings_and_idempotency_key_edited_in_the_database_are_named(
    implant: Implant, edit: RefillEdit, field: str, stored: object
) -> None:
    """A key moved to the one the performer's next retry sends would answer their next refill
    with this one, unrecorded."""
    refill = Refill.objects.get(implant=implant)
    audited = getattr(refill, field)
    edit()
    assert getattr(Refill.objects.get(id=refill.id), field) == stored
    stored = getattr(Refill.objects.get(id=refill.id), field)  # in the database's key order
    assert problems() == (
        f"refill {refill.id}: {field} is {stored!r} in the database, {audited!r} in its audit "
        f"trail (entry {entry_of('refill.perform', refill.id)})",
    )


def test_an_assessments_recording_time_edited_in_the_database_is_named(
    implant: Implant, nurse: User
) -> None:
    recorded = patients.record_assessment(
        nurse, implant.episode_id, kind="pain_nrs", value=7, taken_at=NOW
    )
    tamper.move_assessment_recording()
    moved = Assessment.objects.get(id=recorded.id).recorded_at
    assert problems() == (
        f"assessment {recorded.id}: recorded_at is {moved.isoformat()!r} in the database, "
        f"{recorded.recorded_at.isoformat()!r} in its audit trail (entry "
        f"{entry_of('assessment.record', recorded.id)})",
    )


def test_an_assessment_whose_entry_predates_its_recording_time_is_named_in_a_note(
    implant: Implant, nurse: User
) -> None:
    """An entry written before `recorded_at` was recorded leaves it uncompared: no false
    alarm, a note instead."""
    recorded = patients.record_assessment(
        nurse, implant.episode_id, kind="pain_nrs", value=7, taken_at=NOW
    )
    older = Assessment.objects.create(
        episode_id=implant.episode_id, kind="pain_nrs", value=5, taken_at=NOW, recorded_by=nurse
    )
    entry = AuditEntry.objects.get(action="assessment.record", object_id=str(recorded.id))
    after = {k: v for k, v in (entry.after or {}).items() if k != "recorded_at"}
    audit.record(
        nurse.username,
        "assessment.record",
        "assessment",
        older.id,
        patient_id=entry.patient_id,
        after=after | {"value": "5"},
    )
    Assessment.objects.filter(id=older.id).update(recorded_at=F("recorded_at") - timedelta(days=1))
    outcome = verified()
    assert outcome.ok, outcome.problems
    assert outcome.notes == (
        f"the entries of 1 assessment predate the record of recorded_at, which is not compared: "
        f"{older.id}",
    )


def test_the_new_fields_of_an_ordinary_clinic_verify_without_a_note(
    implant: Implant, physician: User, nurse: User
) -> None:
    titration(implant, physician)
    patients.record_assessment(nurse, implant.episode_id, kind="pain_nrs", value=7, taken_at=NOW)
    outcome = verified()
    assert outcome.ok and outcome.notes == (), (outcome.problems, outcome.notes)


# -- 3. an account inserted in the database -------------------------------------------------------


NO_CREATION = (
    "an account written outside the application (in the database, by a script, or by `painpump "
    'manage createsuperuser`); if the clinic made it, two admins adopt it (Users page, "Accounts '
    "made outside painpump\": Ask to adopt, then a second admin's Approve; or `painpump roles "
    "adopt in.sider --reason TEXT --by ADMIN`, then `painpump roles adopt-approve REQUEST --by "
    "ADMIN`), or on a fresh install `painpump roles bootstrap in.sider` records it"
)


@pytest.mark.parametrize(
    ("role", "holds"),
    [("physician", "it holds physician"), ("admin", "it holds admin")],
)
def test_an_account_inserted_in_the_database_fails_verify(
    admin: User, role: str, holds: str
) -> None:
    tamper.insert_account("in.sider", role)
    assert problems() == (
        f"user in.sider: no audit entry records its creation ({holds}): {NO_CREATION}",
    )


def test_an_account_inserted_without_a_role_fails_verify_too(admin: User) -> None:
    """It holds nothing yet, but an honest admin's grant would give it a role."""
    User.objects.create_user("in.sider")
    assert problems() == (
        f"user in.sider: no audit entry records its creation (it holds no role or flag): "
        f"{NO_CREATION}",
    )
