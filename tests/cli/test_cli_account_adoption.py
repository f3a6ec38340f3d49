"""Adopting an account made outside painpump at the server console: `painpump audit verify` fails
on an account `painpump manage createsuperuser` made and never bootstrapped (the console's
bootstrap refuses a clinic with two admins) and names `painpump roles adopt`; `painpump roles
list` shows the account; one admin asks (`adopt --reason --by`), a second approves
(`adopt-approve --by`), each proving who they are with their password, as for every `painpump
roles ... --by ADMIN`; verify then passes. Refusals exit 2 and change nothing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from pytest_django import Settings

from clinic_fixtures import PASSWORD, written_entries
from painpump.cli import main
from painpump.cli.console_proof import PASSWORD_ENV
from painpump.clinic import audit
from painpump.clinic.models import AccountAdoption, AuditEntry
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db
EXIT_REFUSED = 2
_REGISTERED: list[bool] = []
REASON = "the clinic's first admin account, made with createsuperuser in 2025"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def roles(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`painpump roles ...` run in-process as the console script runs it: (exit, out, err); the
    admins' password comes from PAINPUMP_ADMIN_PASSWORD unless a test says otherwise."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
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


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


@pytest.fixture
def old_superuser(db: None) -> User:
    """An account `painpump manage createsuperuser` made before this release, never
    bootstrapped."""
    call_command("createsuperuser", username="it.old", email="", interactive=False, verbosity=0)
    return User.objects.get(username="it.old")


def test_an_account_made_by_createsuperuser_is_adopted_at_the_console_by_two_admins(
    roles: Any, admin: User, second_admin: User, old_superuser: User
) -> None:
    outcome = audit.verify()
    assert (
        not outcome.ok
        and "`painpump roles adopt it.old --reason TEXT --by ADMIN`" in (outcome.problems[0])
    )
    code, _, err = roles("bootstrap", "it.old")
    assert code == EXIT_REFUSED and "2 active admins" in err
    code, out, _ = roles("list", "--json")
    listed = json.loads(out)
    assert listed["outside"] == [
        {"user": "it.old", "holds": ["superuser", "staff"], "adoption": None}
    ]
    assert listed["adoptions"] == []
    code, out, _ = roles("adopt", "it.old", "--reason", REASON, "--by", "ad.min", "--json")
    assert code == 0, out
    asked = json.loads(out)
    request = str(asked["request"])
    assert asked == {
        "request": int(request),
        "user": "it.old",
        "status": "pending",
        "asked_by": "ad.min",
        "decided_by": "",
        "reason": REASON,
    }
    code, out, _ = roles("list")
    assert (
        f"adoption {request}: it.old, asked by ad.min ({REASON}), waits for a second admin" in out
    )
    code, _, err = roles("adopt-approve", request, "--by", "ad.min")
    assert code == EXIT_REFUSED and "is your own" in err
    code, out, _ = roles("adopt-approve", request, "--by", "ad.two", "--json")
    assert code == 0 and json.loads(out)["status"] == "approved"
    entry = AuditEntry.objects.get(action="user.adopt")
    assert (entry.actor, entry.object_id) == ("ad.two", "it.old")
    assert audit.verify().ok
    assert json.loads(roles("list", "--json")[1])["outside"] == []
    assert User.objects.get(username="it.old").groups.count() == 0  # no role granted


def test_every_adoption_step_at_the_console_asks_the_admins_password(
    roles: Any,
    admin: User,
    second_admin: User,
    old_superuser: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    code, _, err = roles("adopt", "it.old", "--reason", REASON, "--by", "ad.min")
    assert code == EXIT_REFUSED and "--by: ad.min is not signed in" in err
    assert not AccountAdoption.objects.exists()
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert roles("adopt", "it.old", "--reason", REASON, "--by", "ad.min")[0] == 0
    request = str(AccountAdoption.objects.get().id)
    entries = AuditEntry.objects.count()
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    for step in ("adopt-approve", "adopt-decline"):
        code, _, err = roles(step, request, "--by", "ad.two")
        assert code == EXIT_REFUSED and "--by: ad.two is not signed in" in err
    code, _, err = roles("adopt-withdraw", request, "--by", "ad.min")
    assert code == EXIT_REFUSED and "--by: ad.min is not signed in" in err
    assert AccountAdoption.objects.get().status == "pending"
    assert not AuditEntry.objects.filter(seq__gt=entries, action__startswith="user.").exists()


def test_a_declined_or_withdrawn_adoption_at_the_console_changes_nothing(
    roles: Any, admin: User, second_admin: User, old_superuser: User
) -> None:
    assert roles("adopt", "it.old", "--reason", REASON, "--by", "ad.min")[0] == 0
    first = str(AccountAdoption.objects.get().id)
    code, _, err = roles("adopt-decline", first, "--by", "ad.min")
    assert code == EXIT_REFUSED and "withdraw it" in err
    code, out, _ = roles("adopt-decline", first, "--by", "ad.two", "--json")
    assert code == 0 and json.loads(out)["status"] == "declined"
    assert roles("adopt", "it.old", "--reason", REASON, "--by", "ad.min")[0] == 0
    second = str(AccountAdoption.objects.get(status="pending").id)
    code, out, _ = roles("adopt-withdraw", second, "--by", "ad.min", "--json")
    assert code == 0 and json.loads(out)["status"] == "withdrawn"
    code, _, err = roles("adopt-approve", second, "--by", "ad.two")
    assert code == EXIT_REFUSED and "is withdrawn already" in err
    assert not AuditEntry.objects.filter(action="user.adopt").exists()
    assert not audit.verify().ok


def test_an_account_painpump_made_or_a_non_admin_is_refused_at_the_console(
    roles: Any, admin: User, nurse: User, old_superuser: User
) -> None:
    code, _, err = roles("adopt", "nurse.joy", "--reason", REASON, "--by", "ad.min")
    assert code == EXIT_REFUSED and "was made by painpump" in err
    code, _, err = roles("adopt", "it.old", "--reason", REASON, "--by", "nurse.joy")
    assert code == EXIT_REFUSED and "may not manage users" in err
    code, _, err = roles("adopt", "nobody", "--reason", REASON, "--by", "ad.min")
    assert code == EXIT_REFUSED and "'nobody': no user of that name" in err
    code, _, err = roles("adopt", "it.old", "--by", "ad.min")
    assert code == EXIT_REFUSED and "--reason" in err
    assert not AccountAdoption.objects.exists() and not written_entries().exists()
