"""Signing in and out of the web app: the right password opens the dashboard, a wrong one is
refused and counted, the sixth try inside the window is throttled even with the right password,
and every page but the sign-in page sends a stranger to sign in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import PASSWORD

if TYPE_CHECKING:  # the test client's response, as django-stubs names it (no runtime class)
    from django.test.client import _MonkeyPatchedWSGIResponse as Response


def _sign_in(client: Client, username: str, password: str, next_url: str = "") -> Response:
    return client.post("/sign-in/", {"username": username, "password": password, "next": next_url})


def test_a_stranger_is_sent_to_sign_in_with_the_page_to_return_to(db: None) -> None:
    response = Client().get("/patients/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/patients/"


def test_signing_in_opens_the_page_asked_for_and_names_the_user(nurse: User) -> None:
    client = Client()
    response = _sign_in(client, "nurse.joy", PASSWORD, "/patients/")
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    page = client.get("/patients/").content.decode()
    assert "nurse.joy" in page
    assert "nurse" in page


def test_signing_in_never_redirects_to_another_site(nurse: User) -> None:
    response = _sign_in(Client(), "nurse.joy", PASSWORD, "https://evil.example/")
    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(nurse: User) -> None:
    response = _sign_in(Client(), "nurse.joy", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.content.decode()


def test_the_sixth_try_within_fifteen_minutes_is_throttled_even_with_the_right_password(
    nurse: User,
) -> None:
    client = Client()
    for _ in range(5):
        assert _sign_in(client, "nurse.joy", "guess").status_code == 401
    response = _sign_in(client, "nurse.joy", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_sign_in_form_needs_its_csrf_token(nurse: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = _sign_in(client, "nurse.joy", PASSWORD)
    assert response.status_code == 403


def test_signing_out_takes_a_post_and_ends_the_session(nurse: User) -> None:
    client = Client()
    client.force_login(nurse)
    assert client.get("/sign-out/").status_code == 405
    assert client.post("/sign-out/")["Location"] == "/sign-in/"
    assert client.get("/")["Location"].startswith("/sign-in/")


@pytest.mark.parametrize(
    ("role_user", "entries", "absent"),
    [
        ("nurse", ["Dashboard", "Patients"], []),
        ("auditor", ["Dashboard", "Patients"], []),
        ("admin", [], ["Patients"]),
    ],
)
def test_the_navigation_shows_only_pages_the_role_may_open(
    request: pytest.FixtureRequest, role_user: str, entries: list[str], absent: list[str]
) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(role_user))
    page = client.get("/sign-in/").content.decode()
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for label in entries:
        assert f">{label}</a>" in nav
    for label in absent:
        assert f">{label}</a>" not in nav
