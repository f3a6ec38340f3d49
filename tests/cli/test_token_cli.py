"""`painpump token create USER` at the server console: USER proves who they are as at the web's
sign-in (password, then their authenticator's code), through the prompt, --password-file or
PAINPUMP_ADMIN_PASSWORD / PAINPUMP_ADMIN_CODE; refusals exit 2 and create nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django import Settings

from authenticator import code_for, enrol
from clinic_fixtures import PASSWORD
from painpump.api.models import ApiToken
from painpump.cli import main
from painpump.cli.console_proof import CODE_ENV, PASSWORD_ENV
from painpump.clinic.models import AuditEntry

pytestmark = pytest.mark.django_db
EXIT_REFUSED = 2
_REGISTERED: list[bool] = []


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`painpump token ...` run in-process as the console script runs it: (exit, out, err)."""
    if not _REGISTERED:
        main._register()
        _REGISTERED.append(True)
    monkeypatch.setattr(main, "_register", lambda: None)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["painpump", "token", *args])
        code = 0
        try:
            main.run()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_regression_a_token_for_an_admin_needs_the_admin_s_password_and_code(
    token: Any, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: `painpump token create ADMIN` made a token for any account with no proof;
    an attacker at the console made admins' tokens and granted a role through the API."""
    monkeypatch.setenv(PASSWORD_ENV, "not the password")
    code, _, err = token("create", "ad.min")
    assert code == EXIT_REFUSED and "user: ad.min is not signed in" in err
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    enrol(admin)
    monkeypatch.setenv(CODE_ENV, "000000" if code_for(admin) != "000000" else "111111")
    code, _, err = token("create", "ad.min")
    assert code == EXIT_REFUSED and "code: (not shown) is wrong" in err
    assert not ApiToken.objects.exists()
    assert not AuditEntry.objects.filter(action="token.create").exists()
    TOTPDevice.objects.get(user=admin).throttle_reset()  # as a second later
    monkeypatch.setenv(CODE_ENV, code_for(admin))
    code, out, _ = token("create", "ad.min", "--json")
    assert code == 0 and json.loads(out)["token"].startswith("pp_")
    assert AuditEntry.objects.get(action="token.create").actor == "ad.min"


def test_a_token_is_refused_for_an_account_the_clinic_requires_an_authenticator_of_without_one(
    token: Any, admin: User, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    code, _, err = token("create", "ad.min")
    assert code == EXIT_REFUSED and "has no authenticator yet" in err
    assert not ApiToken.objects.exists()


def test_a_token_s_password_comes_from_a_file_only_its_owner_may_read(
    token: Any, nurse: User, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    code, _, err = token("create", "nurse.joy", "--password-file", str(secret))
    assert code == EXIT_REFUSED and f"--password-file: {secret}" in err and "0644" in err
    assert not ApiToken.objects.exists()
    secret.chmod(0o600)
    assert token("create", "nurse.joy", "--password-file", str(secret))[0] == 0
    assert ApiToken.objects.count() == 1
