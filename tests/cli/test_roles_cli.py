"""`painpump roles` at the server console: the break-glass that makes the first admins of a fresh
install (after `painpump manage createsuperuser`), and the same two-admin rule as the web app
and the API for every other grant; nobody changes their own roles; refusals exit 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from painpump.cli import main
from painpump.clinic.models import AuditEntry, RoleGrant
from painpump.clinic.roles import Role, roles_of

pytestmark = pytest.mark.django_db
EXIT_REFUSED = 2
_REGISTERED: list[bool] = []


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`painpump roles ...` run in-process as the console script runs it: (exit, out, err)."""
    if not _REGISTERED:
        main._register()
        _REGISTERED.append(True)
    monkeypatch.setattr(main, "_register", lambda: None)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["painpump", "roles", *args])
        code = 0
        try:
            main.run()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _fresh(name: str) -> User:
    return User.objects.get(username=name)


def test_a_fresh_install_gets_its_first_admins_at_the_console_and_no_third(roles: Any) -> None:
    for name in ("it.one", "it.two", "it.three"):
        call_command("createsuperuser", username=name, email="", interactive=False, verbosity=0)
    code, out, _ = roles("bootstrap", "it.one", "--json")
    assert code == 0 and json.loads(out) == {"user": "it.one", "roles": ["admin"]}
    assert roles("bootstrap", "it.two")[0] == 0
    code, _, err = roles("bootstrap", "it.three")
    assert code == EXIT_REFUSED and "2 active admins" in err
    assert roles_of(_fresh("it.three")) == frozenset()
    assert AuditEntry.objects.filter(action="user.bootstrap_admin").count() == 2


def test_nobody_changes_their_own_roles_at_the_console(roles: Any, admin: User) -> None:
    code, _, err = roles("ask", "ad.min", "physician", "--by", "ad.min")
    assert code == EXIT_REFUSED and "nobody changes their own roles" in err
    assert roles("revoke", "ad.min", "admin", "--by", "ad.min")[0] == EXIT_REFUSED
    assert roles_of(_fresh("ad.min")) == {Role.ADMIN}
    assert not RoleGrant.objects.exists() and not AuditEntry.objects.exists()


def test_a_role_asked_for_at_the_console_is_held_once_a_second_admin_approves(
    roles: Any, admin: User, nurse: User, make_user: Callable[..., User]
) -> None:
    make_user("ad.two", Role.ADMIN)
    code, out, _ = roles("ask", "nurse.joy", "physician", "--by", "ad.min", "--json")
    assert code == 0 and json.loads(out)["asked"] == ["physician"]
    grant = str(RoleGrant.objects.get().id)
    code, _, err = roles("approve", grant, "--by", "ad.min")
    assert code == EXIT_REFUSED and "is your own" in err
    assert roles_of(_fresh("nurse.joy")) == {Role.NURSE}
    assert roles("approve", grant, "--by", "ad.two")[0] == 0
    assert roles_of(_fresh("nurse.joy")) == {Role.NURSE, Role.PHYSICIAN}
    code, out, _ = roles("list", "--json")
    assert {"user": "nurse.joy", "active": True, "roles": ["nurse", "physician"]} in (
        json.loads(out)["accounts"]
    )


def test_a_role_is_revoked_at_once_at_the_console(roles: Any, admin: User, nurse: User) -> None:
    nurse.groups.add(Group.objects.get_or_create(name="auditor")[0])
    assert roles("revoke", "nurse.joy", "auditor", "--by", "ad.min")[0] == 0
    assert roles_of(_fresh("nurse.joy")) == {Role.NURSE}
    code, _, err = roles("revoke", "nurse.joy", "nurse", "--by", "nurse.joy")
    assert code == EXIT_REFUSED and "may not manage users" in err
