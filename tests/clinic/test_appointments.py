"""Refill appointments: booked or moved only to a working day on or before the refill-by date;
a new refill closes the open ones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from test_refills import refill_at_day_60

from painpump.clinic import appointments
from painpump.clinic.models import Appointment, Implant
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
