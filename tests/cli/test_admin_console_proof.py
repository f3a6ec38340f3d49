"""Regression (issue 14, the last outside attack): `painpump audit rotate-key ADMIN` and
`painpump redate ADMIN` recorded the named admin as the actor on the console's word. The admin
now proves who they are as at the web's sign-in (password, then their authenticator's code),
through the prompt, --password-file or PAINPUMP_ADMIN_PASSWORD / PAINPUMP_ADMIN_CODE; a refusal
exits 2 and changes nothing."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from authenticator import code_for, enrol
from clinic_fixtures import PASSWORD
from painpump.cli import main
from painpump.cli.console_proof import CODE_ENV, PASSWORD_ENV
from painpump.clinic.models import AuditEntry, Implant

pytestmark = pytest.mark.django_db
EXIT_REFUSED = 2
_REGISTERED: list[bool] = []
COMMANDS = {"rotate-key": ("audit", "rotate-key"), "redate": ("redate",)}
ACTIONS = {"rotate-key": "audit.key_rotate", "redate": "pumps.redate"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def painpump(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`painpump ...` run in-process as the console script runs it: (exit, out, err)."""
    if not _REGISTERED:
        main._register()
        _REGISTERED.append(True)
    monkeypatch.setattr(main, "_register", lambda: None)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["painpump", *args])
        code = 0
        try:
            main.run()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def new_audit_key(implant: Implant, settings: Settings) -> Callable[[], None]:
    """Configures a new audit key (the trail's kept as retired), so that a rotation has work to
    do; called once the refusals, which are audited under the old key, are done."""

    def configure() -> None:
        settings.PAINPUMP_AUDIT_RETIRED_KEYS = [settings.PAINPUMP_AUDIT_KEY]
        settings.PAINPUMP_AUDIT_KEY = secrets.token_urlsafe(48)

    return configure


def _done(command: str) -> int:
    return AuditEntry.objects.filter(action=ACTIONS[command]).count()


@pytest.mark.parametrize("command", ["rotate-key", "redate"])
def test_regression_an_admin_console_command_needs_the_admin_s_password_and_code(
    painpump: Any,
    admin: User,
    new_audit_key: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    """Before: `painpump redate ad.min` (and `audit rotate-key ad.min`) ran as ad.min at once."""
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    code, _, err = painpump(*COMMANDS[command], "ad.min")
    assert code == EXIT_REFUSED and "admin: ad.min is not signed in" in err
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    enrol(admin)
    monkeypatch.setenv(CODE_ENV, "000000" if code_for(admin) != "000000" else "111111")
    code, _, err = painpump(*COMMANDS[command], "ad.min")
    assert code == EXIT_REFUSED and "code: (not shown) is wrong" in err
    assert _done(command) == 0
    TOTPDevice.objects.get(user=admin).throttle_reset()  # as a second later
    monkeypatch.setenv(CODE_ENV, code_for(admin))
    new_audit_key()
    code, _, err = painpump(*COMMANDS[command], "ad.min", "--json")
    assert code == 0, err
    assert AuditEntry.objects.get(action=ACTIONS[command]).actor == "ad.min"


@pytest.mark.usefixtures("implant")
@pytest.mark.parametrize("command", ["rotate-key", "redate"])
def test_an_admin_console_command_is_refused_without_a_password(
    painpump: Any, admin: User, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """No password in the environment and none at the prompt (standard input closed)."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setattr("getpass.getpass", _no_input)
    code, _, err = painpump(*COMMANDS[command], "ad.min")
    assert code == EXIT_REFUSED and "was not given" in err
    assert _done(command) == 0


def _no_input(prompt: str = "") -> str:
    raise EOFError


@pytest.mark.parametrize("command", ["rotate-key", "redate"])
def test_an_admin_console_command_takes_the_password_from_a_file_only_its_owner_may_read(
    painpump: Any,
    admin: User,
    new_audit_key: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: str,
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o640)
    code, _, err = painpump(*COMMANDS[command], "ad.min", "--password-file", str(secret))
    assert code == EXIT_REFUSED and f"--password-file: {secret}" in err and "0640" in err
    assert _done(command) == 0
    secret.chmod(0o600)
    new_audit_key()
    code, _, err = painpump(*COMMANDS[command], "ad.min", "--password-file", str(secret))
    assert code == 0, err
    assert _done(command) == 1


@pytest.mark.usefixtures("implant")
@pytest.mark.parametrize("command", ["rotate-key", "redate"])
def test_a_signed_in_clinician_still_may_not_run_an_admin_console_command(
    painpump: Any, nurse: User, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, _, err = painpump(*COMMANDS[command], "nurse.joy")
    assert code == 1 and "may not change the clinic settings" in err
    assert _done(command) == 0
