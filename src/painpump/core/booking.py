"""Refill visits on the clinic's calendar: the slots of a day (opening hours, one visit length
apart, at most the day's capacity), the free ones, and the proposed visit for a pump: the latest
free slot on or before its refill-by date, never in the past; when none remains, the nearest free
slot, flagged urgent with what to do. Pure functions: "now" and the slots taken are parameters."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from painpump.core.decision import Decision, Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.locale import ClinicLocale
from painpump.core.scheduling import (
    BACLOFEN_SOURCE,
    CALENDAR_SOURCE,
    REFILL_BY_SOURCE,
    days_words,
)

BOOKING_SOURCE = "clinic setting: refill visit length and refill visits a day (capacity)"
SEARCH_DAYS = 366
"""How far a search for a free slot goes (a calendar full for a year is refused)."""
URGENT_ACTION = (
    "book the nearest open slot with a recorded reason, or add an extra slot (an emergency refill "
    "outside opening hours if the alarm or empty date comes first)"
)


@dataclass(frozen=True)
class BookingRules:
    """How the clinic books refill visits: their length and how many a day it can see."""

    visit_minutes: int = 30
    capacity_per_day: int = 8

    def __post_init__(self) -> None:
        if not 5 <= self.visit_minutes <= 480:
            raise Refusal(
                "refill_visit_minutes",
                f"{self.visit_minutes} min",
                "5 to 480 min",
                BOOKING_SOURCE,
                "is not a visit length",
            )
        if not 0 <= self.capacity_per_day <= 200:
            raise Refusal(
                "refill_capacity_per_day",
                f"{self.capacity_per_day} visits/day",
                "0 to 200 visits/day",
                BOOKING_SOURCE,
                "is out of range",
            )


def day_slots(day: date, locale: ClinicLocale, rules: BookingRules) -> tuple[datetime, ...]:
    """The starts (UTC) of the refill visits the clinic can see on its `day`: from opening, one
    visit length apart, each ending by closing, at most the day's capacity; none when closed."""
    if not locale.calendar.is_working_day(day):
        return ()
    length = timedelta(minutes=rules.visit_minutes)
    start, close = locale.at(day, locale.opens_at), locale.at(day, locale.closes_at)
    slots: list[datetime] = []
    while start + length <= close and len(slots) < rules.capacity_per_day:
        slots.append(start)
        start += length
    return tuple(slots)


def free_slots(
    day: date,
    locale: ClinicLocale,
    rules: BookingRules,
    taken: Collection[datetime],
    *,
    now: datetime,
) -> tuple[datetime, ...]:
    """The slots of `day` that start after `now` and that no visit (of the same length)
    overlaps. A day holds no more visits than its capacity, wherever they were put."""
    slots = day_slots(day, locale, rules)
    length = timedelta(minutes=rules.visit_minutes)
    room = len(slots) - len(taken)
    free = [s for s in slots if s > now and all(abs(t - s) >= length for t in taken)]
    return tuple(free[: max(0, room)])


@dataclass(frozen=True)
class Visit:
    """A proposed refill visit: when it starts, its day, whether it is after the refill-by date
    (urgent: no free slot remained in time) and the findings behind it."""

    starts_at: datetime
    day: date
    refill_by: date
    overdue: bool
    decision: Decision


def propose_visit(
    refill_by: date,
    *,
    now: datetime,
    locale: ClinicLocale,
    rules: BookingRules,
    taken: Mapping[date, Collection[datetime]],
    high_risk: bool = False,
) -> Visit:
    """The latest free slot on or before `refill_by` and after `now`; if none, the nearest free
    slot after it, flagged overdue with what to do."""
    today = locale.today(now)
    for offset in range(min((refill_by - today).days, SEARCH_DAYS) + 1):
        day = refill_by - timedelta(days=offset)
        free = free_slots(day, locale, rules, taken.get(day, ()), now=now)
        if free:
            finding = Finding(
                "refill_appointment",
                Verdict.OK,
                f"{locale.format_moment(free[0])}: the latest free refill slot on or before the "
                f"refill-by date {locale.format_date(refill_by)}",
                f"on or before {refill_by.isoformat()}",
                f"{REFILL_BY_SOURCE}; {CALENDAR_SOURCE}; {BOOKING_SOURCE}",
            )
            return Visit(free[0], day, refill_by, False, Decision((finding,)))
    nearest = earliest_free_slot(today, now=now, locale=locale, rules=rules, taken=taken)
    cause = (
        f"the refill-by date {locale.format_date(refill_by)} has passed"
        if refill_by < today
        else f"no free refill slot from now to the refill-by date {locale.format_date(refill_by)}"
    )
    late = (locale.today(nearest) - refill_by).days
    finding = Finding(
        "refill_overdue",
        Verdict.WARN,
        f"urgent: {cause}; the nearest free slot, {locale.format_moment(nearest)}, is "
        f"{days_words(late)} after it: {URGENT_ACTION}",
        f"on or before {refill_by.isoformat()}",
        f"{REFILL_BY_SOURCE}; {CALENDAR_SOURCE}; {BOOKING_SOURCE}"
        + (f"; {BACLOFEN_SOURCE}" if high_risk else ""),
    )
    return Visit(nearest, locale.today(nearest), refill_by, True, Decision((finding,)))


def earliest_free_slot(
    start: date,
    *,
    now: datetime,
    locale: ClinicLocale,
    rules: BookingRules,
    taken: Mapping[date, Collection[datetime]],
) -> datetime:
    """The first free slot on or after the clinic's day `start` and after `now`."""
    for offset in range(min(SEARCH_DAYS, (date.max - start).days) + 1):
        day = start + timedelta(days=offset)
        free = free_slots(day, locale, rules, taken.get(day, ()), now=now)
        if free:
            return free[0]
    raise Refusal(
        "calendar",
        f"from {start.isoformat()}",
        f"a free refill slot within {SEARCH_DAYS} day",
        f"{CALENDAR_SOURCE}; {BOOKING_SOURCE}",
        "has no free slot (the clinic is closed or full)",
    )
