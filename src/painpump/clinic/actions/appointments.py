"""Appointments: a proposed visit is booked, moved or cancelled by the team. A booking is for a
visit to come (a past visit is recorded with the refill itself), on a working day of the clinic
within its opening hours; a refill visit takes a free slot of a day that has room (the clinic's
capacity), and one after its refill-by date needs a reason, kept on the appointment; an admission
comes no earlier than the pathway allows (an implantation waits after the test phase), and a
moved admission keeps the length of its stay. An edit of a version someone else has changed is a
Conflict."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import refill_visits
from painpump.clinic.errors import Conflict, get_or_not_found
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Implant
from painpump.clinic.reads.refill_slots import booking_rules, taken_between
from painpump.clinic.roles import require
from painpump.core.booking import BOOKING_SOURCE, BookingRules, day_slots, free_slots
from painpump.core.errors import Refusal
from painpump.core.locale import ClinicLocale, aware
from painpump.core.pathway.sources import IMPLANT_INTERVAL_SOURCE
from painpump.core.scheduling import earliest_working_day

STATUSES = ("proposed", "booked", "cancelled")
"""What a person sets here; a visit is done by recording it (a refill marks its visit done)."""
HORIZON_DAYS = 366
"""How far ahead a visit is booked."""
RULES = "painpump appointment rules (refill before the refill-by date, on a working day)"
PAST_RULE = (
    "painpump appointment rules: a booking is for a visit to come; a visit that happened is "
    "recorded with the refill itself"
)
LATE_RULE = (
    "painpump appointment rules: a refill after its refill-by date risks an empty reservoir "
    "(baclofen: life-threatening withdrawal); it is booked only with a recorded reason"
)
MAX_REASON = 300
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
"""Letters that print as nothing (the Hangul fillers): no reason is written with them alone."""


def _shown(appointment: Appointment) -> dict[str, object]:
    return {
        **refill_visits.shown(appointment),
        "late_reason": appointment.late_reason or None,
        "ends_on": appointment.ends_on.isoformat() if appointment.ends_on else None,
    }


@transaction.atomic
def update_appointment(
    user: User,
    appointment_id: UUID,
    *,
    on: date | None = None,
    starts_at: datetime | None = None,
    status: str | None = None,
    late_reason: str | None = None,
    expected_version: int | None = None,
) -> Appointment:
    """Book, move or cancel; with `expected_version`, only if nobody changed it since. A move
    gives the day (`on`: a refill takes that day's first free slot) or the start (`starts_at`)."""
    actor = require(user, "appointment.write")
    appointment = get_or_not_found(Appointment.objects.select_for_update(), appointment_id)
    if expected_version is not None and appointment.version != expected_version:
        raise Conflict("appointment", str(appointment.id), expected_version, appointment.version)
    before = _shown(appointment)
    now = clock.now()
    settings = clinic_settings()
    locale = locale_of(settings)
    if status is not None:
        if status not in STATUSES:
            raise Refusal(
                "status",
                repr(status),
                f"one of {', '.join(STATUSES)} (a visit is done by recording it: the refill "
                "itself marks its visit done)",
                RULES,
                "is not a status to set",
            )
        if appointment.status in ("done", "cancelled") and status != appointment.status:
            raise Refusal(
                "status",
                repr(status),
                f"an open appointment (this one is {appointment.status})",
                RULES,
                "cannot reopen it",
            )
        appointment.status = status
    moved = on is not None or starts_at is not None
    if moved and appointment.status == "cancelled":
        raise Refusal(
            "on" if on is not None else "starts_at",
            (on or starts_at or now).isoformat(),
            "no new day for a cancelled appointment (a cancellation is final)",
            RULES,
            "cannot move a cancelled appointment",
        )
    if moved:
        _move(appointment, on, starts_at, now, locale, booking_rules(settings))
    elif status == "booked":
        _check_not_past(appointment, now, locale)
    if appointment.status in ("proposed", "booked"):
        _check_in_time(appointment, late_reason, chosen=moved or status == "booked")
        if moved or status == "booked":
            given = "starts_at" if starts_at is not None else "on" if on is not None else "status"
            _check_before_empty(appointment, now, locale, given)
    appointment.version += 1
    appointment.save()
    audit.record(
        actor,
        "appointment.update",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        before=before,
        after=_shown(appointment),
    )
    if (
        appointment.kind == Appointment.Kind.REFILL
        and status == "cancelled"
        and before["status"] != "cancelled"
    ):
        # a pump still needs its refill: a cancelled visit is replaced at another free slot
        refill_visits.propose_instead(actor, appointment)
    return appointment


def _move(
    appointment: Appointment,
    on: date | None,
    starts_at: datetime | None,
    now: datetime,
    locale: ClinicLocale,
    rules: BookingRules,
) -> None:
    if starts_at is not None:
        starts_at = aware(starts_at)
        horizon_at = now + timedelta(days=HORIZON_DAYS)
        try:
            day = locale.today(starts_at)
            ahead = starts_at > horizon_at
        except OverflowError:  # its UTC reading leaves the calendar (years 1 to 9999)
            ahead = starts_at.year > now.year
            raise Refusal(
                "starts_at",
                starts_at.isoformat(),
                f"within a year (before {locale.format_moment(horizon_at)})"
                if ahead
                else f"not before now ({locale.format_moment(now)})",
                RULES if ahead else PAST_RULE,
                "is too far ahead" if ahead else "is in the past",
            ) from None
        if ahead:
            raise Refusal(
                "starts_at",
                starts_at.isoformat(),
                f"within a year (before {locale.format_moment(horizon_at)})",
                RULES,
                "is too far ahead",
            )
        if on is not None and on != day:
            raise Refusal(
                "on",
                on.isoformat(),
                f"the day of starts_at ({day.isoformat()} in the clinic's zone)",
                RULES,
                "does not match the start",
            )
    else:
        assert on is not None
        day = on
    field = "starts_at" if starts_at is not None else "on"
    shown = locale.format_moment(starts_at) if starts_at else locale.format_date(day)
    horizon = locale.today(now) + timedelta(days=HORIZON_DAYS)
    if day > horizon:
        raise Refusal(
            field,
            shown,
            f"within a year (by {locale.format_date(horizon)})",
            RULES,
            "is too far ahead",
        )
    if day < locale.today(now) or (starts_at is not None and starts_at < now):
        raise Refusal(
            field,
            shown,
            f"not before now ({locale.format_moment(now)})",
            PAST_RULE,
            "is in the past",
        )
    closed = locale.calendar.closed_because(day)
    if closed:
        raise Refusal(
            field, shown, "a working day of the clinic", RULES, f"is not a working day ({closed})"
        )
    if appointment.not_before is not None and day < appointment.not_before:
        raise Refusal(
            field,
            shown,
            f"on or after {appointment.not_before.isoformat()}, the earliest implantation date",
            IMPLANT_INTERVAL_SOURCE,
            "is too early for this admission",
        )
    if appointment.kind == Appointment.Kind.REFILL:
        starts_at = _refill_slot(appointment, day, starts_at, now, locale, rules)
        appointment.minutes = rules.visit_minutes
    elif starts_at is None:
        starts_at = locale.at(day, locale.opens_at)
    if appointment.ends_on is not None:
        appointment.ends_on += day - appointment.on
    appointment.on, appointment.starts_at = day, starts_at


def _refill_slot(
    appointment: Appointment,
    day: date,
    starts_at: datetime | None,
    now: datetime,
    locale: ClinicLocale,
    rules: BookingRules,
) -> datetime:
    """The start of a refill visit moved to `day`: the one asked for when it is free, else the
    day's first free slot; refused when the day has no room."""
    taken = taken_between(day, day, excluding=appointment.id).get(day, [])
    free = free_slots(day, locale, rules, taken, now=now)
    if starts_at is None:
        if not free:
            raise Refusal(
                "on",
                locale.format_date(day),
                f"a day with a free refill slot ({rules.capacity_per_day} visits of "
                f"{rules.visit_minutes} min a day)",
                BOOKING_SOURCE,
                "is full",
            )
        return free[0]
    length = timedelta(minutes=rules.visit_minutes)
    wall = locale.local(starts_at).time()
    if wall < locale.opens_at or (locale.local(starts_at) + length).time() > locale.closes_at:
        raise Refusal(
            "starts_at",
            locale.format_moment(starts_at),
            f"a {rules.visit_minutes} min visit between {locale.opens_at:%H:%M} and "
            f"{locale.closes_at:%H:%M}",
            BOOKING_SOURCE,
            "is outside the opening hours",
        )
    slots = day_slots(day, locale, rules)
    full = len(taken) >= len(slots)
    if full or starts_at not in slots or any(abs(t - starts_at) < length for t in taken):
        raise Refusal(
            "starts_at",
            starts_at.isoformat(),
            "a free slot: "
            + (", ".join(locale.format_time(s) for s in free) or "none left that day"),
            BOOKING_SOURCE,
            "is not a free slot",
        )
    return starts_at


def _check_before_empty(
    appointment: Appointment, now: datetime, locale: ClinicLocale, field: str
) -> None:
    """A refill visit is not booked after its pump runs empty, unless no open day comes sooner."""
    if appointment.kind != Appointment.Kind.REFILL:
        return
    empty_at = (
        Implant.objects.filter(
            episode__patient_id=appointment.patient_id,
            explanted_on__isnull=True,
            empty_at__isnull=False,
        )
        .values_list("empty_at", flat=True)
        .first()
    )
    if empty_at is None:
        return
    empty_day = locale.today(empty_at)
    first_open = earliest_working_day(locale.today(now), locale.calendar)
    latest = max(empty_day, first_open)
    visit_at = appointment.starts_at or locale.day_start(appointment.on)
    after_empty = visit_at > empty_at if first_open <= empty_day else appointment.on > first_open
    if after_empty:
        raise Refusal(
            field,
            locale.format_date(appointment.on),
            f"on or before {locale.format_date(latest)}, when the pump runs empty "
            f"({locale.format_moment(empty_at)})",
            LATE_RULE,
            "is after the reservoir runs empty",
        )


def _check_not_past(appointment: Appointment, now: datetime, locale: ClinicLocale) -> None:
    past = (
        appointment.starts_at < now
        if appointment.starts_at is not None
        else appointment.on < locale.today(now)
    )
    if past:
        shown = (
            locale.format_moment(appointment.starts_at)
            if appointment.starts_at
            else locale.format_date(appointment.on)
        )
        raise Refusal(
            "starts_at",
            shown,
            f"not before now ({locale.format_moment(now)}): move it to a slot to come",
            PAST_RULE,
            "is in the past",
        )


def _check_in_time(appointment: Appointment, late_reason: str | None, *, chosen: bool) -> None:
    """A refill visit after its refill-by date is booked or moved there only with a reason (the
    urgent proposal the clinic made itself waits for one)."""
    if appointment.due_by is None or appointment.on <= appointment.due_by:
        appointment.overdue, appointment.late_reason = False, ""
        return
    appointment.overdue = True
    reason = (late_reason or "").strip()
    if reason and not any(c.isalnum() and c not in BLANK_LETTERS for c in reason):
        raise Refusal(
            "late_reason",
            repr(reason),
            "a reason in words",
            LATE_RULE,
            "says nothing",
        )
    if reason:
        if len(reason) > MAX_REASON:
            raise Refusal(
                "late_reason",
                f"{len(reason)} characters",
                f"at most {MAX_REASON} characters",
                RULES,
                "is too long",
            )
        appointment.late_reason = reason
    if chosen and not appointment.late_reason:
        raise Refusal(
            "late_reason",
            "(none)",
            f"a reason for a refill after its refill-by date {appointment.due_by.isoformat()}",
            LATE_RULE,
            "is missing",
        )
