"""A change of the clinic's refill margin dates every pump again (pump_dates.redate_all) and the
patients' open refill visits follow as after a dose change: a visit is due by the pump's new
refill-by date with a note naming what limits it, a proposed visit moves to the latest free slot
on or before it, a booked one keeps the time agreed with the patient while in time and is
proposed again when it now falls after it; a pump whose dates did not move leaves its visits
alone. Each change audited in the settings change's transaction, the moves named in the redate's
own entry. Every change goes through the settings service, as the settings page makes it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from clinic_fixtures import BORN, implanted_pump, titrated
from frozen import NOW, TODAY
from painpump.clinic import audit
from painpump.clinic.actions import appointments, patients, refills, settings_service
from painpump.clinic.actions.pump_dates import REDATED
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, AuditEntry, Implant
from painpump.clinic.reads.refill_slots import booking_rules, visit_for
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.units import Kind, parse
from report_scenario import DAY_60, measured_to_two_places

pytestmark = pytest.mark.django_db

TAPER = {"max_decrease_percent": "first step of a prescribed taper, watched for withdrawal"}
TITRATED_AT = DAY_60 + timedelta(days=3)
STABILITY = "limited by the drug's stability"
RESERVOIR = "limited by the low-reservoir alarm"
LONGER_MARGIN = 21
"""The refill margin the tests set, days (the clinic's default is 7): every reservoir-limited
refill-by date moves two weeks earlier."""


def _refilled(nurse: User, implant: Implant, clock: time_machine.Traveller) -> Appointment:
    """The refill on day 60 (400 mcg/day, 20 mL of 2000 mcg/mL: the alarm limits its refill-by
    date, some eight weeks from today) and the visit it proposed, read today."""
    clock.move_to(DAY_60)
    refill = measured_to_two_places(nurse, implant)
    assert refill.limited_by == "reservoir"
    clock.move_to(NOW)
    visit = Appointment.objects.get(kind="refill", status="proposed")
    assert (visit.due_by, visit.note) == (refill.refill_by, RESERVOIR)
    return visit


def _titrated(
    physician: User, implant: Implant, dose: str, clock: time_machine.Traveller
) -> Appointment:
    """A taper to `dose` three days after the day-60 refill: the reservoir lasts past baclofen's
    180 days in the pump, so its stability limits the refill-by date; the visit it moved."""
    clock.move_to(TITRATED_AT)
    program = titrated(
        physician,
        implant.id,
        parse(dose, Kind.DOSE_RATE, "d"),
        at=TITRATED_AT,
        overrides=TAPER,
    )
    assert program.limited_by == "stability"
    clock.move_to(NOW)
    visit = Appointment.objects.get(kind="refill", status="proposed")
    assert (visit.due_by, visit.note) == (program.refill_by, STABILITY)
    return visit


def _longer_margin(admin: User) -> AuditEntry:
    """The refill margin set to LONGER_MARGIN days through the settings service (the settings
    page's call); the redate's audit entry."""
    settings_service.update_settings(
        admin, expected_version=clinic_settings().version, refill_margin_days=LONGER_MARGIN
    )
    return AuditEntry.objects.get(action="pumps.redate")


def _refill_by(implant: Implant) -> date:
    refill_by = Implant.objects.get(id=implant.id).refill_by
    assert refill_by is not None
    return refill_by


def _working_day_on_or_before(day: date) -> date:
    calendar = locale_of(clinic_settings()).calendar
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


def _booked(nurse: User, visit: Appointment, on: date | None = None) -> Appointment:
    """`visit` booked with the patient, on its proposed slot or the first free one of `on`."""
    return appointments.update_appointment(
        nurse, visit.id, on=on, status="booked", expected_version=visit.version
    )


def test_a_longer_margin_moves_the_proposed_visit_and_its_due_date_and_note_follow(
    implant: Implant,
    nurse: User,
    physician: User,
    admin: User,
    frozen_clock: time_machine.Traveller,
) -> None:
    # 186 mcg/day: the alarm comes a few days after the stability limit plus the default
    # margin, so the longer margin makes the reservoir limit the refill-by date again
    _refilled(nurse, implant, frozen_clock)
    visit = _titrated(physician, implant, "186 mcg/day", frozen_clock)
    assert visit.due_by is not None
    entry = _longer_margin(admin)
    refill_by = _refill_by(implant)
    assert refill_by < visit.due_by
    moved = Appointment.objects.get(id=visit.id)
    assert moved.status == "proposed"
    assert (moved.due_by, moved.note) == (refill_by, RESERVOIR)
    assert moved.on <= refill_by < visit.on
    assert moved.version > visit.version
    # the slot a refill proposes for that date (the latest free one on or before it)
    settings = clinic_settings()
    rule = visit_for(
        refill_by,
        NOW,
        locale_of(settings),
        booking_rules(settings),
        high_risk=implant.high_risk,
        excluding=visit.id,
    )
    assert (moved.on, moved.starts_at, moved.overdue) == (rule.day, rule.starts_at, False)
    assert entry.after is not None
    assert entry.after["dated"][str(implant.id)]["refill_by"] == refill_by.isoformat()
    assert entry.after["appointments_moved"] == [f"{visit.id}: {visit.on} -> {moved.on}"]
    update = AuditEntry.objects.get(
        action="appointment.update", object_id=str(visit.id), seq__gt=_settings_entry().seq
    )
    assert update.before == {"due_by": visit.due_by.isoformat(), "note": STABILITY}
    assert update.after == {"due_by": refill_by.isoformat(), "note": RESERVOIR}
    why = AuditEntry.objects.filter(action="appointment.propose", object_id=str(visit.id)).last()
    assert why is not None and why.after is not None and REDATED in why.after["why"]
    assert update.seq < why.seq < entry.seq  # in the settings change's transaction
    assert audit.verify().ok


def _settings_entry() -> AuditEntry:
    entry = AuditEntry.objects.filter(action="settings.update").order_by("seq").last()
    assert entry is not None
    return entry


def test_a_booked_visit_still_in_time_keeps_its_slot_but_takes_the_new_due_date(
    implant: Implant,
    nurse: User,
    admin: User,
    frozen_clock: time_machine.Traveller,
) -> None:
    proposed = _refilled(nurse, implant, frozen_clock)
    assert proposed.due_by is not None
    early = _working_day_on_or_before(proposed.due_by - timedelta(days=LONGER_MARGIN + 14))
    assert early > TODAY
    booked = _booked(nurse, proposed, early)
    entry = _longer_margin(admin)
    refill_by = _refill_by(implant)
    assert booked.on <= refill_by < proposed.due_by
    kept = Appointment.objects.get(id=booked.id)
    assert (kept.status, kept.on, kept.starts_at) == ("booked", booked.on, booked.starts_at)
    assert (kept.due_by, kept.note) == (refill_by, RESERVOIR)
    assert kept.version > booked.version  # a form opened on it before is stale
    assert entry.after is not None and entry.after["appointments_moved"] == []
    update = AuditEntry.objects.filter(action="appointment.update", object_id=str(kept.id)).last()
    assert update is not None and update.seq < entry.seq
    assert update.after == {"due_by": refill_by.isoformat(), "note": RESERVOIR}
    assert not AuditEntry.objects.filter(
        action="appointment.propose", object_id=str(kept.id), seq__gt=update.seq
    ).exists()
    assert audit.verify().ok


def test_a_booked_visit_now_after_the_refill_by_date_is_proposed_again_in_time(
    implant: Implant,
    nurse: User,
    admin: User,
    frozen_clock: time_machine.Traveller,
) -> None:
    booked = _booked(nurse, _refilled(nurse, implant, frozen_clock))
    entry = _longer_margin(admin)
    refill_by = _refill_by(implant)
    assert booked.on > refill_by  # the agreed day now falls after the pump's refill-by date
    moved = Appointment.objects.get(id=booked.id)
    assert (moved.status, moved.due_by, moved.note) == ("proposed", refill_by, RESERVOIR)
    assert TODAY <= moved.on <= refill_by and not moved.overdue
    assert entry.after is not None
    assert entry.after["appointments_moved"] == [f"{booked.id}: {booked.on} -> {moved.on}"]
    why = AuditEntry.objects.filter(action="appointment.propose", object_id=str(moved.id)).last()
    assert why is not None and why.before is not None and why.after is not None
    assert why.before["status"] == "booked" and REDATED in why.after["why"]
    assert audit.verify().ok


def test_a_pump_whose_dates_did_not_move_leaves_its_visits_alone(
    implant: Implant,
    nurse: User,
    physician: User,
    pharmacist: User,
    admin: User,
    frozen_clock: time_machine.Traveller,
) -> None:
    moving = _refilled(nurse, implant, frozen_clock)
    # a second patient whose pump's refill-by date the drug's stability sets, weeks before
    # the alarm less any of these margins: 150 mcg/day from a first fill on day 60
    other = patients.create_patient(
        nurse,
        mrn="MRN-0002",
        family_name="Beispiel",
        given_name="Max",
        birth_date=BORN,
        today=TODAY,
    )
    pump = implanted_pump(physician, other.id, "NGP654321H")
    dose = parse("150 mcg/day", Kind.DOSE_RATE, "dose")
    frozen_clock.move_to(DAY_60)
    prescribed(physician, pharmacist, pump.id, baclofen(), dose, at=DAY_60 - timedelta(hours=1))
    first = refills.perform_refill(
        physician,
        pump.id,
        idempotency_key="second-first-fill",
        performed_at=DAY_60,
        expected=None,
        aspirated=None,
        fill=baclofen(),
        dose=dose,
    )
    assert first.limited_by == "stability"
    frozen_clock.move_to(NOW)
    stays = Appointment.objects.get(patient_id=other.id, kind="refill", status="proposed")
    booked = _booked(nurse, stays)
    before = Implant.objects.get(id=pump.id)
    entry = _longer_margin(admin)
    assert entry.after is not None
    assert list(entry.after["dated"]) == [str(implant.id)]
    after = Implant.objects.get(id=pump.id)
    assert (after.alarm_at, after.empty_at, after.refill_by) == (
        before.alarm_at,
        before.empty_at,
        before.refill_by,
    )
    kept = Appointment.objects.get(id=booked.id)
    assert (kept.on, kept.starts_at, kept.status, kept.due_by, kept.note, kept.version) == (
        booked.on,
        booked.starts_at,
        booked.status,
        booked.due_by,
        booked.note,
        booked.version,
    )
    assert not AuditEntry.objects.filter(
        object_id=str(kept.id), seq__gt=_settings_entry().seq
    ).exists()
    # the first patient's visit moved in the same change
    assert Appointment.objects.get(id=moving.id).due_by == _refill_by(implant)
    assert audit.verify().ok
