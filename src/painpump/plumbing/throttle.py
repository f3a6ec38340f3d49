"""Throttling of password guessing, shared by the API's login and the web's sign-in, both steps
(the password and the code): failed logins are counted in the database, so every worker process
sees the same count, over a window, twice:

- per client address across usernames (ADDRESS_MAX_FAILURES): a client looping over usernames
  is refused once it has spent this budget, before any password is hashed (AddressBudgetMiddleware,
  before the view's transaction), so that it cannot keep the workers hashing (each hash is
  deliberately slow, about 0.2 s of a core) and starve everyone else;
- per username and address (MAX_FAILURES): guessing one user's password or code;
- across all addresses (PAINPUMP_LOGIN_CEILING): past that many failures in the window, password
  steps from addresses nobody signed in from within PAINPUMP_LOGIN_KNOWN_DAYS share a trickle of
  PAINPUMP_LOGIN_TRICKLE checks a minute (the others are refused before any hash, told when a
  check is free, within a minute), so that a flood from many addresses (a botnet) gets the
  ceiling and the trickle in all, not a budget per address, while the clinic's own workstations
  sign in as usual and a clinician at a new computer waits seconds, not the window: to starve
  the trickle a flood must hold about TRICKLE * 15 / 20 addresses (each capped at 20).

The address is the client's (painpump.plumbing.client_address: the connection's unless a trusted
proxy names another); an IPv6 client counts by its /64 network, as one host may hold a whole /64.
A success clears that username's failures from that address only, and makes the address known."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string

from painpump import clock
from painpump.plumbing.client_address import client_address
from painpump.plumbing.models import LoginFailure, SignInAddress, TrickleCheck
from painpump.plumbing.status import TOO_MANY_REQUESTS

MAX_FAILURES = 5
ADDRESS_MAX_FAILURES = 20
"""Failures from one address, whatever the usernames: more than a ward sharing one address
makes by mistyping, and 20 hashes (about 4 s of a core) per window is all a flood gets."""
WINDOW = timedelta(minutes=15)
TRICKLE_PERIOD = timedelta(minutes=1)
"""PAINPUMP_LOGIN_TRICKLE counts password checks within this period."""


def client_ip(request: HttpRequest) -> str:
    """The key the throttle counts the request's client by: its address, or its /64 network."""
    address = client_address(request)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def _wait(failures: QuerySet[LoginFailure], budget: int, now: datetime) -> int | None:
    """Seconds until the oldest of the last `budget` failures leaves the window, or None when
    fewer than `budget` are in it (one indexed row read)."""
    recent = failures.filter(at__gt=now - WINDOW).order_by("-at")
    oldest = list(recent.values_list("at", flat=True)[budget - 1 : budget])
    if not oldest:
        return None
    return max(1, math.ceil((oldest[0] + WINDOW - now).total_seconds()))


def address_retry_after(ip: str) -> int | None:
    """Seconds until the address's budget allows a login again, or None."""
    return _wait(LoginFailure.objects.filter(ip=ip), ADDRESS_MAX_FAILURES, clock.now())


def ceiling_retry_after(ip: str) -> int | None:
    """None when a password check may go on from the address: the clinic is under
    PAINPUMP_LOGIN_CEILING, the address is known (PAINPUMP_LOGIN_KNOWN_DAYS), or it took a check of
    the trickle; otherwise seconds until the trickle has one free."""
    now = clock.now()
    if _wait(LoginFailure.objects.all(), settings.PAINPUMP_LOGIN_CEILING, now) is None or known(ip):
        return None
    return _trickle_wait(now)


def _trickle_wait(now: datetime) -> int | None:
    """Take a check of the trickle (None), or the seconds until one is free. A refusal only reads
    (a flood past the trickle writes nothing); a check is written first and then counted with
    those written before it, so workers racing for the last check cannot both have it."""
    budget, since = settings.PAINPUMP_LOGIN_TRICKLE, now - TRICKLE_PERIOD
    recent = TrickleCheck.objects.filter(at__gt=since).order_by("-id")
    taken = list(recent.values_list("at", flat=True)[:budget])
    if len(taken) < budget:  # one seems free: take it, unless a racing worker was first
        TrickleCheck.objects.filter(at__lte=since).delete()
        mine = TrickleCheck.objects.create(at=now)
        taken = list(recent.filter(id__lt=mine.id).values_list("at", flat=True)[:budget])
        if len(taken) < budget:
            return None
        mine.delete()
    return max(1, math.ceil((min(taken) + TRICKLE_PERIOD - now).total_seconds()))


def known(ip: str) -> bool:
    """Somebody signed in from the address within PAINPUMP_LOGIN_KNOWN_DAYS."""
    since = clock.now() - timedelta(days=settings.PAINPUMP_LOGIN_KNOWN_DAYS)
    return bool(SignInAddress.objects.filter(ip=ip, at__gt=since).exists())


def retry_after(username: str, ip: str) -> int | None:
    """Seconds until a login may be tried again, or None when it may be tried now: the
    address's budget first, then the username's from that address."""
    now = clock.now()
    from_address = LoginFailure.objects.filter(ip=ip)
    return _wait(from_address, ADDRESS_MAX_FAILURES, now) or _wait(
        from_address.filter(username=username), MAX_FAILURES, now
    )


def record_failure(username: str, ip: str) -> None:
    now = clock.now()
    LoginFailure.objects.filter(at__lt=now - WINDOW).delete()
    LoginFailure.objects.create(username=username[:150], ip=ip, at=now)


def succeeded(username: str, ip: str) -> None:
    """A sign-in completed: the username's failures from the address go, the address is known."""
    now = clock.now()
    LoginFailure.objects.filter(username=username, ip=ip).delete()
    SignInAddress.objects.update_or_create(ip=ip, defaults={"at": now})
    forgotten = now - timedelta(days=settings.PAINPUMP_LOGIN_KNOWN_DAYS)
    SignInAddress.objects.filter(at__lt=forgotten).delete()


SIGN_IN = "sign-in"
"""The URL name of the password step, the web's and the API's alike."""
TOO_MANY = "too many failed logins from your address"
TOO_MANY_IN_ALL = (
    "too many failed logins at this clinic: until they are fewer, addresses nobody signed in "
    "from lately share a few tries a minute"
)


class AddressBudgetMiddleware:
    """Refuses a password step from an address past its budget, or from an address not known
    while the clinic is past its ceiling and the trickle is spent (the only place a check of the
    trickle is taken), before its view runs: no form is read, no password
    hashed, and no transaction begun (on SQLite each request's transaction holds the write lock,
    so a flood answered inside one would still queue every other request). The API gets its JSON
    error, the web a page saying when to try again; both 429 with Retry-After. The views check
    again, with the username's own budget."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: object, args: object, kwargs: object
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.url_name != SIGN_IN:
            return None
        ip = client_ip(request)
        wait, reason = address_retry_after(ip), TOO_MANY
        if wait is None:
            wait, reason = ceiling_retry_after(ip), TOO_MANY_IN_ALL
        if wait is None:
            return None
        response: HttpResponse
        if request.path_info.startswith("/api/"):
            message = f"{reason}: try again in {wait} s"
            response = JsonResponse({"error": {"message": message}}, status=TOO_MANY_REQUESTS)
        else:
            shown = {"wait": wait, "reason": reason[0].upper() + reason[1:]}
            page = render_to_string("web/sign_in_refused.html", shown, request=request)
            response = HttpResponse(page, status=TOO_MANY_REQUESTS)
        response["Retry-After"] = str(wait)
        return response
