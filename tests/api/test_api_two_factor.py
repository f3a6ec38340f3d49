"""Two-factor login through the API: a user with an authenticator gets 202 "code" for the right
password and is signed in only by the code sent to /api/auth/code; a wrong code is 401, counted
by the throttle and audited; a recovery code works once and says how many are left; a user the
clinic requires to have an authenticator and who has none gets 202 "enrol" and no session."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from authenticator import code_for, enrol
from painpump.clinic.models import AuditEntry
from painpump.clinic.roles import Role
from painpump.plumbing import throttle
from painpump.plumbing.models import LoginFailure

JSON = "application/json"
PASSWORD = "correct horse battery"  # the users fixture's password (conftest.py)


def session() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    return client, client.get("/api/auth/csrf").json()["csrf_token"]


def post(client: Client, token: str, path: str, body: dict[str, str]) -> Any:
    return client.post(path, body, content_type=JSON, HTTP_X_CSRFTOKEN=token)


def login(client: Client, token: str, username: str = "nurse.joy") -> Any:
    return post(client, token, "/api/auth/login", {"username": username, "password": PASSWORD})


def test_the_password_then_the_code_signs_in(users: dict[Role, User]) -> None:
    enrol(users[Role.NURSE])
    client, token = session()
    first = login(client, token)
    assert first.status_code == 202
    assert first.json()["step"] == "code" and "/api/auth/code" in first.json()["message"]
    assert client.get("/api/auth/me").status_code == 401
    signed = post(client, token, "/api/auth/code", {"code": code_for(users[Role.NURSE])})
    assert signed.status_code == 200, signed.content
    assert signed.json() == {
        "username": "nurse.joy",
        "roles": ["nurse"],
        "recovery_codes_left": None,
    }
    assert client.get("/api/auth/me").json()["username"] == "nurse.joy"


def test_a_wrong_code_is_a_401_counted_and_audited(users: dict[Role, User]) -> None:
    enrol(users[Role.NURSE])
    client, token = session()
    login(client, token)
    wrong = "123456" if code_for(users[Role.NURSE]) != "123456" else "654321"
    refused = post(client, token, "/api/auth/code", {"code": wrong})
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "wrong code"
    assert LoginFailure.objects.filter(username="nurse.joy").count() == 1
    assert AuditEntry.objects.filter(action="two_factor.failure", actor="nurse.joy").exists()
    assert client.get("/api/auth/me").status_code == 401


def test_wrong_codes_are_throttled_like_wrong_passwords(
    users: dict[Role, User], frozen_clock: time_machine.Traveller
) -> None:
    enrol(users[Role.NURSE])
    client, token = session()
    login(client, token)
    for _ in range(throttle.MAX_FAILURES):
        frozen_clock.shift(timedelta(seconds=20))  # past the device's own wait (1, 2, 4... s)
        post(client, token, "/api/auth/code", {"code": "not-a-code"})
    frozen_clock.shift(timedelta(seconds=20))
    throttled = post(client, token, "/api/auth/code", {"code": code_for(users[Role.NURSE])})
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert client.get("/api/auth/me").status_code == 401


def test_a_recovery_code_signs_in_once(users: dict[Role, User]) -> None:
    codes = enrol(users[Role.NURSE])
    client, token = session()
    login(client, token)
    signed = post(client, token, "/api/auth/code", {"code": codes[0]})
    assert signed.status_code == 200 and signed.json()["recovery_codes_left"] == 9
    again, again_token = session()
    login(again, again_token)
    assert post(again, again_token, "/api/auth/code", {"code": codes[0]}).status_code == 401


def test_a_code_without_a_waiting_login_is_a_401(users: dict[Role, User]) -> None:
    client, token = session()
    response = post(client, token, "/api/auth/code", {"code": "123456"})
    assert response.status_code == 401
    assert "log in with the password" in response.json()["error"]["message"]


def test_a_required_user_without_authenticator_is_told_to_set_one_up(
    users: dict[Role, User], settings: Settings
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    client, token = session()
    response = login(client, token, "dr.house")
    assert response.status_code == 202 and response.json()["step"] == "enrol"
    assert client.get("/api/patients").status_code == 401
    # An auditor only reads: the password alone still signs in.
    assert login(client, token, "audi.tor").status_code == 200


def test_a_user_without_authenticator_still_signs_in_with_the_password(
    users: dict[Role, User],
) -> None:
    client, token = session()
    response = login(client, token)
    assert response.status_code == 200
    assert response.json() == {"username": "nurse.joy", "roles": ["nurse"]}


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "1" * 65}, {"code": "1", "x": "y"}])
def test_a_malformed_code_is_a_422(users: dict[Role, User], body: dict[str, str]) -> None:
    client, token = session()
    assert post(client, token, "/api/auth/code", body).status_code == 422
