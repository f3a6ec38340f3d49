"""Password guessing is throttled the same through the web sign-in and the API login: one
counter per username and address in the database, so failures on either count for both, and a
throttled sign-in says when to try again (Retry-After) and signs no one in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import PASSWORD
from painpump.plumbing import throttle

pytestmark = pytest.mark.django_db


def web_sign_in(client: Client, password: str) -> int:
    response = client.post("/sign-in/", {"username": "nurse.joy", "password": password})
    return int(response.status_code)


def api_login(client: Client, password: str) -> int:
    body = {"username": "nurse.joy", "password": password}
    return int(client.post("/api/auth/login", body, content_type="application/json").status_code)


def test_regression_a_throttled_web_sign_in_said_not_when_to_try_again(nurse: User) -> None:
    client = Client()
    for _ in range(throttle.MAX_FAILURES):
        assert web_sign_in(client, "guess") == 401
    response = client.post("/sign-in/", {"username": "nurse.joy", "password": PASSWORD})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= throttle.WINDOW.total_seconds()
    assert "_auth_user_id" not in client.session


Door = Callable[[Client, str], int]


@pytest.mark.parametrize(
    ("first", "then"), [(web_sign_in, api_login), (api_login, web_sign_in)], ids=["web", "api"]
)
def test_failures_through_one_door_count_for_the_other(
    nurse: User, first: Door, then: Door
) -> None:
    client = Client()
    for attempt in range(throttle.MAX_FAILURES):
        assert first(client, f"guess {attempt}") == 401
    assert then(client, PASSWORD) == 429
    assert "_auth_user_id" not in client.session
