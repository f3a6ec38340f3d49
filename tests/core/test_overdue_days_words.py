"""An overdue refill's warning counts the days after the refill-by date in plain words: "1 day
after it", "41 days after it", whether the clinic's calendar proposes the day or its booking
the slot."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from painpump.core.booking import BookingRules, propose_visit
from painpump.core.locale import ClinicLocale
from painpump.core.scheduling import ClinicCalendar, days_words, propose_appointment

BERLIN = ZoneInfo("Europe/Berlin")
DE = ClinicCalendar("DE", "BE")
CLINIC = ClinicLocale(BERLIN, DE, time(8, 0), time(16, 0))
RULES = BookingRules(visit_minutes=30, capacity_per_day=4)
MONDAY = date(2027, 3, 15)


@pytest.mark.parametrize(
    ("count", "words"), [(0, "0 days"), (1, "1 day"), (2, "2 days"), (41, "41 days")]
)
def test_days_are_counted_in_the_singular_only_for_one(count: int, words: str) -> None:
    assert days_words(count) == words


@pytest.mark.parametrize(
    ("refill_by", "words"),
    [
        (MONDAY - timedelta(days=1), "is 1 day after it"),
        (MONDAY - timedelta(days=41), "is 41 days after it"),
    ],
    ids=["one-day", "forty-one-days"],
)
def test_the_calendars_overdue_warning_counts_the_days_after_the_refill_by_date(
    refill_by: date, words: str
) -> None:
    proposal = propose_appointment(refill_by, today=MONDAY, calendar=DE)
    assert proposal.overdue and proposal.day == MONDAY
    assert words in proposal.decision.findings[0].message


@pytest.mark.parametrize(
    ("refill_by", "words"),
    [
        (MONDAY - timedelta(days=1), "is 1 day after it"),
        (MONDAY - timedelta(days=41), "is 41 days after it"),
    ],
    ids=["one-day", "forty-one-days"],
)
def test_the_bookings_overdue_warning_counts_the_days_after_the_refill_by_date(
    refill_by: date, words: str
) -> None:
    now = datetime.combine(MONDAY, time(6), tzinfo=BERLIN).astimezone(UTC)
    visit = propose_visit(refill_by, now=now, locale=CLINIC, rules=RULES, taken={})
    assert visit.overdue and visit.day == MONDAY
    assert words in visit.decision.findings[0].message
