"""Bad input for the calendar's periods (core.periods): any day of the calendar, its ends
included, gives its week or month and the ones before and after, or a Refusal naming the date;
a period holds its day, runs Monday to Sunday or over its whole month, and neighbours touch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from painpump.core.errors import Refusal
from painpump.core.periods import Period, Span, period_of, span_of
from strategies import any_dates, cases


@cases(150)
@given(any_dates, st.sampled_from(Span))
@example(date(1, 2, 1), Span.MONTH)  # its previous month, January of year 1, has no previous
def test_a_period_holds_its_day_and_touches_its_neighbours(day: date, span: Span) -> None:
    try:
        period = period_of(day, span)
    except Refusal as refusal:
        assert refusal.field == "date"
        return
    assert period.start <= day <= period.end and day in period.days
    if span is Span.WEEK:
        assert period.start.weekday() == 0 and len(period.days) == 7
    else:
        assert period.start.day == 1 and (period.end + timedelta(days=1)).day == 1
    assert all(len(week) == 7 and week[0].weekday() == 0 for week in period.weeks)
    sides: tuple[tuple[Callable[[], Period], date], ...] = (
        (lambda: period.previous, period.start),
        (lambda: period.next, period.end),
    )
    for neighbour_of, touches in sides:
        try:
            neighbour = neighbour_of()
        except Refusal as refusal:  # a neighbour at the calendar's end has no neighbour itself
            assert refusal.field == "date"
            continue
        assert abs((neighbour.end if neighbour.end < touches else neighbour.start) - touches) == (
            timedelta(days=1)
        )


@cases(50)
@given(st.text(max_size=8))
def test_an_unknown_view_is_refused(text: str) -> None:
    try:
        assert span_of(text).value == text
    except Refusal as refusal:
        assert refusal.field == "view"


@pytest.mark.parametrize("day", [date.max, date.min, date(9999, 12, 15)])
def test_a_day_at_the_calendars_end_is_refused_not_overflowed(day: date) -> None:
    """Defect: /calendar?view=month&date=9999-12-31 computed the next month past date.max and
    the page failed with OverflowError (a server error) instead of a refusal."""
    with pytest.raises(Refusal) as caught:
        period_of(day, Span.MONTH)
    assert caught.value.field == "date"
