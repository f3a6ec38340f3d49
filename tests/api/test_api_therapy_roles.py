"""Every therapy endpoint (pathway, implants, refills, alarms, appointments, dashboard, settings)
for every role and for an anonymous caller: allowed or refused as the roles table
(painpump.clinic.roles.CAPABILITIES) says, and a refused call changes nothing and leaves no audit
entry. Records are made only for the endpoints that need them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import (
    FILLED_VERSION,
    at,
    baclofen_implant,
    expected_to_live,
    iso,
    new_episode,
    refill_body,
    today,
    unverified_refill,
)

from painpump.clinic.actions import alarms
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import (
    AlarmReport,
    AuditEntry,
    ClinicSettings,
    Episode,
    Implant,
    PathwayEvent,
    Patient,
    Refill,
)
from painpump.clinic.roles import CAPABILITIES, Role
from painpump.clinic.testing import MEDTRONIC_CATHETER

P, N, PH, AD, AU = Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.ADMIN, Role.AUDITOR
EVERYONE = frozenset(Role)
READERS = frozenset({P, N, PH, AU})


def _today() -> str:
    return today().isoformat()


# method, path, body (a function: dates are relative to today), capability, allowed, status
Body = Callable[[], dict[str, Any]] | None
ENDPOINTS: list[tuple[str, str, Body, str | None, frozenset[Role], int]] = [
    (
        "post",
        "/api/episodes/{referred}/steps",
        lambda: {
            "action": "start_test_phase",
            "version": 1,
            "facts": {"on": _today(), "protocol": "continuous"},
            "acknowledge": {"tumour_pain_test_phase": "opioid trial before committing to a pump"},
        },
        "pathway.decide",
        frozenset({P}),
        200,
    ),
    ("get", "/api/episodes/{referred}/steps", None, "patient.read", READERS, 200),
    (
        "get",
        "/api/episodes/{referred}/preview?action=start_test_phase&protocol=bolus&on={today}",
        None,
        "patient.read",
        READERS,
        200,
    ),
    (
        "post",
        "/api/episodes/{referred}/implants",
        lambda: {
            "version": 1,
            "pump_model": "synchromed-ii-20",
            "pump_serial": "NGP1",
            "catheter_model": "8709SC",
            "catheter_length": "60 cm",
            "dead_volume": "0.25 mL",
            "acknowledge": dict(MEDTRONIC_CATHETER),
            "implanted_on": _today(),
        },
        "pathway.decide",
        frozenset({P}),
        201,
    ),
    ("get", "/api/implants/{implant}", None, "patient.read", READERS, 200),
    ("get", "/api/patients/{patient}/implants", None, "patient.read", READERS, 200),
    (
        "post",
        "/api/implants/{implant}/refills",
        lambda: refill_body(idempotency_key="matrix", version=FILLED_VERSION),
        "refill.perform",
        frozenset({P, N}),
        201,
    ),
    ("get", "/api/implants/{implant}/refills", None, "patient.read", READERS, 200),
    ("post", "/api/refills/{unverified}/verify", None, "change.verify", frozenset({P, PH}), 200),
    (
        "post",
        "/api/implants/{implant}/alarms",
        lambda: {"kind": "low_reservoir", "reported_at": iso(at(today()))},
        "assessment.write",
        frozenset({P, N}),
        201,
    ),
    (
        "post",
        "/api/alarms/{alarm}/acknowledge",
        lambda: {"action_taken": "refill booked"},
        "assessment.write",
        frozenset({P, N}),
        200,
    ),
    ("get", "/api/alarms?open=true", None, "patient.read", READERS, 200),
    ("get", "/api/appointments?from={today}&to={today}", None, "patient.read", READERS, 200),
    ("get", "/api/dashboard", None, "patient.read", READERS, 200),
    ("get", "/api/settings", None, None, EVERYONE, 200),
    (
        "patch",
        "/api/settings",
        lambda: {"version": 1, "implant_wait_days": 28},
        "settings.write",
        frozenset({AD}),
        200,
    ),
]
CASES = [
    pytest.param(
        method, path, body, allowed, status, role, id=f"{method} {path} as {role or 'anon'}"
    )
    for method, path, body, _, allowed, status in ENDPOINTS
    for role in [*Role, None]
]


def _state() -> tuple[int, ...]:
    return (
        Episode.objects.filter(stage="referred").count(),
        PathwayEvent.objects.count(),
        Implant.objects.count(),
        Refill.objects.count(),
        Refill.objects.exclude(verified_by="").count(),
        AlarmReport.objects.count(),
        AlarmReport.objects.filter(acknowledged_at__isnull=True).count(),
        clinic_settings().version,
        AuditEntry.objects.count(),
    )


@pytest.mark.parametrize(("method", "path", "body", "allowed", "status", "role"), CASES)
def test_every_therapy_endpoint_is_allowed_or_refused_as_the_roles_table_says(
    client_as: Callable[[Role | None], Client],
    users: dict[Role, User],
    patient: Patient,
    method: str,
    path: str,
    body: Body,
    allowed: frozenset[Role],
    status: int,
    role: Role | None,
) -> None:
    physician, nurse = users[P], users[N]
    ids: dict[str, object] = {"today": _today(), "patient": patient.id}
    clinic_settings()
    if "{referred}" in path:
        expected_to_live(nurse, patient)  # as a tumour-pain implantation needs
        ids["referred"] = new_episode(physician, patient, "tumour_pain", 30).id
    if any(k in path for k in ("{implant}", "{unverified}", "{alarm}", "{patient}/implants")):
        implant = baclofen_implant(physician, patient)
        ids["implant"] = implant.id
        if "{unverified}" in path:
            ids["unverified"] = unverified_refill(nurse, implant).id
        if "{alarm}" in path:
            reported = alarms.report_alarm(
                nurse, implant.id, kind="low_reservoir", reported_at=at(today())
            )
            ids["alarm"] = reported.id
    url = path.format(**ids)
    before = _state()
    client = client_as(role)
    if body is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, body(), content_type="application/json")
    if role is None:
        assert response.status_code == 401, response.content
    elif role in allowed:
        assert response.status_code == status, response.content
        return
    else:
        assert response.status_code == 403, response.content
        assert "may not" in response.json()["error"]["message"]
    assert _state() == before, "a refused call changed something or left an audit entry"


@pytest.mark.parametrize(
    ("capability", "allowed"), sorted({(c, a) for _, _, _, c, a, _ in ENDPOINTS if c})
)
def test_the_table_agrees_with_the_roles_of_the_clinic_service(
    capability: str, allowed: frozenset[Role]
) -> None:
    assert CAPABILITIES[capability] == allowed


def test_refused_readers_see_no_patient_data(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    implant = baclofen_implant(users[P], patient)
    for url in [f"/api/implants/{implant.id}", "/api/dashboard", "/api/alarms"]:
        refused = client_as(AD).get(url)
        assert refused.status_code == 403
        assert "Muster" not in refused.content.decode()
    assert ClinicSettings.objects.get().version == 1
