"""Titration between refills: a physician prescribes the new dose (checked like a refill's program:
label step limits, 24 h between increases), a second clinician double-checks it, a nurse or
physician programs the pump with it; the projection is recomputed from the volume left."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from painpump.clinic.actions import programs
from painpump.clinic.models import Appointment, AuditEntry, Implant, Prescription, Program
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db


TAPER = {"max_decrease_percent": "first step of a prescribed taper, watched for withdrawal"}
"""A baclofen decrease beyond the label's 20 % at maintenance passes only with its reason."""


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def test_a_titration_recomputes_the_projection_from_the_volume_left(
    implant: Implant, physician: User, nurse: User
) -> None:
    at = FIRST_FILL + timedelta(days=3)
    program = titrated(physician, implant.id, dose("440 mcg/day"), at=at, programmer=nurse)
    implant.refresh_from_db()
    # 20 mL less 3 days at 0.2 mL/day = 19.4 mL; to the 2 mL alarm at 0.22 mL/day: 79.09 days
    assert program.rate_ml_per_day == Decimal("0.22")
    assert implant.alarm_at is not None
    expected = at + timedelta(days=float(Decimal("17.4") / Decimal("0.22")))
    assert abs((implant.alarm_at - expected).total_seconds()) < 1
    assert Program.objects.filter(implant=implant, ended_at__isnull=True).get() == program
    assert (program.prescribed_by, program.programmed_by) == ("dr.house", "nurse.joy")
    entry = AuditEntry.objects.get(action="program.change")
    assert entry.actor == "nurse.joy"
    assert entry.before is not None and entry.after is not None
    assert entry.before["dose"] == "400 mcg/day"
    assert entry.after["dose"] == "440 mcg/day"
    assert entry.after["reservoir_left"] == "19.4 mL"
    assert entry.after["prescription"] == 2


def test_a_second_increase_within_24_hours_is_stopped(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    at = FIRST_FILL + timedelta(days=3)
    titrated(physician, implant.id, dose("440 mcg/day"), at=at)
    with pytest.raises(Refusal, match="min_hours_between_increases"):
        prescribed(
            physician,
            pharmacist,
            implant.id,
            baclofen(),
            dose("480 mcg/day"),
            at=at + timedelta(hours=12),
        )
    assert Program.objects.filter(implant=implant).count() == 2
    assert Prescription.objects.filter(implant=implant).count() == 2
    titrated(physician, implant.id, dose("480 mcg/day"), at=at + timedelta(hours=24))
    assert Program.objects.filter(implant=implant).count() == 3


def test_a_step_beyond_the_cerebral_titration_limit_is_refused_when_prescribed(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """Stroke is spasticity of cerebral origin: +15 % a step while titrating (Lioresal label),
    the phase a prescription is judged in unless the physician prescribes maintenance."""
    for phase in (None, Phase.TITRATION):
        with pytest.raises(Refusal, match="max_step_percent") as caught:
            prescribed(
                physician,
                pharmacist,
                implant.id,
                baclofen(),
                dose("470 mcg/day"),
                at=FIRST_FILL + timedelta(days=3),
                phase=phase,
            )
        assert "above <= 15 %" in caught.value.problem
        assert caught.value.limit.endswith("(hard limit: no override)")
    assert Prescription.objects.filter(implant=implant).count() == 1
    with pytest.raises(Refusal, match="is not ready to program"):
        programs.program_pump(
            physician,
            implant.id,
            expected_version=Implant.objects.get(id=implant.id).version,
            now=FIRST_FILL + timedelta(days=3),
        )


def test_a_change_between_refills_is_judged_as_titration_unless_prescribed_as_maintenance(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """+20 % three days after the fill: within the label's maintenance steps, beyond its +15 %
    titration steps (core.refill_decision.next_phase)."""
    at = FIRST_FILL + timedelta(days=3)
    with pytest.raises(Refusal, match="max_step_percent"):
        prescribed(physician, pharmacist, implant.id, baclofen(), dose("480 mcg/day"), at=at)
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        dose("480 mcg/day"),
        at=at,
        phase=Phase.MAINTENANCE,
    )
    version = Implant.objects.get(id=implant.id).version
    program = programs.program_pump(physician, implant.id, expected_version=version, now=at)
    assert program.phase == Phase.MAINTENANCE
    assert program.dose_mcg_per_day == Decimal(480)


def test_a_nurse_cannot_prescribe_a_decrease_but_programs_the_one_a_physician_prescribed(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    at = FIRST_FILL + timedelta(days=3)
    with pytest.raises(Forbidden, match=r"program\.prescribe"):
        prescribed(nurse, pharmacist, implant.id, baclofen(), dose("380 mcg/day"), at=at)
    with pytest.raises(Refusal) as caught:  # the taper's step needs the prescriber's reason
        prescribed(physician, pharmacist, implant.id, baclofen(), dose("300 mcg/day"), at=at)
    assert caught.value.field == "overrides" and "max_decrease_percent" in caught.value.value
    program = titrated(
        physician, implant.id, dose("300 mcg/day"), at=at, programmer=nurse, overrides=TAPER
    )
    assert program.dose_mcg_per_day == Decimal(300)
    assert program.programmed_by == "nurse.joy"
    assert program.overrides == [
        {
            "rule": "max_decrease_percent",
            "reason": TAPER["max_decrease_percent"],
            "given_at": "prescribing",
        }
    ]


def test_after_dose_changes_the_open_refill_appointment_is_due_by_the_new_refill_by_date(
    implant: Implant, physician: User
) -> None:
    booked = Appointment.objects.get(patient_id=implant.episode.patient_id, kind="refill")
    at = FIRST_FILL + timedelta(days=3)
    titrated(physician, implant.id, dose("440 mcg/day"), at=at)
    titrated(physician, implant.id, dose("300 mcg/day"), at=at + timedelta(days=1), overrides=TAPER)
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
    titrated(physician, implant.id, dose("460 mcg/day"), at=at)
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
