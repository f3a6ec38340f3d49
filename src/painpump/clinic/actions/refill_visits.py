"""A pump's refill visit on the clinic's calendar: proposed by core.booking at the latest free
slot on or before the refill-by date (urgent after it when none remains), kept as the patient's
open refill appointment, moved when the refill-by date moves or the proposed slot has passed.
Every page, report and API answer shows that stored appointment."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Implant
from painpump.clinic.reads.refill_slots import OPEN, booking_rules, visit_for
from painpump.clinic.roles import require
from painpump.core.locale import ClinicLocale
from painpump.core.refill import LimitedBy
from painpump.db import read_only

SYSTEM = "painpump"
"""The actor of a proposal moved because its slot has passed (no person moved it)."""


def shown(appointment: Appointment) -> dict[str, object]:
    """An appointment's day, start, status, lateness and refill-by date as its audit entries
    record them."""
    return {
        "on": appointment.on.isoformat(),
        "starts_at": appointment.starts_at.isoformat() if appointment.starts_at else None,
        "status": appointment.status,
        "overdue": appointment.overdue,
        "due_by": appointment.due_by.isoformat() if appointment.due_by else None,
    }


def limited_note(limited_by: LimitedBy, stopped: bool = False) -> str:
    """The note of a refill visit: what limits the refill-by date it is due by, and for a
    stopped pump (a stop, or a single bolus's end) that no refill executes its prescription."""
    note = f"limited by the {limited_by.words}"
    if stopped:
        note += "; the pump is stopped: a physician prescribes anew before it can be refilled"
    return note


def propose_refill(
    actor: str, implant: Implant, note: str, declined: Collection[datetime] = ()
) -> Appointment:
    """A new proposed refill visit for the implant's refill-by date, not at a `declined` start
    (inside the caller's transaction, audited)."""
    assert implant.refill_by is not None
    settings = clinic_settings()
    visit = visit_for(
        implant.refill_by,
        clock.now(),
        locale_of(settings),
        booking_rules(settings),
        high_risk=implant.high_risk,
        declined=declined,
    )
    appointment = Appointment.objects.create(
        patient_id=implant.episode.patient_id,
        kind="refill",
        on=visit.day,
        starts_at=visit.starts_at,
        minutes=settings.refill_visit_minutes,
        due_by=implant.refill_by,
        overdue=visit.overdue,
        note=note,
    )
    _record_proposal(actor, appointment, visit.decision.findings[0].message)
    return appointment


def _record_proposal(
    actor: str, appointment: Appointment, why: str, before: dict[str, object] | None = None
) -> None:
    audit.record(
        actor,
        "appointment.propose",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        before=before,
        after={**shown(appointment), "why": why},
    )


def move_to_proposal(
    actor: str,
    appointment: Appointment,
    why: str,
    taken: dict[date, list[datetime]] | None = None,
) -> Appointment:
    """Move a locked open refill appointment to the visit core proposes now for its refill-by
    date (audited; a form opened on it is stale). `taken`: the slots taken, read once for a
    batch of moves (refill_slots.taken_between) and kept current here."""
    assert appointment.due_by is not None
    settings = clinic_settings()
    high_risk = Implant.objects.filter(
        episode__patient_id=appointment.patient_id, explanted_on__isnull=True, high_risk=True
    ).exists()
    held = taken.get(appointment.on, []) if taken is not None else []
    if appointment.starts_at in held:
        held.remove(appointment.starts_at)
    visit = visit_for(
        appointment.due_by,
        clock.now(),
        locale_of(settings),
        booking_rules(settings),
        high_risk=high_risk,
        excluding=appointment.id,
        taken=taken,
    )
    if taken is not None and visit.starts_at is not None:
        taken.setdefault(visit.day, []).append(visit.starts_at)
    before = shown(appointment)
    appointment.on, appointment.starts_at, appointment.overdue = (
        visit.day,
        visit.starts_at,
        visit.overdue,
    )
    appointment.minutes = settings.refill_visit_minutes
    appointment.status = "proposed"
    appointment.late_reason = ""
    appointment.version += 1
    appointment.save()
    _record_proposal(actor, appointment, f"{why}; {visit.decision.findings[0].message}", before)
    return appointment


def reschedule_refill(
    actor: str,
    implant: Implant,
    note: str,
    why: str,
    *,
    open_refills: Sequence[Appointment] | None = None,
    taken: dict[date, list[datetime]] | None = None,
) -> list[str]:
    """The patient's open refill appointments follow the pump's new dates as a refill's visit
    would: each is due by the new refill-by date with `note` (limited_note); a proposed
    one moves to the visit core proposes for it (the latest free slot on or before it, as a
    refill proposes), a booked one only when it now falls after it (or was urgent): a refill
    must not stay booked after the pump's alarm, and a booked time the patient agreed to stays
    while it is in time. `why` says what moved them; `open_refills`: the patient's open refill
    appointments, locked and in order of due date, when the caller read them already; `taken`:
    the slots taken, for a batch of moves (move_to_proposal). Audited; returns what moved."""
    assert implant.refill_by is not None
    if open_refills is None:
        open_refills = list(
            Appointment.objects.select_for_update()
            .filter(patient_id=implant.episode.patient_id, kind="refill", status__in=OPEN)
            .order_by("due_by", "id")
        )
    moved = []
    for appointment in open_refills:
        before = (appointment.on, appointment.starts_at)
        due_moved = appointment.due_by != implant.refill_by
        changed = due_moved or appointment.note != note
        if changed:
            audit.record(
                actor,
                "appointment.update",
                "appointment",
                appointment.id,
                patient_id=appointment.patient_id,
                before={
                    "due_by": appointment.due_by.isoformat() if appointment.due_by else None,
                    "note": appointment.note,
                },
                after={"due_by": implant.refill_by.isoformat(), "note": note},
            )
        appointment.due_by, appointment.note = implant.refill_by, note
        proposal = appointment.status == "proposed" and due_moved
        if appointment.on > implant.refill_by or appointment.overdue or proposal:
            move_to_proposal(actor, appointment, why, taken)
            if (appointment.on, appointment.starts_at) != before:
                moved.append(f"{appointment.id}: {before[0]} -> {appointment.on}")
        elif changed:
            appointment.version += 1  # a form opened on it before is stale
            appointment.save(update_fields=["due_by", "note", "version"])
    return moved


def propose_instead(actor: str, cancelled: Appointment) -> Appointment | None:
    """A new proposed visit for the pump whose refill visit was cancelled, at another free slot
    (none when the patient has no pump in place to refill)."""
    implant = (
        Implant.objects.select_related("episode")
        .filter(
            episode__patient_id=cancelled.patient_id,
            explanted_on__isnull=True,
            refill_by__isnull=False,
        )
        .first()
    )
    if implant is None:
        return None
    declined = Appointment.objects.filter(
        patient_id=cancelled.patient_id,
        kind="refill",
        status="cancelled",
        due_by=cancelled.due_by,
        starts_at__isnull=False,
    ).values_list("starts_at", flat=True)
    return propose_refill(
        actor,
        implant,
        "proposed again after a cancellation",
        declined=[start for start in declined if start is not None],
    )


def repropose_open(actor: str, why: str) -> int:
    """After a change of the clinic's calendar, hours or capacity: every proposed refill visit
    moves to the slot core proposes now, and a booked one the clinic can no longer keep (its day
    closed, its time outside the hours) is proposed again, to be booked anew with the patient.
    Returns how many were proposed again."""
    locale = locale_of(clinic_settings())
    rows = Appointment.objects.select_for_update().filter(
        kind="refill", status__in=OPEN, due_by__isnull=False
    )
    count = 0
    for appointment in rows.order_by("due_by", "id"):
        if appointment.status == "booked" and _still_open(appointment, locale):
            continue
        move_to_proposal(actor, appointment, why)
        count += 1
    return count


def _still_open(appointment: Appointment, locale: ClinicLocale) -> bool:
    """A booked visit still falls on an open day, within the opening hours."""
    if not locale.calendar.is_working_day(appointment.on):
        return False
    if appointment.starts_at is None:
        return True
    start = locale.local(appointment.starts_at)
    end = start + timedelta(minutes=appointment.minutes or 0)
    return locale.opens_at <= start.time() and end.time() <= locale.closes_at


@transaction.atomic
def refresh_passed_proposals(user: User, now: datetime) -> int:
    """Proposed (not booked) refill visits whose slot has passed move to the slot core proposes
    now, before a reader of the worklist sees them (patient.read): a proposal is never left in
    the past. Returns how many moved."""
    require(user, "patient.read")
    today = locale_of(clinic_settings()).today(now)
    passed = Appointment.objects.filter(
        Q(starts_at__lt=now) | Q(starts_at__isnull=True, on__lt=today),
        kind="refill",
        status="proposed",
        on__lte=today,  # read in the index of open appointments by day
        due_by__isnull=False,
    )
    if not passed.exists():
        return 0
    read_only.require_writing()
    moved = 0
    for appointment in passed.select_for_update().order_by("due_by", "id"):
        move_to_proposal(SYSTEM, appointment, "the proposed slot has passed unbooked")
        moved += 1
    return moved
