"""User accounts, managed by the admin only: created with a password the validators accept and
its roles asked for (clinic.actions.role_grants: a second admin approves them), roles removed,
deactivated and reactivated (never deleted), passwords reset; each change audited under the
account's version (409 when stale); nobody changes their own roles or deactivates themselves."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, User
from django.test import Client

from clinic_fixtures import written_entries
from painpump.clinic import audit
from painpump.clinic.actions import role_grants, users
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.models import AuditEntry, RoleGrant
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.core.text import TEXT_RULES

pytestmark = pytest.mark.django_db

GOOD = "saffron lantern 42"


def create(admin: User, username: str = "nurse.new", **changes: object) -> users.Account:
    fields: dict[str, object] = {
        "username": username,
        "first_name": "Nina",
        "last_name": "Neu",
        "roles": ["nurse"],
        "password": GOOD,
    }
    return users.create_account(admin, **(fields | changes))  # type: ignore[arg-type]


def test_the_admin_creates_a_user_who_can_then_sign_in_and_whose_roles_wait_for_a_second_admin(
    admin: User,
) -> None:
    account = create(admin)
    assert account.roles == () and account.active and account.version == 1
    assert isinstance(authenticate(username="nurse.new", password=GOOD), User)
    entry = written_entries().get(action="user.create")
    assert entry.after is not None and entry.after["roles"] == []
    assert GOOD not in str(entry.after)
    (asked,) = role_grants.pending_grants(admin)
    assert (asked.username, asked.role, asked.requested_by) == ("nurse.new", "nurse", "ad.min")
    assert audit.verify().ok


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_only_the_admin_manages_users(request: pytest.FixtureRequest, role_user: str) -> None:
    user: User = request.getfixturevalue(role_user)
    with pytest.raises(Forbidden):
        users.list_accounts(user)
    with pytest.raises(Forbidden):
        create(user)
    assert not User.objects.filter(username="nurse.new").exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"roles": []}, "roles"),
        ({"roles": ["surgeon"]}, "roles"),
        ({"username": "has space"}, "username"),
        ({"username": "NURSE.JOY"}, "username"),
        ({"last_name": " "}, "last_name"),
    ],
    ids=["short", "common", "no-role", "unknown-role", "bad-username", "taken", "no-name"],
)
def test_a_bad_new_user_is_refused_naming_the_field_and_nothing_is_stored(
    admin: User, nurse: User, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(Refusal) as caught:
        create(admin, **changes)
    assert caught.value.field == field
    assert User.objects.count() == 2
    assert not written_entries().exists()


def test_a_refused_password_says_why_without_showing_it(admin: User) -> None:
    with pytest.raises(Refusal) as caught:
        create(admin, password="short")
    assert "too short" in caught.value.message
    assert "short" not in caught.value.value


def test_a_role_removed_goes_at_once_a_role_added_is_asked_for_and_a_stale_version_conflicts(
    admin: User, nurse: User
) -> None:
    nurse.groups.add(Group.objects.get_or_create(name="auditor")[0])
    account = users.read_account(admin, nurse.id)
    changed = users.set_roles(
        admin, nurse.id, expected_version=account.version, roles=["nurse", "physician"]
    )
    assert (changed.removed, changed.asked) == (("auditor",), ("physician",))
    assert changed.account.roles == ("nurse",) and changed.account.version == account.version + 1
    entry = AuditEntry.objects.get(action="user.roles")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["roles"], entry.after["roles"]) == (["auditor", "nurse"], ["nurse"])
    assert AuditEntry.objects.filter(action="user.role_request").count() == 1
    with pytest.raises(Conflict):
        users.set_roles(admin, nurse.id, expected_version=account.version, roles=["nurse"])


def test_a_deactivated_user_cannot_sign_in_until_reactivated(admin: User, nurse: User) -> None:
    off = users.set_active(admin, nurse.id, expected_version=1, active=False)
    assert not off.active
    assert authenticate(username="nurse.joy", password="correct horse battery") is None
    assert User.objects.filter(id=nurse.id).exists()  # never deleted
    on = users.set_active(admin, nurse.id, expected_version=off.version, active=True)
    assert on.active
    actions = list(written_entries().values_list("action", flat=True))
    assert actions == ["user.deactivate", "user.reactivate"]


def test_an_admin_cannot_change_their_own_roles_or_deactivate_themselves(admin: User) -> None:
    for roles in (["auditor"], ["admin", "physician"], ["admin"]):
        with pytest.raises(Refusal) as caught:
            users.set_roles(admin, admin.id, expected_version=1, roles=roles)
        assert caught.value.field == "roles" and "own roles" in caught.value.source
    with pytest.raises(Refusal) as caught:
        users.set_active(admin, admin.id, expected_version=1, active=False)
    assert caught.value.field == "active"
    assert users.read_account(admin, admin.id).roles == ("admin",)
    assert not RoleGrant.objects.exists() and not written_entries().exists()


def test_a_password_reset_is_validated_and_audited_without_the_password(
    admin: User, nurse: User
) -> None:
    with pytest.raises(Refusal):
        users.reset_password(admin, nurse.id, expected_version=1, password="123")
    users.reset_password(admin, nurse.id, expected_version=1, password=GOOD)
    assert isinstance(authenticate(username="nurse.joy", password=GOOD), User)
    entry = AuditEntry.objects.get(action="user.password_reset")
    assert GOOD not in str(entry.after)


def test_the_list_shows_roles_and_last_sign_in(admin: User, nurse: User) -> None:
    assert Client().login(username="nurse.joy", password="correct horse battery")
    accounts = {a.username: a for a in users.list_accounts(admin)}
    assert accounts["nurse.joy"].roles == ("nurse",)
    assert accounts["nurse.joy"].last_login is not None
    assert accounts["ad.min"].roles == ("admin",)
    assert accounts["ad.min"].last_login is None


def test_an_unknown_user_is_not_found(admin: User) -> None:
    with pytest.raises(NotFound):
        users.read_account(admin, 99999)


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_an_account_name_with_format_characters_is_refused_escaped_naming_the_rule(
    admin: User, nurse: User, field: str
) -> None:
    """Issue 14: bidi overrides and a zero-width space, refused in patient names, passed in an
    account's given and family names (shown in the trail and on every page the user signs)."""
    with pytest.raises(Refusal) as caught:
        create(admin, **{field: "Ni\u202ean\u202c\u200b"})
    assert caught.value.field == field
    assert caught.value.value == "Ni\\u202ean\\u202c\\u200b"
    assert caught.value.source == TEXT_RULES and "U+202E" in caught.value.problem
    assert User.objects.count() == 2
    assert not written_entries().exists()
