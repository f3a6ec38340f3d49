"""The admin a command at the server console acts as (`painpump roles ... --by ADMIN`) proves
who they are as at the web's sign-in: their password, then the code of their authenticator (or
a recovery code) when they have one; one whom the clinic requires to have one and who has none
is refused until they set it up. A wrong code is audited (two_factor.failure, step "console") and
slows the device like any other."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import authenticate
from django.contrib.auth.models import User

from painpump.clinic import two_factor
from painpump.clinic.actions import two_factor as two_factor_actions
from painpump.core.errors import Refusal

RULES = "painpump console rules (docs/security.md, least privilege: the console)"


def signed_in(username: str, password: str, code: Callable[[], str]) -> User:
    """The active account `username` once `password` is its own and, when it has an
    authenticator, `code()` (asked for only then) is its current code or a recovery code."""
    user = authenticate(None, username=username, password=password)
    if not isinstance(user, User):
        raise Refusal(
            "by",
            username,
            "an active account and its password",
            RULES,
            "is not signed in: no active account of that name, or the wrong password",
        )
    if two_factor.enrolled(user):
        check = two_factor_actions.verify(user, code(), step="console")
        if not check.ok:
            waiting = f" (none taken for {check.wait} s)" if check.wait else ""
            raise Refusal(
                "code",
                "(not shown)",
                f"the current code of {username}'s authenticator, or one of their recovery codes",
                RULES,
                f"is wrong{waiting}",
            )
    elif two_factor.required_for(user):
        raise Refusal(
            "by",
            username,
            "an account with an authenticator (PAINPUMP_REQUIRE_2FA)",
            RULES,
            "has no authenticator yet: sign in to the web app once and set it up",
        )
    return user
