"""The readback's reservoir tolerance through the API: GET /api/settings shows it as a quantity,
unverified; PATCH takes it with its unit (admin only, audited; one admin keeps or narrows it, a
wider one takes a second admin: tests/api/test_api_tolerance_requests.py) and the next readback
is compared within it; what core's rule refuses is a 422 naming the field and changes nothing. A
differing readback's incident is named by the readback in the settings history and listed with
when it was opened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant, fill, post, readback_body

from painpump import clock
from painpump.clinic.actions import programs
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, Implant, Incident, Patient, Program
from painpump.clinic.reads.readback_expected import expected_reservoir
from painpump.clinic.roles import Role
from painpump.clinic.testing import prescribed
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db


def patch(client: Client, change: dict[str, Any]) -> Any:
    return client.patch("/api/settings", {"version": 1, **change}, content_type="application/json")


@pytest.fixture
def titrated(users: dict[Role, User], patient: Patient) -> Program:
    """440 mcg/day programmed by the nurse an hour ago, between refills."""
    implant = baclofen_implant(users[Role.PHYSICIAN], patient)
    at = clock.now() - timedelta(hours=1)
    dose = parse("440 mcg/day", Kind.DOSE_RATE, "d")
    pump = fill("baclofen", "2000 mcg/mL")
    prescribed(users[Role.PHYSICIAN], users[Role.PHARMACIST], implant.id, pump, dose, at=at)
    version = Implant.objects.get(id=implant.id).version
    return programs.program_pump(users[Role.NURSE], implant.id, expected_version=version, now=at)


def at_440(reservoir: str) -> dict[str, Any]:
    return readback_body(reservoir=reservoir, program={"kind": "continuous", "dose": "440 mcg/day"})


@pytest.mark.parametrize(
    "typed", ["0.04 mL", {"value": 40, "unit": "uL"}], ids=["text", "object-in-microlitres"]
)
def test_the_admin_narrows_the_tolerance_with_its_unit_and_the_next_readback_uses_it(
    client_as: Callable[[Role | None], Client], titrated: Program, typed: Any
) -> None:
    admin = client_as(Role.ADMIN)
    changed = patch(admin, {"readback_tolerance": typed})
    assert changed.status_code == 200, changed.content
    assert changed.json()["readback_tolerance"] == {"value": 0.04, "unit": "mL"}
    assert changed.json()["readback_tolerance_verified"] is False
    assert admin.get("/api/settings").json() == changed.json()
    assert clinic_settings().readback_tolerance_ml == Decimal("0.04")
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.after is not None and entry.after["readback_tolerance"] == "0.04 mL"
    twin = expected_reservoir(titrated, clock.now()).most.canonical
    off = (twin + Decimal("0.07")).quantize(Decimal("0.001"))  # within the default 0.1 mL
    answer = post(
        client_as(Role.NURSE), f"/api/programs/{titrated.id}/readbacks", at_440(f"{off} mL")
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["matches"] is False
    audited = AuditEntry.objects.get(action="readback.record").after
    assert audited is not None and audited["reservoir_expected"].endswith(
        "± 0.04 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"
    )


@pytest.mark.parametrize(
    ("typed", "limit"),
    [
        ("1 mL", "< 1 mL"),
        ({"value": -0.1, "unit": "mL"}, ""),
        ("0.0001 mL", "0.001 mL"),
        ("0.1 mg", "volume"),
        ("0.1", "with its unit"),
        (0.1, "a quantity"),
        (None, "a volume with its unit"),
    ],
    ids=["ceiling", "negative", "too-fine", "mass", "no-unit-text", "bare-number", "null"],
)
def test_a_tolerance_the_rule_refuses_is_a_422_naming_the_field_and_changes_nothing(
    client_as: Callable[[Role | None], Client], typed: Any, limit: str
) -> None:
    response = patch(client_as(Role.ADMIN), {"readback_tolerance": typed})
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"].startswith("readback_tolerance") and limit in error["limit"], error
    assert clinic_settings().version == 1
    assert clinic_settings().readback_tolerance_ml == Decimal("0.1")
    assert not AuditEntry.objects.filter(action="settings.update").exists()


def test_the_ceiling_refusal_cites_the_pocket_fill_threshold(
    client_as: Callable[[Role | None], Client],
) -> None:
    error = patch(client_as(Role.ADMIN), {"readback_tolerance": "1 mL"}).json()["error"]
    assert (error["value"], error["source"][:10]) == ("1 mL", "maino-2017")


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.AUDITOR])
def test_no_other_role_changes_the_tolerance(
    client_as: Callable[[Role | None], Client], role: Role
) -> None:
    client = client_as(role)
    assert client.get("/api/settings").json()["readback_tolerance"] == {"value": 0.1, "unit": "mL"}
    assert patch(client, {"readback_tolerance": "0.5 mL"}).status_code == 403
    assert clinic_settings().readback_tolerance_ml == Decimal("0.1")


def test_the_schema_documents_the_tolerance_its_ceiling_and_that_it_is_unverified(
    client_as: Callable[[Role | None], Client],
) -> None:
    schemas = client_as(None).get("/api/openapi.json").json()["components"]["schemas"]
    described = schemas["SettingsChange"]["properties"]["readback_tolerance"]["description"]
    assert "below 1 mL" in described and "maino-2017" in described
    assert "unverified" in described
    assert "readback_tolerance_verified" in schemas["SettingsOut"]["properties"]


def test_the_api_shows_the_incident_a_differing_readback_opened(
    client_as: Callable[[Role | None], Client], titrated: Program
) -> None:
    nurse = client_as(Role.NURSE)
    answer = post(nurse, f"/api/programs/{titrated.id}/readbacks", at_440("20 mL"))
    assert answer.status_code == 201, answer.content
    incident = Incident.objects.get()
    assert answer.json()["incident_id"] == str(incident.id)
    history = nurse.get(f"/api/implants/{titrated.implant_id}/prescriptions").json()
    (session,) = [
        p for v in history for p in v["programmed"] if p["program_id"] == str(titrated.id)
    ]
    assert session["state"] == "stopped"
    assert [r["incident_id"] for r in session["readbacks"]] == [str(incident.id)]
    patient_id = titrated.implant.episode.patient_id
    (listed,) = nurse.get(f"/api/patients/{patient_id}/incidents").json()
    assert listed["id"] == str(incident.id) and listed["closed_at"] is None
    assert listed["opened_at"] == answer.json()["read_at"]
