"""The dates the dashboard reads (a pump's alarm, empty and refill-by dates, its explantation, its
programs' start, end, refill-by and programmer) against the refill, program change or redate
that wrote them: an overdue pump moved off the worklist by a database edit is named."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from painpump.clinic import audit
from painpump.clinic.actions import settings_service
from painpump.clinic.models import AuditEntry, Implant, Program
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

LATER = FIRST_FILL + timedelta(hours=2)


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def entry_of(action: str) -> int:
    return AuditEntry.objects.filter(action=action).order_by("seq").last().seq  # type: ignore[union-attr]


def test_an_overdue_pumps_dates_moved_in_the_database_are_detected(implant: Implant) -> None:
    """Regression: `update clinic_implant set refill_by='2027-06-30', alarm_at=..., empty_at=...`
    hid an overdue pump from the worklist and passed `audit verify`."""
    stored = Implant.objects.get(id=implant.id)
    assert stored.refill_by is not None and stored.alarm_at and stored.empty_at
    later = stored.alarm_at + timedelta(days=200)
    Implant.objects.filter(id=implant.id).update(
        refill_by=date(2027, 6, 30), alarm_at=later, empty_at=later
    )
    entry = entry_of("refill.perform")
    assert problems() == (
        f"implant {implant.id}: alarm_at is {later.isoformat()!r} in the database, "
        f"{stored.alarm_at.isoformat()!r} in its audit trail (entry {entry})",
        f"implant {implant.id}: empty_at is {later.isoformat()!r} in the database, "
        f"{stored.empty_at.isoformat()!r} in its audit trail (entry {entry})",
        f"implant {implant.id}: refill_by is '2027-06-30' in the database, "
        f"{stored.refill_by.isoformat()!r} in its audit trail (entry {entry})",
    )


def test_a_pump_marked_explanted_in_the_database_is_detected(implant: Implant) -> None:
    Implant.objects.filter(id=implant.id).update(explanted_on=date(2026, 1, 2))
    assert problems() == (
        f"implant {implant.id}: explanted_on is '2026-01-02' in the database, None in its audit "
        f"trail (entry {entry_of('implant.register')})",
    )


def test_a_reprogrammed_pumps_dates_match_the_program_change(
    implant: Implant, physician: User
) -> None:
    titrated(physician, implant.id, parse("350 mcg/day", Kind.DOSE_RATE, "d"), at=LATER)
    assert audit.verify().ok
    Implant.objects.filter(id=implant.id).update(refill_by=date(2027, 6, 30))
    (found,) = problems()
    assert found.startswith(f"implant {implant.id}: refill_by is '2027-06-30' in the database")
    assert found.endswith(f"(entry {entry_of('program.change')})")


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("refill_by", date(2027, 6, 30), "'2027-06-30'"),
        (
            "started_at",
            FIRST_FILL - timedelta(days=3),
            repr((FIRST_FILL - timedelta(days=3)).isoformat()),
        ),
        ("ended_at", LATER + timedelta(days=9), repr((LATER + timedelta(days=9)).isoformat())),
        ("programmed_by", "nurse.other", "'nurse.other'"),
    ],
)
def test_a_programs_dates_or_programmer_edited_in_the_database_are_detected(
    implant: Implant, physician: User, field: str, value: object, shown: str
) -> None:
    first = implant.refills.get().program
    titrated(physician, implant.id, parse("350 mcg/day", Kind.DOSE_RATE, "d"), at=LATER)
    Program.objects.filter(id=first.id).update(**{field: value})
    (found,) = problems()
    assert found.startswith(f"program {first.id}: {field} is {shown} in the database")


def test_a_redate_records_each_pumps_new_dates_and_verifies(implant: Implant, admin: User) -> None:
    before = Implant.objects.get(id=implant.id).refill_by
    assert before is not None
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    assert Implant.objects.get(id=implant.id).refill_by != before
    assert audit.verify().ok
    Implant.objects.filter(id=implant.id).update(refill_by=before)
    (found,) = problems()
    assert found.startswith(f"implant {implant.id}: refill_by is {before.isoformat()!r}")
    assert found.endswith(f"(entry {entry_of('pumps.redate')})")
