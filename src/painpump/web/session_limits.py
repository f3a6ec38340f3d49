"""Signed-in sessions end on their own, for the web app and the API alike: after
SESSION_IDLE_SECONDS without a request (a clinic tablet left signed in locks) and at the latest
SESSION_MAX_SECONDS after signing in, however busy. The time of the last request is written to
the session at most once a minute, so that reading a page does not write the session each time."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponseBase

SEEN = "painpump_seen"
SIGNED_IN = "painpump_signed_in"
TOUCH_EVERY = 60


def expired(seen: int, signed_in: int, now: int) -> bool:
    """True when the session has been idle too long or has reached its absolute limit."""
    return (
        now - seen > settings.SESSION_IDLE_SECONDS or now - signed_in > settings.SESSION_MAX_SECONDS
    )


class SessionLimitsMiddleware:
    """Signs out (and flushes) an expired session before the request is served, so the page
    sends the user to sign in and the API answers 401; stamps the sign-in time on login."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = request.session
        now = int(time.time())
        signed_in = SESSION_KEY in session
        if signed_in:
            seen = int(session.get(SEEN, now))
            if expired(seen, int(session.get(SIGNED_IN, now)), now):
                logout(request)
                signed_in = False
            else:
                session.setdefault(SIGNED_IN, now)
                if SEEN not in session or now - seen >= TOUCH_EVERY:
                    session[SEEN] = now
        response = self.get_response(request)
        if not signed_in and SESSION_KEY in request.session:  # this request signed in
            request.session[SIGNED_IN] = request.session[SEEN] = now
        return response
