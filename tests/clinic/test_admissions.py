"""Stays booked ahead (clinic.actions.admissions), the implantation registered with its stay
(clinic.actions.implantation), appointments moved at a version, and referrals and assessments that a
retried form records once. Each change is audited; a refused one changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from painpump.clinic.actions import admissions, appointments, implantation, patients
from painpump.clinic.errors import Conflict
from painpump.clinic.models import Appointment, AuditEntry, Episode, Implant, Patient
from painpump.clinic.reads.episode_view import episode_overview
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode
from painpump.core.errors import Refusal
from painpump.core.scheduling import ClinicCalendar, earliest_working_day
from painpump.core.units import Kind, parse

US = ClinicCalendar("US")


def now() -> datetime:
    return timezone.now()


def today() -> date:
    return now().date()


def working(day: date) -> date:
    return earliest_working_day(day, US)


def referred(physician: User, patient: Patient, indication: str = "stroke") -> Episode:
    return patients.open_episode(
        physician, patient.id, indication=indication, referred_on=today() - timedelta(days=40)
    )


def responder(physician: User, patient: Patient, ended_days_ago: int) -> Episode:
    episode = referred(physician, patient)
    start = today() - timedelta(days=ended_days_ago + 2)
    return responder_episode(physician, episode.id, start=start)


def plan_test_phase(
    physician: User, episode: Episode, admit: date, days: int = 2, **kw: object
) -> Appointment:
    return admissions.plan_admission(
        physician,
        episode.id,
        expected_version=episode.version,
        purpose="start_test_phase",
        admit_on=admit,
        discharge_on=admit + timedelta(days=days),
        protocol="bolus",
        now=now(),
        **kw,  # type: ignore[arg-type]
    )


def test_a_physician_books_the_test_phase_admission_audited(
    physician: User, patient: Patient
) -> None:
    episode = referred(physician, patient)
    admit = working(today() + timedelta(days=7))
    booked = plan_test_phase(physician, episode, admit)
    assert (booked.kind, booked.on, booked.ends_on, booked.status) == (
        "admission",
        admit,
        admit + timedelta(days=2),
        "booked",
    )
    assert "bolus protocol" in booked.note
    entry = AuditEntry.objects.get(action="admission.plan")
    assert entry.after == {
        "episode": str(episode.id),
        "purpose": "start_test_phase",
        "admit_on": admit.isoformat(),
        "discharge_on": (admit + timedelta(days=2)).isoformat(),
        "protocol": "bolus",
        "acknowledged": {},
    }


def test_a_long_stay_needs_its_acknowledgement_and_a_second_admission_is_refused(
    physician: User, patient: Patient
) -> None:
    episode = referred(physician, patient)
    admit = working(today() + timedelta(days=7))
    with pytest.raises(Refusal, match="each warning needs an explicit acknowledgement"):
        plan_test_phase(physician, episode, admit, days=5)
    assert not Appointment.objects.exists()
    plan_test_phase(physician, episode, admit, days=5, acknowledge={"hospital_stay": "rehab"})
    with pytest.raises(Refusal, match="would be a second admission"):
        plan_test_phase(physician, episode, admit)
    assert Appointment.objects.count() == 1


def test_a_nurse_may_not_plan_a_stay(physician: User, nurse: User, patient: Patient) -> None:
    episode = referred(physician, patient)
    with pytest.raises(Forbidden):
        plan_test_phase(nurse, episode, working(today() + timedelta(days=7)))
    assert not Appointment.objects.exists()


def test_an_admission_on_a_sunday_is_refused(physician: User, patient: Patient) -> None:
    episode = referred(physician, patient)
    sunday = today() + timedelta(days=13 - today().weekday())
    with pytest.raises(Refusal, match="is not a working day"):
        plan_test_phase(physician, episode, sunday)


def test_a_stale_episode_version_books_nothing(physician: User, patient: Patient) -> None:
    episode = referred(physician, patient)
    episode.version -= 1
    with pytest.raises(Conflict):
        plan_test_phase(physician, episode, working(today() + timedelta(days=7)))
    assert not Appointment.objects.exists()


def test_starting_the_test_phase_marks_its_admission_done(
    physician: User, patient: Patient
) -> None:
    episode = referred(physician, patient)
    booked = plan_test_phase(physician, episode, working(today() + timedelta(days=7)))
    row, _ = admissions.step(
        physician,
        episode.id,
        "start_test_phase",
        expected_version=episode.version,
        now=now(),
        on=today(),
        protocol="bolus",
    )
    booked.refresh_from_db()
    assert (row.stage, booked.status, booked.version) == ("test_phase", "done", 2)


def implant_admission(physician: User, episode: Episode) -> Appointment:
    overview = episode_overview(physician, episode.id, today())
    (plan,) = overview.plans
    return admissions.plan_admission(
        physician,
        episode.id,
        expected_version=episode.version,
        purpose="implant",
        admit_on=plan.admit_on,
        discharge_on=plan.discharge_on,
        now=now(),
    )


def test_the_implantation_is_proposed_on_its_earliest_working_day_and_not_moved_before(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=5)
    earliest = today() + timedelta(days=16)
    overview = episode_overview(physician, episode.id, today())
    assert overview.earliest_implant == overview.proposed_implant == earliest
    booked = implant_admission(physician, episode)
    assert (booked.on, booked.not_before) == (working(earliest), earliest)
    with pytest.raises(Refusal, match="is too early for this admission"):
        appointments.update_appointment(
            nurse, booked.id, on=working(today() + timedelta(days=1)), expected_version=1
        )
    later = working(booked.on + timedelta(days=7))
    moved = appointments.update_appointment(nurse, booked.id, on=later, expected_version=1)
    assert (moved.on, moved.ends_on, moved.version) == (later, later + timedelta(days=2), 2)
    with pytest.raises(Conflict):
        appointments.update_appointment(nurse, booked.id, status="cancelled", expected_version=1)


def register(
    physician: User,
    episode: Episode,
    on: date,
    acknowledge: dict[str, str] | None = None,
    **extra: object,
) -> Implant:
    """The implantation of an 8709SC catheter (its unchecked dead volume acknowledged) on `on`."""
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=now(),
        pump_model="synchromed-ii-20",
        pump_serial="NGP1",
        catheter_model="8709SC",
        catheter_length_cm=Decimal("60"),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        alarm_volume=None,
        implanted_on=on,
        acknowledge={**MEDTRONIC_CATHETER, **(acknowledge or {})},
        **extra,  # type: ignore[arg-type]
    )


def test_the_implantation_with_its_stay_records_the_discharge(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=30)
    implanted = today() - timedelta(days=3)
    register(physician, episode, implanted, discharged_on=today())
    episode.refresh_from_db()
    assert episode.pathway_state["discharged_on"] == today().isoformat()
    assert list(episode.pathway_events.values_list("action", flat=True))[-2:] == [
        "implant",
        "discharge",
    ]
    last = episode.pathway_events.last()
    assert last is not None and last.acknowledged == {}


def test_a_long_implantation_stay_needs_its_acknowledgement(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=30)
    implanted = today() - timedelta(days=6)
    decision = implantation.preview_implantation(
        physician, episode.id, implanted_on=implanted, discharged_on=today(), now=now()
    )
    assert "hospital_stay" in {f.rule for f in decision.findings if f.verdict.value == "warn"}
    with pytest.raises(Refusal, match="hospital_stay"):
        register(physician, episode, implanted, discharged_on=today())
    assert not Implant.objects.exists()
    register(
        physician,
        episode,
        implanted,
        discharged_on=today(),
        acknowledge={"hospital_stay": "wound check"},
    )
    assert Implant.objects.count() == 1


def test_a_discharge_in_the_future_is_refused_in_the_preview(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=30)
    with pytest.raises(Refusal, match="is in the future"):
        implantation.preview_implantation(
            physician,
            episode.id,
            implanted_on=today(),
            discharged_on=today() + timedelta(days=2),
            now=now(),
        )


def test_a_retried_referral_and_assessment_are_recorded_once(
    physician: User, nurse: User, patient: Patient
) -> None:
    first = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=today(), idempotency_key="ref-1"
    )
    again = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=today(), idempotency_key="ref-1"
    )
    assert first.id == again.id
    taken = datetime.combine(today(), time(8, 0), tzinfo=UTC)
    one = patients.record_assessment(
        nurse, first.id, kind="pain_nrs", value=6, taken_at=taken, idempotency_key="as-1"
    )
    two = patients.record_assessment(
        nurse, first.id, kind="pain_nrs", value=6, taken_at=taken, idempotency_key="as-1"
    )
    assert one.id == two.id
    other = patients.create_patient(
        nurse,
        mrn="MRN-2",
        family_name="Other",
        given_name="Anna",
        birth_date=date(1980, 1, 1),
        today=today(),
    )
    with pytest.raises(Refusal, match="was used for another patient"):
        patients.open_episode(
            physician, other.id, indication="stroke", referred_on=today(), idempotency_key="ref-1"
        )
