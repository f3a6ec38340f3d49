"""The prescribe form's phase help says what core.refill_decision.next_phase does with a
prescription that names no phase: the review judges it as titration (it may be programmed
between refills), a refill of the same drug runs it as maintenance, a first fill or a new drug as
titration; the help no longer says a change defaults to maintenance."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Implant
from painpump.clinic.reads.pump_state import pump_state
from painpump.core.dose_history import Phase
from painpump.core.refill_decision import next_phase
from painpump.web.views.prescription_forms import PHASE_HELP

pytestmark = pytest.mark.django_db

CHANGE = {
    "drug": "baclofen",
    "concentration": "2000 mcg/mL",
    "kind": "continuous",
    "dose": "420 mcg/day",
    "reason": "a little more tone in the evening",
}


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def reviewed_phase(client: Client, implant: Implant, phase: str) -> str:
    url = f"/implants/{implant.id}/prescribe/"
    page = client.get(url).content.decode()
    data = {**CHANGE, "phase": phase, "version": hidden(page, "version")}
    response = client.post(url, {**data, "action": "review"})
    assert response.status_code == 200, response.content.decode()
    found = re.search(r"<p>Phase: (\w+)\.</p>", response.content.decode())
    assert found
    return found.group(1)


def test_the_help_says_what_the_review_and_a_refill_do_with_no_phase_given(
    implant: Implant, physician: User
) -> None:
    client = Client()
    client.force_login(physician)
    page = unescape(client.get(f"/implants/{implant.id}/prescribe/").content.decode())
    assert PHASE_HELP in page and "else maintenance" not in page
    assert "As the rules set it (titration; maintenance at a refill of the same drug)" in page
    # the help's first clause: a change of dose on the same drug is reviewed as titration
    assert reviewed_phase(client, implant, "") == "titration"
    assert reviewed_phase(client, implant, "maintenance") == "maintenance"
    # its second: a refill of the same drug runs it as maintenance, a new drug as titration
    state = pump_state(implant)
    assert next_phase(None, state, "baclofen") is Phase.MAINTENANCE
    assert next_phase(None, state, "morphine") is Phase.TITRATION
    assert next_phase(None, state, None) is Phase.TITRATION
