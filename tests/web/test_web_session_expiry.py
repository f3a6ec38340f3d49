"""Sessions end on their own (painpump.web.session_limits): a session idle for longer than
PAINPUMP_SESSION_IDLE_MINUTES (default 30) is signed out, so a clinic tablet left signed in locks
(the web app sends to sign-in, the API answers 401); a request within the idle time keeps it
alive; 8 hours after sign-in it ends however busy. Time is moved by editing the session's
stamps, never by sleeping."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.test import Client

from clinic_fixtures import PASSWORD
from painpump import settings as painpump_settings
from painpump.plumbing.hashed_sessions import stored_key
from painpump.web.session_limits import SEEN, SIGNED_IN

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/patients/").status_code == 200  # stamps the session
    return client


def stamp(client: Client, *, seen_ago: int, signed_in_ago: int | None = None) -> None:
    """Move the session's clock: the last request `seen_ago` seconds ago."""
    session = client.session
    now = int(time.time())
    session[SEEN] = now - seen_ago
    if signed_in_ago is not None:
        session[SIGNED_IN] = now - signed_in_ago
    session.save()


def test_the_idle_limit_is_thirty_minutes_and_the_absolute_limit_eight_hours() -> None:
    assert settings.SESSION_IDLE_SECONDS == 30 * 60
    assert settings.SESSION_MAX_SECONDS == settings.SESSION_COOKIE_AGE == 8 * 3600


def test_an_idle_session_is_sent_to_sign_in_and_stays_signed_out(nurse: User) -> None:
    client = signed_in(nurse)
    stamp(client, seen_ago=settings.SESSION_IDLE_SECONDS + 1)
    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=/patients/"
    assert "_auth_user_id" not in client.session
    assert client.get("/patients/").status_code == 302


def test_an_idle_session_is_a_401_for_the_api(nurse: User) -> None:
    client = signed_in(nurse)
    assert client.get("/api/patients").status_code == 200
    stamp(client, seen_ago=settings.SESSION_IDLE_SECONDS + 1)
    assert client.get("/api/patients").status_code == 401
    assert client.get("/api/auth/me").status_code == 401


def test_activity_within_the_idle_time_keeps_the_session_alive(nurse: User) -> None:
    client = signed_in(nurse)
    for _ in range(3):  # three times almost the idle time: far beyond it in total
        stamp(client, seen_ago=settings.SESSION_IDLE_SECONDS - 5)
        assert client.get("/patients/").status_code == 200
        assert client.session[SEEN] >= int(time.time()) - 5
    assert client.get("/api/patients").status_code == 200


def test_a_session_ends_eight_hours_after_sign_in_however_busy(nurse: User) -> None:
    client = signed_in(nurse)
    stamp(client, seen_ago=1, signed_in_ago=settings.SESSION_MAX_SECONDS + 1)
    assert client.get("/patients/")["Location"] == "/sign-in/?next=/patients/"
    assert "_auth_user_id" not in client.session


def test_signing_in_stamps_the_session(nurse: User) -> None:
    client = Client()
    before = int(time.time())
    client.post("/sign-in/", {"username": "nurse.joy", "password": PASSWORD})
    session = client.session
    assert "_auth_user_id" in session
    assert session[SIGNED_IN] >= before and session[SEEN] >= before


def test_a_request_within_a_minute_of_the_last_does_not_write_the_session(nurse: User) -> None:
    client = signed_in(nurse)
    key = client.session.session_key
    assert key is not None
    expiry = Session.objects.get(session_key=stored_key(key)).expire_date
    assert client.get("/patients/").status_code == 200
    assert Session.objects.get(session_key=stored_key(key)).expire_date == expiry


@pytest.mark.parametrize(("value", "minutes"), [(None, 30), ("5", 5), ("240", 240)])
def test_the_idle_minutes_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, minutes: int
) -> None:
    if value is None:
        monkeypatch.delenv("PAINPUMP_SESSION_IDLE_MINUTES", raising=False)
    else:
        monkeypatch.setenv("PAINPUMP_SESSION_IDLE_MINUTES", value)
    assert painpump_settings._positive_minutes("PAINPUMP_SESSION_IDLE_MINUTES", 30) == minutes


@pytest.mark.parametrize("value", ["0", "-5", "thirty", "1.5", ""])
def test_idle_minutes_that_are_not_a_positive_whole_number_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PAINPUMP_SESSION_IDLE_MINUTES", value)
    with pytest.raises(ImproperlyConfigured, match="PAINPUMP_SESSION_IDLE_MINUTES"):
        painpump_settings._positive_minutes("PAINPUMP_SESSION_IDLE_MINUTES", 30)


WEAK_KEYS = {
    "same": "x" * 40,
    "spaces": " " * 40,
    "two": "ab" * 20,
    "short": "short-but-random-Q7f",
    "alphabet-and-on": "abcdefghijklmnopqrstuvwxyzabcdef",
    "alphabet-twice": "abcdefghijklmnopqrstuvwxyz" * 2,
    "repeated-pattern": "abcabc" * 8,
    "repeated-word": "Password123!" * 4,
    "keyboard-walk": "qwertyuiop[]asdfghjkl;'zxcvbnm,./QWERTYUIOPASDFGHJKL",
    "digits-walk": "1234567890" * 5,
    "random-lowercase-32": "kqhzrmbwtxdnvjgplcfsyeoaiuqmzrkx",
}
"""Keys the secret-key and audit-key rule refuses: no length, or no entropy once runs, repeats
and keyboard walks count for nothing (the last: 32 random lower-case letters, 150 bits)."""


@pytest.mark.parametrize("key", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_a_secret_key_without_real_entropy_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    """Issue 14: a secret key of 32 identical characters or of spaces was accepted; the last
    outside attack: 26 distinct letters (the alphabet and on) passed the rule of 16 distinct."""
    monkeypatch.setenv("PAINPUMP_SECRET_KEY", key)
    with pytest.raises(ImproperlyConfigured, match="random secret"):
        painpump_settings._secret_key()


def test_a_random_secret_key_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAINPUMP_SECRET_KEY", "k3J9-fQ2_zL8pW5xR1tY7vB4nM6cH0dS")
    assert painpump_settings._secret_key().startswith("k3J9")


@pytest.mark.parametrize(
    "generate",
    [
        lambda: secrets.token_urlsafe(48),
        lambda: base64.b64encode(secrets.token_bytes(48)).decode(),
        lambda: secrets.token_hex(32),
        lambda: secrets.token_hex(32).upper(),
        get_random_secret_key,
    ],
    ids=["token-urlsafe-48", "openssl-base64-48", "openssl-hex-32", "hex-upper", "django"],
)
def test_generated_keys_pass_the_entropy_rule_every_time(
    monkeypatch: pytest.MonkeyPatch, generate: Callable[[], str]
) -> None:
    """secrets.token_urlsafe(48), `openssl rand -base64 48` and `openssl rand -hex 32` (the
    same bytes as the generators here), and Django's own; 2,000 of each."""
    for _ in range(2000):
        key = generate()
        monkeypatch.setenv("PAINPUMP_SECRET_KEY", key)
        assert painpump_settings._secret_key() == key


def test_the_service_answers_only_to_its_configured_hosts() -> None:
    """Issue 14: "testserver" was an allowed host outside the tests."""
    assert "testserver" not in painpump_settings.ALLOWED_HOSTS
