"""The refill slots of the clinic's calendar as they stand: the rules of a refill visit, the slots
taken, the visit core proposes for a refill-by date and the free slots an open visit can move to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta
from uuid import UUID

from painpump.clinic.models import Appointment, ClinicSettings
from painpump.core.booking import BookingRules, Visit, free_slots, propose_visit
from painpump.core.locale import ClinicLocale

OPEN = ("proposed", "booked")
LOOK_AHEAD = timedelta(days=62)
"""How far past the refill-by date the slots taken are read (an urgent visit is found sooner)."""


def booking_rules(settings: ClinicSettings) -> BookingRules:
    return BookingRules(settings.refill_visit_minutes, settings.refill_capacity_per_day)


def taken_between(
    start: date, end: date, *, excluding: UUID | None = None
) -> dict[date, list[datetime]]:
    """The starts of the open refill visits on the clinic's days `start` to `end`, by day."""
    rows = Appointment.objects.filter(
        kind="refill", status__in=OPEN, on__gte=start, on__lte=end, starts_at__isnull=False
    )
    if excluding is not None:
        rows = rows.exclude(id=excluding)
    taken: dict[date, list[datetime]] = defaultdict(list)
    for on, starts_at in rows.values_list("on", "starts_at"):
        if starts_at is not None:
            taken[on].append(starts_at)
    return taken


def visit_for(
    refill_by: date,
    now: datetime,
    locale: ClinicLocale,
    rules: BookingRules,
    *,
    high_risk: bool,
    excluding: UUID | None = None,
    declined: Collection[datetime] = (),
    taken: dict[date, list[datetime]] | None = None,
) -> Visit:
    """The visit core proposes for `refill_by` among the slots not taken (nor `declined`);
    `taken`: the slots taken as a batch of moves keeps them (read once, kept current by the
    caller, the visit moved left out), instead of reading them again."""
    today = locale.today(now)
    if taken is None:
        taken = taken_between(today, max(today, refill_by) + LOOK_AHEAD, excluding=excluding)
    for start in declined:
        taken[locale.today(start)].append(start)
    return propose_visit(
        refill_by, now=now, locale=locale, rules=rules, taken=taken, high_risk=high_risk
    )


def feasible_slots(
    appointment: Appointment,
    now: datetime,
    locale: ClinicLocale,
    rules: BookingRules,
    taken: dict[date, list[datetime]],
    most: int = 12,
) -> list[datetime]:
    """Free slots an open refill visit can move to, latest first: from now to its refill-by
    date (or, when none is left, the nearest ones after it: those need a reason)."""
    today = locale.today(now)
    last = max(today, appointment.due_by or today)
    found: list[datetime] = []
    day = last
    while day >= today and len(found) < most:
        held = [t for t in taken.get(day, []) if t != appointment.starts_at]
        free = free_slots(day, locale, rules, held, now=now)
        found.extend(s for s in reversed(free) if s != appointment.starts_at)
        day -= timedelta(days=1)
    if found:
        return found[:most]
    day = last + timedelta(days=1)
    while len(found) < most and day <= last + LOOK_AHEAD:
        held = [t for t in taken.get(day, []) if t != appointment.starts_at]
        free = free_slots(day, locale, rules, held, now=now)
        found.extend(s for s in free if s != appointment.starts_at)
        day += timedelta(days=1)
    return found[:most]
