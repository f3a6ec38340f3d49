"""The eighth outside attack's H1 through HTTP, as the attacker ran it: a responder's implantation
one day after the test phase is a 422 naming the earliest allowed date; the test phase's end,
the catheter's removal and the stage's start moved a month earlier in the stored pathway state,
the same POST is now a 409 naming the episode and a state changed outside painpump (it was a
201, and the step's entry laundered the edit); nothing is written, and so is any other step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import new_episode, post, today

from painpump.clinic import audit
from painpump.clinic.models import AuditEntry, Episode, Implant, Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode

pytestmark = pytest.mark.django_db


def implant_body(version: int, on: date) -> dict[str, Any]:
    return {
        "version": version,
        "pump_model": "synchromed-ii-20",
        "pump_serial": "NGP123456H",
        "catheter_model": "8709SC",
        "catheter_length": {"value": 60, "unit": "cm"},
        "dead_volume": "0.25 mL",
        "acknowledge": dict(MEDTRONIC_CATHETER),
        "implanted_on": on.isoformat(),
    }


def moved_a_month_earlier(episode_id: UUID) -> None:
    """`update clinic_episode set pathway_state = ...`: the test phase's end, the catheter's
    removal and the stage's start a month earlier."""
    state = dict(Episode.objects.get(id=episode_id).pathway_state)
    for name in ("test_ended_on", "catheter_removed_on", "stage_since"):
        state[name] = (date.fromisoformat(state[name]) - timedelta(days=31)).isoformat()
    Episode.objects.filter(id=episode_id).update(pathway_state=state)


def test_an_implantation_from_an_edited_pathway_state_is_a_409(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    physician = client_as(Role.PHYSICIAN)
    episode = new_episode(users[Role.PHYSICIAN], patient, "stroke", 60)
    ended = today() - timedelta(days=8)
    responder = responder_episode(
        users[Role.PHYSICIAN], episode.id, start=ended - timedelta(days=2)
    )
    url = f"/api/episodes/{episode.id}/implants"
    body = implant_body(responder.version, ended + timedelta(days=1))

    early = post(physician, url, body)
    assert early.status_code == 422, early.content
    assert (
        f"earliest allowed date is {ended + timedelta(days=21)}" in early.json()["error"]["message"]
    )

    moved_a_month_earlier(episode.id)
    (edited,) = audit.verify().problems
    assert edited.startswith(f"episode {episode.id}: state_digest is ")
    entries = AuditEntry.objects.count()

    refused = post(physician, url, body)

    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["record"] == f"episode {episode.id}"
    assert error["field"] == "pathway state"
    assert "differs from its audit trail" in error["message"]
    assert "changed outside painpump" in error["message"]
    assert Implant.objects.count() == 0
    assert Episode.objects.get(id=episode.id).version == responder.version
    assert AuditEntry.objects.count() == entries
    assert audit.verify().problems == (edited,)

    closing = {
        "action": "close",
        "version": responder.version,
        "facts": {"on": today().isoformat(), "reason": "moved away"},
    }
    step = post(physician, f"/api/episodes/{episode.id}/steps", closing)
    assert step.status_code == 409, step.content
    assert "changed outside painpump" in step.json()["error"]["message"]
    assert Episode.objects.get(id=episode.id).stage == "responder"
