"""The frozen clock of the tests: every test runs at `NOW` (tests/conftest.py holds time there),
and tests build their dates from it. `PAINPUMP_TEST_NOW` moves it (scripts/test runs the clinic,
API and web suites again a year on and on a daylight-saving day of the test clinic's zone), so a
test bound to a calendar date fails there."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ZONE_NAME = "America/New_York"
"""The test clinic's zone (US holidays, daylight saving in March and November)."""
ZONE = ZoneInfo(ZONE_NAME)
DEFAULT_NOW = "2026-11-25T10:00:00-05:00"
"""A Wednesday morning in the clinic, the day before Thanksgiving."""
NOW = datetime.fromisoformat(os.environ.get("PAINPUMP_TEST_NOW") or DEFAULT_NOW)
if NOW.tzinfo is None:
    raise SystemExit(f"PAINPUMP_TEST_NOW={NOW.isoformat()} needs an offset (e.g. -05:00)")
TODAY = NOW.astimezone(ZONE).date()
"""The clinic's day at NOW."""


def day(offset: int) -> date:
    """The clinic's day `offset` days from today (negative: before)."""
    return TODAY + timedelta(days=offset)


def at(offset: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment on the clinic's day `offset` days from today, at the clinic's wall-clock time."""
    return datetime.combine(day(offset), time(hour, minute), tzinfo=ZONE)


def next_weekday(weekday: int, after: date = TODAY) -> date:
    """The first day after `after` that falls on `weekday` (Monday = 0)."""
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)
