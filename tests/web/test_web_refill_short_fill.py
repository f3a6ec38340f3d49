"""The web review of a baclofen refill whose fill leaves the low-reservoir alarm within the
clinic's refill margin: a soft warning with its own reason field (no "every check passed"),
naming the alarm moment, the refill-by day and baclofen's withdrawal; confirmed only with a
reason, then waiting for a second clinician. A fill below the pump's alarm volume is refused next
to the fill volume with the fill as the value."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import REFILL_FORM
from frozen import ZONE
from painpump.clinic.models import Implant, Refill
from painpump.core.scheduling import WEEKDAYS

pytestmark = pytest.mark.django_db

REASON = "patient travels abroad, next refill booked before the alarm"


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def reviewed(client: Client, implant: Implant, volume: str) -> tuple[dict[str, Any], str]:
    """The refill form with `volume` filled, posted for review, and the review page."""
    url = f"/implants/{implant.id}/refill/"
    shown = client.get(url).content.decode()
    data: dict[str, Any] = {
        **REFILL_FORM,
        "version": hidden(shown, "version"),
        "idempotency_key": hidden(shown, "idempotency_key"),
        "volume": volume,
        "action": "review",
    }
    page = client.post(url, data).content.decode()
    if 'name="reviewed" value="' in page:
        data["reviewed"] = hidden(page, "reviewed")
    return data, page


def test_a_short_fill_is_a_warning_with_a_reason_and_a_second_clinician(
    implant: Implant, nurse: User
) -> None:
    client = Client()
    client.force_login(nurse)
    data, review = reviewed(client, implant, "2.5 mL")
    assert 'data-testid="warning-refill_margin"' in review
    assert "No warning: every check passed." not in review
    assert "the next refill is due at once (refill by " in review
    assert "abrupt withdrawal can be life-threatening" in review
    assert 'data-testid="needs-verification"' in review
    found = re.search(r'name="(override-refill_margin:[0-9a-f]+)"', review)
    assert found, "no reason input for refill_margin"
    url = f"/implants/{implant.id}/refill/"
    refused = client.post(url, {**data, "action": "confirm"})
    assert refused.status_code == 422
    assert Refill.objects.count() == 1  # the first fill only
    client.post(url, {**data, found.group(1): REASON, "action": "confirm"})
    refill = Refill.objects.get(idempotency_key=data["idempotency_key"])
    assert refill.needs_verification and refill.verified_by == ""
    assert [(o["rule"], o["reason"]) for o in refill.acknowledged] == [("refill_margin", REASON)]
    alarm = refill.alarm_at.astimezone(ZONE)
    (warning,) = refill.warnings
    assert (
        f"on {WEEKDAYS[alarm.weekday()][:3]} {alarm:%Y-%m-%d %H:%M %Z}, within the clinic's "
        "refill margin of 7 day"
    ) in warning["message"]
    by = refill.refill_by
    assert f"(refill by {WEEKDAYS[by.weekday()][:3]} {by.isoformat()})" in warning["message"]
    page = client.get(f"/refills/{refill.id}/").content.decode()
    assert "waiting for a second clinician" in page


def test_a_full_refill_passes_every_check(implant: Implant, nurse: User) -> None:
    client = Client()
    client.force_login(nurse)
    _, review = reviewed(client, implant, "20 mL")
    assert "No warning: every check passed." in review
    assert "refill_margin" not in review


def test_a_fill_below_the_alarm_is_refused_with_the_fill_as_the_value(
    implant: Implant, nurse: User
) -> None:
    client = Client()
    client.force_login(nurse)
    _, review = reviewed(client, implant, "1 mL")
    assert "1 mL does not exceed the low-reservoir alarm volume 2 mL" in review
    assert "&gt; 2 mL (low-reservoir alarm of" in review
    assert "is not below the fill volume" not in review
    assert Refill.objects.count() == 1
