"""Signing in, the same through the web's sign-in pages and the API's login: the password, then,
for a user who must give a second factor (painpump.clinic.two_factor), a code on the same
session. Until the last step nobody is signed in: the session holds only who passed the password,
for PENDING_SECONDS and while that user's password stays the same, so every page and API call
still treats it as a stranger. Both steps are throttled (painpump.plumbing.throttle), and the
address's budget (and the clinic's ceiling and trickle, by throttle.AddressBudgetMiddleware) is
asked before the password is hashed; a completed sign-in makes its address known."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import django_otp
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from painpump.clinic import two_factor
from painpump.clinic.actions import two_factor as two_factor_actions
from painpump.clinic.actions.two_factor import Check
from painpump.plumbing import throttle

PENDING = "painpump_pending_sign_in"
PENDING_SECONDS = 300
"""Time from the password to the code (or to the end of setting up an authenticator)."""


class Step(StrEnum):
    SIGNED_IN = "signed_in"
    CODE = "code"
    """The password was right: a code from the authenticator (or a recovery code) comes next."""
    ENROL = "enrol"
    """The password was right: the clinic requires an authenticator, to be set up first."""
    REFUSED = "refused"
    """A wrong username, password or code."""
    THROTTLED = "throttled"
    EXPIRED = "expired"
    """No password step waits for a code on this session (none, or too long ago)."""


@dataclass(frozen=True)
class Outcome:
    step: Step
    wait: int | None = None
    """Seconds until the next try, when throttled."""
    recovery_codes_left: int | None = None
    """After signing in with a recovery code."""


def password_step(request: HttpRequest, username: str, password: str) -> Outcome:
    ip = throttle.client_ip(request)
    wait = throttle.retry_after(username, ip)
    if wait is not None:
        return Outcome(Step.THROTTLED, wait)
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        throttle.record_failure(username, ip)
        return Outcome(Step.REFUSED)
    if two_factor.enrolled(user):
        _hold(request, user)
        return Outcome(Step.CODE)
    if two_factor.required_for(user):
        _hold(request, user)
        return Outcome(Step.ENROL)
    throttle.succeeded(username, ip)
    login(request, user)
    return Outcome(Step.SIGNED_IN)


def _hold(request: HttpRequest, user: User) -> None:
    """Remember who passed the password, on a new session key (nobody signed in)."""
    logout(request)
    held = {"user": user.pk, "at": int(time.time()), "hash": user.get_session_auth_hash()}
    request.session[PENDING] = held


def pending_user(request: HttpRequest) -> User | None:
    """The user whose password this session passed, if that is recent and still holds."""
    held: Any = request.session.get(PENDING)
    if not isinstance(held, dict) or time.time() - int(held.get("at", 0)) > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=int(held.get("user", 0)), is_active=True).first()
    if user is None or not constant_time_compare(
        user.get_session_auth_hash(), str(held.get("hash", ""))
    ):
        return None
    return user


def code_step(request: HttpRequest, code: str) -> Outcome:
    user = pending_user(request)
    if user is None:
        return Outcome(Step.EXPIRED)
    ip, name = throttle.client_ip(request), user.get_username()
    wait = throttle.retry_after(name, ip)
    if wait is not None:
        return Outcome(Step.THROTTLED, wait)
    check = two_factor_actions.verify(user, code)
    if not check.ok:
        throttle.record_failure(name, ip)
        return Outcome(Step.THROTTLED if check.wait else Step.REFUSED, check.wait)
    throttle.succeeded(name, ip)
    finish(request, user, check.device)
    return Outcome(Step.SIGNED_IN, recovery_codes_left=check.recovery_codes_left)


def enrol_step(request: HttpRequest, user: User, code: str) -> tuple[Outcome, Check]:
    """Setting up an authenticator, for a signed-in user or one sent to it after the password:
    throttled like a code; the first right code signs the user in, verified."""
    ip, name = throttle.client_ip(request), user.get_username()
    wait = throttle.retry_after(name, ip)
    if wait is not None:
        return Outcome(Step.THROTTLED, wait), Check()
    check = two_factor_actions.confirm_enrolment(user, code)
    if not check.ok:
        throttle.record_failure(name, ip)
        return Outcome(Step.THROTTLED if check.wait else Step.REFUSED, check.wait), check
    throttle.succeeded(name, ip)
    finish(request, user, check.device)
    return Outcome(Step.SIGNED_IN), check


def finish(request: HttpRequest, user: User, device: Any) -> None:
    """Sign `user` in, verified by `device` (a new session key; the waiting step is over)."""
    request.session.pop(PENDING, None)
    login(request, user)
    django_otp.login(request, device)
