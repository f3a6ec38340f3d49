"""The records of care around the pump against the last state their trail recorded (issue 14, the
fourth outside attack: a patient alarm's acknowledgement, readbacks, appointments, episodes
without a pump, assessments and pathway events edited in the database passed `audit verify`).
Each edit behind the application is named; each ordinary change through the services verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from frozen import NOW, TODAY, day
from painpump.clinic import audit
from painpump.clinic.actions import (
    admissions,
    alarms,
    appointments,
    patient_facts,
    patients,
    readbacks,
)
from painpump.clinic.models import (
    AlarmReport,
    Appointment,
    AuditEntry,
    Episode,
    Implant,
    PathwayEvent,
    Patient,
    Readback,
)
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.scheduling import ClinicCalendar, earliest_working_day
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

LATER = FIRST_FILL + timedelta(hours=2)
LATE = "the pump is past its refill-by date: first free slot"


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def entry_of(action: str, object_id: object) -> int:
    found = AuditEntry.objects.filter(action=action, object_id=str(object_id)).order_by("seq")
    last = found.last()
    assert last is not None
    return last.seq


def alarm_of(implant: Implant, nurse: User) -> AlarmReport:
    return alarms.report_alarm(
        nurse, implant.id, kind="low_reservoir", reported_at=NOW, note="beeping since the morning"
    )


def readback_of(implant: Implant, nurse: User) -> Readback:
    """The first fill's program read back as prescribed, ten minutes after the fill."""
    program = implant.programs.get()
    values = ReadValues(
        parse("20 mL", Kind.VOLUME, "reservoir"),
        baclofen().drugs,
        rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
        None,
        None,
    )
    return readbacks.record_readback(nurse, program.id, values, FIRST_FILL + timedelta(minutes=10))


def referred(physician: User, patient: Patient) -> Episode:
    return patients.open_episode(
        physician, patient.id, indication="multiple_sclerosis", referred_on=day(-40)
    )


def test_every_record_of_care_changed_through_the_services_verifies(
    implant: Implant, nurse: User, physician: User, patient: Patient
) -> None:
    episode = implant.episode
    patients.record_assessment(
        nurse, episode.id, kind="ashworth", value="1.5", taken_at=NOW, limb="left_leg", note="x"
    )
    patients.record_assessment(nurse, episode.id, kind="omed_mg_per_day", value=40, taken_at=NOW)
    alarm = alarm_of(implant, nurse)
    alarms.acknowledge_alarm(nurse, alarm.id, now=NOW, action_taken="refill booked for today")
    readback_of(implant, nurse)
    visit = Appointment.objects.get(kind="refill", status="proposed")
    appointments.update_appointment(nurse, visit.id, status="booked", late_reason=LATE)
    titrated(physician, implant.id, parse("350 mcg/day", Kind.DOSE_RATE, "d"), at=LATER)
    episode.refresh_from_db()
    patient_facts.set_origin_override(
        physician,
        episode.id,
        expected_version=episode.version,
        origin="spinal",
        reason="spinal lesion seen on the MRI",
    )
    other = referred(physician, patient)
    patients.open_episode(physician, patient.id, indication="tumour_pain", referred_on=day(-3))
    admit = earliest_working_day(day(7), ClinicCalendar("US"))
    admissions.plan_admission(
        physician,
        other.id,
        expected_version=other.version,
        purpose="start_test_phase",
        admit_on=admit,
        discharge_on=admit + timedelta(days=2),
        protocol="bolus",
        now=NOW,
    )
    outcome = audit.verify()
    assert outcome.ok, outcome.problems


def test_a_patient_alarm_acknowledged_in_the_database_is_detected(
    implant: Implant, nurse: User
) -> None:
    alarm = alarm_of(implant, nurse)
    tamper.acknowledge_alarm()
    seq = entry_of("alarm.report", alarm.id)
    found = problems()
    assert len(found) == 3
    assert found[0].startswith(f"alarm {alarm.id}: acknowledged_at is ")
    assert found[0].endswith(f" in the database, None in its audit trail (entry {seq})")
    assert found[1:] == (
        f"alarm {alarm.id}: acknowledged_by is 'demo.nobody' in the database, '' in its audit "
        f"trail (entry {seq})",
        f"alarm {alarm.id}: action_taken is 'none' in the database, '' in its audit trail "
        f"(entry {seq})",
    )


def test_an_alarms_acknowledgement_rewritten_in_the_database_is_detected(
    implant: Implant, nurse: User
) -> None:
    alarm = alarm_of(implant, nurse)
    alarms.acknowledge_alarm(nurse, alarm.id, now=NOW, action_taken="refill booked for today")
    AlarmReport.objects.filter(id=alarm.id).update(action_taken="nothing needed")
    assert problems() == (
        f"alarm {alarm.id}: action_taken is 'nothing needed' in the database, 'refill booked "
        f"for today' in its audit trail (entry {entry_of('alarm.acknowledge', alarm.id)})",
    )


def test_a_readback_rewritten_in_the_database_is_detected(implant: Implant, nurse: User) -> None:
    readback = readback_of(implant, nurse)
    tamper.clear_readback()
    (problem,) = problems()
    # the stored JSON's key order is the database's (PostgreSQL's jsonb sorts its keys)
    assert problem.startswith(f"readback {readback.id}: entered is {{")
    assert "'reservoir': '19.5 mL'" in problem
    assert problem.endswith(
        f"in its audit trail (entry {entry_of('readback.record', readback.id)})"
    )
    Readback.objects.filter(id=readback.id).update(entered=readback.entered, read_by="nurse.x")
    assert problems() == (
        f"readback {readback.id}: read_by is 'nurse.x' in the database, 'nurse.joy' in its "
        f"audit trail (entry {entry_of('readback.record', readback.id)})",
    )


def test_a_refill_visit_cancelled_or_moved_in_the_database_is_detected(
    implant: Implant, nurse: User
) -> None:
    visit = Appointment.objects.get(kind="refill", status="proposed")
    booked = appointments.update_appointment(nurse, visit.id, status="booked", late_reason=LATE)
    assert booked.due_by is not None
    tamper.cancel_appointment()
    seq = entry_of("appointment.update", visit.id)
    assert problems() == (
        f"appointment {visit.id}: status is 'cancelled' in the database, 'booked' in its audit "
        f"trail (entry {seq})",
    )
    later = booked.on + timedelta(days=30)
    Appointment.objects.filter(id=visit.id).update(status="booked", on=later, due_by=later)
    assert problems() == (
        f"appointment {visit.id}: on is {later.isoformat()!r} in the database, "
        f"{booked.on.isoformat()!r} in its audit trail (entry {seq})",
        f"appointment {visit.id}: due_by is {later.isoformat()!r} in the database, "
        f"{booked.due_by.isoformat()!r} in its audit trail (entry {seq})",
    )


def test_an_admissions_discharge_moved_in_the_database_is_detected(
    physician: User, patient: Patient
) -> None:
    episode = referred(physician, patient)
    admit = earliest_working_day(day(7), ClinicCalendar("US"))
    stay = admissions.plan_admission(
        physician,
        episode.id,
        expected_version=episode.version,
        purpose="start_test_phase",
        admit_on=admit,
        discharge_on=admit + timedelta(days=2),
        protocol="bolus",
        now=NOW,
    )
    longer = admit + timedelta(days=9)
    Appointment.objects.filter(id=stay.id).update(ends_on=longer)
    assert problems() == (
        f"appointment {stay.id}: ends_on is {longer.isoformat()!r} in the database, "
        f"{(admit + timedelta(days=2)).isoformat()!r} in its audit trail (entry "
        f"{entry_of('admission.plan', stay.id)})",
    )


def test_an_episode_without_a_pump_closed_in_the_database_is_detected(
    physician: User, patient: Patient
) -> None:
    episode = referred(physician, patient)
    tamper.close_episode()
    seq = entry_of("episode.open", episode.id)
    found = problems()
    assert (
        f"episode {episode.id}: stage is 'closed' in the database, 'referred' in its audit trail "
        f"(entry {seq})"
    ) in found
    assert (
        f"episode {episode.id}: closed_reason is 'left the pathway' in the database, '' in its "
        f"audit trail (entry {seq})"
    ) in found
    assert len(found) == 3 and any(f"{episode.id}: closed_at is " in p for p in found)


def test_an_episodes_indication_edited_in_the_database_is_detected(
    physician: User, patient: Patient
) -> None:
    episode = referred(physician, patient)
    Episode.objects.filter(id=episode.id).update(indication="tumour_pain")
    assert problems() == (
        f"episode {episode.id}: indication is 'tumour_pain' in the database, "
        f"'multiple_sclerosis' in its audit trail (entry {entry_of('episode.open', episode.id)})",
    )


def test_a_test_phase_moved_in_the_pathway_state_is_detected(implant: Implant) -> None:
    episode_id = tamper.skip_the_wait()
    assert episode_id == str(implant.episode_id)
    (problem,) = problems()
    assert problem.startswith(f"episode {episode_id}: state_digest is ")
    step = AuditEntry.objects.filter(object_id=episode_id, action__startswith="pathway.").last()
    assert step is not None and problem.endswith(f"in its audit trail (entry {step.seq})")


def test_an_assessment_edited_in_the_database_is_detected(implant: Implant, nurse: User) -> None:
    recorded = patients.record_assessment(
        nurse, implant.episode_id, kind="pain_nrs", value=7, taken_at=NOW
    )
    tamper.edit_assessment()
    assert problems() == (
        f"assessment {recorded.id}: value is '0' in the database, '7' in its audit trail "
        f"(entry {entry_of('assessment.record', recorded.id)})",
    )


def test_a_pathway_event_deleted_or_edited_in_the_database_is_detected(
    implant: Implant,
) -> None:
    episode = str(implant.episode_id)
    events = PathwayEvent.objects.filter(episode_id=implant.episode_id).order_by("id")
    first = events.first()
    assert first is not None
    PathwayEvent.objects.filter(id=first.id).update(facts={"on": TODAY.isoformat()})
    (edited,) = problems()
    assert edited.startswith(
        f"episode {episode}: pathway event {first.id} differs from its audit entry "
        f"{entry_of('pathway.start_test_phase', episode)}: facts is "
        f"{{'on': {TODAY.isoformat()!r}}} in the database, "
    )
    PathwayEvent.objects.filter(id=first.id).update(facts=first.facts)
    count = events.count()
    tamper.delete_pathway_event()
    assert problems() == (
        f"episode {episode}: {count - 1} pathway events in the database, {count} steps in its "
        "audit trail (an event inserted or deleted outside the application)",
    )


def test_entries_from_before_their_fields_were_recorded_leave_them_uncompared(
    implant: Implant, nurse: User
) -> None:
    """An older painpump's alarm entry named no pump, its readback entry no time."""
    alarm = AlarmReport.objects.create(
        implant=implant, kind="other", reported_at=NOW, recorded_by="nurse.joy"
    )
    audit.record(
        "nurse.joy",
        "alarm.report",
        "alarm",
        alarm.id,
        patient_id=implant.episode.patient_id,
        after={"kind": "other", "reported_at": NOW.isoformat(), "note": ""},
    )
    assert audit.verify().ok
    AlarmReport.objects.filter(id=alarm.id).update(kind="eri")
    assert problems() == (
        f"alarm {alarm.id}: kind is 'eri' in the database, 'other' in its audit trail (entry "
        f"{entry_of('alarm.report', alarm.id)})",
    )
