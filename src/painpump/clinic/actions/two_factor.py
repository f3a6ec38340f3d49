"""Changes to a user's second factor, each a transaction with its audit entry: setting up an
authenticator (a TOTP app, confirmed with a first code, which also issues the recovery codes),
checking a code at sign-in (every failure and every recovery code used is audited), renewing
the recovery codes, and the admin's reset after a lost phone. Codes and secrets never reach the
audit trail. The devices are django-otp's, with its throttling: after each wrong code a device
takes no code for 1, 2, 4, ... seconds."""

from __future__ import annotations

import math
import re
from base64 import b32encode
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from painpump.clinic import audit
from painpump.clinic.actions.users import Account, _bumped, _locked
from painpump.clinic.roles import require
from painpump.clinic.two_factor import status
from painpump.core.errors import Refusal
from painpump.db import read_only

RULES = "painpump sign-in rules (docs/security.md, two-factor sign-in)"
RECOVERY_CODES = 10
AUTHENTICATOR_CODE = re.compile(r"\d{6}")
CODE_MAX = 32
"""Longer input is no code of either kind: it is refused without being looked at."""


@dataclass(frozen=True)
class Enrolment:
    """What the user's authenticator app needs: the secret (base32, in groups of four for
    typing) and the otpauth:// URI a QR code carries."""

    secret: str
    uri: str


@dataclass(frozen=True)
class Check:
    """The outcome of a code: the device that accepted it, or none (`wait`: the device takes no
    code for this many seconds after earlier failures); after a recovery code, how many are
    left; after a set-up or renewal, the new recovery codes (shown once, never stored readable
    elsewhere)."""

    device: Any = None
    wait: int | None = None
    recovery_codes_left: int | None = None
    recovery_codes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.device is not None


def normalised(code: str) -> str:
    """A code as typed, without spaces and hyphens, lower case ("ABCD-EFGH" is "abcdefgh")."""
    return re.sub(r"[\s-]", "", str(code)).lower()[: CODE_MAX + 1]


def shown(token: str) -> str:
    """A recovery code as shown to the user: two groups of four."""
    return f"{token[:4]}-{token[4:]}"


def _wait(device: Any) -> int | None:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    seconds: float = (details["locked_until"] - timezone.now()).total_seconds()
    return max(1, math.ceil(seconds))


def _failure(user: User, step: str, kind: str, reason: str) -> None:
    name = user.get_username()
    after = {"step": step, "code": kind, "reason": reason}
    audit.record(name, "two_factor.failure", "user", name, after=after)


def _checked(user: User, device: Any, token: str, step: str, kind: str) -> Check:
    """`token` checked against `device` (locked), the failure audited."""
    if device is None:
        _failure(user, step, kind, f"no {kind}s are set up")
        return Check()
    wait = _wait(device)
    if wait is not None:
        _failure(user, step, kind, f"too many wrong codes: none taken for {wait} s")
        return Check(wait=wait)
    if len(token) > CODE_MAX or not device.verify_token(token):
        _failure(user, step, kind, "wrong code")
        return Check()
    return Check(device)


def _new_recovery_codes(user: User) -> tuple[str, ...]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    tokens = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=token) for token in tokens)
    return tuple(shown(token) for token in tokens)


@transaction.atomic
def start_enrolment(user: User) -> Enrolment:
    """The authenticator to set up: the same one until it is confirmed, so that reloading the
    page does not undo a scan."""
    if status(user).enrolled:
        raise Refusal(
            "two_factor",
            user.get_username(),
            "one authenticator per user (an admin resets it after a lost phone)",
            RULES,
            "has an authenticator already",
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        read_only.require_writing()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    secret = b32encode(device.bin_key).decode("ascii")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return Enrolment(secret=grouped, uri=str(device.config_url))


@transaction.atomic
def confirm_enrolment(user: User, code: str) -> Check:
    """The authenticator set up when `code` is its current code; then the recovery codes."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("id")
        .first()
    )
    if device is None:
        raise Refusal(
            "code", "(not shown)", "a code for an authenticator being set up", RULES, "has none"
        )
    check = _checked(user, device, normalised(code), "set-up", "authenticator code")
    if not check.ok:
        return check
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _new_recovery_codes(user)
    name = user.get_username()
    after = {"authenticator": "TOTP app", "recovery_codes": RECOVERY_CODES}
    audit.record(name, "two_factor.enrol", "user", name, after=after)
    return Check(device, recovery_codes=codes)


@transaction.atomic
def verify(user: User, code: str, step: str = "sign-in") -> Check:
    """A sign-in's second step (`step`: "sign-in", or "console" for an admin named at the server
    console): six digits are checked against the authenticator, anything else against the
    recovery codes (each works once; its use is audited with how many are left)."""
    token = normalised(code)
    if AUTHENTICATOR_CODE.fullmatch(token):
        totp = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        return _checked(user, totp, token, step, "authenticator code")
    static = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    check = _checked(user, static, token, step, "recovery code")
    if not check.ok:
        return check
    left = int(StaticToken.objects.filter(device=static).count())
    name = user.get_username()
    audit.record(
        name, "two_factor.recovery_code", "user", name, after={"recovery_codes_left": left}
    )
    return Check(static, recovery_codes_left=left)


@transaction.atomic
def renew_recovery_codes(user: User, code: str) -> Check:
    """New recovery codes (the old ones stop working), given a current authenticator code."""
    totp = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    check = _checked(user, totp, normalised(code), "renewal", "authenticator code")
    if not check.ok:
        return check
    codes = _new_recovery_codes(user)
    name = user.get_username()
    after = {"recovery_codes": RECOVERY_CODES}
    audit.record(name, "two_factor.recovery_codes_renewed", "user", name, after=after)
    return Check(totp, recovery_codes=codes)


@transaction.atomic
def reset(user: User, user_id: int, *, expected_version: int) -> Account:
    """The admin removes another user's authenticator and recovery codes (a lost phone): the
    user sets up a new one at their next sign-in when the clinic requires it."""
    actor = require(user, "users.manage")
    target, version = _locked(user_id, expected_version)
    if target.id == user.id:
        raise Refusal(
            "two_factor",
            target.get_username(),
            "another user's second factor",
            RULES,
            "is your own (renew your recovery codes on your two-factor page; another admin "
            "can reset it)",
        )
    before = status(target)
    if not before.has_devices:
        raise Refusal(
            "two_factor",
            target.get_username(),
            "a user with an authenticator or recovery codes",
            RULES,
            "has no second factor to reset",
        )
    TOTPDevice.objects.filter(user=target).delete()
    StaticDevice.objects.filter(user=target).delete()
    account = _bumped(target, version)
    audit.record(
        actor,
        "two_factor.reset",
        "user",
        target.get_username(),
        before={"enrolled": before.enrolled, "recovery_codes_left": before.recovery_codes_left},
        after={"enrolled": False, "version": account.version},
    )
    return account
