"""Moving many refill visits at once (a redate after a margin change) reads the slots taken once
and keeps them current move by move: two visits due the same day, with room for one visit a
day, land on different days, each where reading the calendar again would have put it."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from frozen import NOW, TODAY
from painpump.clinic.actions import refill_visits
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Patient
from painpump.clinic.reads import refill_slots

pytestmark = pytest.mark.django_db

DUE = TODAY + timedelta(days=30)


def _late_visit(patient: Patient, hour: int) -> Appointment:
    """A proposed refill visit a week after its refill-by date (DUE): it must move."""
    day = DUE + timedelta(days=7)
    return Appointment.objects.create(
        patient=patient,
        kind="refill",
        on=day,
        starts_at=locale_of(clinic_settings()).at(day, time(hour, 0)),
        due_by=DUE,
        status="proposed",
    )


def test_a_batch_of_moves_never_puts_two_visits_in_one_slot(patient: Patient) -> None:
    settings = clinic_settings()
    settings.refill_capacity_per_day = 1
    settings.save()
    first, second = _late_visit(patient, 9), _late_visit(patient, 10)
    taken = refill_slots.taken_between(TODAY, DUE + refill_slots.LOOK_AHEAD)
    for visit in (first, second):
        refill_visits.move_to_proposal("test", visit, "moved by a test", taken)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.on != second.on
    assert first.on <= DUE and second.on <= DUE
    assert second.on < first.on  # the day before was the latest with room
    # where reading the calendar again, each visit left out in turn, would put it
    locale, rules = locale_of(settings), refill_slots.booking_rules(settings)
    for visit in (first, second):
        again = refill_slots.visit_for(DUE, NOW, locale, rules, high_risk=False, excluding=visit.id)
        assert (again.day, again.starts_at) == (visit.on, visit.starts_at)
