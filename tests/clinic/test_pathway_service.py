"""The pathway as the clinic records it: each rule of the seed (tumour pain without test phase,
non-responder removal, the wait before implantation as a clinic setting, 2-3 day stays), stored
state that round-trips, conflicts and roles; every step audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from frozen import day
from painpump.clinic.actions import implantation, pathway, patients
from painpump.clinic.errors import Conflict
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, Episode, Implant, PathwayEvent, Patient
from painpump.clinic.pathway_state import dump_state, load_state
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode
from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def implant(physician: User, episode: Episode, on: date) -> Implant:
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=noon(on),
        pump_model="synchromed-ii-40",
        pump_serial="NGP1",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=on,
    )


def test_tumour_pain_is_implanted_without_a_test_phase(
    patient: Patient, physician: User, nurse: User
) -> None:
    patients.update_patient(  # an implanted pump is for a life expectancy beyond 3 months
        nurse, patient.id, expected_version=patient.version, today=day(0), life_expectancy_months=12
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-55)
    )
    placed = implant(physician, episode, day(-51))
    episode.refresh_from_db()
    assert episode.stage == "implanted"
    assert placed.pump_model == "synchromed-ii-40"
    assert [e.action for e in PathwayEvent.objects.all()] == ["implant"]


def test_a_test_phase_for_tumour_pain_needs_a_recorded_reason(
    patient: Patient, physician: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-55)
    )
    with pytest.raises(Refusal) as caught:
        pathway.step(
            physician,
            episode.id,
            "start_test_phase",
            expected_version=1,
            now=noon(day(-54)),
            on=day(-54),
            protocol="continuous",
        )
    assert caught.value.field == "acknowledge"
    assert "tumour_pain_test_phase" in caught.value.value
    row, _ = pathway.step(
        physician,
        episode.id,
        "start_test_phase",
        expected_version=1,
        now=noon(day(-54)),
        on=day(-54),
        protocol="continuous",
        acknowledge={"tumour_pain_test_phase": "life expectancy > 1 year"},
    )
    assert row.stage == "test_phase"
    assert PathwayEvent.objects.get().acknowledged == {
        "tumour_pain_test_phase": "life expectancy > 1 year"
    }


@pytest.mark.parametrize(
    ("wait_days", "days_after", "allowed"),
    [(21, 20, False), (21, 21, True), (28, 21, False), (28, 28, True)],
    ids=["day-20-refused", "day-21-allowed", "setting-28-refuses-21", "setting-28-allows-28"],
)
def test_implantation_waits_the_clinic_setting_after_the_test_phase(
    patient: Patient, physician: User, wait_days: int, days_after: int, allowed: bool
) -> None:
    settings = clinic_settings()
    settings.implant_wait_days = wait_days
    settings.save()
    episode = patients.open_episode(
        physician, patient.id, indication="multiple_sclerosis", referred_on=day(-177)
    )
    episode = responder_episode(physician, episode.id, start=day(-147))
    test_end = day(-147) + timedelta(days=2)
    on = test_end + timedelta(days=days_after)
    if allowed:
        implant(physician, episode, on)
        assert Episode.objects.get(id=episode.id).stage == "implanted"
    else:
        with pytest.raises(Refusal) as caught:
            implant(physician, episode, on)
        earliest = test_end + timedelta(days=wait_days)
        assert f"earliest allowed date is {earliest.isoformat()}" in str(caught.value)
        assert Implant.objects.count() == 0
        assert Episode.objects.get(id=episode.id).stage == "responder"


def test_a_responder_is_implanted_only_once_the_temporary_catheter_is_recorded_removed(
    patient: Patient, physician: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="multiple_sclerosis", referred_on=day(-177)
    )
    episode = responder_episode(physician, episode.id, start=day(-147), remove_catheter=False)
    version, entries = episode.version, AuditEntry.objects.count()
    on = day(-147) + timedelta(days=30)
    with pytest.raises(Refusal) as caught:
        implant(physician, episode, on)
    assert (caught.value.field, caught.value.value) == ("catheter_removed_on", "not recorded")
    assert caught.value.limit == (
        f"the temporary catheter of the test phase started on {day(-147).isoformat()} "
        "recorded as removed before the implantation"
    )
    assert caught.value.source.startswith("rule-test-phase")
    assert "record the catheter removal first" in str(caught.value)
    episode.refresh_from_db()
    assert (episode.stage, episode.version) == ("responder", version)  # nothing changed
    assert Implant.objects.count() == 0 and AuditEntry.objects.count() == entries
    assert not PathwayEvent.objects.filter(episode=episode, action="implant").exists()
    episode, _ = pathway.step(
        physician,
        episode.id,
        "record_catheter_removal",
        expected_version=episode.version,
        now=noon(on),
        on=day(-145),
    )
    implant(physician, episode, on)
    episode.refresh_from_db()
    assert episode.stage == "implanted"
    assert [e.action for e in PathwayEvent.objects.filter(episode=episode)][-2:] == [
        "record_catheter_removal",
        "implant",
    ]


def test_a_non_responder_closes_only_with_the_catheter_removal_recorded(
    patient: Patient, physician: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="polyneuropathy", referred_on=day(-177)
    )
    start = day(-147)
    row, _ = pathway.step(
        physician,
        episode.id,
        "start_test_phase",
        expected_version=1,
        now=noon(start),
        on=start,
        protocol="continuous",
    )
    end = start + timedelta(days=3)
    row, _ = pathway.step(
        physician,
        episode.id,
        "decide_test_phase",
        expected_version=row.version,
        now=noon(end),
        on=end,
        outcome="non_responder",
    )
    with pytest.raises(Refusal, match="catheter"):
        pathway.step(
            physician,
            episode.id,
            "close_non_responder",
            expected_version=row.version,
            now=noon(end),
            on=end,
        )
    row, _ = pathway.step(
        physician,
        episode.id,
        "record_catheter_removal",
        expected_version=row.version,
        now=noon(end),
        on=end,
    )
    row, _ = pathway.step(
        physician,
        episode.id,
        "close_non_responder",
        expected_version=row.version,
        now=noon(end),
        on=end,
    )
    assert row.stage == "closed_non_responder"
    assert row.closed_at is not None


def test_a_stay_outside_two_to_three_days_must_be_acknowledged(
    patient: Patient, physician: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="paraplegia", referred_on=day(-177)
    )
    start = day(-147)
    row, _ = pathway.step(
        physician,
        episode.id,
        "start_test_phase",
        expected_version=1,
        now=noon(start),
        on=start,
        protocol="continuous",
    )
    end = start + timedelta(days=5)
    with pytest.raises(Refusal) as caught:
        pathway.step(
            physician,
            episode.id,
            "decide_test_phase",
            expected_version=row.version,
            now=noon(end),
            on=end,
            outcome="responder",
        )
    assert "hospital_stay" in caught.value.value
    row, _ = pathway.step(
        physician,
        episode.id,
        "decide_test_phase",
        expected_version=row.version,
        now=noon(end),
        on=end,
        outcome="responder",
        acknowledge={"hospital_stay": "rehabilitation combined with the test"},
    )
    assert row.stage == "responder"


def test_a_stale_episode_version_conflicts(patient: Patient, physician: User) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=day(-177)
    )
    start = day(-147)
    pathway.step(
        physician,
        episode.id,
        "start_test_phase",
        expected_version=1,
        now=noon(start),
        on=start,
        protocol="bolus",
    )
    with pytest.raises(Conflict):
        pathway.step(
            physician,
            episode.id,
            "decide_test_phase",
            expected_version=1,
            now=noon(start),
            on=start,
            outcome="responder",
        )


def test_a_nurse_records_screening_boluses_but_does_not_decide(
    patient: Patient, physician: User, nurse: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=day(-177)
    )
    with pytest.raises(Forbidden):
        pathway.step(
            nurse,
            episode.id,
            "start_test_phase",
            expected_version=1,
            now=noon(day(-147)),
            on=day(-147),
            protocol="bolus",
        )
    assert AuditEntry.objects.filter(action__startswith="pathway.").count() == 0


def test_the_stored_state_round_trips(patient: Patient, physician: User) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=day(-177)
    )
    row = responder_episode(physician, episode.id, start=day(-147))
    state = load_state(row.pathway_state)
    assert dump_state(state) == row.pathway_state
    assert state.stage.value == "responder"
    assert state.screening[0].dose.canonical == 50
