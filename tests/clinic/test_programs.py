"""Titration between refills: checked like a refill's program (label step limits, 24 h between
increases), by a physician only; the projection is recomputed from the volume left."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic.actions import programs
from painpump.clinic.models import Appointment, AuditEntry, Implant, Program
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db


TAPER = {"max_decrease_percent": "first step of a prescribed taper, watched for withdrawal"}
"""A baclofen decrease beyond the label's 20 % at maintenance passes only with its reason."""


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def test_a_titration_recomputes_the_projection_from_the_volume_left(
    implant: Implant, physician: User
) -> None:
    at = FIRST_FILL + timedelta(days=3)
    program = programs.change_program(physician, implant.id, dose=dose("440 mcg/day"), now=at)
    implant.refresh_from_db()
    # 20 mL less 3 days at 0.2 mL/day = 19.4 mL; to the 2 mL alarm at 0.22 mL/day: 79.09 days
    assert program.rate_ml_per_day == Decimal("0.22")
    assert implant.alarm_at is not None
    expected = at + timedelta(days=float(Decimal("17.4") / Decimal("0.22")))
    assert abs((implant.alarm_at - expected).total_seconds()) < 1
    assert Program.objects.filter(implant=implant, ended_at__isnull=True).get() == program
    entry = AuditEntry.objects.get(action="program.change")
    assert entry.before is not None and entry.after is not None
    assert entry.before["dose"] == "400 mcg/day"
    assert entry.after["dose"] == "440 mcg/day"
    assert entry.after["reservoir_left"] == "19.4 mL"


def test_a_second_increase_within_24_hours_is_stopped(implant: Implant, physician: User) -> None:
    at = FIRST_FILL + timedelta(days=3)
    programs.change_program(physician, implant.id, dose=dose("440 mcg/day"), now=at)
    with pytest.raises(Refusal, match="min_hours_between_increases"):
        programs.change_program(
            physician, implant.id, dose=dose("480 mcg/day"), now=at + timedelta(hours=12)
        )
    assert Program.objects.filter(implant=implant).count() == 2


def test_a_step_beyond_the_cerebral_label_limit_stops(implant: Implant, physician: User) -> None:
    with pytest.raises(Refusal, match="max_step_percent"):
        programs.change_program(
            physician, implant.id, dose=dose("480 mcg/day"), now=FIRST_FILL + timedelta(days=3)
        )


def test_a_decrease_is_allowed_and_a_nurse_cannot_titrate(
    implant: Implant, physician: User, nurse: User
) -> None:
    with pytest.raises(Forbidden):
        programs.change_program(
            nurse, implant.id, dose=dose("380 mcg/day"), now=FIRST_FILL + timedelta(days=3)
        )
    program = programs.change_program(
        physician,
        implant.id,
        dose=dose("300 mcg/day"),
        now=FIRST_FILL + timedelta(days=3),
        overrides=TAPER,
    )
    assert program.dose_mcg_per_day == Decimal(300)


def test_after_dose_changes_the_open_refill_appointment_is_due_by_the_new_refill_by_date(
    implant: Implant, physician: User
) -> None:
    booked = Appointment.objects.get(patient_id=implant.episode.patient_id, kind="refill")
    at = FIRST_FILL + timedelta(days=3)
    programs.change_program(physician, implant.id, dose=dose("440 mcg/day"), now=at)
    programs.change_program(
        physician,
        implant.id,
        dose=dose("300 mcg/day"),
        now=at + timedelta(days=1),
        overrides=TAPER,
    )
    implant.refresh_from_db()
    later = Appointment.objects.get(id=booked.id)
    assert later.due_by == implant.refill_by
    assert implant.refill_by is not None and later.on <= implant.refill_by
    assert later.on.weekday() < 5
    assert later.version > booked.version


def test_a_dose_change_that_brings_the_refill_forward_moves_the_appointment_and_audits_it(
    implant: Implant, physician: User, frozen_clock: time_machine.Traveller
) -> None:
    booked = Appointment.objects.get(patient_id=implant.episode.patient_id, kind="refill")
    at = FIRST_FILL + timedelta(days=3)
    frozen_clock.move_to(at)  # the physician changes the dose three days after the fill
    programs.change_program(physician, implant.id, dose=dose("460 mcg/day"), now=at)
    implant.refresh_from_db()
    moved = Appointment.objects.get(id=booked.id)
    assert implant.refill_by is not None and implant.refill_by < booked.on
    assert moved.starts_at is not None
    assert at < moved.starts_at and moved.on <= implant.refill_by and not moved.overdue
    why = AuditEntry.objects.filter(action="appointment.propose", object_id=str(booked.id)).last()
    assert why is not None and why.after is not None
    assert "moved by a dose change" in why.after["why"]
    entry = AuditEntry.objects.get(action="program.change")
    assert entry.after is not None
    assert entry.after["appointments_moved"] == [f"{booked.id}: {booked.on} -> {moved.on}"]
