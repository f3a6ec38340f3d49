"""The therapy pathway through HTTP: tumour pain implanted directly; stroke through the test
phase (screening bolus, responder decision), its implantation refused before the clinic's 21
days with the earliest date in the message and allowed on day 21; a warning refused until
acknowledged (and previewed first); a non-responder's catheter removal and closure; a stale
episode version is a 409 that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import at, expected_to_live, iso, new_episode, post, today

from frozen import day
from painpump.clinic.models import Episode, Implant, PathwayEvent, Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER


def implant_body(version: int, on: str, **changes: Any) -> dict[str, Any]:
    return {
        "version": version,
        "pump_model": "synchromed-ii-20",
        "pump_serial": "NGP123456H",
        "catheter_model": "8709SC",
        "catheter_length": {"value": 60, "unit": "cm"},
        "dead_volume": "0.25 mL",
        "acknowledge": dict(MEDTRONIC_CATHETER),
        "implanted_on": on,
    } | changes


def step(client: Client, episode_id: object, body: dict[str, Any]) -> Any:
    return post(client, f"/api/episodes/{episode_id}/steps", body)


@pytest.fixture
def physician(client_as: Callable[[Role | None], Client]) -> Client:
    return client_as(Role.PHYSICIAN)


def test_tumour_pain_is_implanted_directly(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    expected_to_live(users[Role.NURSE], patient)
    episode = new_episode(users[Role.PHYSICIAN], patient, "tumour_pain", 10)
    response = post(
        physician,
        f"/api/episodes/{episode.id}/implants",
        implant_body(1, today().isoformat(), alarm_volume={"value": 2.5, "unit": "mL"}),
    )
    assert response.status_code == 201, response.content
    implant = response.json()
    assert implant["catheter_length"] == {"value": 60, "unit": "cm"}
    assert implant["alarm_volume"] == {"value": 2.5, "unit": "mL"}
    assert implant["program"] is None and implant["last_refill"] is None
    shown = physician.get(f"/api/episodes/{episode.id}").json()
    assert (shown["stage"], shown["version"]) == ("implanted", 2)
    history = physician.get(f"/api/episodes/{episode.id}/steps").json()
    assert [(e["action"], e["stage_before"], e["stage_after"]) for e in history] == [
        ("implant", "referred", "implanted")
    ]
    assert history[0]["recorded_by"] == "dr.house"


def test_a_dead_volume_the_catheter_rules_out_or_an_unacknowledged_one_is_a_422(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    """The dead volume is judged against the catheter: 0.1 mL in 60 cm of Prometra catheter
    (0.156 mL, prometra-ii-ifu) is refused naming the computed volume; an 8709SC, which the
    catalog does not know, registers only with its warning acknowledged."""
    expected_to_live(users[Role.NURSE], patient)
    episode = new_episode(users[Role.PHYSICIAN], patient, "tumour_pain", 10)
    url = f"/api/episodes/{episode.id}/implants"
    on = today().isoformat()
    slip = implant_body(
        1, on, catheter_model="prometra-catheter", dead_volume="0.1 mL", acknowledge={}
    )
    refused = post(physician, url, slip)
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("dead_volume", "0.1 mL")
    assert "the 0.156 mL the prometra-catheter holds (60 cm x 0.0026 mL/cm)" in error["limit"]
    assert error["source"].startswith("prometra-ii-ifu")
    unacknowledged = post(physician, url, implant_body(1, on, acknowledge={}))
    assert unacknowledged.status_code == 422
    assert unacknowledged.json()["error"]["field"] == "acknowledge"
    assert unacknowledged.json()["error"]["value"] == "dead_volume_unchecked"
    assert not Implant.objects.exists()
    assert post(physician, url, implant_body(1, on)).status_code == 201


def test_an_implantation_sent_with_its_discharge_records_both_as_the_web_form_does(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    expected_to_live(users[Role.NURSE], patient)
    episode = new_episode(users[Role.PHYSICIAN], patient, "tumour_pain", 10)
    url = f"/api/episodes/{episode.id}/implants"
    future = post(physician, url, implant_body(1, day(-2).isoformat(), discharged_on=day(1)))
    assert future.status_code == 422
    assert future.json()["error"]["field"] == "discharged_on"
    assert Implant.objects.count() == 0
    done = post(physician, url, implant_body(1, day(-2).isoformat(), discharged_on=day(0)))
    assert done.status_code == 201, done.content
    history = physician.get(f"/api/episodes/{episode.id}/steps").json()
    assert [e["action"] for e in history] == ["implant", "discharge"]


def test_stroke_goes_through_the_test_phase_and_waits_21_days_for_the_implant(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "stroke", 60)
    start = today() - timedelta(days=40)
    started = step(
        physician,
        episode.id,
        {
            "action": "start_test_phase",
            "version": 1,
            "facts": {"on": start.isoformat(), "protocol": "bolus"},
        },
    )
    assert started.status_code == 200, started.content
    assert (started.json()["episode"]["stage"], started.json()["episode"]["version"]) == (
        "test_phase",
        2,
    )
    assert "test_phase_required" in {f["rule"] for f in started.json()["findings"]}
    bolus = {"dose": {"value": 50, "unit": "mcg"}, "positive": True, "given_at": iso(at(start))}
    given = step(
        physician,
        episode.id,
        {"action": "record_screening_bolus", "version": 2, "facts": {"bolus": bolus}},
    )
    assert given.status_code == 200, given.content
    decided_on = start + timedelta(days=2)
    decided = step(
        physician,
        episode.id,
        {
            "action": "decide_test_phase",
            "version": 3,
            "facts": {"on": decided_on.isoformat(), "outcome": "responder"},
        },
    )
    assert decided.status_code == 200, decided.content
    outcome = decided.json()
    assert outcome["episode"]["stage"] == "responder" and outcome["verdict"] == "ok"
    stay = next(f for f in outcome["findings"] if f["rule"] == "hospital_stay")
    assert stay["limit"] == "2-3 day" and stay["source"]

    url = f"/api/episodes/{episode.id}/implants"
    too_early = decided_on + timedelta(days=20)
    earliest = decided_on + timedelta(days=21)
    not_removed = post(physician, url, implant_body(4, earliest.isoformat()))
    assert not_removed.status_code == 422, not_removed.content
    error = not_removed.json()["error"]
    assert (error["field"], error["value"]) == ("catheter_removed_on", "not recorded")
    assert "record the catheter removal first" in error["message"]
    assert f"test phase started on {start.isoformat()}" in error["limit"]
    assert error["source"].startswith("rule-test-phase")
    assert Implant.objects.count() == 0
    assert Episode.objects.get(id=episode.id).version == 4
    removal = {"on": decided_on.isoformat()}
    removed = step(
        physician,
        episode.id,
        {"action": "record_catheter_removal", "version": 4, "facts": removal},
    )
    assert removed.status_code == 200, removed.content

    refused = post(physician, url, implant_body(5, too_early.isoformat()))
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert error["field"] == "on"
    assert f"the earliest allowed date is {earliest.isoformat()}" in error["message"]
    assert ">= 21 day" in error["limit"] and "clinic setting" in error["source"]
    assert Implant.objects.count() == 0
    assert Episode.objects.get(id=episode.id).version == 5

    allowed = post(physician, url, implant_body(5, earliest.isoformat()))
    assert allowed.status_code == 201, allowed.content
    assert Episode.objects.get(id=episode.id).stage == "implanted"
    actions = [e["action"] for e in physician.get(f"/api/episodes/{episode.id}/steps").json()]
    assert actions == [
        "start_test_phase",
        "record_screening_bolus",
        "decide_test_phase",
        "record_catheter_removal",
        "implant",
    ]


def test_a_warning_is_previewed_and_refused_until_acknowledged(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "multiple_sclerosis", 30)
    start = today() - timedelta(days=10)
    step(
        physician,
        episode.id,
        {
            "action": "start_test_phase",
            "version": 1,
            "facts": {"on": start.isoformat(), "protocol": "continuous"},
        },
    )
    on = (start + timedelta(days=5)).isoformat()
    preview = physician.get(
        f"/api/episodes/{episode.id}/preview",
        {"action": "decide_test_phase", "on": on, "outcome": "responder"},
    )
    assert preview.status_code == 200, preview.content
    assert preview.json()["verdict"] == "warn"
    warned = [f for f in preview.json()["findings"] if f["verdict"] == "warn"]
    assert [f["rule"] for f in warned] == ["hospital_stay"]
    assert "5 day" in warned[0]["message"]
    body: dict[str, Any] = {
        "action": "decide_test_phase",
        "version": 2,
        "facts": {"on": on, "outcome": "responder"},
    }
    refused = step(physician, episode.id, body)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "acknowledge"
    assert "hospital_stay" in refused.json()["error"]["value"]
    accepted = step(physician, episode.id, body | {"acknowledge": {"hospital_stay": "fever"}})
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["verdict"] == "warn"
    event = PathwayEvent.objects.filter(episode_id=episode.id).last()
    assert event is not None and event.acknowledged == {"hospital_stay": "fever"}


def test_a_non_responder_has_the_catheter_removed_and_leaves_the_pathway(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "failed_back_surgery_syndrome", 30)
    start = today() - timedelta(days=5)
    steps: list[tuple[str, dict[str, object]]] = [
        ("start_test_phase", {"on": start, "protocol": "continuous"}),
        ("decide_test_phase", {"on": start + timedelta(days=2), "outcome": "non_responder"}),
        ("record_catheter_removal", {"on": start + timedelta(days=2)}),
        ("close_non_responder", {"on": start + timedelta(days=3)}),
    ]
    for version, (action, facts) in enumerate(steps, start=1):
        sent = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in facts.items()}
        body = {"action": action, "version": version, "facts": sent}
        response = step(physician, episode.id, body)
        assert response.status_code == 200, response.content
    shown = response.json()["episode"]
    assert shown["stage"] == "closed_non_responder" and shown["closed_at"] is not None
    again = step(
        physician,
        episode.id,
        {"action": "implant", "version": 5, "facts": {"on": today().isoformat()}},
    )
    assert again.status_code == 422
    assert again.json()["error"]["field"] == "action"


def test_a_stale_episode_version_is_a_409_that_changes_nothing(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "stroke", 30)
    body = {
        "action": "start_test_phase",
        "version": 1,
        "facts": {"on": today().isoformat(), "protocol": "bolus"},
    }
    assert step(physician, episode.id, body).status_code == 200
    stale = step(physician, episode.id, body)
    assert stale.status_code == 409
    error = stale.json()["error"]
    assert (error["current_version"], error["expected_version"]) == (2, 1)
    stale_implant = post(
        physician, f"/api/episodes/{episode.id}/implants", implant_body(1, today().isoformat())
    )
    assert stale_implant.status_code == 409
    assert PathwayEvent.objects.filter(episode_id=episode.id).count() == 1
    assert Implant.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "fly", "version": 1}, "action"),
        (
            {"action": "start_test_phase", "version": 1, "facts": {"on": day(-24).isoformat()}},
            "protocol",
        ),
        (
            {
                "action": "start_test_phase",
                "version": 1,
                "facts": {"on": day(-24).isoformat(), "protocol": "bolus", "outcome": "responder"},
            },
            "outcome",
        ),
        ({"action": "start_test_phase", "version": 0}, "version"),
        (
            {"action": "close", "version": 1, "facts": {"on": day(-24).isoformat(), "when": "x"}},
            "facts.when",
        ),
        (
            {
                "action": "record_screening_bolus",
                "version": 1,
                "facts": {"bolus": {"dose": "50", "positive": True}},
            },
            "facts.bolus.dose",
        ),
    ],
)
def test_bad_steps_are_refused_naming_the_field(
    physician: Client, users: dict[Role, User], patient: Patient, body: dict[str, Any], field: str
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "stroke", 60)
    response = step(physician, episode.id, body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert PathwayEvent.objects.count() == 0


def test_a_test_phase_started_with_its_severity_shows_its_planned_end(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "multiple_sclerosis", 30)
    start = today() - timedelta(days=2)
    facts = {"on": start.isoformat(), "protocol": "continuous", "severity": "severe"}
    started = step(
        physician,
        episode.id,
        {"action": "start_test_phase", "version": 1, "facts": facts | {"rehabilitation": True}},
    )
    assert started.status_code == 200, started.content
    plan = started.json()["episode"]["test_phase"]
    assert plan["severity"] == "severe" and plan["planned_days"] == 5
    assert plan["planned_end"] == (start + timedelta(days=5)).isoformat()
    assert (plan["days_left"], plan["rehabilitation"], plan["verified"]) == (3, True, False)
    assert plan["source"].startswith("rule-clinic-setting")
    read = physician.get(f"/api/episodes/{episode.id}")
    assert read.status_code == 200 and read.json()["test_phase"] == plan


def test_a_severity_for_a_pain_test_phase_is_refused(
    physician: Client, users: dict[Role, User], patient: Patient
) -> None:
    episode = new_episode(users[Role.PHYSICIAN], patient, "polyneuropathy", 30)
    facts = {"on": today().isoformat(), "protocol": "continuous", "severity": "severe"}
    refused = step(
        physician, episode.id, {"action": "start_test_phase", "version": 1, "facts": facts}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "severity"
    assert "does not apply to polyneuropathy" in refused.json()["error"]["message"]
