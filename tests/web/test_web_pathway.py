"""The episode page through the test client: the stage and the steps it allows, a baclofen test
phase planned, started, screened and decided by a physician; a nurse records the screening bolus
but may not decide; the clinic's wait before implantation refused on day 20 and allowed on day
21 through the implant form; warnings shown with reason and source and taken only when
acknowledged; a stale version is a 409; nothing is stored when a step is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_format import written_clock, written_day, written_moment
from frozen import ZONE
from painpump.clinic.actions import patients
from painpump.clinic.models import Appointment, Episode, Implant, PathwayEvent, Patient
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode
from painpump.core.scheduling import ClinicCalendar, earliest_working_day


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def today() -> date:
    return timezone.localdate(timezone=ZONE)


def stroke(physician: User, patient: Patient, referred: date | None = None) -> Episode:
    return patients.open_episode(
        physician,
        patient.id,
        indication="stroke",
        referred_on=referred or today() - timedelta(days=60),
    )


def responder(physician: User, patient: Patient, ended_days_ago: int) -> Episode:
    """A stroke episode whose baclofen test phase ended `ended_days_ago` days ago, responder."""
    episode = stroke(physician, patient)
    start = today() - timedelta(days=ended_days_ago + 2)
    return responder_episode(physician, episode.id, start=start)


def implant_form(version: int, on: date, **extra: str) -> dict[str, Any]:
    data = {
        "implant-version": version,
        "implant-pump_model": "synchromed-ii-20",
        "implant-pump_serial": "NGP555001H",
        "implant-catheter_model": "8709SC",
        "implant-catheter_length": "60 cm",
        "implant-dead_volume": "0.25 mL",
        "implant-ack_dead_volume_unchecked": "on",
        "implant-note_dead_volume_unchecked": MEDTRONIC_CATHETER["dead_volume_unchecked"],
        "implant-alarm_volume": "",
        "implant-implanted_on": on.isoformat(),
        "implant-discharged_on": "",
    }
    data.update(extra)
    return data


def test_the_episode_page_shows_the_stage_and_only_the_steps_it_allows(
    physician: User, patient: Patient
) -> None:
    episode = stroke(physician, patient)
    page = signed_in(physician).get(f"/episodes/{episode.id}/").content.decode()
    assert 'data-testid="stage">referred<' in page
    assert "Plan the test phase" in page
    assert "Start the test phase (admission)" in page
    assert "Close the episode" in page
    assert "Decide: responder or not" not in page
    assert "Register the implantation" not in page


def test_a_physician_starts_a_bolus_test_phase_and_the_timeline_shows_it(
    physician: User, patient: Patient
) -> None:
    episode = stroke(physician, patient)
    client = signed_in(physician)
    response = client.post(
        f"/episodes/{episode.id}/steps/start_test_phase/",
        {
            "start_test_phase-version": episode.version,
            "start_test_phase-on": today().isoformat(),
            "start_test_phase-protocol": "bolus",
        },
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    assert episode.stage == "test_phase"
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert "Start the test phase (admission)" in page  # in the timeline
    assert "Next screening bolus: <strong>50 mcg</strong>" in page
    assert "protocol: bolus" in page


def start(physician: User, episode: Episode, on: date) -> Episode:
    response = signed_in(physician).post(
        f"/episodes/{episode.id}/steps/start_test_phase/",
        {
            "start_test_phase-version": episode.version,
            "start_test_phase-on": on.isoformat(),
            "start_test_phase-protocol": "bolus",
        },
    )
    assert response.status_code == 302, response.content.decode()
    episode.refresh_from_db()
    return episode


def bolus_form(
    episode: Episode, dose: str, at: datetime, response: str = "positive"
) -> dict[str, Any]:
    return {
        "record_screening_bolus-version": episode.version,
        "record_screening_bolus-dose": dose,
        "record_screening_bolus-given_at": at.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
        "record_screening_bolus-response": response,
    }


def test_a_nurse_records_the_screening_bolus_but_may_not_decide(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = start(physician, stroke(physician, patient), today() - timedelta(days=2))
    at = datetime.combine(today() - timedelta(days=2), time(9, 0), tzinfo=ZONE)
    nurse_client = signed_in(nurse)
    response = nurse_client.post(
        f"/episodes/{episode.id}/steps/record_screening_bolus/", bolus_form(episode, "50 mcg", at)
    )
    assert response.status_code == 302
    episode.refresh_from_db()
    page = nurse_client.get(f"/episodes/{episode.id}/").content.decode()
    assert f'action="/episodes/{episode.id}/steps/decide_test_phase/"' not in page
    assert "(a physician's step)" in page
    refused = nurse_client.post(
        f"/episodes/{episode.id}/steps/decide_test_phase/",
        {
            "decide_test_phase-version": episode.version,
            "decide_test_phase-on": today().isoformat(),
            "decide_test_phase-outcome": "responder",
        },
    )
    assert refused.status_code == 403
    assert "may not take pathway decisions" in refused.content.decode()
    episode.refresh_from_db()
    assert episode.stage == "test_phase"


def test_the_timeline_writes_days_and_times_and_an_ashworth_of_1_plus_as_the_app_does(
    physician: User, nurse: User, patient: Patient
) -> None:
    day = today() - timedelta(days=2)
    episode = start(physician, stroke(physician, patient), day)
    at = datetime.combine(day, time(9, 30), tzinfo=ZONE)
    signed_in(nurse).post(
        f"/episodes/{episode.id}/steps/record_screening_bolus/", bolus_form(episode, "50 mcg", at)
    )
    patients.record_assessment(
        nurse, episode.id, kind="ashworth", value="1.5", limb="left_arm", taken_at=at
    )
    page = signed_in(physician).get(f"/episodes/{episode.id}/").content.decode()
    assert f"on {written_day(day)} · protocol: bolus" in page
    assert f"bolus 50 mcg, positive response, given {written_moment(at)}" in page
    assert written_clock(at) == "09:30"  # the clinic's wall clock, not UTC
    timeline = page.split('id="timeline"')[1].split("</section>")[0]
    assert f"on: {day.isoformat()}" not in timeline  # the stored facts are written, not dumped
    assert f"{day.isoformat()}T" not in timeline and "given_at" not in timeline
    assert '<td class="num">1+</td>' in page and "1.500" not in page


def test_a_bolus_out_of_the_label_sequence_is_refused_next_to_the_dose_and_not_stored(
    physician: User, patient: Patient
) -> None:
    episode = start(physician, stroke(physician, patient), today() - timedelta(days=1))
    at = datetime.combine(today() - timedelta(days=1), time(9, 0), tzinfo=ZONE)
    response = signed_in(physician).post(
        f"/episodes/{episode.id}/steps/record_screening_bolus/", bolus_form(episode, "100 mcg", at)
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_record_screening_bolus-dose"' in page
    assert "does not follow the screening sequence" in page
    assert "50 mcg, 75 mcg, 100 mcg" in page
    assert PathwayEvent.objects.filter(action="record_screening_bolus").count() == 0


def test_a_bare_number_as_dose_is_refused_with_its_unit_rule(
    physician: User, patient: Patient
) -> None:
    episode = start(physician, stroke(physician, patient), today())
    at = timezone.now().replace(second=0, microsecond=0)
    response = signed_in(physician).post(
        f"/episodes/{episode.id}/steps/record_screening_bolus/", bolus_form(episode, "50", at)
    )
    assert response.status_code == 422
    assert "unit" in response.content.decode()
    assert PathwayEvent.objects.filter(action="record_screening_bolus").count() == 0


def test_a_long_stay_is_a_warning_taken_only_when_acknowledged(
    physician: User, patient: Patient
) -> None:
    started = today() - timedelta(days=5)
    episode = start(physician, stroke(physician, patient), started)
    at = datetime.combine(started, time(9, 0), tzinfo=ZONE)
    client = signed_in(physician)
    client.post(
        f"/episodes/{episode.id}/steps/record_screening_bolus/", bolus_form(episode, "50 mcg", at)
    )
    episode.refresh_from_db()
    decide = {
        "decide_test_phase-version": episode.version,
        "decide_test_phase-on": today().isoformat(),
        "decide_test_phase-outcome": "responder",
    }
    shown = client.post(f"/episodes/{episode.id}/steps/decide_test_phase/", decide)
    page = shown.content.decode()
    assert shown.status_code == 200
    assert 'data-testid="warning-hospital_stay"' in page
    assert "test phase stay of 5 days" in page
    assert "Source: clinic setting, default 2-3 days" in page
    episode.refresh_from_db()
    assert episode.stage == "test_phase"
    unticked = client.post(
        f"/episodes/{episode.id}/steps/decide_test_phase/",
        {**decide, "decide_test_phase-offered": "hospital_stay"},
    )
    assert unticked.status_code == 422
    assert "Tick the box to acknowledge this warning." in unticked.content.decode()
    taken = client.post(
        f"/episodes/{episode.id}/steps/decide_test_phase/",
        {
            **decide,
            "decide_test_phase-offered": "hospital_stay",
            "decide_test_phase-ack_hospital_stay": "on",
            "decide_test_phase-note_hospital_stay": "stayed for rehabilitation",
        },
    )
    assert taken.status_code == 302
    episode.refresh_from_db()
    assert episode.stage == "responder"
    event = PathwayEvent.objects.get(episode=episode, action="decide_test_phase")
    assert event.acknowledged == {"hospital_stay": "stayed for rehabilitation"}


def test_implantation_on_day_20_is_refused_with_the_earliest_date_and_its_source(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=21)
    ended = today() - timedelta(days=21)
    response = signed_in(physician).post(
        f"/episodes/{episode.id}/implant/",
        implant_form(episode.version, ended + timedelta(days=20)),
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert f"the earliest allowed date is {(ended + timedelta(days=21)).isoformat()}" in page
    assert "three weeks after the test phase at the earliest" in page
    assert 'id="id_implant-implanted_on"' in page
    assert Implant.objects.count() == 0
    episode.refresh_from_db()
    assert episode.stage == "responder"


def test_implantation_before_the_catheter_removal_is_refused_until_it_is_recorded(
    physician: User, patient: Patient
) -> None:
    episode = responder_episode(
        physician,
        stroke(physician, patient).id,
        start=today() - timedelta(days=25),
        remove_catheter=False,
    )
    client = signed_in(physician)
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert 'action="/episodes/' + str(episode.id) + '/steps/record_catheter_removal/"' in page
    response = client.post(
        f"/episodes/{episode.id}/implant/", implant_form(episode.version, today())
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "record the catheter removal first" in page
    assert "rule-test-phase" in page
    assert Implant.objects.count() == 0
    episode.refresh_from_db()
    assert episode.stage == "responder"
    assert not PathwayEvent.objects.filter(episode=episode, action="implant").exists()
    removal = {
        "record_catheter_removal-version": episode.version,
        "record_catheter_removal-on": (today() - timedelta(days=23)).isoformat(),
    }
    removed = client.post(f"/episodes/{episode.id}/steps/record_catheter_removal/", removal)
    assert removed.status_code == 302
    episode.refresh_from_db()
    response = client.post(
        f"/episodes/{episode.id}/implant/", implant_form(episode.version, today())
    )
    assert response.status_code == 302
    assert Implant.objects.get(episode=episode).implanted_on == today()


def test_implantation_on_day_21_is_registered_with_its_pump(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=21)
    client = signed_in(physician)
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert f'name="implant-implanted_on" value="{today().isoformat()}"' in page  # proposed
    response = client.post(
        f"/episodes/{episode.id}/implant/", implant_form(episode.version, today())
    )
    assert response.status_code == 302
    implant = Implant.objects.get(episode=episode)
    assert (implant.pump_serial, implant.implanted_on) == ("NGP555001H", today())
    assert implant.catheter_length_cm == Decimal("60")
    episode.refresh_from_db()
    assert episode.stage == "implanted"


def test_the_implant_form_checks_the_dead_volume_against_the_catheter_and_shows_its_volume(
    physician: User, patient: Patient
) -> None:
    """The form tells how the catalog computes a catheter's volume; once a catalog catheter is
    entered it shows the volume computed for it; a dead volume below it is refused next to the
    field, one above it or for a catheter the catalog does not know is a warning to
    acknowledge, and nothing is stored until it is."""
    episode = responder(physician, patient, ended_days_ago=21)
    client = signed_in(physician)
    url = f"/episodes/{episode.id}/implant/"
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert "prometra-catheter: implanted length x 0.0026 mL/cm (prometra-ii-ifu)" in page
    prometra = {"implant-catheter_model": "prometra-catheter"}
    slip = client.post(
        url, implant_form(episode.version, today(), **prometra, **{"implant-dead_volume": "0.1 mL"})
    )
    assert slip.status_code == 422
    refused = slip.content.decode()
    assert "is less than the implanted catheter alone holds" in refused
    assert "the 0.156 mL the prometra-catheter holds (60 cm x 0.0026 mL/cm)" in refused
    above = client.post(
        url, implant_form(episode.version, today(), **prometra, **{"implant-dead_volume": "0.3 mL"})
    )
    assert above.status_code == 200
    shown = above.content.decode()
    assert 'data-testid="warning-dead_volume_above_catheter"' in shown
    assert "the catalog computes 0.156 mL for prometra-catheter at 60 cm" in shown
    unticked = implant_form(episode.version, today())
    del unticked["implant-ack_dead_volume_unchecked"]
    unknown = client.post(url, unticked)
    assert unknown.status_code == 200
    assert 'data-testid="warning-dead_volume_unchecked"' in unknown.content.decode()
    assert not Implant.objects.exists()
    assert client.post(url, implant_form(episode.version, today())).status_code == 302


def test_a_stale_version_is_a_409_and_changes_nothing(physician: User, patient: Patient) -> None:
    episode = responder(physician, patient, ended_days_ago=25)
    response = signed_in(physician).post(
        f"/episodes/{episode.id}/implant/", implant_form(episode.version - 1, today())
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert Implant.objects.count() == 0


def test_a_physician_books_the_implantation_on_the_earliest_day_not_before(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient, ended_days_ago=10)
    earliest = today() + timedelta(days=11)
    calendar = ClinicCalendar("US")
    client = signed_in(physician)
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert "Plan the implantation" in page
    assert written_day(earliest) in page
    too_early = earliest - timedelta(days=1)
    refused = client.post(
        f"/episodes/{episode.id}/stays/implantation/",
        {
            "plan-implantation-version": episode.version,
            "plan-implantation-admit_on": too_early.isoformat(),
            "plan-implantation-discharge_on": (too_early + timedelta(days=2)).isoformat(),
        },
    )
    assert refused.status_code == 422
    assert f"the earliest allowed date is {earliest.isoformat()}" in refused.content.decode()
    admit = earliest_working_day(earliest, calendar)
    booked = client.post(
        f"/episodes/{episode.id}/stays/implantation/",
        {
            "plan-implantation-version": episode.version,
            "plan-implantation-admit_on": admit.isoformat(),
            "plan-implantation-discharge_on": (admit + timedelta(days=2)).isoformat(),
        },
    )
    assert booked.status_code == 302
    stay = Appointment.objects.get(episode=episode)
    assert (stay.kind, stay.on, stay.not_before, stay.status) == (
        "admission",
        admit,
        earliest,
        "booked",
    )


def test_tumour_pain_offers_the_implantation_and_a_test_phase_only_with_a_reason(
    physician: User, patient: Patient
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=today() - timedelta(days=3)
    )
    client = signed_in(physician)
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert "Register the implantation" in page
    data = {
        "start_test_phase-version": episode.version,
        "start_test_phase-on": today().isoformat(),
        "start_test_phase-protocol": "continuous",
        "start_test_phase-offered": "tumour_pain_test_phase",
        "start_test_phase-ack_tumour_pain_test_phase": "on",
        "start_test_phase-note_tumour_pain_test_phase": "",
    }
    refused = client.post(f"/episodes/{episode.id}/steps/start_test_phase/", data)
    assert refused.status_code == 422
    assert "A tumour-pain test phase needs the reason recorded." in refused.content.decode()
    data["start_test_phase-note_tumour_pain_test_phase"] = "unclear response to opioids"
    assert client.post(f"/episodes/{episode.id}/steps/start_test_phase/", data).status_code == 302
    episode.refresh_from_db()
    assert episode.stage == "test_phase"


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_read_only_and_admin_users_get_no_forms_or_are_refused(
    role: str, request: pytest.FixtureRequest, physician: User, patient: Patient
) -> None:
    episode = stroke(physician, patient)
    user = request.getfixturevalue(role)
    client = signed_in(user)
    response = client.get(f"/episodes/{episode.id}/")
    if role == "admin":
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert '<form class="step"' not in response.content.decode()
    posted = client.post(
        f"/episodes/{episode.id}/steps/close/",
        {"close-version": episode.version, "close-on": today().isoformat(), "close-reason": "x"},
    )
    assert posted.status_code == 403
    episode.refresh_from_db()
    assert episode.stage == "referred"


def test_a_non_responder_has_the_catheter_removed_and_the_episode_closes(
    physician: User, patient: Patient
) -> None:
    started = today() - timedelta(days=2)
    episode = start(physician, stroke(physician, patient), started)
    client = signed_in(physician)
    first = datetime.combine(started, time(9, 0), tzinfo=ZONE).astimezone(UTC)
    for dose, day in (("50 mcg", 0), ("75 mcg", 1), ("100 mcg", 2)):
        at = first + timedelta(days=day)  # 24 h apart, as the label says (across a DST change)
        episode.refresh_from_db()
        response = client.post(
            f"/episodes/{episode.id}/steps/record_screening_bolus/",
            bolus_form(episode, dose, at, "none"),
        )
        assert response.status_code == 302, response.content.decode()
    for action, extra in (
        ("decide_test_phase", {"outcome": "non_responder"}),
        ("record_catheter_removal", {}),
        ("close_non_responder", {}),
    ):
        episode.refresh_from_db()
        data = {f"{action}-version": episode.version, f"{action}-on": today().isoformat()}
        data.update({f"{action}-{k}": v for k, v in extra.items()})
        assert client.post(f"/episodes/{episode.id}/steps/{action}/", data).status_code == 302
    episode.refresh_from_db()
    assert episode.stage == "closed_non_responder"
    assert episode.closed_at is not None
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert "The episode is closed: no further step." in page


def test_the_page_shows_the_planned_end_of_a_test_phase_started_with_its_severity(
    physician: User, patient: Patient
) -> None:
    episode = stroke(physician, patient)
    client = signed_in(physician)
    started = today() - timedelta(days=1)
    data = {
        "start_test_phase-version": episode.version,
        "start_test_phase-on": started.isoformat(),
        "start_test_phase-protocol": "continuous",
        "start_test_phase-severity": "very_severe",
        "start_test_phase-rehabilitation": "on",
    }
    response = client.post(f"/episodes/{episode.id}/steps/start_test_phase/", data)
    assert response.status_code == 302, response.content.decode()
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert 'data-testid="test-plan"' in page
    assert "very severe spasticity: 7 days, planned end" in page
    assert written_day(started + timedelta(days=7)) in page
    assert "continues with rehabilitation" in page
    assert "placeholder length: verify and set it for the clinic" in page
