"""The implant answer carries the pump's MRI instructions (core.mri) with their sources: the
SynchroMed II motor stall, the Prometra II valve shut-off, a constant-flow pump's labeling check,
and the baclofen withdrawal watch once the pump holds baclofen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import at, expected_to_live, implanted, new_episode, post, today

from painpump.clinic.models import Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "behaviour", "whens", "text", "source"),
    [
        (
            "synchromed-ii-20",
            "motor_stall",
            ["during", "after"],
            "interrogate the pump after the MRI",
            "medtronic-mri-guidelines-synchromed-ii",
        ),
        (
            "prometra-ii-40",
            "valve_shutoff",
            ["before", "during", "after"],
            "empty the reservoir before the MRI (up to 40 mL",
            "flowonix-prometra-mri-safety-pl-21604-02",
        ),
        (
            "constant-flow",
            "none",
            ["before"],
            "check the device's MRI labeling",
            "rule-clinic-setting",
        ),
    ],
)
def test_the_implant_answer_gives_the_mri_instructions_of_its_pump(
    users: dict[Role, User],
    patient: Patient,
    client_as: Callable[[Role | None], Client],
    model: str,
    behaviour: str,
    whens: list[str],
    text: str,
    source: str,
) -> None:
    expected_to_live(users[Role.NURSE], patient)  # as a tumour-pain implantation needs
    episode = new_episode(users[Role.PHYSICIAN], patient, "tumour_pain", 5)
    body = {
        "version": episode.version,
        "pump_model": model,
        "pump_serial": "SN-1",
        "catheter_model": "8709SC",
        "catheter_length": {"value": 60, "unit": "cm"},
        "dead_volume": "0.25 mL",
        "acknowledge": dict(MEDTRONIC_CATHETER),
        "implanted_on": today().isoformat(),
    }
    created = post(client_as(Role.PHYSICIAN), f"/api/episodes/{episode.id}/implants", body)
    assert created.status_code == 201, created.content
    mri = created.json()["mri"]
    assert mri["behaviour"] == behaviour
    assert mri["check_labeling"] is (behaviour == "none")
    assert [i["when"] for i in mri["instructions"]] == whens
    assert text in " | ".join(i["text"] for i in mri["instructions"])
    assert mri["instructions"][0]["source"].startswith(source)
    read = client_as(Role.NURSE).get(f"/api/implants/{created.json()['id']}")
    assert read.status_code == 200 and read.json()["mri"] == mri


def test_a_baclofen_pump_adds_the_withdrawal_watch(
    users: dict[Role, User], patient: Patient, client_as: Callable[[Role | None], Client]
) -> None:
    physician = users[Role.PHYSICIAN]
    episode = new_episode(physician, patient, "stroke", 200)
    responder_episode(physician, episode.id, start=today() - timedelta(days=120))
    implant = implanted(physician, episode, at(today() - timedelta(days=90)), dose="100 mcg/day")
    read = client_as(Role.NURSE).get(f"/api/implants/{implant.id}")
    assert read.status_code == 200, read.content
    last = read.json()["mri"]["instructions"][-1]
    assert last["when"] == "after" and last["text"].startswith("baclofen: ")
    assert "withdrawal" in last["text"]
    assert last["source"].startswith("baclofen-intrathecal-openfda-label")
