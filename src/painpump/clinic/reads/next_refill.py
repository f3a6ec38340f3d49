"""The refill visit as every page shows it: the appointment a refill proposed, and the patient's
next refill visit with the pump's dates as stored with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from painpump.clinic.models import Appointment, Implant


@dataclass(frozen=True)
class RefillVisit:
    """A refill appointment: its clinic day, its start when it has one (UTC), and whether it
    lies after the refill-by date (with the reason recorded for booking it so)."""

    on: date
    due_by: date | None
    status: str
    note: str
    starts_at: datetime | None
    overdue: bool
    late_reason: str


def refill_visit(appointment: Appointment) -> RefillVisit:
    return RefillVisit(
        appointment.on,
        appointment.due_by,
        appointment.status,
        appointment.note,
        appointment.starts_at,
        appointment.overdue,
        appointment.late_reason,
    )


def next_visit(patient_id: UUID) -> RefillVisit | None:
    """The patient's soonest refill appointment proposed or booked."""
    appointment = (
        Appointment.objects.filter(
            patient_id=patient_id, kind="refill", status__in=("proposed", "booked")
        )
        .order_by("on", "starts_at")
        .first()
    )
    return None if appointment is None else refill_visit(appointment)


@dataclass(frozen=True)
class NextRefill:
    """The pump's dates as stored with it and its next refill visit (the same on every page)."""

    alarm_at: datetime | None
    empty_at: datetime | None
    refill_by: date
    visit: RefillVisit | None


def next_refill(patient_id: UUID, pump: Implant | None) -> NextRefill | None:
    """The next refill of the patient's pump in place (None without one, or before its first
    fill)."""
    if pump is None or pump.refill_by is None:
        return None
    return NextRefill(pump.alarm_at, pump.empty_at, pump.refill_by, next_visit(patient_id))
