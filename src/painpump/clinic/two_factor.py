"""Who signs in with a second factor, and who has one. A user with a confirmed authenticator (a
TOTP app: django-otp's TOTPDevice) always gives its code after the password; with
PAINPUMP_REQUIRE_2FA (on unless a demo or the tests turn it off) every physician, nurse,
pharmacist and admin must have one, and is sent to set it up before anything else. Recovery
codes (django-otp's StaticDevice: single-use codes) stand in for a lost authenticator. The
changes (set-up, codes, reset) are clinic.actions.two_factor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from painpump.clinic.roles import Role, roles_of

REQUIRED_ROLES = frozenset({Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.ADMIN})
"""The roles that change therapy, the drug library or who may do what (an auditor only reads)."""


def required_for(user: User | AnonymousUser) -> bool:
    return bool(settings.PAINPUMP_REQUIRE_2FA) and bool(roles_of(user) & REQUIRED_ROLES)


def authenticator(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, if any."""
    found: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return found


def enrolled(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def needs_second_factor(user: User) -> bool:
    """The user's sign-in is complete only with a code: they have an authenticator, or the
    clinic requires one for their roles."""
    return required_for(user) or enrolled(user)


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


@dataclass(frozen=True)
class Status:
    """A user's second factor as they and the admin see it (never a secret or a code)."""

    enrolled: bool
    required: bool
    since: datetime | None
    last_used: datetime | None
    recovery_codes_left: int
    has_devices: bool
    """An authenticator or recovery codes (one only being set up does not count)."""


def status_of(user_id: int) -> Status:
    """A user's status by id, for the admin's page of that user (read after its access check)."""
    return status(User.objects.get(id=user_id))


def status(user: User) -> Status:
    device = authenticator(user)
    return Status(
        enrolled=device is not None,
        required=required_for(user),
        since=device.created_at if device is not None else None,
        last_used=device.last_used_at if device is not None else None,
        recovery_codes_left=recovery_codes_left(user),
        has_devices=device is not None or StaticDevice.objects.filter(user=user).exists(),
    )
