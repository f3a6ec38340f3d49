"""Appointments: a proposed refill is booked, moved or cancelled by the team. A date must be a
working day of the clinic (its country's holidays, its weekdays), a refill may not be moved
past its refill-by date (the reservoir or the drug's stability would run out first), and an
admission not before the day the pathway allows (an implantation waits after the test phase);
a moved admission keeps the length of its stay. An edit of a version someone else has changed
is a Conflict."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import Appointment
from painpump.clinic.roles import require
from painpump.clinic.services import Conflict, NotFound
from painpump.core.errors import Refusal
from painpump.core.pathway import IMPLANT_INTERVAL_SOURCE
from painpump.core.scheduling import ClinicCalendar

STATUSES = ("proposed", "booked", "done", "cancelled")
RULES = "painpump appointment rules (refill before the refill-by date, on a working day)"


@transaction.atomic
def update_appointment(
    user: User,
    appointment_id: UUID,
    *,
    on: date | None = None,
    status: str | None = None,
    expected_version: int | None = None,
) -> Appointment:
    """Book, move or cancel; with `expected_version`, only if nobody changed it since."""
    actor = require(user, "appointment.write")
    try:
        appointment = Appointment.objects.select_for_update().get(id=appointment_id)
    except Appointment.DoesNotExist:
        raise NotFound(f"appointment {appointment_id}") from None
    if expected_version is not None and appointment.version != expected_version:
        raise Conflict("appointment", str(appointment.id), expected_version, appointment.version)
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
        if appointment.not_before is not None and on < appointment.not_before:
            raise Refusal(
                "on",
                on.isoformat(),
                f"on or after {appointment.not_before.isoformat()}, the earliest implantation date",
                IMPLANT_INTERVAL_SOURCE,
                "is too early for this admission",
            )
        if appointment.ends_on is not None:
            appointment.ends_on += on - appointment.on
        appointment.on = on
    appointment.version += 1
    appointment.save(update_fields=["on", "ends_on", "status", "version"])
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
