"""Two-factor sign-in through the web: the password, then the code; until the code nobody is
signed in; a wrong code is refused (401) and audited; a recovery code signs in once and leads
to the two-factor page; a user the clinic requires to have an authenticator is sent to set one
up (QR code as inline SVG, the secret in text) and can open nothing else until done; a session
from before the requirement is signed out; the admin resets a user's second factor."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from authenticator import code_for, code_from_secret, enrol
from clinic_fixtures import PASSWORD
from painpump.clinic import two_factor
from painpump.clinic.models import AuditEntry
from painpump.plumbing.sign_in import PENDING_SECONDS

pytestmark = pytest.mark.django_db


def password(client: Client, username: str = "nurse.joy", next_url: str = "/patients/") -> str:
    response = client.post(
        "/sign-in/", {"username": username, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302, response.content
    return str(response["Location"])


def signed_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_a_user_with_an_authenticator_signs_in_with_the_password_then_the_code(
    nurse: User,
) -> None:
    enrol(nurse)
    client = Client()
    assert password(client) == "/sign-in/code/?next=%2Fpatients%2F"
    assert signed_in_as(client) is None
    page = client.get("/sign-in/code/?next=/patients/")
    assert "authenticator app" in page.content.decode()
    done = client.post("/sign-in/code/", {"code": code_for(nurse), "next": "/patients/"})
    assert done.status_code == 302 and done["Location"] == "/patients/"
    assert signed_in_as(client) == str(nurse.pk)
    assert client.get("/patients/").status_code == 200


def test_after_the_password_alone_no_page_or_api_call_is_open(nurse: User) -> None:
    enrol(nurse)
    client = Client()
    password(client)
    assert client.get("/patients/")["Location"] == "/sign-in/?next=/patients/"
    assert client.get("/api/patients").status_code == 401


def test_a_wrong_code_is_refused_and_audited(nurse: User) -> None:
    enrol(nurse)
    client = Client()
    password(client)
    wrong = "123456" if code_for(nurse) != "123456" else "654321"
    response = client.post("/sign-in/code/", {"code": wrong})
    assert response.status_code == 401
    assert "Wrong code." in response.content.decode()
    assert signed_in_as(client) is None
    entry = AuditEntry.objects.get(action="two_factor.failure")
    assert entry.actor == "nurse.joy" and (entry.after or {}).get("step") == "sign-in"


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(nurse: User) -> None:
    codes = enrol(nurse)
    client = Client()
    password(client)
    response = client.post("/sign-in/code/", {"code": codes[3]}, follow=True)
    assert signed_in_as(client) == str(nurse.pk)
    assert "You signed in with a recovery code: 9 left." in response.content.decode()
    client.post("/sign-out/")
    password(client)
    assert client.post("/sign-in/code/", {"code": codes[3]}).status_code == 401
    assert AuditEntry.objects.filter(action="two_factor.recovery_code").count() == 1


def test_the_code_must_follow_the_password_within_five_minutes(
    nurse: User, frozen_clock: time_machine.Traveller
) -> None:
    enrol(nurse)
    client = Client()
    password(client)
    frozen_clock.shift(timedelta(seconds=PENDING_SECONDS + 1))
    response = client.post("/sign-in/code/", {"code": code_for(nurse)})
    assert response.status_code == 302 and response["Location"] == "/sign-in/"
    assert signed_in_as(client) is None


def test_a_required_user_without_authenticator_sets_one_up_before_anything_else(
    nurse: User, settings: Settings
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    client = Client()
    assert password(client) == "/two-factor/?next=%2Fpatients%2F"
    assert signed_in_as(client) is None
    for url in ("/patients/", "/", "/calendar/"):
        assert client.get(url)["Location"].startswith("/sign-in/?next=")
    assert client.get("/api/patients").status_code == 401
    shown_first = client.get("/two-factor/?next=/patients/")
    assert "no-store" in shown_first["Cache-Control"], "the secret is kept by no cache"
    page = shown_first.content.decode()
    assert "<svg" in page and "<script" not in page.split("<main", 1)[1]
    secret = page.split('data-testid="totp-secret">', 1)[1].split("<", 1)[0]
    assert len(secret.replace(" ", "")) == 32
    done = client.post("/two-factor/", {"code": code_from_secret(secret), "next": "/patients/"})
    assert done.status_code == 200
    shown = done.content.decode()
    assert shown.count("<li><code>") == 10 and 'href="/patients/"' in shown
    assert signed_in_as(client) == str(nurse.pk)
    assert client.get("/patients/").status_code == 200
    assert AuditEntry.objects.filter(action="two_factor.enrol").count() == 1


def test_a_signed_in_user_sets_up_an_authenticator_and_later_renews_the_codes(
    nurse: User, frozen_clock: time_machine.Traveller
) -> None:
    client = Client()
    password(client)
    assert signed_in_as(client) == str(nurse.pk)
    page = client.get("/two-factor/").content.decode()
    secret = page.split('data-testid="totp-secret">', 1)[1].split("<", 1)[0]
    assert client.post("/two-factor/", {"code": code_from_secret(secret)}).status_code == 200
    assert client.get("/patients/").status_code == 200, "the session is verified by it"
    status = client.get("/two-factor/").content.decode()
    assert 'data-testid="recovery-codes-left">10<' in status
    frozen_clock.shift(timedelta(seconds=31))
    renewed = client.post("/two-factor/", {"code": code_for(nurse)})
    assert renewed.status_code == 200 and "New recovery codes" in renewed.content.decode()


def test_a_session_signed_in_before_the_requirement_is_signed_out(
    nurse: User, settings: Settings
) -> None:
    client = Client()
    password(client)
    assert client.get("/patients/").status_code == 200
    settings.PAINPUMP_REQUIRE_2FA = True
    assert client.get("/patients/").status_code == 302
    assert signed_in_as(client) is None


def test_a_reset_second_factor_signs_the_user_out_where_it_is_required(
    admin: User, nurse: User, settings: Settings
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    enrol(nurse)
    enrol(admin)
    nurse_client, admin_client = Client(), Client()
    for client, user in ((nurse_client, nurse), (admin_client, admin)):
        password(client, user.get_username(), "/")
        client.post("/sign-in/code/", {"code": code_for(user)})
        assert signed_in_as(client) == str(user.pk)
    shown = admin_client.get(f"/users/{nurse.id}/").content.decode()
    assert "Reset two-factor sign-in of nurse.joy" in shown
    reset = admin_client.post(f"/users/{nurse.id}/two-factor/", {"two_factor-version": "1"})
    assert reset.status_code == 302
    assert not two_factor.enrolled(nurse)
    assert nurse_client.get("/patients/").status_code == 302
    assert AuditEntry.objects.get(action="two_factor.reset").actor == "ad.min"
    own = admin_client.get(f"/users/{admin.id}/").content.decode()
    assert "Reset two-factor sign-in of" not in own
