"""Throttling of password guessing, shared by the API's login and the web's sign-in: failed logins
are counted in the database per username and client address over a window, so every worker
process sees the same count. The address is the connection's (REMOTE_ADDR); X-Forwarded-For is
not trusted, as any client can send it."""

from __future__ import annotations

import math
from datetime import timedelta

from django.http import HttpRequest

from painpump import clock
from painpump.plumbing.models import LoginFailure

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "0.0.0.0")


def retry_after(username: str, ip: str) -> int | None:
    """Seconds until a login may be tried again, or None when it may be tried now."""
    now = clock.now()
    recent = LoginFailure.objects.filter(username=username, ip=ip, at__gt=now - WINDOW)
    times = list(recent.order_by("-at").values_list("at", flat=True)[:MAX_FAILURES])
    if len(times) < MAX_FAILURES:
        return None
    # Allowed again when the oldest of the last MAX_FAILURES failures leaves the window.
    return max(1, math.ceil((times[-1] + WINDOW - now).total_seconds()))


def record_failure(username: str, ip: str) -> None:
    now = clock.now()
    LoginFailure.objects.filter(at__lt=now - WINDOW).delete()
    LoginFailure.objects.create(username=username[:150], ip=ip, at=now)


def clear(username: str, ip: str) -> None:
    LoginFailure.objects.filter(username=username, ip=ip).delete()
