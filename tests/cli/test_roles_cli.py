"""`painpump roles` at the server console: the break-glass that makes the first admins of a fresh
install (after `painpump manage createsuperuser`), and the same two-admin rule as the web app
and the API for every other grant; the admin named with --by proves who they are (password, and
their authenticator's code); nobody changes their own roles; refusals exit 2."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from authenticator import code_for, enrol
from clinic_fixtures import PASSWORD, written_entries
from painpump.cli import main
from painpump.cli.console_proof import CODE_ENV, PASSWORD_ENV
from painpump.clinic.actions.users import CONSOLE
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
    entries = AuditEntry.objects.filter(action="user.bootstrap_admin")
    assert [entry.actor for entry in entries] == [CONSOLE, CONSOLE]


def test_nobody_changes_their_own_roles_at_the_console(roles: Any, admin: User) -> None:
    code, _, err = roles("ask", "ad.min", "physician", "--by", "ad.min")
    assert code == EXIT_REFUSED and "nobody changes their own roles" in err
    assert roles("revoke", "ad.min", "admin", "--by", "ad.min")[0] == EXIT_REFUSED
    assert roles_of(_fresh("ad.min")) == {Role.ADMIN}
    assert not RoleGrant.objects.exists() and not written_entries().exists()


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


def typed_at_the_prompt(monkeypatch: pytest.MonkeyPatch, answer: Callable[[], str]) -> list[str]:
    """getpass answering `answer()`; the prompts it was asked with."""
    prompts: list[str] = []

    def typed(prompt: str) -> str:
        prompts.append(prompt)
        return answer()

    monkeypatch.setattr(getpass, "getpass", typed)
    return prompts


def _nothing_changed() -> bool:
    return not RoleGrant.objects.exists() and not written_entries().exists()


def test_regression_the_admin_named_at_the_console_must_give_their_password(
    roles: Any, admin: User, nurse: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: `--by ADMIN` recorded the named admin as the actor without any proof."""
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    code, _, err = roles("ask", "nurse.joy", "physician", "--by", "ad.min")
    assert code == EXIT_REFUSED and "--by: ad.min is not signed in" in err
    code, _, err = roles("ask", "nurse.joy", "physician", "--by", "nobody")
    assert code == EXIT_REFUSED and "--by: nobody is not signed in" in err
    assert _nothing_changed()
    monkeypatch.delenv(PASSWORD_ENV)

    def no_terminal(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", no_terminal)
    code, _, err = roles("revoke", "nurse.joy", "nurse", "--by", "ad.min")
    assert code == EXIT_REFUSED and "was not given" in err and PASSWORD_ENV in err
    prompts = typed_at_the_prompt(monkeypatch, lambda: PASSWORD)
    assert _nothing_changed()
    assert roles("ask", "nurse.joy", "physician", "--by", "ad.min")[0] == 0
    assert prompts == ["Password of ad.min: "]
    assert AuditEntry.objects.get(action="user.role_request").actor == "ad.min"


def test_a_script_gives_the_password_in_a_file_never_on_the_command_line(
    roles: Any, admin: User, nurse: User, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    code, _, err = roles("ask", "nurse.joy", "physician", "--by", "ad.min", "--password", "x")
    assert code == EXIT_REFUSED and "No such option" in err
    code, _, err = roles(
        "ask", "nurse.joy", "physician", "--by", "ad.min", "--password-file", str(tmp_path / "none")
    )
    assert code == EXIT_REFUSED and "--password-file" in err and "cannot be read" in err
    assert _nothing_changed()
    code, _, _ = roles(
        "ask", "nurse.joy", "physician", "--by", "ad.min", "--password-file", str(secret)
    )
    assert code == 0 and RoleGrant.objects.count() == 1


def test_regression_a_password_file_readable_by_group_or_others_is_refused(
    roles: Any, admin: User, nurse: User, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Regression: a --password-file of mode 0644 was read though the help says 0600."""
    monkeypatch.delenv(PASSWORD_ENV)
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    for mode in (0o644, 0o640, 0o604):
        secret.chmod(mode)
        code, _, err = roles(
            "ask", "nurse.joy", "physician", "--by", "ad.min", "--password-file", str(secret)
        )
        assert code == EXIT_REFUSED and f"--password-file: {secret}" in err
        assert f"has mode {mode:04o}" in err
    assert _nothing_changed()


def test_an_admin_with_an_authenticator_gives_its_code_at_the_console(
    roles: Any, admin: User, nurse: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol(admin)
    enrolled = AuditEntry.objects.count()
    monkeypatch.setenv(CODE_ENV, "000000" if code_for(admin) != "000000" else "111111")
    code, _, err = roles("ask", "nurse.joy", "physician", "--by", "ad.min")
    assert code == EXIT_REFUSED and "code: (not shown) is wrong" in err
    failure = AuditEntry.objects.get(action="two_factor.failure")
    assert failure.after == {
        "step": "console",
        "code": "authenticator code",
        "reason": "wrong code",
    }
    assert not RoleGrant.objects.exists() and AuditEntry.objects.count() == enrolled + 1
    code, _, err = roles("ask", "nurse.joy", "physician", "--by", "ad.min")
    assert code == EXIT_REFUSED and "is wrong (none taken for 1 s)" in err
    TOTPDevice.objects.get(user=admin).throttle_reset()  # as a second later
    monkeypatch.delenv(CODE_ENV)
    prompts = typed_at_the_prompt(monkeypatch, lambda: code_for(admin))
    assert roles("ask", "nurse.joy", "physician", "--by", "ad.min")[0] == 0
    assert prompts == ["Authenticator code of ad.min (or a recovery code): "]
    assert RoleGrant.objects.get().requested_by == "ad.min"


def test_an_admin_required_to_have_an_authenticator_is_refused_at_the_console_without_one(
    roles: Any, admin: User, nurse: User, settings: Settings
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    code, _, err = roles("ask", "nurse.joy", "physician", "--by", "ad.min")
    assert code == EXIT_REFUSED and "has no authenticator yet" in err
    assert _nothing_changed()
