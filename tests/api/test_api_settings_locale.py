"""The clinic's locale through the API: GET /api/settings shows it (times as "HH:MM", weekdays
as a list of 0..6), PATCH changes it (admin only, audited); what the core rule or the schema
refuses is a 422 naming the field, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from clinic_fixtures import written_entries
from painpump.clinic.locale import clinic_locale, clinic_settings
from painpump.clinic.models import AuditEntry
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db


def patch(client: Client, change: dict[str, Any]) -> Any:
    return client.patch("/api/settings", {"version": 1, **change}, content_type="application/json")


def test_the_admin_changes_the_clinic_locale_and_reads_it_back(
    client_as: Callable[[Role | None], Client],
) -> None:
    admin = client_as(Role.ADMIN)
    change = {
        "time_zone": "Europe/Berlin",
        "open_weekdays": [4, 0, 2],
        "opens_at": "07:30",
        "closes_at": "15:45",
        "date_format": "dmy_dots",
        "time_format": "12h",
        "refill_visit_minutes": 40,
        "refill_capacity_per_day": 6,
    }
    changed = patch(admin, change)
    assert changed.status_code == 200, changed.content
    shown = admin.get("/api/settings").json()
    assert shown == changed.json()
    assert {name: shown[name] for name in change} == change | {"open_weekdays": [0, 2, 4]}
    assert shown["version"] == 2
    locale = clinic_locale()
    assert (locale.zone.key, locale.calendar.open_weekdays) == (
        "Europe/Berlin",
        frozenset({0, 2, 4}),
    )
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.after is not None
    assert entry.after["refill_visit_minutes"] == "40 min"
    assert entry.after["refill_capacity_per_day"] == "6 visits/day"
    assert entry.after["open_weekdays"] == "Mon, Wed, Fri"


@pytest.mark.parametrize(
    ("change", "field", "limit"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "IANA time zone"),
        ({"closes_at": "07:00"}, "closes_at", "after the opening time 08:00"),
        ({"open_weekdays": []}, "open_weekdays", "non-empty set of weekdays"),
        ({"refill_capacity_per_day": 201}, "refill_capacity_per_day", "200 visits/day"),
        ({"refill_visit_minutes": 0}, "refill_visit_minutes", "5 min to 480 min"),
        ({"date_format": "yyyy"}, "date_format", "dmy_dots"),
        ({"opens_at": "8:00"}, "opens_at", "pattern"),
        ({"open_weekdays": [7]}, "open_weekdays", "less than or equal to 6"),
    ],
    ids=[
        "unknown-zone",
        "closes-before-opens",
        "no-weekday",
        "capacity",
        "visit-minutes",
        "date-format",
        "time-not-hh-mm",
        "weekday-7",
    ],
)
def test_a_bad_locale_setting_is_a_422_naming_its_field_and_changes_nothing(
    client_as: Callable[[Role | None], Client], change: dict[str, Any], field: str, limit: str
) -> None:
    response = patch(client_as(Role.ADMIN), change)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"].startswith(field) and limit in error["limit"], error
    assert clinic_settings().version == 1
    assert not AuditEntry.objects.filter(action="settings.update").exists()


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.AUDITOR])
def test_no_other_role_changes_the_clinic_locale(
    client_as: Callable[[Role | None], Client], role: Role
) -> None:
    client = client_as(role)
    before = client.get("/api/settings").json()
    assert patch(client, {"time_zone": "Europe/Berlin"}).status_code == 403
    assert client.get("/api/settings").json() == before
    assert not AuditEntry.objects.filter(action="settings.update").exists()


def test_the_admin_sets_the_test_phase_lengths_shown_unverified(
    client_as: Callable[[Role | None], Client],
) -> None:
    admin = client_as(Role.ADMIN)
    shown = admin.get("/api/settings").json()
    assert {k: shown[k] for k in shown if k.startswith("test_phase_days")} == {
        "test_phase_days_moderate": 3,
        "test_phase_days_severe": 5,
        "test_phase_days_very_severe": 7,
        "test_phase_days_verified": False,
    }
    changed = patch(admin, {"test_phase_days_severe": 9})
    assert changed.status_code == 200, changed.content
    assert changed.json()["test_phase_days_severe"] == 9
    assert clinic_settings().test_phase_days_severe == 9
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.after is not None and entry.after["test_phase_days_severe"] == "9 day"


@pytest.mark.parametrize(("value", "status"), [(0, 422), (61, 422), ("5", 422), (5.5, 422)])
def test_a_test_phase_length_outside_1_to_60_days_is_refused(
    client_as: Callable[[Role | None], Client], value: Any, status: int
) -> None:
    refused = patch(client_as(Role.ADMIN), {"test_phase_days_moderate": value})
    assert refused.status_code == status, refused.content
    assert refused.json()["error"]["field"] == "test_phase_days_moderate"
    assert clinic_settings().version == 1
    assert not written_entries().exists()


def test_only_the_admin_sets_a_test_phase_length(
    client_as: Callable[[Role | None], Client],
) -> None:
    refused = patch(client_as(Role.PHYSICIAN), {"test_phase_days_moderate": 4})
    assert refused.status_code == 403
    assert clinic_settings().test_phase_days_moderate == 3
