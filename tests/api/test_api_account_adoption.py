"""Adopting an account made outside painpump through the API: GET /api/users/adoptions lists the
accounts `painpump audit verify` names and the adoptions waiting; an admin asks at POST
/api/users/{id}/adoption with a reason, a second admin approves (never the one who asked) or
declines, the asker may withdraw; an account painpump made is a 422 naming `user`; every other
role gets 403 and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import JSON

from painpump.clinic import audit
from painpump.clinic.models import AccountAdoption, AuditEntry
from painpump.clinic.roles import Role
from painpump.devtools.security import tamper

URL = "/api/users/adoptions"
REASON = "made by the 2025 import script for the night pump nurse"


@pytest.fixture
def second(make_user: Callable[..., User]) -> Client:
    """A second admin's client."""
    client = Client()
    client.force_login(make_user("ad.two", Role.ADMIN))
    return client


@pytest.fixture
def outsider(db: None) -> User:
    return User.objects.get(username=tamper.insert_account("in.sider", "nurse"))


def ask(client: Client, user_id: int, reason: Any = REASON) -> Any:
    return client.post(f"/api/users/{user_id}/adoption", {"reason": reason}, content_type=JSON)


def test_an_account_asked_for_is_adopted_once_a_second_admin_approves(
    client_as: Callable[[Role | None], Client], second: Client, outsider: User
) -> None:
    admin = client_as(Role.ADMIN)
    listed = admin.get(URL).json()
    assert listed == {
        "outside": [
            {
                "id": outsider.id,
                "username": "in.sider",
                "roles": ["nurse"],
                "active": True,
                "superuser": False,
                "staff": False,
                "waiting": None,
            }
        ],
        "waiting": [],
    }
    asked = ask(admin, outsider.id)
    assert asked.status_code == 201, asked.content
    body = asked.json()
    assert (body["username"], body["reason"], body["status"]) == ("in.sider", REASON, "pending")
    assert (body["requested_by"], body["decided_at"]) == ("ad.min", None)
    assert admin.get(URL).json()["waiting"] == [body]
    approve = f"{URL}/{body['id']}/approve"
    own = admin.post(approve)
    assert own.status_code == 422 and own.json()["error"]["field"] == "request"
    assert own.json()["error"]["message"].startswith(f"request: {body['id']} is your own")
    approved = second.post(approve)
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "ad.two")
    assert AuditEntry.objects.get(action="user.adopt").object_id == "in.sider"
    assert audit.verify().ok
    assert admin.get(URL).json() == {"outside": [], "waiting": []}


def test_an_account_painpump_made_is_a_422_naming_user(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    response = ask(client_as(Role.ADMIN), users[Role.NURSE].id)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["field"], error["value"]) == ("user", "nurse.joy")
    assert "was made by painpump" in error["message"]
    assert not AccountAdoption.objects.exists()


def test_declined_and_withdrawn_adoptions_change_nothing(
    client_as: Callable[[Role | None], Client], second: Client, outsider: User
) -> None:
    admin = client_as(Role.ADMIN)
    first = ask(admin, outsider.id).json()["id"]
    assert admin.post(f"{URL}/{first}/decline").status_code == 422  # the asker withdraws
    assert second.post(f"{URL}/{first}/withdraw").status_code == 422  # only the asker does
    declined = second.post(f"{URL}/{first}/decline")
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    other = ask(admin, outsider.id).json()["id"]
    withdrawn = admin.post(f"{URL}/{other}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert not AuditEntry.objects.filter(action="user.adopt").exists()
    assert not audit.verify().ok


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.AUDITOR])
def test_every_other_role_is_refused_and_nothing_changes(
    client_as: Callable[[Role | None], Client], outsider: User, role: Role
) -> None:
    asked = ask(client_as(Role.ADMIN), outsider.id).json()["id"]
    entries = AuditEntry.objects.count()
    client = client_as(role)
    assert client.get(URL).status_code == 403
    assert ask(client, outsider.id).status_code == 403
    for step in ("approve", "decline", "withdraw"):
        assert client.post(f"{URL}/{asked}/{step}").status_code == 403
    assert AccountAdoption.objects.get().status == "pending"
    assert AuditEntry.objects.count() == entries
