"""A wider readback tolerance through the API (issue 14, rule-second-admin-tolerance): PATCH
/api/settings refuses it (422 naming the field, the limit and the rule); an admin asks for it at
/api/settings/tolerance-requests with the settings version read, a second admin approves (never
the one who asked) or declines, the admin who asked may withdraw; a request asked from a
tolerance since changed is refused; every other role gets 403 and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import JSON

from clinic_fixtures import written_entries
from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, ToleranceRequest
from painpump.clinic.roles import Role

URL = "/api/settings/tolerance-requests"


@pytest.fixture
def second(make_user: Callable[..., User]) -> Client:
    """A second admin's client."""
    client = Client()
    client.force_login(make_user("ad.two", Role.ADMIN))
    return client


def ask(client: Client, tolerance: Any, version: int = 1) -> Any:
    return client.post(
        URL, {"version": version, "readback_tolerance": tolerance}, content_type=JSON
    )


def held() -> tuple[Decimal, int]:
    settings = clinic_settings()
    return settings.readback_tolerance_ml, settings.version


def test_a_wider_tolerance_patched_by_one_admin_is_a_422_naming_the_limit_and_the_rule(
    client_as: Callable[[Role | None], Client],
) -> None:
    response = client_as(Role.ADMIN).patch(
        "/api/settings", {"version": 1, "readback_tolerance": "0.3 mL"}, content_type=JSON
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["field"], error["value"]) == ("readback_tolerance", "0.3 mL")
    assert error["limit"] == "<= current 0.1 mL (a wider one needs a second admin's approval)"
    assert error["source"].startswith("rule-second-admin-tolerance: ")
    assert held() == (Decimal("0.1"), 1) and not written_entries().exists()


def test_a_wider_tolerance_asked_for_is_set_once_a_second_admin_approves(
    client_as: Callable[[Role | None], Client], second: Client
) -> None:
    admin = client_as(Role.ADMIN)
    asked = ask(admin, {"value": 300, "unit": "uL"})
    assert asked.status_code == 201, asked.content
    body = asked.json()
    assert (body["requested"], body["previous"]) == (
        {"value": 0.3, "unit": "mL"},
        {"value": 0.1, "unit": "mL"},
    )
    assert (body["status"], body["requested_by"], body["decided_at"]) == ("pending", "ad.min", None)
    assert admin.get(URL).json() == [body]
    assert held() == (Decimal("0.1"), 1)
    approve = f"{URL}/{body['id']}/approve"
    own = admin.post(approve)
    assert own.status_code == 422 and own.json()["error"]["field"] == "request"
    assert own.json()["error"]["message"].startswith(f"request: {body['id']} is your own")
    assert held() == (Decimal("0.1"), 1)
    approved = second.post(approve)
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "ad.two")
    settings = admin.get("/api/settings").json()
    assert (settings["readback_tolerance"], settings["version"]) == (
        {"value": 0.3, "unit": "mL"},
        2,
    )
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.actor == "ad.two" and entry.after is not None
    assert (entry.after["request"], entry.after["asked_by"]) == (body["id"], "ad.min")
    assert audit.verify().ok
    again = second.post(approve)
    assert again.status_code == 422 and "approved already" in again.json()["error"]["message"]


def test_a_request_asked_before_the_tolerance_changed_is_a_422_naming_it(
    client_as: Callable[[Role | None], Client], second: Client
) -> None:
    admin = client_as(Role.ADMIN)
    request_id = ask(admin, "0.3 mL").json()["id"]
    narrowed = admin.patch(
        "/api/settings", {"version": 1, "readback_tolerance": "0.05 mL"}, content_type=JSON
    )
    assert narrowed.status_code == 200, narrowed.content
    refused = second.post(f"{URL}/{request_id}/approve")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("request", str(request_id))
    assert error["limit"] == "a request asked from the tolerance in force, 0.05 mL"
    assert "but the tolerance is 0.05 mL since: decline it and ask again" in error["message"]
    assert held() == (Decimal("0.05"), 2)


def test_another_admin_declines_the_asker_withdraws_and_the_tolerance_stays(
    client_as: Callable[[Role | None], Client], second: Client
) -> None:
    admin = client_as(Role.ADMIN)
    first = ask(admin, "0.3 mL").json()["id"]
    busy = ask(second, "0.2 mL")
    assert busy.status_code == 422 and busy.json()["error"]["field"] == "readback_tolerance"
    assert "one request at a time" in busy.json()["error"]["limit"]
    assert admin.post(f"{URL}/{first}/decline").status_code == 422  # the asker withdraws
    declined = second.post(f"{URL}/{first}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    other = ask(admin, "0.2 mL").json()["id"]
    assert second.post(f"{URL}/{other}/withdraw").status_code == 422
    withdrawn = admin.post(f"{URL}/{other}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert [r["status"] for r in admin.get(URL).json()] == ["withdrawn", "declined"]
    assert held() == (Decimal("0.1"), 1)
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("tolerance", "version", "status", "field"),
    [
        ("0.2 mL", 2, 409, None),
        ("0.1 mL", 1, 422, "readback_tolerance"),
        ("1 mL", 1, 422, "readback_tolerance"),
        ("0.2", 1, 422, "readback_tolerance"),
    ],
    ids=["stale-version", "not-wider", "ceiling", "no-unit"],
)
def test_an_ask_refused_changes_nothing(
    client_as: Callable[[Role | None], Client],
    tolerance: str,
    version: int,
    status: int,
    field: str | None,
) -> None:
    response = ask(client_as(Role.ADMIN), tolerance, version)
    assert response.status_code == status, response.content
    assert response.json()["error"].get("field") == field
    assert not ToleranceRequest.objects.exists() and not written_entries().exists()


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.AUDITOR])
def test_no_other_role_asks_reads_or_decides_a_request(
    client_as: Callable[[Role | None], Client], role: Role
) -> None:
    request_id = ask(client_as(Role.ADMIN), "0.3 mL").json()["id"]
    entries = AuditEntry.objects.count()
    client = client_as(role)
    assert ask(client, "0.2 mL").status_code == 403
    assert client.get(URL).status_code == 403
    for step in ("approve", "decline", "withdraw"):
        refused = client.post(f"{URL}/{request_id}/{step}")
        assert refused.status_code == 403 and "may not" in refused.json()["error"]["message"]
    assert held() == (Decimal("0.1"), 1) and AuditEntry.objects.count() == entries
    assert ToleranceRequest.objects.get().status == "pending"
