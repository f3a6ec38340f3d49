"""Appointments: a proposed refill is booked, moved or cancelled by the team. A date must be a
working day of the clinic (its country's holidays, its weekdays), and a refill may not be moved
past its refill-by date (the reservoir or the drug's stability would run out first)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.models import Appointment
from painpump.clinic.pathway import clinic_settings
from painpump.clinic.roles import require
from painpump.clinic.services import NotFound
from painpump.core.errors import Refusal
from painpump.core.scheduling import ClinicCalendar

STATUSES = ("proposed", "booked", "done", "cancelled")
RULES = "painpump appointment rules (refill before the refill-by date, on a working day)"


@transaction.atomic
def update_appointment(
    user: User, appointment_id: UUID, *, on: date | None = None, status: str | None = None
) -> Appointment:
    actor = require(user, "appointment.write")
    try:
        appointment = Appointment.objects.select_for_update().get(id=appointment_id)
    except Appointment.DoesNotExist:
        raise NotFound(f"appointment {appointment_id}") from None
    before = {"on": appointment.on.isoformat(), "status": appointment.status}
    if status is not None:
        if status not in STATUSES:
            raise Refusal(
                "status",
                repr(status),
                f"one of {', '.join(STATUSES)}",
                RULES,
                "is not an appointment status",
            )
        appointment.status = status
    if on is not None:
        settings = clinic_settings()
        calendar = ClinicCalendar(settings.country, settings.subdivision or None)
        closed = calendar.closed_because(on)
        if closed:
            raise Refusal(
                "on",
                on.isoformat(),
                "a working day of the clinic",
                RULES,
                f"is not a working day ({closed})",
            )
        if appointment.due_by is not None and on > appointment.due_by:
            raise Refusal(
                "on",
                on.isoformat(),
                f"on or before the refill-by date {appointment.due_by.isoformat()}",
                RULES,
                "is too late for the refill",
            )
        appointment.on = on
    appointment.save(update_fields=["on", "status"])
    audit.record(
        actor,
        "appointment.update",
        "appointment",
        appointment.id,
        patient_id=appointment.patient_id,
        before=before,
        after={"on": appointment.on.isoformat(), "status": appointment.status},
    )
    return appointment
