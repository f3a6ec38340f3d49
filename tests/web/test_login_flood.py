"""Regression: four clients looping on the login with random usernames slowed an authenticated
request from 4 ms to 1.16 s, every try hashing a password. Now each client address has a budget
of failures across usernames (web sign-in and API login together): past it, a try is refused
with 429 and Retry-After before any password is hashed, even the right one; other addresses
are not held up. Regression of the last outside attack: a flood from many addresses got that
budget per address; past the clinic's ceiling of failures, only addresses someone signed in from
lately may try. The drill painpump.devtools.security.login_flood runs both against a server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
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
def test_regression_a_flood_from_many_addresses_stops_at_the_clinic_s_ceiling_before_hashing(
    nurse: User, settings: Settings, door: Door
) -> None:
    """Regression: a flood from many addresses got 20 password hashes per address. Past the
    clinic's ceiling of failures (all addresses together), an address nobody signed in from
    lately is refused before any hash; the nurse's own workstation still signs in."""
    settings.PAINPUMP_LOGIN_CEILING = 6
    ward = Client(REMOTE_ADDR="192.0.2.10")
    assert door(ward, "nurse.joy", PASSWORD).status_code in {200, 302}
    for n in range(settings.PAINPUMP_LOGIN_CEILING):
        flooder = Client(REMOTE_ADDR=f"203.0.113.{n}")
        assert door(flooder, f"random-{n}", "guess").status_code == 401
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
        assert 0 < int(response["Retry-After"]) <= throttle.WINDOW.total_seconds()
        assert "too many failed logins at this clinic" in response.content.decode().lower()


def test_an_address_is_known_for_the_days_set_after_a_sign_in_from_it(
    nurse: User, settings: Settings
) -> None:
    settings.PAINPUMP_LOGIN_CEILING = 1
    assert api(Client(REMOTE_ADDR="192.0.2.10"), "nurse.joy", PASSWORD).status_code == 200
    assert api(Client(REMOTE_ADDR="203.0.113.1"), "nobody", "guess").status_code == 401
    assert throttle.ceiling_retry_after("192.0.2.10") is None
    assert throttle.ceiling_retry_after("203.0.113.2") is not None
    days = timedelta(days=settings.PAINPUMP_LOGIN_KNOWN_DAYS)
    SignInAddress.objects.update(at=clock.now() - days - timedelta(seconds=1))
    assert throttle.ceiling_retry_after("192.0.2.10") is not None
    LoginFailure.objects.update(at=clock.now() - throttle.WINDOW - timedelta(seconds=1))
    assert throttle.ceiling_retry_after("203.0.113.2") is None


@pytest.mark.parametrize("name", ["PAINPUMP_LOGIN_CEILING", "PAINPUMP_LOGIN_KNOWN_DAYS"])
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
    assert many["logins"]["401"] <= many["ceiling"] + many["clients"]
    assert (many["known_address_signs_in"], many["new_address_signs_in"]) == (200, 429)
