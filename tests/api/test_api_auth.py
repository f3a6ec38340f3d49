"""Authentication and security of the API: hashed, prefixed API tokens (read-only refused on
writes, revoked or wrong tokens 401), session login with CSRF on writes, throttled failed logins
(the 6th within the window is a 429 with Retry-After, whatever X-Forwarded-For says), security
headers, and the OpenAPI schema at its stable path."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypedDict

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from typer.testing import CliRunner

from frozen import NOW, ZONE, day
from painpump.api import tokens
from painpump.api.models import ApiToken
from painpump.cli.console_proof import PASSWORD_ENV
from painpump.cli.main import _register, app
from painpump.clinic.models import AuditEntry, Patient
from painpump.clinic.roles import Role
from painpump.plumbing import throttle
from painpump.plumbing.models import LoginFailure

JSON = "application/json"
PASSWORD = "correct horse battery"  # the users fixture's password (conftest.py)
NEW_PATIENT = {"mrn": "MRN-5", "family_name": "A", "given_name": "B", "birth_date": "1980-01-01"}


class Bearer(TypedDict):
    HTTP_AUTHORIZATION: str


def bearer(secret: str) -> Bearer:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


# --- tokens


def test_a_token_is_prefixed_random_and_stored_only_as_its_hash(
    users: dict[Role, User],
) -> None:
    first = tokens.create("nurse.joy", read_only=False)
    second = tokens.create("nurse.joy", read_only=False)
    assert first.secret.startswith("pp_") and len(first.secret) > 40
    assert first.secret != second.secret
    stored = ApiToken.objects.get(id=first.record.id)
    assert stored.digest == tokens.digest(first.secret)
    assert stored.digest != hashlib.sha256(first.secret.encode()).hexdigest()  # keyed
    assert first.secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert first.secret.startswith(stored.prefix)
    assert AuditEntry.objects.filter(action="token.create").count() == 2


def test_a_read_write_token_reads_and_writes_with_its_users_roles(
    users: dict[Role, User], patient: Patient
) -> None:
    secret = tokens.create("nurse.joy", read_only=False).secret
    client = Client()
    assert client.get(f"/api/patients/{patient.id}", **bearer(secret)).status_code == 200
    created = client.post("/api/patients", NEW_PATIENT, content_type=JSON, **bearer(secret))
    assert created.status_code == 201
    entry = AuditEntry.objects.filter(action="patient.create").last()
    assert entry is not None and entry.actor == "nurse.joy"
    # The token carries its user's roles: a nurse may not open an episode.
    refused = client.post(
        f"/api/patients/{patient.id}/episodes",
        {"indication": "stroke", "referred_on": day(-23).isoformat()},
        content_type=JSON,
        **bearer(secret),
    )
    assert refused.status_code == 403


def test_a_read_only_token_reads_but_cannot_write(
    users: dict[Role, User], patient: Patient
) -> None:
    secret = tokens.create("dr.house", read_only=True).secret
    client = Client()
    assert client.get("/api/patients", **bearer(secret)).status_code == 200
    for method, url, body in [
        ("post", "/api/patients", NEW_PATIENT),
        ("patch", f"/api/patients/{patient.id}", {"version": 1, "given_name": "Eva"}),
    ]:
        response = getattr(client, method)(url, body, content_type=JSON, **bearer(secret))
        assert response.status_code == 403, response.content
        assert "read-only API token" in response.json()["error"]["message"]
    patient.refresh_from_db()
    assert Patient.objects.count() == 1 and patient.version == 1


def test_a_revoked_token_is_refused(users: dict[Role, User]) -> None:
    new = tokens.create("dr.house", read_only=False)
    client = Client()
    assert client.get("/api/patients", **bearer(new.secret)).status_code == 200
    tokens.revoke(new.record.id)
    response = client.get("/api/patients", **bearer(new.secret))
    assert response.status_code == 401
    assert "unknown or revoked" in response.json()["error"]["message"]


def test_a_token_of_a_deactivated_user_is_refused(users: dict[Role, User]) -> None:
    secret = tokens.create("dr.house", read_only=False).secret
    User.objects.filter(username="dr.house").update(is_active=False)
    assert Client().get("/api/patients", **bearer(secret)).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer pp_wrong",
        "Bearer not-even-prefixed",
        "Bearer ",
        "Token pp_x",
        "Basic ZHIuaG91c2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5",
    ],
)
def test_a_wrong_token_is_a_401(users: dict[Role, User], header: str) -> None:
    tokens.create("dr.house", read_only=False)
    response = Client().get("/api/patients", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_a_wrong_token_does_not_fall_back_to_the_session(
    client_as: Callable[[Role | None], Client],
) -> None:
    client = client_as(Role.PHYSICIAN)
    assert client.get("/api/patients").status_code == 200
    assert client.get("/api/patients", **bearer("pp_wrong")).status_code == 401


def test_the_command_line_creates_lists_and_revokes_tokens(
    users: dict[Role, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    _register()
    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", "pharma.cist", "--read-only", "--json"])
    assert created.exit_code == 0, created.output
    shown = json.loads(created.stdout)
    assert shown["access"] == "read-only" and shown["token"].startswith("pp_")
    assert Client().get("/api/patients", **bearer(shown["token"])).status_code == 200
    listed = runner.invoke(app, ["token", "list", "--json"])
    assert shown["token"] not in listed.stdout
    assert json.loads(listed.stdout)["tokens"][0]["prefix"] == shown["token"][:11]
    assert runner.invoke(app, ["token", "revoke", str(shown["id"])]).exit_code == 0
    assert Client().get("/api/patients", **bearer(shown["token"])).status_code == 401
    unknown = runner.invoke(app, ["token", "create", "nobody"])
    assert unknown.exit_code != 0
    assert ApiToken.objects.count() == 1


# --- session login, CSRF, throttling


def csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    return client, token


def login(client: Client, token: str, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        "/api/auth/login",
        {"username": username, "password": password},
        content_type=JSON,
        HTTP_X_CSRFTOKEN=token,
        **extra,
    )


def test_session_login_then_writes_need_the_csrf_token(users: dict[Role, User]) -> None:
    client, token = csrf_client()
    response = login(client, token, "nurse.joy", PASSWORD)
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "nurse.joy", "roles": ["nurse"]}
    assert client.get("/api/auth/me").json()["username"] == "nurse.joy"
    assert client.get("/api/patients").status_code == 200
    refused = client.post("/api/patients", NEW_PATIENT, content_type=JSON)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert Patient.objects.count() == 0
    # Login rotated the CSRF token: the web client fetches it again.
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    created = client.post("/api/patients", NEW_PATIENT, content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert created.status_code == 201
    out = client.post("/api/auth/logout", HTTP_X_CSRFTOKEN=token)
    assert out.status_code == 200
    assert client.get("/api/patients").status_code == 401


def test_login_itself_needs_the_csrf_token(users: dict[Role, User]) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/auth/login", {"username": "nurse.joy", "password": PASSWORD}, content_type=JSON
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_is_a_401_and_counted(users: dict[Role, User]) -> None:
    client, token = csrf_client()
    response = login(client, token, "nurse.joy", "wrong password")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "wrong username or password"
    assert LoginFailure.objects.filter(username="nurse.joy", ip="127.0.0.1").count() == 1


def test_the_sixth_failed_login_is_throttled_even_with_the_right_password(
    users: dict[Role, User],
) -> None:
    client, token = csrf_client()
    for attempt in range(throttle.MAX_FAILURES):
        # A forged X-Forwarded-For must not give each attempt a fresh address.
        forged = {"HTTP_X_FORWARDED_FOR": f"10.0.0.{attempt}"}
        assert login(client, token, "dr.house", f"guess {attempt}", **forged).status_code == 401
    throttled = login(client, token, "dr.house", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 15 * 60
    assert "too many failed logins" in throttled.json()["error"]["message"]
    assert "_auth_user_id" not in client.session
    # Another user, or the same user from another address, is not held up.
    assert login(client, token, "nurse.joy", PASSWORD).status_code == 200
    other, other_token = csrf_client()
    assert (
        login(other, other_token, "dr.house", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 200
    )


def test_failures_leave_the_window_and_a_success_clears_them(users: dict[Role, User]) -> None:
    client, token = csrf_client()
    for attempt in range(throttle.MAX_FAILURES):
        login(client, token, "dr.house", f"guess {attempt}")
    LoginFailure.objects.update(at=timezone.now() - throttle.WINDOW - timedelta(seconds=1))
    assert login(client, token, "dr.house", PASSWORD).status_code == 200
    assert not LoginFailure.objects.filter(username="dr.house").exists()


def test_an_inactive_user_cannot_log_in(users: dict[Role, User]) -> None:
    User.objects.filter(username="dr.house").update(is_active=False)
    client, token = csrf_client()
    assert login(client, token, "dr.house", PASSWORD).status_code == 401


@pytest.mark.parametrize("body", [{}, {"username": "dr.house"}, {"username": "", "password": "x"}])
def test_a_malformed_login_is_a_422(users: dict[Role, User], body: dict[str, str]) -> None:
    client, token = csrf_client()
    response = client.post("/api/auth/login", body, content_type=JSON, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 422
    assert response.json()["error"]["field"] in {"username", "password"}


# --- headers and schema


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/patients", "/api/nothing"])
def test_security_headers_are_on_every_response(db: None, path: str) -> None:
    response = Client().get(path)
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_session_cookie_is_http_only(users: dict[Role, User]) -> None:
    client, token = csrf_client()
    login(client, token, "nurse.joy", PASSWORD)
    assert client.cookies["sessionid"]["httponly"]


def test_debug_is_off_and_errors_show_no_traceback(
    settings: Any, client_as: Callable[[Role | None], Client]
) -> None:
    assert settings.DEBUG is False
    body = client_as(Role.PHYSICIAN).get("/api/patients/not-a-uuid").content.decode()
    assert "Traceback" not in body


EXPECTED_OPERATIONS = {
    ("/api/auth/csrf", "get"),
    ("/api/auth/login", "post"),
    ("/api/auth/code", "post"),
    ("/api/auth/logout", "post"),
    ("/api/auth/me", "get"),
    ("/api/patients", "get"),
    ("/api/patients", "post"),
    ("/api/patients/{patient_id}", "get"),
    ("/api/patients/{patient_id}", "patch"),
    ("/api/patients/{patient_id}/episodes", "get"),
    ("/api/patients/{patient_id}/episodes", "post"),
    ("/api/episodes/{episode_id}", "get"),
    ("/api/episodes/{episode_id}/origin", "put"),
    ("/api/episodes/{episode_id}/assessments", "get"),
    ("/api/episodes/{episode_id}/assessments", "post"),
    ("/api/episodes/{episode_id}/steps", "get"),
    ("/api/episodes/{episode_id}/steps", "post"),
    ("/api/episodes/{episode_id}/preview", "get"),
    ("/api/episodes/{episode_id}/implants", "post"),
    ("/api/implants/{implant_id}", "get"),
    ("/api/patients/{patient_id}/implants", "get"),
    ("/api/implants/{implant_id}/refills", "get"),
    ("/api/implants/{implant_id}/refills", "post"),
    ("/api/refills/{refill_id}/verify", "post"),
    ("/api/implants/{implant_id}/programs", "post"),
    ("/api/implants/{implant_id}/prescriptions", "post"),
    ("/api/implants/{implant_id}/prescriptions", "get"),
    ("/api/implants/{implant_id}/prescriptions/preview", "post"),
    ("/api/prescriptions/{prescription_id}/checks", "post"),
    ("/api/programs/{program_id}/readbacks", "post"),
    ("/api/incidents/{incident_id}/close", "post"),
    ("/api/patients/{patient_id}/incidents", "get"),
    ("/api/appointments/{appointment_id}", "patch"),
    ("/api/implants/{implant_id}/alarms", "post"),
    ("/api/alarms/{alarm_id}/acknowledge", "post"),
    ("/api/alarms", "get"),
    ("/api/appointments", "get"),
    ("/api/dashboard", "get"),
    ("/api/settings", "get"),
    ("/api/settings", "patch"),
    ("/api/settings/tolerance-requests", "get"),
    ("/api/settings/tolerance-requests", "post"),
    ("/api/settings/tolerance-requests/{request_id}/approve", "post"),
    ("/api/settings/tolerance-requests/{request_id}/decline", "post"),
    ("/api/settings/tolerance-requests/{request_id}/withdraw", "post"),
    ("/api/users", "get"),
    ("/api/users/{user_id}/roles", "put"),
    ("/api/users/adoptions", "get"),
    ("/api/users/{user_id}/adoption", "post"),
    ("/api/users/adoptions/{adoption_id}/approve", "post"),
    ("/api/users/adoptions/{adoption_id}/decline", "post"),
    ("/api/users/adoptions/{adoption_id}/withdraw", "post"),
    ("/api/role-grants", "get"),
    ("/api/role-grants/{grant_id}/approve", "post"),
    ("/api/role-grants/{grant_id}/decline", "post"),
    ("/api/clinic-catheters", "get"),
    ("/api/clinic-catheters", "post"),
    ("/api/clinic-catheters/{entry_id}/approve", "post"),
    ("/api/clinic-catheters/{entry_id}/archive", "post"),
}


def test_the_openapi_schema_lists_every_path_at_its_stable_path(db: None) -> None:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == EXPECTED_OPERATIONS
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    quantity = schema["components"]["schemas"]["Quantity"]
    assert set(quantity["required"]) == {"value", "unit"}
    patch = schema["paths"]["/api/patients/{patient_id}"]["patch"]
    assert "409" in patch["responses"] and "422" in patch["responses"]
    refill = schema["paths"]["/api/implants/{implant_id}/refills"]["post"]
    assert {"200", "201", "403", "409", "422"} <= set(refill["responses"])
    dose = schema["components"]["schemas"]["PrescriptionIn"]["properties"]["program"]
    assert dose["discriminator"]["propertyName"] == "kind"
    continuous = schema["components"]["schemas"]["ContinuousIn"]["properties"]["dose"]
    forms = [set(form.get("required", ())) for form in continuous["anyOf"]]
    assert forms == [{"value", "unit"}, set()]
    optional = schema["components"]["schemas"]["RefillIn"]["properties"]["dose"]["anyOf"]
    assert optional[-1] == {"type": "null"}


def test_the_token_list_reads_its_times_on_the_clinic_s_clock(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    _register()
    runner = CliRunner()
    created = runner.invoke(app, ["token", "create", admin.get_username(), "--json"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["token", "list"])
    local = NOW.astimezone(ZONE)
    assert f"created {local:%Y-%m-%d} " in listed.output
    zone_name = local.tzname()
    assert zone_name is not None and zone_name in listed.output and "UTC" not in listed.output
