"""Regression: four clients looping on the login with random usernames slowed an authenticated
request from 4 ms to 1.16 s, every try hashing a password. Now each client address has a budget
of failures across usernames (web sign-in and API login together): past it, a try is refused
with 429 and Retry-After before any password is hashed, even the right one; other addresses
are not held up. Regression of the last outside attack: a flood from many addresses got that
budget per address; past the clinic's ceiling of failures, addresses nobody signed in from lately
share a trickle of tries a minute (a lockout of 15 minutes for every new computer, before). The
drill painpump.devtools.security.login_flood runs both against a server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from pytest_django import Settings

from clinic_fixtures import PASSWORD
from painpump import clock
from painpump import settings as painpump_settings
from painpump.devtools.security import login_flood
from painpump.plumbing import throttle
from painpump.plumbing.models import LoginFailure, SignInAddress

pytestmark = pytest.mark.django_db


def web(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/sign-in/", {"username": username, "password": password}, **extra)


def api(client: Client, username: str, password: str, **extra: Any) -> Any:
    body = {"username": username, "password": password}
    return client.post("/api/auth/login", body, content_type="application/json", **extra)


Door = Callable[..., Any]


@pytest.mark.parametrize(("first", "then"), [(web, api), (api, web)], ids=["web", "api"])
def test_regression_an_address_looping_over_usernames_is_refused_before_any_hashing(
    nurse: User, first: Door, then: Door
) -> None:
    client = Client()
    for n in range(throttle.ADDRESS_MAX_FAILURES):
        # A forged X-Forwarded-For does not make each try come from somewhere else.
        forged = {"HTTP_X_FORWARDED_FOR": f"198.51.100.{n}"}
        assert first(client, f"random-{n}", "guess", **forged).status_code == 401
    with mock.patch.object(
        ModelBackend, "authenticate", autospec=True, side_effect=ModelBackend.authenticate
    ) as hashing:
        refused = then(client, "random-new", "guess")
        right = then(client, "nurse.joy", PASSWORD)
    assert hashing.call_count == 0, "a refused try hashed a password"
    for response in (refused, right):
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= throttle.WINDOW.total_seconds()
    assert "_auth_user_id" not in client.session
    other = Client(REMOTE_ADDR="192.0.2.44")
    assert then(other, "nurse.joy", PASSWORD).status_code in {200, 302}


@pytest.mark.parametrize("door", [web, api], ids=["web", "api"])
def test_regression_a_flood_from_many_addresses_past_the_ceiling_gets_only_the_trickle(
    nurse: User, settings: Settings, door: Door
) -> None:
    """Regression: a flood from many addresses got 20 password hashes per address. Past the
    clinic's ceiling of failures (all addresses together), addresses nobody signed in from
    lately share the trickle; past it they are refused before any hash; the nurse's own
    workstation still signs in."""
    settings.PAINPUMP_LOGIN_CEILING, settings.PAINPUMP_LOGIN_TRICKLE = 6, 2
    ward = Client(REMOTE_ADDR="192.0.2.10")
    assert door(ward, "nurse.joy", PASSWORD).status_code in {200, 302}
    flood(settings.PAINPUMP_LOGIN_CEILING + settings.PAINPUMP_LOGIN_TRICKLE, door)
    with mock.patch.object(
        ModelBackend, "authenticate", autospec=True, side_effect=ModelBackend.authenticate
    ) as hashing:
        newcomer = Client(REMOTE_ADDR="203.0.113.200")
        refused = [door(newcomer, "random-new", "guess"), door(newcomer, "nurse.joy", PASSWORD)]
        assert hashing.call_count == 0, "a refused try hashed a password"
        again = door(Client(REMOTE_ADDR="192.0.2.10"), "nurse.joy", PASSWORD)
    assert again.status_code in {200, 302}
    for response in refused:
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= throttle.TRICKLE_PERIOD.total_seconds()
        assert "too many failed logins at this clinic" in response.content.decode().lower()


def flood(tries: int, door: Door = api) -> None:
    """`tries` failed logins, each from a new address (all answered 401)."""
    for n in range(tries):
        flooder = Client(REMOTE_ADDR=f"203.0.113.{n}")
        assert door(flooder, f"random-{n}", "guess").status_code == 401


def test_regression_a_flood_from_five_addresses_locks_a_new_computer_out_for_seconds_not_minutes(
    nurse: User, settings: Settings, frozen_clock: time_machine.Traveller
) -> None:
    """Regression: 5 addresses with 21 failed logins each (35 s) passed the ceiling of 100, and
    every clinician at a new computer (the whole clinic after a fresh install) was refused for
    15 minutes (Retry-After 866). Now a new address waits for the trickle, a minute at most."""
    for address in range(5):
        client = Client(REMOTE_ADDR=f"198.51.100.{address}")
        for n in range(throttle.ADDRESS_MAX_FAILURES + 1):
            api(client, f"random-{n}", "guess")
    assert LoginFailure.objects.count() == settings.PAINPUMP_LOGIN_CEILING
    newcomer = Client(REMOTE_ADDR="203.0.113.200")
    for n in range(settings.PAINPUMP_LOGIN_TRICKLE):
        assert api(Client(REMOTE_ADDR=f"203.0.113.{n}"), "nurse.joy", "mistyped").status_code == 401
    refused = api(newcomer, "nurse.joy", PASSWORD)
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 0 < wait <= throttle.TRICKLE_PERIOD.total_seconds()
    frozen_clock.shift(timedelta(seconds=wait))
    assert api(newcomer, "nurse.joy", PASSWORD).status_code == 200


def test_past_the_ceiling_a_window_hashes_at_most_the_ceiling_and_the_trickle(
    nurse: User, settings: Settings, frozen_clock: time_machine.Traveller
) -> None:
    """The CPU bound: however many new addresses keep trying through a whole window, the clinic
    hashes at most the ceiling plus PAINPUMP_LOGIN_TRICKLE a minute."""
    settings.PAINPUMP_LOGIN_CEILING, settings.PAINPUMP_LOGIN_TRICKLE = 6, 2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    flood(settings.PAINPUMP_LOGIN_CEILING)
    minutes = int(throttle.WINDOW / throttle.TRICKLE_PERIOD)
    tries = 0
    with mock.patch.object(
        ModelBackend, "authenticate", autospec=True, side_effect=ModelBackend.authenticate
    ) as hashing:
        for step in range(minutes * 6):
            for n in range(4):
                tries += 1
                api(Client(REMOTE_ADDR=f"198.18.{step}.{n + 1}"), f"random-{n}", "guess")
            frozen_clock.shift(timedelta(seconds=10))
    assert tries > 3 * hashing.call_count
    assert hashing.call_count <= settings.PAINPUMP_LOGIN_TRICKLE * minutes


def test_an_address_is_known_for_the_days_set_after_a_sign_in_from_it(
    nurse: User, settings: Settings
) -> None:
    settings.PAINPUMP_LOGIN_CEILING, settings.PAINPUMP_LOGIN_TRICKLE = 1, 1
    assert api(Client(REMOTE_ADDR="192.0.2.10"), "nurse.joy", PASSWORD).status_code == 200
    assert api(Client(REMOTE_ADDR="203.0.113.1"), "nobody", "guess").status_code == 401
    assert throttle.ceiling_retry_after("203.0.113.2") is None  # the trickle's one check
    assert throttle.ceiling_retry_after("192.0.2.10") is None
    assert throttle.ceiling_retry_after("203.0.113.2") is not None
    days = timedelta(days=settings.PAINPUMP_LOGIN_KNOWN_DAYS)
    SignInAddress.objects.update(at=clock.now() - days - timedelta(seconds=1))
    assert throttle.ceiling_retry_after("192.0.2.10") is not None
    LoginFailure.objects.update(at=clock.now() - throttle.WINDOW - timedelta(seconds=1))
    assert throttle.ceiling_retry_after("203.0.113.2") is None


@pytest.mark.parametrize(
    "name", ["PAINPUMP_LOGIN_CEILING", "PAINPUMP_LOGIN_KNOWN_DAYS", "PAINPUMP_LOGIN_TRICKLE"]
)
@pytest.mark.parametrize("value", ["0", "-5", "many", ""])
def test_the_ceiling_s_settings_refuse_to_start_unless_whole_and_positive(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        painpump_settings._positive(name, 1, "things")


def test_the_drill_runs_small_and_finds_no_problem() -> None:
    report = login_flood.drill(full=False)
    assert report.problems == [], report.figures
    assert report.figures["logins"]["429"] > 0
    assert report.figures["once_refused"]["requests"] > 0
    many = report.figures["many_addresses"]
    assert many["logins"]["401"] <= many["hashes_allowed"] + many["clients"]
    assert many["known_address_signs_in"] == 200
    assert many["new_address_signs_in"] == 200 or 0 < many["new_address_told_to_wait_s"] <= 60
