"""The clinic's locale in its settings (time zone, opening weekdays and hours, date and time
formats, refill visit length and capacity): the admin changes each, audited with its unit; a
value the core rule refuses is refused naming field, value, limit and source, and changes
nothing; no other role changes them."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.contrib.auth.models import User

from frozen import NOW
from painpump.clinic.actions import settings_service
from painpump.clinic.locale import clinic_locale, clinic_settings
from painpump.clinic.models import AuditEntry
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.core.locale import SOURCE as LOCALE_SOURCE
from painpump.core.locale import DateFormat, TimeFormat
from painpump.core.scheduling import CALENDAR_SOURCE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("change", "stored", "audited"),
    [
        (
            {"time_zone": "Europe/Berlin"},
            {"time_zone": "Europe/Berlin"},
            {"time_zone": "Europe/Berlin"},
        ),
        (
            {"open_weekdays": [5, 0, 1, 2, 3, 4, 4]},
            {"open_weekdays": [0, 1, 2, 3, 4, 5]},
            {"open_weekdays": "Mon, Tue, Wed, Thu, Fri, Sat"},
        ),
        ({"opens_at": "07:30"}, {"opens_at": time(7, 30)}, {"opens_at": "07:30"}),
        ({"closes_at": time(18, 15)}, {"closes_at": time(18, 15)}, {"closes_at": "18:15"}),
        (
            {"date_format": "dmy_dots"},
            {"date_format": "dmy_dots"},
            {"date_format": "dmy_dots (25.11.2026)"},
        ),
        (
            {"time_format": TimeFormat.H12},
            {"time_format": "12h"},
            {"time_format": "12h (02:30 PM)"},
        ),
        (
            {"refill_visit_minutes": 45},
            {"refill_visit_minutes": 45},
            {"refill_visit_minutes": "45 min"},
        ),
        (
            {"refill_capacity_per_day": 12},
            {"refill_capacity_per_day": 12},
            {"refill_capacity_per_day": "12 visits/day"},
        ),
        (
            {"country": "de", "subdivision": "by"},
            {"country": "DE", "subdivision": "BY"},
            {"country": "DE", "subdivision": "BY"},
        ),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_the_admin_changes_a_locale_setting_and_it_is_audited_with_its_unit(
    admin: User, change: dict[str, Any], stored: dict[str, Any], audited: dict[str, str]
) -> None:
    before = settings_service.snapshot(clinic_settings())
    saved = settings_service.update_settings(admin, expected_version=1, **change)
    assert {name: getattr(saved, name) for name in stored} == stored
    assert saved.version == 2
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.actor == "ad.min"
    assert entry.before == before
    assert entry.after is not None
    assert {name: entry.after[name] for name in audited} == audited
    unchanged = set(before) - set(audited) - {"version"}
    assert {name: entry.after[name] for name in unchanged} == {n: before[n] for n in unchanged}


def test_the_snapshot_shows_every_locale_setting_with_its_unit(admin: User) -> None:
    shown = settings_service.snapshot(clinic_settings())
    assert shown["refill_visit_minutes"] == "30 min"
    assert shown["refill_capacity_per_day"] == "8 visits/day"
    assert shown["open_weekdays"] == "Mon, Tue, Wed, Thu, Fri"
    assert (shown["opens_at"], shown["closes_at"]) == ("08:00", "17:00")
    assert shown["date_format"] == f"iso ({DateFormat.ISO.label})"


def test_the_clinic_locale_follows_the_changed_settings(admin: User) -> None:
    settings_service.update_settings(
        admin,
        expected_version=1,
        time_zone="Europe/Berlin",
        open_weekdays=[0, 1, 2, 3],
        opens_at="07:00",
        closes_at="15:30",
        date_format="dmy_dots",
        time_format="12h",
    )
    locale = clinic_locale()
    assert locale.zone.key == "Europe/Berlin"
    assert locale.calendar.open_weekdays == frozenset({0, 1, 2, 3})
    assert (locale.opens_at, locale.closes_at) == (time(7, 0), time(15, 30))
    assert locale.today(NOW) == NOW.astimezone(locale.zone).date()
    assert locale.format_date(NOW.date()) == NOW.date().strftime("%d.%m.%Y")


ZONE_RULE = "an IANA time zone name such as Europe/Berlin"
WEEKDAY_RULE = "a non-empty set of weekdays 0 (Monday) to 6 (Sunday)"


@pytest.mark.parametrize(
    ("change", "field", "limit", "source"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", ZONE_RULE, LOCALE_SOURCE),
        ({"time_zone": ""}, "time_zone", ZONE_RULE, LOCALE_SOURCE),
        ({"closes_at": "07:00"}, "closes_at", "after the opening time 08:00", LOCALE_SOURCE),
        ({"opens_at": "17:00"}, "closes_at", "after the opening time 17:00", LOCALE_SOURCE),
        ({"opens_at": "eight"}, "opens_at", "HH:MM", LOCALE_SOURCE),
        ({"opens_at": "08:00:30"}, "opens_at", "whole minutes", LOCALE_SOURCE),
        ({"open_weekdays": []}, "open_weekdays", WEEKDAY_RULE, CALENDAR_SOURCE),
        ({"open_weekdays": [0, 7]}, "open_weekdays", WEEKDAY_RULE, CALENDAR_SOURCE),
        ({"open_weekdays": "Mon"}, "open_weekdays", WEEKDAY_RULE, CALENDAR_SOURCE),
        ({"open_weekdays": [True]}, "open_weekdays", WEEKDAY_RULE, CALENDAR_SOURCE),
        ({"date_format": "dd.mm.yy"}, "date_format", "dmy_dots (25.11.2026)", LOCALE_SOURCE),
        ({"time_format": "ampm"}, "time_format", "12h (02:30 PM)", LOCALE_SOURCE),
        (
            {"refill_capacity_per_day": 201},
            "refill_capacity_per_day",
            "0 visits/day to 200 visits/day",
            settings_service.VISIT_SOURCE,
        ),
        (
            {"refill_capacity_per_day": -1},
            "refill_capacity_per_day",
            "0 visits/day to 200 visits/day",
            settings_service.VISIT_SOURCE,
        ),
        (
            {"refill_visit_minutes": 4},
            "refill_visit_minutes",
            "5 min to 480 min",
            settings_service.VISIT_SOURCE,
        ),
        (
            {"refill_visit_minutes": 481},
            "refill_visit_minutes",
            "5 min to 480 min",
            settings_service.VISIT_SOURCE,
        ),
        (
            {"refill_visit_minutes": "30"},
            "refill_visit_minutes",
            "a whole number of min",
            settings_service.VISIT_SOURCE,
        ),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else None
    ),
)
def test_a_locale_setting_the_core_rule_refuses_changes_nothing(
    admin: User, change: dict[str, Any], field: str, limit: str, source: str
) -> None:
    before = settings_service.snapshot(clinic_settings())
    with pytest.raises(Refusal) as refused:
        settings_service.update_settings(admin, expected_version=1, **change)
    assert refused.value.field == field
    assert limit in refused.value.limit
    assert refused.value.source == source
    assert refused.value.value  # the value refused is named
    assert settings_service.snapshot(clinic_settings()) == before
    assert not AuditEntry.objects.filter(action="settings.update").exists()


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_only_the_admin_changes_the_locale(request: pytest.FixtureRequest, role_user: str) -> None:
    user = request.getfixturevalue(role_user)
    before = settings_service.snapshot(clinic_settings())
    with pytest.raises(Forbidden):
        settings_service.update_settings(user, expected_version=1, time_zone="Europe/Berlin")
    assert settings_service.read_settings(user).time_zone == before["time_zone"]
    assert settings_service.snapshot(clinic_settings()) == before
    assert not AuditEntry.objects.filter(action="settings.update").exists()
