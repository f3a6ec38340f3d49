"""Security headers on every kind of response, of the web app and of the API alike: pages,
redirects, the API's JSON, the static files, refusals and errors (401, 403, 404, 500) all carry
the Content-Security-Policy (own origin only, no framing), X-Frame-Options DENY, nosniff and the
same-origin Referrer-Policy; behind TLS (PAINPUMP_SECURE=1) the cookies are secure and HSTS is
sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from clinic_fixtures import PASSWORD
from painpump.clinic.models import Patient
from painpump.clinic.reads import queries
from painpump.plumbing.security_headers import CONTENT_SECURITY_POLICY
from painpump.web.views import patients

pytestmark = pytest.mark.django_db


def assert_secure_headers(response: Any) -> None:
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/sign-in/", 200),
        ("/patients/", 302),
        ("/api/patients", 401),
        ("/api/auth/csrf", 200),
        ("/static/web/painpump.css", 200),
        ("/static/web/favicon.svg", 200),
        ("/static/web/vendor/htmx-2.0.11.min.js", 200),
        ("/static/web/missing.css", 404),
        ("/no-such-page/", 404),
        ("/api/no-such-endpoint", 404),
    ],
)
def test_every_kind_of_response_carries_the_security_headers(path: str, status: int) -> None:
    response = Client().get(path)
    assert response.status_code == status
    assert_secure_headers(response)


def test_pages_refusals_and_missing_records_of_a_signed_in_user_carry_them(
    nurse: User, admin: User
) -> None:
    client = Client()
    client.force_login(nurse)
    assert_secure_headers(client.get("/patients/"))
    missing = client.get(f"/patients/{uuid.uuid4()}/")
    assert missing.status_code == 404
    assert_secure_headers(missing)
    assert_secure_headers(client.get(f"/api/patients/{uuid.uuid4()}"))
    refusing = Client()
    refusing.force_login(admin)
    refused = refusing.get("/patients/")
    assert refused.status_code == 403
    assert_secure_headers(refused)


def test_a_server_error_carries_them_and_shows_no_traceback(
    nurse: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(queries, "search_patients", broken)  # as the API calls it
    monkeypatch.setattr(patients, "search_patients", broken)  # as the web page imported it
    client = Client(raise_request_exception=False)
    client.force_login(nurse)
    for path in ("/patients/?q=x", "/api/patients?q=x"):
        response = client.get(path)
        assert response.status_code == 500
        assert_secure_headers(response)
        assert "simulated fault" not in response.content.decode()
        assert "Traceback" not in response.content.decode()


TLS_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_SSL_REDIRECT",
)


def _tls_settings(secure: bool) -> list[object]:
    """The TLS settings as the settings module sets them, read in a fresh interpreter."""
    code = (
        "import json; from painpump import settings as s; "
        f"print(json.dumps([getattr(s, n, None) for n in {list(TLS_SETTINGS)!r}]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PAINPUMP_SECURE"}
    if secure:
        env["PAINPUMP_SECURE"] = "1"
    shown = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    values: list[object] = json.loads(shown.stdout)
    return values


def test_behind_tls_the_cookies_are_secure_and_hsts_is_on() -> None:
    assert _tls_settings(secure=True) == [True, True, 31_536_000, True]
    assert _tls_settings(secure=False) == [None, None, None, None]  # Django's defaults: off


@override_settings(
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_SSL_REDIRECT=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_with_the_tls_settings_hsts_is_sent_plain_http_redirected_and_cookies_secure(
    nurse: User,
) -> None:
    client = Client()
    plain = client.get("/sign-in/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get("/sign-in/", secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=31536000"
    assert_secure_headers(secure)
    client.post("/sign-in/", {"username": "nurse.joy", "password": PASSWORD}, secure=True)
    assert client.cookies["sessionid"]["secure"] and client.cookies["sessionid"]["httponly"]
    assert client.cookies["csrftoken"]["secure"]


def test_signed_in_answers_are_never_stored_and_the_sign_in_page_may_be(
    physician: User, patient: Patient
) -> None:
    """Issue 14: signed-in pages and API answers lacked Cache-Control: no-store, so a shared
    computer's cache or back button could show a chart after sign-out."""
    signed_in = Client()
    signed_in.force_login(physician)
    for url in ("/", f"/patients/{patient.id}/", "/api/patients"):
        assert signed_in.get(url)["Cache-Control"] == "no-store", url
    assert "no-store" not in Client().get("/sign-in/").get("Cache-Control", "")
