"""A programming between refills dates the pump's open refill visit as a refill would (clinical
review, round 3: after a lower dose moved the refill-by date later, limited by the drug's
stability, the visit stayed weeks early, due by the new date, with the note "limited by the
low-reservoir alarm"): the visit is due by the new refill-by date, its note names what limits
it, a proposed visit moves to the latest free slot on or before it (the slot the next refill
then proposes), a booked one keeps the time agreed with the patient while in time; each change
audited in the programming's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from clinic_fixtures import titrated
from painpump.clinic.actions import appointments
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, AuditEntry, Implant, Program
from painpump.clinic.reads.refill_slots import booking_rules, visit_for
from painpump.core.units import Kind, parse
from report_scenario import DAY_60, measured_to_two_places

pytestmark = pytest.mark.django_db

TAPER = {"max_decrease_percent": "first step of a prescribed taper, watched for withdrawal"}
TITRATED_AT = DAY_60 + timedelta(days=3)
STABILITY = "limited by the drug's stability"
RESERVOIR = "limited by the low-reservoir alarm"


def _refilled(
    nurse: User, implant: Implant, clock: time_machine.Traveller
) -> tuple[Appointment, Implant]:
    """The refill on day 60 (400 mcg/day, 20 mL of 2000 mcg/mL: the alarm limits it) and the
    visit it proposed."""
    clock.move_to(DAY_60)
    refill = measured_to_two_places(nurse, implant)
    assert refill.limited_by == "reservoir"
    visit = Appointment.objects.get(kind="refill", status="proposed")
    assert (visit.due_by, visit.note) == (refill.refill_by, RESERVOIR)
    return visit, Implant.objects.get(id=implant.id)


def _halved(physician: User, implant: Implant, clock: time_machine.Traveller) -> Program:
    """150 mcg/day three days on (a taper step with its reason): the reservoir would last
    beyond baclofen's 180 days in the pump, so its stability limits the refill-by date."""
    clock.move_to(TITRATED_AT)
    program = titrated(
        physician,
        implant.id,
        parse("150 mcg/day", Kind.DOSE_RATE, "d"),
        at=TITRATED_AT,
        overrides=TAPER,
    )
    assert program.limited_by == "stability"
    return program


def test_a_programming_moving_the_refill_by_date_later_re_dates_the_proposed_visit(
    implant: Implant, nurse: User, physician: User, frozen_clock: time_machine.Traveller
) -> None:
    visit, before = _refilled(nurse, implant, frozen_clock)
    program = _halved(physician, implant, frozen_clock)
    pump = Implant.objects.get(id=implant.id)
    assert pump.refill_by is not None and before.refill_by is not None
    assert pump.refill_by > before.refill_by + timedelta(days=14)
    moved = Appointment.objects.get(id=visit.id)
    assert moved.status == "proposed"
    assert (moved.due_by, moved.note) == (pump.refill_by, STABILITY)
    assert visit.on < moved.on <= pump.refill_by  # no longer weeks before the date
    assert moved.version > visit.version
    # the slot a refill proposes for that date (the latest free one on or before it)
    settings = clinic_settings()
    rule = visit_for(
        pump.refill_by,
        TITRATED_AT,
        locale_of(settings),
        booking_rules(settings),
        high_risk=pump.high_risk,
        excluding=visit.id,
    )
    assert (moved.on, moved.starts_at, moved.overdue) == (rule.day, rule.starts_at, False)
    change = AuditEntry.objects.get(action="program.change", object_id=str(program.id))
    assert change.after is not None
    assert change.after["appointments_moved"] == [f"{visit.id}: {visit.on} -> {moved.on}"]
    update = AuditEntry.objects.filter(
        action="appointment.update", object_id=str(visit.id), seq__lt=change.seq
    ).last()
    assert update is not None and update.before is not None and update.after is not None
    assert update.before == {"due_by": before.refill_by.isoformat(), "note": RESERVOIR}
    assert update.after == {"due_by": pump.refill_by.isoformat(), "note": STABILITY}
    why = AuditEntry.objects.filter(action="appointment.propose", object_id=str(visit.id)).last()
    assert (
        why is not None and why.after is not None and "moved by a dose change" in why.after["why"]
    )
    assert why.seq < change.seq  # in the programming's transaction, before its own entry


def test_a_programming_re_dates_a_booked_visit_but_keeps_its_agreed_time(
    implant: Implant,
    nurse: User,
    physician: User,
    frozen_clock: time_machine.Traveller,
) -> None:
    visit, _ = _refilled(nurse, implant, frozen_clock)
    booked = appointments.update_appointment(
        nurse, visit.id, status="booked", expected_version=visit.version
    )
    _halved(physician, implant, frozen_clock)
    pump = Implant.objects.get(id=implant.id)
    kept = Appointment.objects.get(id=visit.id)
    assert (kept.status, kept.on, kept.starts_at) == ("booked", booked.on, booked.starts_at)
    assert (kept.due_by, kept.note) == (pump.refill_by, STABILITY)
    assert kept.version > booked.version  # a form opened on it before is stale
    update = AuditEntry.objects.filter(action="appointment.update", object_id=str(visit.id)).last()
    assert update is not None and update.after == {
        "due_by": str(pump.refill_by),
        "note": STABILITY,
    }
