"""Every endpoint for every role and for an anonymous caller: allowed or refused as the roles
table (painpump.clinic.roles.CAPABILITIES) says, and a refused call changes and reveals nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from frozen import day
from painpump.clinic.models import Assessment, AuditEntry, Episode, Patient
from painpump.clinic.roles import CAPABILITIES, Role

P, N, PH, AD, AU = Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.ADMIN, Role.AUDITOR
EVERYONE = frozenset(Role)
READERS = frozenset({P, N, PH, AU})

NEW_PATIENT = {
    "mrn": "MRN-0002",
    "family_name": "Beispiel",
    "given_name": "Max",
    "birth_date": "1980-02-03",
}
NEW_EPISODE = {"indication": "tumour_pain", "referred_on": day(-24).isoformat()}
NEW_ASSESSMENT = {"kind": "pain_nrs", "value": 7, "taken_at": f"{day(-5)}T09:30:00Z"}

# method, path, body, capability, roles allowed, status when allowed
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str | None, frozenset[Role], int]] = [
    ("get", "/api/patients?q=muster", None, "patient.read", READERS, 200),
    ("post", "/api/patients", NEW_PATIENT, "patient.write", frozenset({P, N}), 201),
    ("get", "/api/patients/{patient}", None, "patient.read", READERS, 200),
    (
        "patch",
        "/api/patients/{patient}",
        {"version": 1, "given_name": "Erika Maria"},
        "patient.write",
        frozenset({P, N}),
        200,
    ),
    ("get", "/api/patients/{patient}/episodes", None, "patient.read", READERS, 200),
    ("post", "/api/patients/{patient}/episodes", NEW_EPISODE, "episode.write", frozenset({P}), 201),
    ("get", "/api/episodes/{episode}", None, "patient.read", READERS, 200),
    ("get", "/api/episodes/{episode}/assessments", None, "patient.read", READERS, 200),
    (
        "post",
        "/api/episodes/{episode}/assessments",
        NEW_ASSESSMENT,
        "assessment.write",
        frozenset({P, N}),
        201,
    ),
    ("get", "/api/auth/me", None, None, EVERYONE, 200),
    ("post", "/api/auth/logout", None, None, EVERYONE, 200),
]
CASES = [
    pytest.param(
        method, path, body, allowed, status, role, id=f"{method} {path} as {role or 'anon'}"
    )
    for method, path, body, _, allowed, status in ENDPOINTS
    for role in [*Role, None]
]


def _records() -> tuple[int, int, int]:
    return Patient.objects.count(), Episode.objects.count(), Assessment.objects.count()


def call(client: Client, method: str, path: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "body", "allowed", "status", "role"), CASES)
def test_every_endpoint_is_allowed_or_refused_as_the_roles_table_says(
    client_as: Callable[[Role | None], Client],
    patient: Patient,
    episode: Episode,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    allowed: frozenset[Role],
    status: int,
    role: Role | None,
) -> None:
    url = path.format(patient=patient.id, episode=episode.id)
    records, audit_entries = _records(), AuditEntry.objects.count()
    response = call(client_as(role), method, url, body)
    if role is None:
        assert response.status_code == 401, response.content
        assert response["WWW-Authenticate"].startswith("Bearer")
    elif role in allowed:
        assert response.status_code == status, response.content
        return
    else:
        assert response.status_code == 403, response.content
        assert "may not" in response.json()["error"]["message"]
    assert _records() == records
    assert AuditEntry.objects.count() == audit_entries, "a refused call left an audit entry"


@pytest.mark.parametrize(
    ("capability", "allowed"), sorted({(c, a) for _, _, _, c, a, _ in ENDPOINTS if c})
)
def test_the_table_agrees_with_the_roles_of_the_clinic_service(
    capability: str, allowed: frozenset[Role]
) -> None:
    assert CAPABILITIES[capability] == allowed


def test_the_auditor_reads_but_the_admin_does_not_read_patient_records(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    assert client_as(AU).get(f"/api/patients/{patient.id}").json()["mrn"] == "MRN-0001"
    refused = client_as(AD).get(f"/api/patients/{patient.id}")
    assert refused.status_code == 403
    assert "Muster" not in refused.content.decode()
