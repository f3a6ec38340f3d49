"""The clinic's settings (pathway waiting days, stays and test-phase lengths per severity,
calendar country, dosing region, refill margin, the clinic's locale: time zone, opening weekdays
and hours, date and time formats, refill visit length and capacity, and the programmer
readback's reservoir tolerance): read by any member of the team, changed by the admin only,
under optimistic concurrency and with an audit entry (before and after) in the same transaction.
Each value is validated by the core rule that uses it: the pathway numbers by PathwaySettings
(the test-phase lengths also within TEST_PHASE_DAYS), the country and weekdays by
ClinicCalendar, the zone by core.locale.zone, the hours by ClinicLocale, the region by the drug
library's regions, the margin by the refill planner, the tolerance by core.readback_tolerance
(which also refuses a wider one to a single admin: clinic.actions.tolerance_requests)."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import pump_dates, refill_visits
from painpump.clinic.errors import Conflict
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import ClinicSettings
from painpump.clinic.roles import Forbidden, require, roles_of
from painpump.core import readback_tolerance
from painpump.core.checks import LIBRARY, REGIONS
from painpump.core.errors import Refusal
from painpump.core.locale import SOURCE as LOCALE_SOURCE
from painpump.core.locale import ClinicLocale, DateFormat, TimeFormat, zone
from painpump.core.pathway.episode import PathwaySettings
from painpump.core.pathway.indications import Severity
from painpump.core.pathway.sources import TEST_LENGTH_SOURCE
from painpump.core.refill import MARGIN_SOURCE
from painpump.core.scheduling import CALENDAR_SOURCE, WEEKDAYS, ClinicCalendar
from painpump.core.units import INPUT_RULES, Kind, Q, of, parse

RULES = "painpump clinic settings"
STORAGE_MAX = 32767
"""The largest number of days the settings table stores (a small integer column)."""
VISIT_SOURCE = (
    "clinic setting: how long the clinic books a refill visit and how many refill visits it "
    "takes a day (issue 10: booking that works)"
)
DAY_FIELDS = ("implant_wait_days", "stay_min_days", "stay_max_days", "refill_margin_days")
TEST_PHASE_FIELDS: dict[str, Severity] = {
    "test_phase_days_moderate": Severity.MODERATE,
    "test_phase_days_severe": Severity.SEVERE,
    "test_phase_days_very_severe": Severity.VERY_SEVERE,
}
"""The test phase's planned length per severity of the spasticity (rule-clinic-setting)."""
TEST_PHASE_DAYS = (1, 60)
"""The shortest and longest planned test phase the clinic may set, in days."""
TEXT_FIELDS = ("country", "subdivision", "dosing_region")
LOCALE_FIELDS = (
    "time_zone",
    "open_weekdays",
    "opens_at",
    "closes_at",
    "date_format",
    "time_format",
)
COUNT_FIELDS = {
    # name: (unit, smallest, largest)
    "refill_visit_minutes": ("min", 5, 480),
    "refill_capacity_per_day": ("visits/day", 0, 200),
}
TOLERANCE = readback_tolerance.FIELD
"""The programmer readback's reservoir tolerance: a volume with its unit, stored in mL
(`readback_tolerance_ml`)."""
FIELDS = (
    DAY_FIELDS[:3] + tuple(TEST_PHASE_FIELDS) + DAY_FIELDS[3:] + TEXT_FIELDS + LOCALE_FIELDS
) + (*COUNT_FIELDS, TOLERANCE)


def weekday_names(weekdays: list[int]) -> str:
    """Opening weekdays as a person reads them ("Mon, Tue, Wed")."""
    return ", ".join(WEEKDAYS[day][:3] for day in sorted(weekdays)) or "none"


def snapshot(settings: ClinicSettings) -> dict[str, Any]:
    """The settings as the audit trail shows them (days, minutes and visits with their unit,
    weekdays by name, wall-clock times as HH:MM, formats with an example)."""
    days = DAY_FIELDS + tuple(TEST_PHASE_FIELDS)
    shown: dict[str, Any] = {name: f"{getattr(settings, name)} day" for name in days}
    shown |= {name: getattr(settings, name) for name in TEXT_FIELDS}
    shown["time_zone"] = settings.time_zone
    shown["open_weekdays"] = weekday_names(settings.open_weekdays)
    shown["opens_at"] = settings.opens_at.isoformat("minutes")
    shown["closes_at"] = settings.closes_at.isoformat("minutes")
    shown["date_format"] = f"{settings.date_format} ({DateFormat(settings.date_format).label})"
    shown["time_format"] = f"{settings.time_format} ({TimeFormat(settings.time_format).label})"
    for name, (unit, _, _) in COUNT_FIELDS.items():
        shown[name] = f"{getattr(settings, name)} {unit}"
    shown[TOLERANCE] = str(tolerance_of(settings))
    shown["version"] = settings.version
    return shown


def tolerance_of(settings: ClinicSettings) -> Q:
    """The readback tolerance the settings hold, in mL."""
    return of(settings.readback_tolerance_ml, "mL")


def read_settings(user: User) -> ClinicSettings:
    """The settings, for any member of the clinic team (they hold no patient data)."""
    if not roles_of(user):
        name = user.get_username() if user.is_authenticated else "anonymous"
        raise Forbidden(name, "settings.read")
    return clinic_settings()


def _days(name: str, value: object) -> int:
    """A whole number of days; a negative pathway number is left to PathwaySettings to refuse
    with its rule's source."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal(name, repr(value), "a whole number of days", RULES, "is not a number of days")
    if value > STORAGE_MAX:
        raise Refusal(name, f"{value} day", f"<= {STORAGE_MAX} day", RULES, "is too large")
    if name == "refill_margin_days" and value < 0:
        raise Refusal(name, f"{value} day", ">= 0 day", MARGIN_SOURCE, "is negative")
    return value


def _test_days(name: str, value: object) -> int:
    """A planned test-phase length: a whole number of days within TEST_PHASE_DAYS."""
    smallest, largest = TEST_PHASE_DAYS
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal(
            name, repr(value), "a whole number of days", TEST_LENGTH_SOURCE, "is not whole days"
        )
    if not smallest <= value <= largest:
        raise Refusal(
            name,
            f"{value} day",
            f"{smallest} day to {largest} day",
            TEST_LENGTH_SOURCE,
            "is out of range for a planned test phase",
        )
    return value


def _count(name: str, value: object) -> int:
    """A refill visit's minutes or the refill visits a day, within the clinic's bounds."""
    unit, smallest, largest = COUNT_FIELDS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal(name, repr(value), f"a whole number of {unit}", VISIT_SOURCE, "is not whole")
    if not smallest <= value <= largest:
        raise Refusal(
            name,
            f"{value} {unit}",
            f"{smallest} {unit} to {largest} {unit}",
            VISIT_SOURCE,
            "is out of range",
        )
    return value


def checked_tolerance(value: object) -> Q:
    """A volume with its unit (a Q, or text such as "0.1 mL"), within core's rule."""
    if isinstance(value, str):
        value = parse(value, Kind.VOLUME, TOLERANCE)
    if not isinstance(value, Q):
        raise Refusal(
            TOLERANCE,
            repr(value),
            "a volume with its unit, e.g. 0.1 mL",
            INPUT_RULES,
            "has no unit",
        )
    return readback_tolerance.tolerance(value, TOLERANCE).value


def _weekdays(value: object) -> list[int]:
    """Opening weekdays (Monday = 0), sorted and each once; whether they leave the clinic open
    at all is ClinicCalendar's rule."""
    limit = "a non-empty set of weekdays 0 (Monday) to 6 (Sunday)"
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        raise Refusal("open_weekdays", repr(value), limit, CALENDAR_SOURCE, "is not a list")
    days = list(value)
    if any(isinstance(day, bool) or not isinstance(day, int) for day in days):
        raise Refusal("open_weekdays", repr(days), limit, CALENDAR_SOURCE, "is not weekdays")
    return sorted(set(days))


def _wall_time(name: str, value: object) -> time:
    """A wall-clock time in whole minutes: a `time` or "HH:MM"."""
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, time) or value.tzinfo is not None:
        raise Refusal(name, repr(value), "a time of day HH:MM", LOCALE_SOURCE, "is not a time")
    if value.second or value.microsecond:
        raise Refusal(
            name, value.isoformat(), "whole minutes (HH:MM)", LOCALE_SOURCE, "is not whole minutes"
        )
    return value


def _choice(name: str, value: object, kind: type[DateFormat] | type[TimeFormat]) -> str:
    """A date or time format by its value ("dmy_dots", "24h") or member."""
    if isinstance(value, kind):
        return str(value.value)
    choices = [member.value for member in kind]
    if not isinstance(value, str) or value not in choices:
        shown = ", ".join(f"{member.value} ({member.label})" for member in kind)
        raise Refusal(name, repr(value), f"one of {shown}", LOCALE_SOURCE, "is not a format")
    return value


DATING = ("refill_margin_days", "time_zone")
"""Settings the pumps' stored dates depend on: a change dates every pump again (its twin)."""
BOOKING = (
    "time_zone",
    "country",
    "subdivision",
    "open_weekdays",
    "opens_at",
    "closes_at",
    "refill_visit_minutes",
    "refill_capacity_per_day",
)
"""The settings a proposed refill visit depends on: a change moves the proposals."""


def _validated(current: ClinicSettings, changes: dict[str, Any]) -> dict[str, Any]:
    for name in sorted(set(changes) - set(FIELDS)):
        raise Refusal(name, repr(changes[name]), f"one of {', '.join(FIELDS)}", RULES, "is unknown")
    new = {name: getattr(current, name) for name in FIELDS if name != TOLERANCE}
    new[TOLERANCE] = tolerance_of(current)
    for name, value in changes.items():
        if name == TOLERANCE:
            new[name] = checked_tolerance(value)
        elif name in DAY_FIELDS:
            new[name] = _days(name, value)
        elif name in TEST_PHASE_FIELDS:
            new[name] = _test_days(name, value)
        elif name in COUNT_FIELDS:
            new[name] = _count(name, value)
        elif name == "open_weekdays":
            new[name] = _weekdays(value)
        elif name in ("opens_at", "closes_at"):
            new[name] = _wall_time(name, value)
        elif name == "date_format":
            new[name] = _choice(name, value, DateFormat)
        elif name == "time_format":
            new[name] = _choice(name, value, TimeFormat)
        else:
            if not isinstance(value, str):
                raise Refusal(name, repr(value), "text", RULES, "is not text")
            new[name] = value.strip()
    new["country"] = new["country"].upper()
    new["subdivision"] = new["subdivision"].upper()
    new["dosing_region"] = new["dosing_region"].lower()
    try:
        PathwaySettings(
            new["implant_wait_days"],
            new["stay_min_days"],
            new["stay_max_days"],
            test_phase_days={TEST_PHASE_FIELDS[name]: new[name] for name in TEST_PHASE_FIELDS},
        )
    except Refusal as error:
        # Reported under the setting's own name.
        renamed = {"min_days_test_to_implant": "implant_wait_days"}
        raise replace(error, field=renamed.get(error.field, error.field)) from None
    calendar = ClinicCalendar(
        new["country"], new["subdivision"] or None, open_weekdays=frozenset(new["open_weekdays"])
    )
    ClinicLocale(
        zone=zone(new["time_zone"]),
        calendar=calendar,
        opens_at=new["opens_at"],
        closes_at=new["closes_at"],
        date_format=DateFormat(new["date_format"]),
        time_format=TimeFormat(new["time_format"]),
    )
    open_minutes = (new["closes_at"].hour * 60 + new["closes_at"].minute) - (
        new["opens_at"].hour * 60 + new["opens_at"].minute
    )
    if open_minutes < new["refill_visit_minutes"]:
        raise Refusal(
            "refill_visit_minutes",
            f"{new['refill_visit_minutes']} min",
            f"at most the {open_minutes} min the clinic is open a day",
            VISIT_SOURCE,
            "leaves no room for a refill visit",
        )
    if new["dosing_region"] not in REGIONS:
        raise Refusal(
            "dosing_region",
            repr(new["dosing_region"]),
            f"one of {', '.join(REGIONS)}",
            LIBRARY,
            "is not a region of the drug library",
        )
    return new


@transaction.atomic
def update_settings(user: User, *, expected_version: int, **changes: Any) -> ClinicSettings:
    """Change the settings sent, only if nobody changed them since `expected_version`; a wider
    readback tolerance is refused (clinic.actions.tolerance_requests: a second admin approves)."""
    actor = require(user, "settings.write")
    clinic_settings()  # the row exists before it is locked
    current = ClinicSettings.objects.select_for_update().get(id=1)
    if current.version != expected_version:
        raise Conflict("settings", "1", expected_version, current.version)
    before = snapshot(current)
    new = _validated(current, changes)
    readback_tolerance.not_wider(new[TOLERANCE], tolerance_of(current))
    current.readback_tolerance_ml = new.pop(TOLERANCE).canonical
    for name, value in new.items():
        setattr(current, name, value)
    current.version += 1
    current.save()
    after = snapshot(current)
    audit.record(actor, "settings.update", "settings", 1, before=before, after=after)
    if any(before[name] != after[name] for name in DATING):
        pump_dates.redate_all(user, clock.now())
    if any(before[name] != after[name] for name in BOOKING):
        refill_visits.repropose_open(actor, "the clinic's calendar, hours or capacity changed")
    return current
