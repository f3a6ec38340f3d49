"""Least privilege for roles (issue 14): a role is granted only when a second admin approves the
request, neither the admin who asked nor the account's holder; until then nothing changes; a
declined or withdrawn request grants nothing; removing a role takes effect at once; the server
console makes the first two admins of a fresh install and no more."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from painpump.clinic import audit
from painpump.clinic.actions import role_grants, users
from painpump.clinic.models import AuditEntry, RoleGrant
from painpump.clinic.roles import Forbidden, Role, roles_of
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


def _ask(admin: User, target: User, *roles: str) -> list[int]:
    account = users.read_account(admin, target.id)
    wanted = [*account.roles, *roles]
    users.set_roles(admin, target.id, expected_version=account.version, roles=wanted)
    return [g.id for g in role_grants.pending_grants(admin, user_id=target.id)]


def _fresh(user: User) -> User:
    return User.objects.get(id=user.id)  # a new object: its roles read again


def test_a_role_asked_for_is_held_only_once_a_second_admin_approves_it(
    admin: User, second_admin: User, nurse: User
) -> None:
    (grant,) = _ask(admin, nurse, "physician")
    assert roles_of(_fresh(nurse)) == {Role.NURSE}  # nothing changed yet
    approved = users.approve_grant(second_admin, grant)
    assert (approved.status, approved.decided_by) == ("approved", "ad.two")
    assert roles_of(_fresh(nurse)) == {Role.NURSE, Role.PHYSICIAN}
    entry = AuditEntry.objects.get(action="user.role_grant")
    assert entry.actor == "ad.two" and entry.after is not None
    assert entry.after["roles"] == ["nurse", "physician"] and entry.after["asked_by"] == "ad.min"
    assert audit.verify().ok


def test_the_admin_who_asked_cannot_approve_and_nothing_changes(
    admin: User, second_admin: User, nurse: User
) -> None:
    (grant,) = _ask(admin, nurse, "physician")
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        users.approve_grant(admin, grant)
    assert caught.value.field == "request" and "second admin" in caught.value.source
    assert roles_of(_fresh(nurse)) == {Role.NURSE}
    assert RoleGrant.objects.get(id=grant).status == "pending"
    assert AuditEntry.objects.count() == entries


def test_an_admin_cannot_approve_or_ask_for_a_role_of_their_own(
    admin: User, second_admin: User, make_user: Callable[..., User]
) -> None:
    """Regression: an admin granted himself the physician role and then read patient charts."""
    with pytest.raises(Refusal) as caught:
        users.set_roles(admin, admin.id, expected_version=1, roles=["admin", "physician"])
    assert caught.value.field == "roles"
    assert not RoleGrant.objects.exists()
    # another admin asks for it on his behalf: he still may not approve it himself
    (grant,) = _ask(second_admin, admin, "physician")
    with pytest.raises(Refusal) as caught:
        users.approve_grant(admin, grant)
    assert caught.value.field == "request" and "own roles" in caught.value.source
    assert roles_of(_fresh(admin)) == {Role.ADMIN}
    third = make_user("ad.three", Role.ADMIN)
    users.approve_grant(third, grant)  # a third admin may
    assert roles_of(_fresh(admin)) == {Role.ADMIN, Role.PHYSICIAN}


def test_a_declined_or_withdrawn_request_grants_nothing_and_cannot_be_approved_after(
    admin: User, second_admin: User, nurse: User, auditor: User
) -> None:
    (declined,) = _ask(admin, nurse, "physician")
    assert role_grants.decline(second_admin, declined).status == "declined"
    (withdrawn,) = _ask(admin, auditor, "pharmacist")
    assert role_grants.decline(admin, withdrawn).decided_by == "ad.min"
    for grant in (declined, withdrawn):
        with pytest.raises(Refusal) as caught:
            users.approve_grant(second_admin, grant)
        assert "declined or withdrawn already" in caught.value.message
    assert roles_of(_fresh(nurse)) == {Role.NURSE}
    assert roles_of(_fresh(auditor)) == {Role.AUDITOR}
    assert AuditEntry.objects.filter(action="user.role_decline").count() == 2


def test_a_role_removed_is_removed_at_once_without_a_second_admin(
    admin: User, physician: User
) -> None:
    changed = users.set_roles(admin, physician.id, expected_version=1, roles=["nurse"])
    assert changed.removed == ("physician",) and changed.asked == ("nurse",)
    assert roles_of(_fresh(physician)) == frozenset()


def test_only_admins_decide_requests(
    admin: User, second_admin: User, nurse: User, physician: User
) -> None:
    (grant,) = _ask(admin, nurse, "pharmacist")
    with pytest.raises(Forbidden):
        users.approve_grant(physician, grant)
    with pytest.raises(Forbidden):
        role_grants.decline(physician, grant)
    with pytest.raises(Forbidden):
        role_grants.pending_grants(physician)


def test_the_console_bootstraps_two_admins_on_a_fresh_install_and_no_more(
    make_user: Callable[..., User],
) -> None:
    first, second, third = (make_user(name) for name in ("it.one", "it.two", "it.three"))
    assert users.bootstrap_admin("it.one").roles == ("admin",)
    with pytest.raises(Refusal) as caught:
        users.bootstrap_admin("it.one")
    assert "is an admin" in caught.value.message
    users.bootstrap_admin("it.two")
    with pytest.raises(Refusal) as caught:
        users.bootstrap_admin("it.three")
    assert "2 active admins" in caught.value.message
    assert roles_of(_fresh(third)) == frozenset()
    entries = AuditEntry.objects.filter(action="user.bootstrap_admin")
    assert list(entries.values_list("actor", "object_id")) == [
        (users.CONSOLE, "it.one"),
        (users.CONSOLE, "it.two"),
    ]
    assert {first.id, second.id} == {
        u.id for u in User.objects.filter(groups__name="admin").distinct()
    }


def test_an_admin_whose_sign_in_the_asking_admin_reset_cannot_approve_the_request(
    admin: User, second_admin: User, nurse: User
) -> None:
    """Regression: one admin reset the second admin's password (and second factor), signed in
    as them and approved his own request."""
    (grant,) = _ask(admin, nurse, "physician")
    account = users.read_account(admin, second_admin.id)
    users.reset_password(
        admin,
        second_admin.id,
        expected_version=account.version,
        password="a long new pass phrase 4 admins",
    )
    with pytest.raises(Refusal) as caught:
        users.approve_grant(second_admin, grant)
    assert caught.value.problem.startswith("was asked by ad.min, who reset your password on ")
    assert roles_of(_fresh(nurse)) == {Role.NURSE}
    assert RoleGrant.objects.get(id=grant).status == "pending"
