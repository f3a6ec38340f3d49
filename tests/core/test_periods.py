"""Calendar periods: the ISO week (Monday to Sunday) and the month that hold a day, the periods
before and after, and a month laid out in whole weeks."""

from __future__ import annotations

from datetime import date

import pytest

from painpump.core.errors import Refusal
from painpump.core.periods import Span, period_of, span_of


def test_the_week_runs_monday_to_sunday_across_a_year_end() -> None:
    week = period_of(date(2027, 1, 1), Span.WEEK)
    assert (week.start, week.end) == (date(2026, 12, 28), date(2027, 1, 3))
    assert len(week.days) == 7
    assert week.next.start == date(2027, 1, 4)
    assert week.previous.end == date(2026, 12, 27)


def test_the_month_of_a_leap_february_and_its_neighbours() -> None:
    month = period_of(date(2028, 2, 14), Span.MONTH)
    assert (month.start, month.end) == (date(2028, 2, 1), date(2028, 2, 29))
    assert month.previous.start == date(2028, 1, 1)
    assert month.next.end == date(2028, 3, 31)


def test_a_month_grid_is_whole_weeks_from_monday() -> None:
    weeks = period_of(date(2026, 11, 25), Span.MONTH).weeks
    assert weeks[0][0] == date(2026, 10, 26)
    assert weeks[-1][-1] == date(2026, 12, 6)
    assert all(len(w) == 7 for w in weeks)


def test_an_unknown_view_is_refused() -> None:
    with pytest.raises(Refusal, match="is not a calendar view"):
        span_of("year")
