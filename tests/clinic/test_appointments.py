"""Refill appointments: booked or moved only to a working day on or before the refill-by date;
a new refill closes the open ones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from test_refills import refill_at_day_60

from painpump.clinic import appointments
from painpump.clinic.models import Appointment, AuditEntry, Implant
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


def test_an_appointment_moves_only_to_a_working_day_before_the_refill_by_date(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    appointment = Appointment.objects.get()
    assert appointment.due_by is not None
    with pytest.raises(Refusal, match="too late for the refill"):
        appointments.update_appointment(
            nurse, appointment.id, on=appointment.due_by + timedelta(days=1)
        )
    saturday = appointment.due_by - timedelta(days=(appointment.due_by.weekday() - 5) % 7)
    if saturday > appointment.due_by:
        saturday -= timedelta(days=7)
    with pytest.raises(Refusal, match="not a working day"):
        appointments.update_appointment(nurse, appointment.id, on=saturday)
    with pytest.raises(Forbidden):
        appointments.update_appointment(pharmacist, appointment.id, status="booked")
    friday = saturday - timedelta(days=1)
    moved = appointments.update_appointment(nurse, appointment.id, on=friday, status="booked")
    assert (moved.on, moved.status) == (friday, "booked")
    assert friday.weekday() == 4 and friday <= appointment.due_by


def test_a_new_refill_closes_the_open_refill_appointment(implant: Implant, nurse: User) -> None:
    refill_at_day_60(nurse, implant, "8 mL")
    statuses = sorted(Appointment.objects.values_list("status", flat=True))
    assert statuses == ["done", "proposed"]
    assert date(2026, 1, 1) < Appointment.objects.get(status="proposed").on


def test_a_refill_done_early_shows_its_appointment_done_on_the_day_it_was_done(
    implant: Implant, nurse: User
) -> None:
    planned = Appointment.objects.get()
    refill = refill_at_day_60(nurse, implant, "8 mL")
    done = Appointment.objects.get(id=planned.id)
    assert planned.on > refill.performed_at.date()  # done early
    assert (done.status, done.on, done.version) == ("done", refill.performed_at.date(), 2)
    entry = AuditEntry.objects.get(action="appointment.update", object_id=str(planned.id))
    assert entry.before == {"on": planned.on.isoformat(), "status": "proposed"}
    assert entry.after == {"on": refill.performed_at.date().isoformat(), "status": "done"}


def test_the_note_of_a_refill_appointment_does_not_repeat_its_refill_by_date(
    implant: Implant, nurse: User
) -> None:
    refill_at_day_60(nurse, implant, "8 mL")
    proposed = Appointment.objects.get(status="proposed")
    assert proposed.due_by is not None
    assert proposed.note == "limited by the low-reservoir alarm"
