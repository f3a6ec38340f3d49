"""Through HTTP, a baclofen refill whose fill leaves the low-reservoir alarm within the clinic's
refill margin (the next refill due at once): 422 naming the rule without a reason, 201 with one,
the warning in the answer and the refill waiting for a second clinician; a full refill has no
such warning; a fill below the pump's alarm volume is refused on `volume` with its value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant, iso, left_at, post, refill_body, version_of

from frozen import TODAY, ZONE
from painpump.clinic.models import Implant, Patient, Refill
from painpump.clinic.roles import Role

REASON = "patient travels abroad, next refill booked for Monday morning"
SUNDAY = datetime.combine(
    TODAY - timedelta(days=(TODAY.weekday() - 6) % 7 or 7), time(10, 0), tzinfo=ZONE
)
"""The last Sunday before today, 10:00 at the clinic (closed on Sundays)."""


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def sunday_refill(implant: Implant, volume: str, **changes: Any) -> dict[str, Any]:
    """A refill of the pump on the last Sunday, the residual what its twin expects."""
    residual = left_at(implant, SUNDAY)
    return refill_body(
        residual,
        performed_at=iso(SUNDAY),
        expected=residual,
        volume=volume,
        version=version_of(implant),
        **changes,
    )


def url(implant: Implant) -> str:
    return f"/api/implants/{implant.id}/refills"


def test_a_short_fill_needs_a_reason_and_a_second_clinician(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    nurse = client_as(Role.NURSE)
    refused = post(nurse, url(implant), sunday_refill(implant, "2.5 mL", idempotency_key="s"))
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("overrides", "refill_margin")
    assert "the next refill is due at once" in error["message"]
    assert Refill.objects.count() == 1  # the first fill only
    accepted = post(
        nurse,
        url(implant),
        sunday_refill(implant, "2.5 mL", idempotency_key="s", overrides={"refill_margin": REASON}),
    )
    assert accepted.status_code == 201, accepted.content
    refill = accepted.json()
    assert refill["needs_verification"] is True
    assert refill["refill_by"] == SUNDAY.date().isoformat()
    (warning,) = refill["warnings"]
    assert (warning["rule"], warning["tier"]) == ("refill_margin", "soft")
    assert f"(refill by Sun {SUNDAY:%Y-%m-%d})" in warning["message"]
    assert (
        "no open day of the clinic lies from this fill to the refill-by date" in warning["message"]
    )
    assert "abrupt withdrawal can be life-threatening" in warning["message"]
    assert [(o["rule"], o["reason"]) for o in refill["overrides"]] == [("refill_margin", REASON)]


def test_a_full_refill_has_no_such_warning(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    response = post(
        client_as(Role.NURSE), url(implant), sunday_refill(implant, "20 mL", idempotency_key="f")
    )
    assert response.status_code == 201, response.content
    assert response.json()["warnings"] == [] and response.json()["needs_verification"] is False


def test_a_fill_below_the_alarm_is_refused_on_the_volume_with_its_value(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    response = post(
        client_as(Role.NURSE), url(implant), sunday_refill(implant, "1 mL", idempotency_key="t")
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["field"], error["value"]) == ("volume", "1 mL")
    assert error["limit"] == "> 2 mL (low-reservoir alarm of synchromed-ii-20)"
    assert "1 mL does not exceed the low-reservoir alarm volume 2 mL" in error["message"]
    assert Refill.objects.count() == 1
