"""Regression: four clients looping on the login with random usernames slowed an authenticated
request from 4 ms to 1.16 s, every try hashing a password. Now each client address has a budget
of failures across usernames (web sign-in and API login together): past it, a try is refused
with 429 and Retry-After before any password is hashed, even the right one; other addresses
are not held up. The drill painpump.devtools.security.login_flood runs it against a server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import PASSWORD
from painpump.devtools.security import login_flood
from painpump.plumbing import throttle

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


def test_the_drill_runs_small_and_finds_no_problem() -> None:
    report = login_flood.drill(full=False)
    assert report.problems == [], report.figures
    assert report.figures["logins"]["429"] > 0
    assert report.figures["once_refused"]["requests"] > 0
