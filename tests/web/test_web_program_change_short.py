"""The web review of programming a ready prescription between refills that brings the pump's
low-reservoir alarm forward to within the clinic's refill margin (refill_margin_change, judged on
the pump's twin): the warning names the alarm moment and the refill-by day and has its own reason
field; confirmed without a reason the page comes again and nothing is programmed (nor with a
nurse's reason: it needs a physician's); with a physician's reason the pump is programmed, on to
the readback, and the recorded program lists the warning and the reason. The scenario of
tests/clinic/test_program_change_leaves_pump_short.py: the fixtures' baclofen pump refilled on
day 60, then 82.5 days later (3.5 mL left, the alarm 7.5 days ahead) +15 % prescribed and
double-checked, 400 -> 460 mcg/day (0.23 mL/day: the alarm 6.52 days after the change)."""

from __future__ import annotations

import html
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from frozen import ZONE
from painpump.clinic.models import AuditEntry, Implant, Program
from program_change_case import (
    CHANGE_AT,
    REASON,
    RULE,
    SHORT_WORDS,
    day_said,
    moment_said,
    ready_to_program,
)

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def reason_input(page: str) -> str:
    """The name of the review's reason field for the warning (its warning_key)."""
    found = re.search(rf'name="(override-{RULE}:[0-9a-f]+)"', page)
    assert found, f"no reason input for {RULE}"
    return found.group(1)


def opened(client: Client, implant: Implant) -> tuple[dict[str, str], str]:
    """The confirmation of the review as the page holds it (no reason typed), and the page."""
    page = client.get(f"/implants/{implant.id}/program/").content.decode()
    data = {
        "version": hidden(page, "version"),
        "reviewed": hidden(page, "reviewed"),
        "submission": hidden(page, "submission"),
        "action": "confirm",
    }
    return data, html.unescape(page)


@pytest.fixture
def increase_ready(
    implant: Implant,
    nurse: User,
    physician: User,
    pharmacist: User,
    frozen_clock: time_machine.Traveller,
) -> Implant:
    return ready_to_program(implant, nurse, physician, pharmacist, frozen_clock)


def test_the_review_shows_the_warning_with_the_refill_by_day_and_a_reason_field(
    increase_ready: Implant, physician: User
) -> None:
    shown = signed_in(physician).get(f"/implants/{increase_ready.id}/program/")
    assert shown.status_code == 200
    page = html.unescape(shown.content.decode())
    assert f'data-testid="warning-{RULE}"' in page
    assert "No warning: every check passed." not in page
    assert SHORT_WORDS in page
    assert "within the clinic's refill margin of 7 day" in page
    # the alarm within 7 days of the change: the refill is due on the day of the change
    assert f"(refill by {day_said(CHANGE_AT.astimezone(ZONE).date())})" in page
    assert "baclofen stops abruptly" in page
    assert reason_input(page)
    assert "Confirm the programming" in page


def test_confirming_without_a_reason_shows_the_page_again_and_programs_nothing(
    increase_ready: Implant, physician: User
) -> None:
    client = signed_in(physician)
    data, _ = opened(client, increase_ready)
    refused = client.post(f"/implants/{increase_ready.id}/program/", data)
    assert refused.status_code == 422
    page = html.unescape(refused.content.decode())
    assert 'data-testid="override-error"' in page and RULE in page
    assert SHORT_WORDS in page and reason_input(page)
    assert Program.objects.filter(implant=increase_ready).count() == 2  # the fill's, the refill's
    pump = Implant.objects.get(id=increase_ready.id)
    assert (pump.version, pump.alarm_at) == (increase_ready.version, increase_ready.alarm_at)
    assert not AuditEntry.objects.filter(action="program.change").exists()


def test_a_nurses_reason_is_not_a_physicians_and_programs_nothing(
    increase_ready: Implant, nurse: User, physician: User
) -> None:
    client = signed_in(nurse)
    data, page = opened(client, increase_ready)
    # the nurse's page asks her for no reason only a physician gives, and says whom to ask
    assert not re.search(rf'name="override-{RULE}:', page)
    assert f'data-testid="physician-reason-{RULE}"' in page
    _, physicians_page = opened(signed_in(physician), increase_ready)
    refused = client.post(
        f"/implants/{increase_ready.id}/program/",
        {**data, reason_input(physicians_page): REASON},
    )
    assert refused.status_code == 422
    assert "needs a physician&#x27;s" in refused.content.decode()
    assert Implant.objects.get(id=increase_ready.id).version == increase_ready.version
    assert Program.objects.filter(implant=increase_ready).count() == 2


def test_a_physicians_reason_programs_the_pump_and_the_record_lists_warning_and_reason(
    increase_ready: Implant, physician: User
) -> None:
    client = signed_in(physician)
    data, review = opened(client, increase_ready)
    done = client.post(
        f"/implants/{increase_ready.id}/program/", {**data, reason_input(review): REASON}
    )
    assert done.status_code == 302
    program = Program.objects.get(implant=increase_ready, ended_at__isnull=True)
    assert done["Location"] == f"/programs/{program.id}/readback/"
    assert program.dose_mcg_per_day == 460 and program.programmed_by == "dr.house"
    assert [(o["rule"], o["reason"]) for o in program.overrides] == [(RULE, REASON)]
    pump = Implant.objects.get(id=increase_ready.id)
    assert pump.alarm_at is not None and pump.refill_by is not None
    # the review named the alarm the pump then stores, and its refill-by day
    assert f"{SHORT_WORDS}{moment_said(pump.alarm_at)}" in review
    assert f"(refill by {day_said(pump.refill_by)})" in review
    record = client.get(f"/programs/{program.id}/")
    assert record.status_code == 200
    page = html.unescape(record.content.decode())
    assert f'data-testid="warning-{RULE}"' in page
    assert f"{SHORT_WORDS}{moment_said(pump.alarm_at)}" in page
    assert f"Override {RULE}:</strong> “{REASON}”" in page
    assert f'data-testid="given-{RULE}">(dr.house, ' in page
