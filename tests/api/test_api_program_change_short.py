"""Through HTTP, programming a ready prescription between refills that brings the pump's
low-reservoir alarm forward to within the clinic's refill margin (refill_margin_change, judged on
the pump's twin): without overrides an error naming the rule and nothing changed (the pump's
version and dates, its programs, the audit trail); with a nurse's reason 403 (a typed reason is a
physician's); with a physician's 201, the warning and the reason in the program answered, and the
alarm the warning names the one the pump stores and the API's implant read shows. The scenario of
tests/clinic/test_program_change_leaves_pump_short.py: the fixtures' baclofen pump refilled on
day 60, then 82.5 days later (3.5 mL left, the alarm 7.5 days ahead) +15 % prescribed and
double-checked, 400 -> 460 mcg/day (0.23 mL/day: the alarm 6.52 days after the change)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import post

from clinic_fixtures import written_entries
from painpump.clinic.models import Implant, Program
from painpump.clinic.roles import Role
from program_change_case import REASON, RULE, SHORT_WORDS, moment_said, ready_to_program

pytestmark = pytest.mark.django_db
Clients = Callable[[Role | None], Client]


@pytest.fixture
def physician(users: dict[Role, User]) -> User:
    """The API suite's physician, so that the clinic fixtures' `implant` is hers."""
    return users[Role.PHYSICIAN]


@pytest.fixture
def nurse(users: dict[Role, User]) -> User:
    return users[Role.NURSE]


@pytest.fixture
def pharmacist(users: dict[Role, User]) -> User:
    return users[Role.PHARMACIST]


@pytest.fixture
def increase_ready(
    implant: Implant,
    nurse: User,
    physician: User,
    pharmacist: User,
    frozen_clock: time_machine.Traveller,
) -> Implant:
    return ready_to_program(implant, nurse, physician, pharmacist, frozen_clock)


def url(implant: Implant) -> str:
    return f"/api/implants/{implant.id}/programs"


def test_without_a_reason_the_programming_is_refused_naming_the_rule_and_changes_nothing(
    client_as: Clients, increase_ready: Implant
) -> None:
    written = written_entries().count()
    body: dict[str, object] = {"version": increase_ready.version}
    refused = post(client_as(Role.PHYSICIAN), url(increase_ready), body)
    nurses = post(client_as(Role.NURSE), url(increase_ready), body | {"overrides": {RULE: REASON}})
    assert nurses.status_code == 403, nurses.content  # a typed reason is a physician's
    assert nurses.json()["error"]["capability"] == "program.prescribe"
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("overrides", RULE)
    assert RULE in error["message"]
    pump = Implant.objects.get(id=increase_ready.id)
    assert (pump.version, pump.alarm_at, pump.refill_by) == (
        increase_ready.version,
        increase_ready.alarm_at,
        increase_ready.refill_by,
    )
    assert Program.objects.filter(implant=increase_ready).count() == 2  # the fill's, the refill's
    assert (
        Program.objects.get(implant=increase_ready, ended_at__isnull=True).dose_mcg_per_day == 400
    )
    assert written_entries().count() == written


def test_a_physicians_reason_programs_it_and_the_answer_carries_warning_and_reason(
    client_as: Clients, increase_ready: Implant
) -> None:
    physician = client_as(Role.PHYSICIAN)
    body = {"version": increase_ready.version, "overrides": {RULE: REASON}}
    answered = post(physician, url(increase_ready), body)
    assert answered.status_code == 201, answered.content
    program = answered.json()
    assert program["dose"] == {"value": 460, "unit": "mcg/day"}
    assert program["rate"] == {"value": 0.23, "unit": "mL/day"}
    (warning,) = [w for w in program["warnings"] if w["rule"] == RULE]
    assert (warning["verdict"], warning["tier"]) == ("warn", "soft")
    assert SHORT_WORDS in warning["message"]
    assert "the next refill is due at once" in warning["message"]
    assert [(o["rule"], o["reason"], o["by"], o["given_at"]) for o in program["overrides"]] == [
        (RULE, REASON, "dr.house", "programming")
    ]
    pump = Implant.objects.get(id=increase_ready.id)
    assert pump.version == increase_ready.version + 1
    assert pump.alarm_at is not None and pump.refill_by is not None
    read = physician.get(f"/api/implants/{increase_ready.id}")
    assert read.status_code == 200, read.content
    shown = read.json()
    assert datetime.fromisoformat(shown["alarm_at"]) == pump.alarm_at
    assert shown["refill_by"] == pump.refill_by.isoformat()
    # the warning names the alarm the pump stores and the API shows, to the clinic's minute
    alarm = datetime.fromisoformat(shown["alarm_at"])
    assert f"{SHORT_WORDS}{moment_said(alarm)}" in warning["message"]
    assert shown["program"]["id"] == program["id"]
