"""The clinic settings row against the last state its trail recorded (issue 14, the fourth outside
attack: the settings edited in the database passed `audit verify`). A setting edited behind the
application differs from the newest settings entry, or, before any, from painpump's default; a
setting added after the newest entry was written (the readback tolerance, on an older database)
is a note, not a failure."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from painpump.clinic import audit, audit_checkpoints
from painpump.clinic.actions import settings_service
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, ClinicSettings
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def newest() -> int:
    found = AuditEntry.objects.filter(action="settings.update").order_by("seq").last()
    assert found is not None
    return found.seq


def test_settings_changed_through_the_service_verify(admin: User) -> None:
    settings_service.update_settings(
        admin, expected_version=1, refill_margin_days=10, readback_tolerance="0.05 mL"
    )
    settings_service.update_settings(admin, expected_version=2, opens_at="07:30")
    assert audit.verify().ok


def test_the_readback_tolerance_widened_in_the_database_is_detected(admin: User) -> None:
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    tamper.widen_readback_tolerance()
    assert problems() == (
        "settings 1: readback_tolerance is '0.9 mL' in the database, '0.1 mL' in its audit trail "
        f"(entry {newest()})",
    )


def test_settings_never_saved_are_compared_with_painpumps_defaults(admin: User) -> None:
    clinic_settings()
    assert audit.verify().ok
    ClinicSettings.objects.filter(id=1).update(refill_margin_days=0, closes_at="23:00")
    assert problems() == (
        "settings 1: refill_margin_days is '0 day' in the database, though no audit entry "
        "records a change of the settings (its default is '7 day'): changed outside the "
        "application",
        "settings 1: closes_at is '23:00' in the database, though no audit entry records a "
        "change of the settings (its default is '17:00'): changed outside the application",
    )


def test_a_setting_the_newest_entry_predates_is_a_note_not_a_failure(admin: User) -> None:
    """An older painpump's entry, written before the readback tolerance was a setting."""
    recorded = settings_service.snapshot(clinic_settings())
    del recorded["readback_tolerance"]
    audit.record("ad.min", "settings.update", "settings", 1, after=recorded)
    audit_checkpoints.write()
    assert audit.verify().notes == ()  # still its default: nothing to say
    tamper.widen_readback_tolerance()
    outcome = audit.verify()
    assert outcome.ok
    assert outcome.notes == (
        "settings 1: readback_tolerance is '0.9 mL' in the database, not its default '0.1 mL', "
        f"and no audit entry records it (the newest, entry {newest()}, predates it): changed "
        "outside the application, unless an older painpump did; saving the settings records it",
    )


def test_the_settings_row_deleted_after_its_entries_is_reported(admin: User) -> None:
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    ClinicSettings.objects.all().delete()
    assert problems() == (
        f"settings 1: its trail records it (entry {newest()}) but it is not in the database "
        "(deleted outside the application)",
    )


def test_a_settings_row_that_cannot_be_read_is_named(admin: User) -> None:
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    ClinicSettings.objects.filter(id=1).update(date_format="nonsense")
    (problem,) = problems()
    assert problem.startswith("settings 1: its row cannot be read (ValueError: ")
