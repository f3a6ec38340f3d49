"""Issue 14, insiders with database write: an API token inserted in the database, a program's
awaiting-readback flag cleared and a prescription's warnings edited each passed `painpump audit
verify`. Each is reproduced here with a direct database edit and now fails verify, naming the
record, the field and what its trail recorded. (The inserted token refused at the API:
tests/api/test_api_token_keyed.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from painpump.api import tokens
from painpump.api.models import ApiToken
from painpump.clinic import audit, audit_checkpoints, audit_keys
from painpump.clinic.actions import readbacks
from painpump.clinic.models import AuditEntry, Implant, Prescription, Program
from painpump.clinic.reads import prescriptions
from painpump.core import prescription as rx
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

LATER = FIRST_FILL + timedelta(hours=2)
LOWER = parse("350 mcg/day", Kind.DOSE_RATE, "dose")
OUTSIDE = "a token written outside the application"


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def verified() -> audit.Verification:
    audit_checkpoints.write()
    return audit.verify()


def entry_of(action: str, object_id: object) -> int:
    found = AuditEntry.objects.filter(action=action, object_id=str(object_id)).last()
    assert found is not None
    return found.seq


# -- 1. an API token inserted in the database ------------------------------------------------------


def test_a_token_made_by_the_application_verifies(implant: Implant, physician: User) -> None:
    made = tokens.create(physician.username, read_only=False, actor=physician.username)
    tokens.revoke(tokens.create(physician.username, read_only=True).record.id)
    assert ApiToken.objects.count() == 2 and made.record.revoked_at is None
    outcome = verified()
    assert outcome.ok, outcome.problems


def test_a_token_inserted_in_the_database_is_a_token_written_outside_the_application(
    implant: Implant, physician: User
) -> None:
    tamper.insert_token(physician.username)
    row = ApiToken.objects.get()
    assert problems() == (
        f"api token {row.id} (pp_an-insid…, dr.house): no `token.create` audit entry records its "
        f"creation: {OUTSIDE} (it acts as dr.house; revoke it with `painpump token revoke "
        f"{row.id}`)",
    )


@pytest.mark.parametrize(
    ("column", "value", "name", "stored", "audited"),
    [
        ("read_only", False, "read_only", False, True),
        ("prefix", "pp_forged", "prefix", "pp_forged", None),
        ("user", None, "user", "dr.house", "nurse.joy"),
    ],
)
def test_a_tokens_user_prefix_or_access_edited_in_the_database_is_named(
    implant: Implant,
    physician: User,
    nurse: User,
    column: str,
    value: object,
    name: str,
    stored: object,
    audited: object,
) -> None:
    made = tokens.create(nurse.username, read_only=True).record
    ApiToken.objects.filter(id=made.id).update(**{column: physician if column == "user" else value})
    row = ApiToken.objects.select_related("user").get(id=made.id)
    audited = made.prefix if column == "prefix" else audited
    assert problems() == (
        f"api token {row.id} ({row.prefix}…, {row.user.username}): {name} is {stored!r} in the "
        f"database, {audited!r} in its audit trail (entry {entry_of('token.create', made.id)}): "
        f"{OUTSIDE}",
    )


def test_a_revoked_token_revived_in_the_database_is_named(
    implant: Implant, physician: User
) -> None:
    made = tokens.create(physician.username, read_only=True).record
    tokens.revoke(made.id)
    ApiToken.objects.filter(id=made.id).update(revoked_at=None)
    assert problems() == (
        f"api token {made.id} ({made.prefix}…, dr.house): revoked is False in the database, True "
        f"in its audit trail (entry {entry_of('token.revoke', made.id)}): {OUTSIDE}",
    )


# -- 2. a program's awaiting-readback flag --------------------------------------------------------


def first_program(implant: Implant) -> Program:
    program = Program.objects.filter(implant=implant).order_by("started_at").first()
    assert program is not None
    return program


@pytest.mark.parametrize("started_by", ["refill.perform", "program.change"])
def test_a_programs_awaiting_readback_cleared_in_the_database_is_named(
    implant: Implant, physician: User, started_by: str
) -> None:
    """The refill or program change that started it from a prescription set it; only an
    audited readback clears it (the dashboard's list of pumps awaiting one reads it)."""
    if started_by == "program.change":
        program = titrated(physician, implant.id, LOWER, at=LATER)
        entry = entry_of("program.change", program.id)
    else:
        program = first_program(implant)
        entry = entry_of("refill.perform", program.refills.get().id)
    assert program.awaiting_readback
    Program.objects.filter(id=program.id).update(awaiting_readback=False)
    assert problems() == (
        f"program {program.id}: awaiting_readback is False in the database, True in its audit "
        f"trail (entry {entry})",
    )


def read_back(program: Program, nurse: User) -> int:
    """A readback of `program` (what it shows differs: an incident opens, the flag clears all
    the same); the seq of its entry."""
    readback = readbacks.record_readback(
        nurse,
        program.id,
        ReadValues(
            parse("20 mL", Kind.VOLUME, "reservoir"),
            (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),),
            rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
            None,
            None,
        ),
        FIRST_FILL + timedelta(minutes=10),
    )
    return entry_of("readback.record", readback.id)


def test_a_program_read_back_verifies_and_flagged_again_in_the_database_is_named(
    implant: Implant, nurse: User
) -> None:
    program = first_program(implant)
    entry = read_back(program, nurse)
    program.refresh_from_db()
    assert not program.awaiting_readback
    outcome = verified()
    assert outcome.ok, outcome.problems
    Program.objects.filter(id=program.id).update(awaiting_readback=True)
    assert problems() == (
        f"program {program.id}: awaiting_readback is True in the database, False in its audit "
        f"trail (entry {entry})",
    )


def test_an_ended_programs_flag_is_not_compared(implant: Implant, physician: User) -> None:
    """An ended program is listed nowhere and can no longer be read back (those ended before the
    flag was stored never held it)."""
    program = first_program(implant)
    titrated(physician, implant.id, LOWER, at=LATER)
    Program.objects.filter(id=program.id).update(awaiting_readback=False)
    outcome = verified()
    assert outcome.ok, outcome.problems


# -- 3. a prescription's warnings ------------------------------------------------------------------


def signed(implant: Implant) -> Prescription:
    record = prescriptions.in_force(implant)
    assert record is not None and record.warnings
    return record


def test_a_prescriptions_warnings_cleared_in_the_database_are_named(implant: Implant) -> None:
    record = signed(implant)
    audited = record.warnings
    Prescription.objects.filter(id=record.id).update(warnings=[])
    assert problems() == (
        f"prescription {record.id}: warnings is [] in the database, {audited!r} in its audit "
        f"trail (entry {entry_of('prescription.create', record.id)})",
    )


def test_a_prescription_signed_before_its_warnings_were_recorded_is_named_in_a_note(
    implant: Implant,
) -> None:
    """An entry written before the warnings were recorded leaves them uncompared: a note, no
    false alarm (the trail is rewritten here under the clinic's own key, as an older one)."""
    record = signed(implant)
    seq = entry_of("prescription.create", record.id)
    entry = AuditEntry.objects.get(seq=seq)
    older = {k: v for k, v in (entry.after or {}).items() if k != "warnings"}
    key = audit_keys.require_key()
    tamper.recompute(seq, older, lambda fields: key.digest("entry", fields))
    Prescription.objects.filter(id=record.id).update(warnings=[])
    outcome = verified()
    assert outcome.ok, outcome.problems
    assert outcome.notes == (
        f"the entries of 1 prescription predate the record of warnings, which is not compared: "
        f"{record.id}",
    )


def test_the_warnings_a_prescription_was_signed_with_verify_unchanged(implant: Implant) -> None:
    assert signed(implant).warnings[0]["rule"]
    outcome = verified()
    assert outcome.ok and outcome.notes == (), (outcome.problems, outcome.notes)


def test_the_drills_insider_rows_are_each_caught(implant: Implant, physician: User) -> None:
    program = tamper.clear_awaiting_readback()
    record = tamper.clear_prescription_warnings()
    tamper.insert_token(physician.username)
    found = problems()
    assert any(p.startswith(f"program {program}: awaiting_readback is False") for p in found)
    assert any(p.startswith(f"prescription {record}: warnings is [] in the") for p in found)
    assert any("no `token.create` audit entry records its creation" in p for p in found)
    assert len(found) == 3
