"""The second factor holds for every signed-in session, web and API alike: a session whose user
must give a code (they have an authenticator, or PAINPUMP_REQUIRE_2FA requires one for their
roles) but whose sign-in verified none is signed out before the request is served. Such a
session exists only when something changed after its sign-in (the setting turned on, a
clinical role granted, the authenticator reset by an admin); signing in again goes through the
code, or through setting one up."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseBase

from painpump.clinic.two_factor import needs_second_factor


def verified(request: HttpRequest) -> bool:
    """The session's sign-in was verified by a device that still exists (OTPMiddleware)."""
    return getattr(request.user, "otp_device", None) is not None


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware, which tells whether the session's device still holds."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if isinstance(user, User) and not verified(request) and needs_second_factor(user):
            logout(request)
        return self.get_response(request)
