"""Roles through the API (issue 14, least privilege): an admin may not change their own roles; a
role added is a request that a second admin approves (not the one who asked, not its holder)
and until then nothing changes; a role removed goes at once; the other roles may not touch
any of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import JSON

from clinic_fixtures import written_entries
from painpump.clinic.models import RoleGrant
from painpump.clinic.roles import Role, roles_of


def _put_roles(client: Client, user: User, *roles: str, version: int = 1) -> Any:
    return client.put(
        f"/api/users/{user.id}/roles", {"version": version, "roles": list(roles)}, content_type=JSON
    )


def test_an_admin_may_not_give_himself_a_role_through_the_api(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    """Regression: an admin granted himself the physician role and then read patient charts."""
    admin = users[Role.ADMIN]
    response = _put_roles(client_as(Role.ADMIN), admin, "admin", "physician")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "roles"
    assert roles_of(User.objects.get(id=admin.id)) == {Role.ADMIN}
    assert not RoleGrant.objects.exists() and not written_entries().exists()
    patients = client_as(Role.ADMIN).get("/api/patients")
    assert patients.status_code == 403


def test_a_role_asked_for_through_the_api_waits_for_a_second_admin(
    client_as: Callable[[Role | None], Client],
    users: dict[Role, User],
    make_user: Callable[..., User],
) -> None:
    nurse = users[Role.NURSE]
    changed = _put_roles(client_as(Role.ADMIN), nurse, "nurse", "physician")
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["account"]["roles"], body["asked"]) == (["nurse"], ["physician"])
    (waiting,) = client_as(Role.ADMIN).get("/api/role-grants").json()
    url = f"/api/role-grants/{waiting['id']}/approve"
    own = client_as(Role.ADMIN).post(url)
    assert own.status_code == 422 and own.json()["error"]["field"] == "request"
    assert client_as(Role.NURSE).post(url).status_code == 403
    assert roles_of(User.objects.get(id=nurse.id)) == {Role.NURSE}
    second = Client()
    second.force_login(make_user("ad.two", Role.ADMIN))
    approved = second.post(url)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert roles_of(User.objects.get(id=nurse.id)) == {Role.NURSE, Role.PHYSICIAN}
    again = second.post(url)
    assert again.status_code == 422 and "approved already" in again.json()["error"]["message"]


def test_a_role_removed_through_the_api_goes_at_once(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    physician = users[Role.PHYSICIAN]
    changed = _put_roles(client_as(Role.ADMIN), physician, "auditor")
    body = changed.json()
    assert (body["removed"], body["asked"]) == (["physician"], ["auditor"])
    assert roles_of(User.objects.get(id=physician.id)) == frozenset()
    stale = _put_roles(client_as(Role.ADMIN), physician, "physician", version=1)
    assert stale.status_code == 409
