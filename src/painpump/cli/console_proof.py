"""How the account a console command acts for proves who they are (painpump.clinic
.console_sign_in): its password typed at a prompt, read from a file only its owner may read
(--password-file) or from PASSWORD_ENV, then its authenticator's code at a prompt or from
CODE_ENV; never on the command line."""

from __future__ import annotations

import getpass
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from painpump.core.errors import Refusal

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RULES = "painpump console rules (docs/security.md, least privilege: the console)"
PASSWORD_ENV = "PAINPUMP_ADMIN_PASSWORD"
CODE_ENV = "PAINPUMP_ADMIN_CODE"
PASSWORD_FILE_HELP = (
    f"For scripts: a file (mode 0600) whose first line is the password; or set {PASSWORD_ENV} "
    f"(and {CODE_ENV} for the code). Otherwise both are asked for."
)


def _typed(prompt: str, variable: str, field: str) -> str:
    if variable in os.environ:
        return os.environ[variable]
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise Refusal(
            field, "(none)", f"typed at the prompt, or {variable}", RULES, "was not given"
        ) from None


def _password(username: str, password_file: Path | None) -> str:
    if password_file is None:
        return _typed(f"Password of {username}: ", PASSWORD_ENV, "--password-file")
    try:
        mode = stat.S_IMODE(password_file.stat().st_mode)
        if mode & 0o077:
            raise Refusal(
                "--password-file",
                str(password_file),
                "a file only its owner may read or write (mode 0600)",
                RULES,
                f"has mode {mode:04o}: group or others may read it (chmod 600 it)",
            )
        return password_file.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, UnicodeError, IndexError) as unread:
        raise Refusal(
            "--password-file",
            str(password_file),
            "a readable file whose first line is the password",
            RULES,
            f"cannot be read ({type(unread).__name__})",
        ) from None


def signed_in(username: str, password_file: Path | None, field: str) -> User:
    """The account `username`, once its password (and its authenticator's code) is given; a
    refusal of the account names `field`, the option or argument that named it."""
    from painpump.clinic import console_sign_in

    def code() -> str:
        prompt = f"Authenticator code of {username} (or a recovery code): "
        return _typed(prompt, CODE_ENV, "code")

    try:
        return console_sign_in.signed_in(username, _password(username, password_file), code)
    except Refusal as refused:
        raise replace(refused, field=field) if refused.field == "by" else refused from None
