"""The clinic's settings (pathway waiting days and stays, calendar country, dosing region, refill
margin): read by any member of the team, changed by the admin only, under optimistic concurrency
and with an audit entry (before and after) in the same transaction. Each value is validated by
the core rule that uses it: the pathway numbers by PathwaySettings, the country by
ClinicCalendar, the region by the drug library's regions, the margin by the refill planner."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import ClinicSettings
from painpump.clinic.roles import Forbidden, require, roles_of
from painpump.clinic.services import Conflict
from painpump.core.checks import LIBRARY, REGIONS
from painpump.core.errors import Refusal
from painpump.core.pathway import PathwaySettings
from painpump.core.refill import MARGIN_SOURCE
from painpump.core.scheduling import ClinicCalendar

RULES = "painpump clinic settings"
STORAGE_MAX = 32767
"""The largest number of days the settings table stores (a small integer column)."""
DAY_FIELDS = ("implant_wait_days", "stay_min_days", "stay_max_days", "refill_margin_days")
TEXT_FIELDS = ("country", "subdivision", "dosing_region")
FIELDS = DAY_FIELDS + TEXT_FIELDS


def snapshot(settings: ClinicSettings) -> dict[str, Any]:
    """The settings as the audit trail and the API show them (days with their unit)."""
    shown: dict[str, Any] = {name: f"{getattr(settings, name)} day" for name in DAY_FIELDS}
    shown |= {name: getattr(settings, name) for name in TEXT_FIELDS}
    shown["version"] = settings.version
    return shown


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


def _validated(current: ClinicSettings, changes: dict[str, Any]) -> dict[str, Any]:
    for name in sorted(set(changes) - set(FIELDS)):
        raise Refusal(name, repr(changes[name]), f"one of {', '.join(FIELDS)}", RULES, "is unknown")
    new = {name: getattr(current, name) for name in FIELDS}
    for name, value in changes.items():
        if name in DAY_FIELDS:
            new[name] = _days(name, value)
        else:
            if not isinstance(value, str):
                raise Refusal(name, repr(value), "text", RULES, "is not text")
            new[name] = value.strip()
    new["country"] = new["country"].upper()
    new["subdivision"] = new["subdivision"].upper()
    new["dosing_region"] = new["dosing_region"].lower()
    try:
        PathwaySettings(new["implant_wait_days"], new["stay_min_days"], new["stay_max_days"])
    except Refusal as error:
        # Reported under the setting's own name.
        renamed = {"min_days_test_to_implant": "implant_wait_days"}
        raise replace(error, field=renamed.get(error.field, error.field)) from None
    ClinicCalendar(new["country"], new["subdivision"] or None)
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
    """Change the settings sent, only if nobody changed them since `expected_version`."""
    actor = require(user, "settings.write")
    clinic_settings()  # the row exists before it is locked
    current = ClinicSettings.objects.select_for_update().get(id=1)
    if current.version != expected_version:
        raise Conflict("settings", "1", expected_version, current.version)
    before = snapshot(current)
    for name, value in _validated(current, changes).items():
        setattr(current, name, value)
    current.version += 1
    current.save()
    audit.record(actor, "settings.update", "settings", 1, before=before, after=snapshot(current))
    return current
