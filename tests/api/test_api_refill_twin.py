"""The clinical pharmacist's case of issue 13 over HTTP: the pump's twin expects 10.255 mL, the
pump reports 2 mL and 1.9 mL is aspirated. The refill is refused (422 naming `overrides` and the
warning, nothing stored) until a reason is typed for it; then it is recorded with the warning in
its answer and waits for a second clinician."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import iso, post, version_of

from painpump.clinic.models import Implant, Refill
from painpump.clinic.roles import Role
from twin_case import REASON, REFILLED, SAID, morphine_pump

pytestmark = pytest.mark.django_db


@pytest.fixture
def implant(users: dict[Role, User]) -> Implant:
    return morphine_pump(users[Role.PHYSICIAN], users[Role.NURSE], users[Role.PHARMACIST])


def body(implant: Implant, **changes: Any) -> dict[str, Any]:
    return {
        "idempotency_key": "twin",
        "version": version_of(implant),
        "performed_at": iso(REFILLED),
        "expected": "2 mL",
        "aspirated": "1.9 mL",
        "drugs": [{"drug": "morphine", "concentration": "20 mg/mL"}],
        "volume": "20 mL",
        "lot": "LOT-M",
        **changes,
    }


def test_the_pharmacists_case_is_refused_until_a_reason_is_typed_then_waits_for_verification(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    nurse, url = client_as(Role.NURSE), f"/api/implants/{implant.id}/refills"
    refused = post(nurse, url, body(implant))
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("overrides", "twin_residual")
    assert SAID[1] in error["message"]
    assert Refill.objects.filter(implant=implant).count() == 1
    accepted = post(nurse, url, body(implant, overrides={"twin_residual": REASON}))
    assert accepted.status_code == 201, accepted.content
    refill = accepted.json()
    assert refill["reconciliation"]["finding"] == "none"
    (shown,) = refill["warnings"]
    assert shown["rule"] == "twin_residual" and shown["tier"] == "soft"
    assert all(words in shown["message"] for words in SAID)
    assert shown["source"].startswith("rule-pump-twin: ")
    assert [(o["rule"], o["reason"]) for o in refill["overrides"]] == [("twin_residual", REASON)]
    assert refill["needs_verification"] is True
