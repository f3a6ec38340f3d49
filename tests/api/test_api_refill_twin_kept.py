"""Clinical review finding B over HTTP: a refill's reconciliation answers with the residual the
pump's twin expected, stored with the refill (least and most, equal when the bolus count is
known); null at a first fill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import iso, post, version_of

from painpump.clinic.models import Implant
from painpump.clinic.roles import Role
from twin_case import REFILLED, morphine_pump

pytestmark = pytest.mark.django_db


@pytest.fixture
def implant(users: dict[Role, User]) -> Implant:
    return morphine_pump(users[Role.PHYSICIAN], users[Role.NURSE], users[Role.PHARMACIST])


def body(implant: Implant) -> dict[str, Any]:
    return {
        "idempotency_key": "twin-kept",
        "version": version_of(implant),
        "performed_at": iso(REFILLED),
        "expected": "10.3 mL",
        "aspirated": "10.2 mL",
        "drugs": [{"drug": "morphine", "concentration": "20 mg/mL"}],
        "volume": "20 mL",
        "lot": "LOT-M",
    }


def test_the_reconciliation_answers_with_the_twins_figure(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    nurse = client_as(Role.NURSE)
    accepted = post(nurse, f"/api/implants/{implant.id}/refills", body(implant))
    assert accepted.status_code == 201, accepted.content
    refill = accepted.json()
    assert refill["warnings"] == []
    twin = {"value": 10.255, "unit": "mL"}
    assert refill["reconciliation"]["twin_expected"] == {"least": twin, "most": twin}
    listed = nurse.get(f"/api/implants/{implant.id}/refills")
    assert listed.status_code == 200, listed.content
    answers = {r["id"]: r["reconciliation"] for r in listed.json()}
    assert answers[refill["id"]]["twin_expected"] == {"least": twin, "most": twin}
    assert [a for i, a in answers.items() if i != refill["id"]] == [None]  # the first fill
