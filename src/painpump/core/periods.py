"""Calendar periods a schedule is shown by: the week (Monday to Sunday) or the month that holds
a day, the period before and after it, and its days grouped by week for a month grid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from painpump.core.errors import Refusal

SOURCE = "painpump calendar: weeks run Monday to Sunday (ISO 8601)"


class Span(Enum):
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """The days from `start` to `end`, both included."""

    span: Span
    start: date
    end: date

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(
            self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)
        )

    @property
    def previous(self) -> Period:
        return period_of(self.start - timedelta(days=1), self.span)

    @property
    def next(self) -> Period:
        return period_of(self.end + timedelta(days=1), self.span)

    @property
    def weeks(self) -> tuple[tuple[date, ...], ...]:
        """The period's days in whole weeks, Monday first (a month grid's rows)."""
        first = self.start - timedelta(days=self.start.weekday())
        last = self.end + timedelta(days=6 - self.end.weekday())
        count = ((last - first).days + 1) // 7
        return tuple(
            tuple(first + timedelta(days=7 * w + d) for d in range(7)) for w in range(count)
        )


def span_of(value: str) -> Span:
    try:
        return Span(value)
    except ValueError:
        raise Refusal(
            "view", repr(value), "week or month", SOURCE, "is not a calendar view"
        ) from None


def period_of(day: date, span: Span) -> Period:
    """The week or month that holds `day`; refused when it, or the period before or after it
    (a calendar page links to both), would leave the calendar (years 1 to 9999)."""
    try:
        period = _period(day, span)
        _period(period.start - timedelta(days=1), span)
        _period(period.end + timedelta(days=1), span)
    except OverflowError:
        raise Refusal(
            "date",
            day.isoformat(),
            f"a day whose {span.value} and the {span.value}s before and after it lie within the "
            "calendar (years 1 to 9999)",
            SOURCE,
            "is out of range",
        ) from None
    return period


def _period(day: date, span: Span) -> Period:
    if span is Span.WEEK:
        start = day - timedelta(days=day.weekday())
        return Period(span, start, start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(span, start, following - timedelta(days=1))
