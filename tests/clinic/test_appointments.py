"""Refill visits on the clinic's calendar: a refill proposes the latest free slot on or before
the refill-by date (urgent at the nearest free slot when none remains, never in the past); a
booking is for a visit to come, on a working day within opening hours, in a free slot of a day
with room; after the refill-by date only with a reason, kept; a proposal whose slot has passed
moves; a new refill closes the open appointment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from test_refills import refill_at_day_60

from frozen import NOW, TODAY, ZONE
from painpump.clinic.actions import appointments, refill_visits, refills, settings_service
from painpump.clinic.locale import clinic_locale, clinic_settings
from painpump.clinic.models import Appointment, AuditEntry, Implant
from painpump.clinic.reads import refill_slots
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen
from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse
from painpump.db.read_only import WritingRequired, read_only

pytestmark = pytest.mark.django_db


def refill_now(user: User, implant: Implant, key: str = "now") -> Appointment:
    """A refill at the present moment; returns the refill visit it proposes."""
    refills.perform_refill(
        user,
        implant.id,
        idempotency_key=key,
        performed_at=NOW,
        expected=parse("3 mL", Kind.VOLUME, "e"),
        aspirated=parse("3 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
    )
    return Appointment.objects.get(kind="refill", status="proposed")


def working_days_before(day: date, count: int) -> list[date]:
    """The `count` working days of the clinic before `day`, latest first."""
    calendar = clinic_locale().calendar
    found: list[date] = []
    while len(found) < count:
        day -= timedelta(days=1)
        if calendar.is_working_day(day):
            found.append(day)
    return found


def working_day_after(day: date) -> date:
    """The clinic's first working day after `day`."""
    calendar = clinic_locale().calendar
    day += timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def test_a_refill_proposes_the_latest_free_slot_on_or_before_the_refill_by_date(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    locale = clinic_locale()
    assert proposed.due_by is not None and proposed.starts_at is not None
    assert proposed.on == working_days_before(proposed.due_by + timedelta(days=1), 1)[0]
    assert proposed.on == locale.today(proposed.starts_at)
    assert locale.local(proposed.starts_at).time() == locale.opens_at
    assert proposed.minutes == clinic_settings().refill_visit_minutes
    assert not proposed.overdue and proposed.starts_at > NOW
    entry = AuditEntry.objects.filter(action="appointment.propose").last()
    assert entry is not None and entry.after is not None
    assert "latest free refill slot" in entry.after["why"]


def test_the_next_patient_due_that_day_gets_the_next_slot_and_a_full_day_sends_the_next_earlier(
    implant: Implant, nurse: User
) -> None:
    first = refill_now(nurse, implant)
    assert first.due_by is not None and first.starts_at is not None
    settings = clinic_settings()
    settings.refill_capacity_per_day = 2
    settings.save()
    locale, rules = clinic_locale(), refill_slots.booking_rules(settings)
    second = refill_slots.visit_for(first.due_by, NOW, locale, rules, high_risk=False)
    assert second.day == first.on
    assert second.starts_at == first.starts_at + timedelta(minutes=rules.visit_minutes)
    Appointment.objects.create(
        patient=first.patient, kind="refill", on=second.day, starts_at=second.starts_at
    )
    third = refill_slots.visit_for(first.due_by, NOW, locale, rules, high_risk=False)
    assert third.day == working_days_before(first.on, 1)[0] and not third.overdue


def test_a_refill_whose_refill_by_date_has_passed_is_proposed_urgent_at_the_nearest_free_slot(
    implant: Implant,
) -> None:
    locale, rules = clinic_locale(), refill_slots.booking_rules(clinic_settings())
    visit = refill_slots.visit_for(TODAY - timedelta(days=3), NOW, locale, rules, high_risk=True)
    assert visit.overdue and visit.starts_at > NOW
    nearest = next(
        d
        for d in (TODAY + timedelta(days=n) for n in range(10))
        if locale.calendar.is_working_day(d) and locale.at(d, time(16, 30)) > NOW
    )
    assert visit.day == nearest
    (finding,) = visit.decision.findings
    assert finding.rule == "refill_overdue"
    assert "has passed" in finding.message and "recorded reason" in finding.message
    assert "baclofen" in finding.source


def test_a_booking_in_the_past_is_refused_and_changes_nothing(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    yesterday = working_days_before(TODAY, 1)[0]
    with pytest.raises(Refusal, match="is in the past") as refused:
        appointments.update_appointment(nurse, proposed.id, on=yesterday)
    assert refused.value.field == "on"
    an_hour_ago = NOW - timedelta(hours=1)
    with pytest.raises(Refusal, match="is in the past") as refused:
        appointments.update_appointment(nurse, proposed.id, starts_at=an_hour_ago)
    assert refused.value.field == "starts_at"
    assert Appointment.objects.get(id=proposed.id).version == proposed.version


def test_booking_a_proposal_whose_slot_has_passed_is_refused(implant: Implant, nurse: User) -> None:
    proposed = refill_now(nurse, implant)
    Appointment.objects.filter(id=proposed.id).update(starts_at=NOW - timedelta(minutes=5))
    with pytest.raises(Refusal, match="move it to a slot to come"):
        appointments.update_appointment(nurse, proposed.id, status="booked")


def test_a_booking_after_the_refill_by_date_needs_a_reason_which_is_kept(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    assert proposed.due_by is not None
    late = working_day_after(proposed.due_by)
    with pytest.raises(Refusal, match="is missing") as refused:
        appointments.update_appointment(nurse, proposed.id, on=late, status="booked")
    assert refused.value.field == "late_reason"
    assert "refill-by date" in refused.value.limit
    assert Appointment.objects.get(id=proposed.id).on == proposed.on
    booked = appointments.update_appointment(
        nurse, proposed.id, on=late, status="booked", late_reason="patient abroad until then"
    )
    assert (booked.on, booked.status, booked.overdue) == (late, "booked", True)
    assert booked.late_reason == "patient abroad until then"
    entry = AuditEntry.objects.filter(action="appointment.update").last()
    assert entry is not None and entry.after is not None
    assert entry.after["late_reason"] == "patient abroad until then"
    back = appointments.update_appointment(nurse, proposed.id, on=proposed.on)
    assert (back.overdue, back.late_reason) == (False, "")


def test_a_refill_moves_only_to_a_working_day_within_hours_and_a_free_slot(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    proposed = refill_now(nurse, implant)
    assert proposed.due_by is not None and proposed.starts_at is not None
    locale = clinic_locale()
    sunday = proposed.due_by - timedelta(days=(proposed.due_by.weekday() + 1) % 7)
    with pytest.raises(Refusal, match="not a working day"):
        appointments.update_appointment(nurse, proposed.id, on=sunday)
    day = working_days_before(proposed.on, 1)[0]
    evening = datetime.combine(day, time(19, 0), tzinfo=ZONE)
    with pytest.raises(Refusal, match="outside the opening hours"):
        appointments.update_appointment(nurse, proposed.id, starts_at=evening)
    other = Appointment.objects.create(
        patient=proposed.patient,
        kind="refill",
        on=day,
        starts_at=locale.at(day, time(10, 0)),
        status="booked",
    )
    with pytest.raises(Refusal, match="is not a free slot"):
        appointments.update_appointment(
            nurse, proposed.id, starts_at=datetime.combine(day, time(10, 15), tzinfo=ZONE)
        )
    with pytest.raises(Forbidden):
        appointments.update_appointment(pharmacist, proposed.id, status="booked")
    moved = appointments.update_appointment(
        nurse, proposed.id, starts_at=locale.at(day, time(10, 30)), status="booked"
    )
    assert (moved.on, moved.status, moved.overdue) == (day, "booked", False)
    assert moved.starts_at is not None
    assert locale.local(moved.starts_at).time() == time(10, 30)
    assert other.on == moved.on


def test_a_full_day_is_refused_naming_its_capacity(implant: Implant, nurse: User) -> None:
    proposed = refill_now(nurse, implant)
    settings = clinic_settings()
    settings.refill_capacity_per_day = 1
    settings.save()
    day = working_days_before(proposed.on, 1)[0]
    Appointment.objects.create(
        patient=proposed.patient,
        kind="refill",
        on=day,
        starts_at=clinic_locale().at(day, time(12, 0)),
        status="booked",
    )
    with pytest.raises(Refusal, match="is full") as refused:
        appointments.update_appointment(nurse, proposed.id, on=day)
    assert "1 visits of 30 min a day" in refused.value.limit


def test_a_proposal_whose_slot_has_passed_unbooked_moves_to_a_slot_to_come(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    Appointment.objects.filter(id=proposed.id).update(
        starts_at=NOW - timedelta(days=1), on=TODAY - timedelta(days=1)
    )
    assert refill_visits.refresh_passed_proposals(nurse, NOW) == 1
    moved = Appointment.objects.get(id=proposed.id)
    assert moved.starts_at is not None and moved.starts_at > NOW
    assert moved.on == proposed.on and moved.version == proposed.version + 1
    entry = AuditEntry.objects.filter(action="appointment.propose").last()
    assert entry is not None and entry.actor == refill_visits.SYSTEM
    assert refill_visits.refresh_passed_proposals(nurse, NOW) == 0


def test_the_dashboard_read_moves_a_passed_proposal_before_listing_it(
    implant: Implant, nurse: User
) -> None:
    """The dashboard's request reads only until it finds a proposal to move; then it runs again
    as a writing request (painpump.db.read_only.require_writing)."""
    proposed = refill_now(nurse, implant)
    Appointment.objects.filter(id=proposed.id).update(
        starts_at=NOW - timedelta(days=1), on=TODAY - timedelta(days=1)
    )
    with read_only(), pytest.raises(WritingRequired):
        refill_visits.refresh_passed_proposals(nurse, NOW)
    client = Client()
    client.force_login(nurse)
    response = client.get("/api/dashboard")
    assert response.status_code == 200
    moved = Appointment.objects.get(id=proposed.id)
    assert moved.starts_at is not None and moved.starts_at > NOW
    assert moved.version == proposed.version + 1
    with read_only():
        assert refill_visits.refresh_passed_proposals(nurse, NOW) == 0


def test_a_new_refill_closes_the_open_refill_appointment(implant: Implant, nurse: User) -> None:
    refill_at_day_60(nurse, implant, "8 mL")
    statuses = sorted(Appointment.objects.values_list("status", flat=True))
    assert statuses == ["done", "proposed"]
    starts_at = Appointment.objects.get(status="proposed").starts_at
    assert starts_at is not None and starts_at > NOW


def test_a_refill_done_early_shows_its_appointment_done_on_the_day_it_was_done(
    implant: Implant, nurse: User
) -> None:
    planned = Appointment.objects.get()
    refill = refill_at_day_60(nurse, implant, "8 mL")
    done = Appointment.objects.get(id=planned.id)
    done_on = refill.performed_at.astimezone(ZONE).date()
    assert (done.status, done.on, done.version) == ("done", done_on, 2)
    assert done.starts_at == refill.performed_at  # the visit when it happened, not as planned
    assert planned.starts_at is not None
    entry = AuditEntry.objects.get(action="appointment.update", object_id=str(planned.id))
    assert entry.before == {
        "on": planned.on.isoformat(),
        "status": "proposed",
        "starts_at": planned.starts_at.isoformat(),
    }
    assert entry.after == {
        "on": done_on.isoformat(),
        "status": "done",
        "starts_at": refill.performed_at.isoformat(),
    }


def test_the_note_of_a_refill_appointment_does_not_repeat_its_refill_by_date(
    implant: Implant, nurse: User
) -> None:
    refill_at_day_60(nurse, implant, "8 mL")
    proposed = Appointment.objects.get(status="proposed")
    assert proposed.due_by is not None
    assert proposed.note == "limited by the low-reservoir alarm"


def test_a_visit_is_not_marked_done_by_hand_and_a_cancelled_one_is_not_reopened(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    with pytest.raises(Refusal, match="is not a status to set") as refused:
        appointments.update_appointment(nurse, proposed.id, status="done")
    assert "recording it" in refused.value.limit
    appointments.update_appointment(nurse, proposed.id, status="cancelled")
    with pytest.raises(Refusal, match="cannot reopen it"):
        appointments.update_appointment(nurse, proposed.id, status="booked")


def test_a_cancelled_refill_visit_is_proposed_again_at_another_free_slot(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    appointments.update_appointment(nurse, proposed.id, status="cancelled")
    again = Appointment.objects.get(kind="refill", status="proposed")
    assert again.id != proposed.id and again.due_by == proposed.due_by
    assert again.starts_at is not None and again.starts_at != proposed.starts_at
    assert again.starts_at > NOW and not again.overdue
    entry = AuditEntry.objects.filter(action="appointment.propose").last()
    assert entry is not None and entry.object_id == str(again.id)


def test_a_refill_visit_is_not_booked_after_the_pump_runs_empty(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    stored = Implant.objects.get(id=implant.id)
    assert stored.empty_at is not None
    after_empty = next(
        d
        for d in (clinic_locale().today(stored.empty_at) + timedelta(days=n) for n in range(1, 9))
        if clinic_locale().calendar.is_working_day(d)
    )
    with pytest.raises(Refusal, match="after the reservoir runs empty") as refused:
        appointments.update_appointment(
            nurse, proposed.id, on=after_empty, late_reason="patient on holiday"
        )
    assert refused.value.field == "on" and "runs empty" in refused.value.limit
    assert Appointment.objects.get(id=proposed.id).version == proposed.version


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"on": date(9999, 12, 31)}, "on", "is too far ahead"),
        ({"starts_at": datetime(9999, 12, 31, 23, 59, tzinfo=UTC)}, "starts_at", "too far ahead"),
        ({"starts_at": NOW + timedelta(days=400)}, "starts_at", "is too far ahead"),
    ],
    ids=["day-9999", "start-9999", "start-in-400-days"],
)
def test_a_visit_beyond_a_year_is_refused_naming_the_field(
    implant: Implant, nurse: User, change: dict[str, object], field: str, why: str
) -> None:
    proposed = refill_now(nurse, implant)
    with pytest.raises(Refusal, match=why) as refused:
        appointments.update_appointment(nurse, proposed.id, **change)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_start_off_the_slot_grid_is_refused_offering_the_free_slots(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    day = working_days_before(proposed.on, 1)[0]
    off_grid = datetime.combine(day, time(9, 7), tzinfo=ZONE)
    with pytest.raises(Refusal, match="is not a free slot") as refused:
        appointments.update_appointment(nurse, proposed.id, starts_at=off_grid)
    assert clinic_locale().format_time(clinic_locale().at(day, time(9, 0))) in refused.value.limit


def test_a_change_of_opening_days_moves_the_proposals_onto_open_days(
    implant: Implant, nurse: User, admin: User
) -> None:
    proposed = refill_now(nurse, implant)
    weekday = proposed.on.weekday()
    others = [d for d in range(5) if d != weekday]
    settings = clinic_settings()
    settings_service.update_settings(admin, expected_version=settings.version, open_weekdays=others)
    moved = Appointment.objects.get(id=proposed.id)
    assert moved.on.weekday() in others and moved.version == proposed.version + 1
    with pytest.raises(Refusal, match="leaves no room for a refill visit"):
        settings_service.update_settings(
            admin,
            expected_version=clinic_settings().version,
            opens_at="10:00",
            closes_at="10:10",
        )


def test_a_refill_done_in_time_clears_the_late_booking_it_replaces(
    implant: Implant, nurse: User, frozen_clock: time_machine.Traveller
) -> None:
    proposed = refill_now(nurse, implant)
    assert proposed.due_by is not None
    appointments.update_appointment(
        nurse,
        proposed.id,
        on=working_day_after(proposed.due_by),
        status="booked",
        late_reason="holiday",
    )
    frozen_clock.shift(timedelta(hours=2))  # the patient came in early after all
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="in-time",
        performed_at=NOW + timedelta(hours=1),
        expected=parse("19 mL", Kind.VOLUME, "e"),
        aspirated=parse("19 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
    )
    done = Appointment.objects.get(id=proposed.id)
    assert (done.status, done.overdue, done.late_reason) == ("done", False, "")


def test_a_booked_visit_on_a_day_the_clinic_closes_is_proposed_again_on_an_open_day(
    implant: Implant, nurse: User, admin: User
) -> None:
    proposed = refill_now(nurse, implant)
    appointments.update_appointment(nurse, proposed.id, status="booked")
    closed_day = proposed.on.weekday()
    settings_service.update_settings(
        admin,
        expected_version=clinic_settings().version,
        open_weekdays=[d for d in range(5) if d != closed_day],
    )
    again = Appointment.objects.get(id=proposed.id)
    assert again.status == "proposed" and again.on.weekday() != closed_day
    assert again.starts_at is not None and again.starts_at > NOW


def test_cancelling_again_never_proposes_a_slot_already_cancelled(
    implant: Implant, nurse: User
) -> None:
    first = refill_now(nurse, implant)
    appointments.update_appointment(nurse, first.id, status="cancelled")
    second = Appointment.objects.get(kind="refill", status="proposed")
    appointments.update_appointment(nurse, second.id, status="cancelled")
    third = Appointment.objects.get(kind="refill", status="proposed")
    assert third.starts_at not in (first.starts_at, second.starts_at)


def test_a_cancelled_appointment_is_not_moved_and_a_start_before_year_one_is_in_the_past(
    implant: Implant, nurse: User
) -> None:
    proposed = refill_now(nurse, implant)
    with pytest.raises(Refusal, match="is in the past") as refused:
        appointments.update_appointment(
            nurse, proposed.id, starts_at=datetime.fromisoformat("0001-01-01T00:00:00+05:00")
        )
    assert refused.value.field == "starts_at"
    with pytest.raises(Refusal, match="cannot move a cancelled appointment"):
        appointments.update_appointment(
            nurse, proposed.id, status="cancelled", on=working_days_before(proposed.on, 1)[0]
        )
    assert Appointment.objects.get(id=proposed.id).status == "proposed"


@pytest.mark.parametrize("blank", ["\u3164\u3164", "\u115f", "\u200b\u202e"])
def test_a_late_reason_that_prints_as_nothing_is_refused(
    implant: Implant, nurse: User, blank: str
) -> None:
    proposed = refill_now(nurse, implant)
    assert proposed.due_by is not None
    with pytest.raises(Refusal, match="says nothing"):
        appointments.update_appointment(
            nurse, proposed.id, on=working_day_after(proposed.due_by), late_reason=blank
        )
