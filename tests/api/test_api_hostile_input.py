"""The API under the hostile input of issue 14's security test, each once a 500 (an HTML page on
an API path) or a 2 MB answer: now a 422 in JSON naming the field, with the value echoed short.
A dose of 1e1000000, a lone surrogate in a name, a number written out in a million digits, a
megabyte of text; and a write without the version it must carry."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import (
    JSON,
    baclofen_implant,
    expected_to_live,
    new_episode,
    post,
    refill_body,
    today,
    version_of,
)

from painpump.clinic.models import Appointment, AuditEntry, Implant, Patient, Refill
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core.errors import ECHO_MAX
from painpump.core.text import TEXT_RULES

SMALL = 2_000
"""The most bytes a refusal's answer needs: it names the field, the limit and the source, and
echoes at most ECHO_MAX characters of what was sent."""


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def refused(response: Any, field: str) -> dict[str, Any]:
    """The JSON error of a clean 422 naming `field`, with its echo short."""
    assert response.status_code == 422, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert len(response.content) < SMALL, len(response.content)
    error: dict[str, Any] = response.json()["error"]
    assert error["field"] == field, error
    assert len(error["value"]) <= ECHO_MAX
    return error


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dose": "1e1000000 mcg/day"}, "dose"),
        ({"dose": {"value": "1e1000000", "unit": "mcg/day"}}, "dose"),
        ({"volume": "1e1000000 mL"}, "volume"),
        ({"volume": "1e9999999999999999999 mL"}, "volume"),
        ({"volume": {"value": "1e999999", "unit": "mL"}}, "volume"),
        ({"volume": {"value": "9" * 40, "unit": "mL"}}, "volume"),
        ({"volume": "1" * 100_000 + " mL"}, "volume"),
        ({"expected": {"value": "-1e-999999", "unit": "mL"}}, "expected"),
        ({"lot": "L" * 100_000}, "lot"),
        ({"overrides": {"x" * 100_000: "a reason of some length"}}, "overrides"),
    ],
    ids=[
        "dose-1e1000000",
        "dose-object-1e1000000",
        "volume-1e1000000",
        "volume-exponent-of-19-digits",
        "volume-million-digits",
        "volume-40-digits",
        "volume-100k-digits",
        "expected-tiny",
        "lot-100k",
        "override-key-100k",
    ],
)
def test_a_hostile_number_or_text_in_a_refill_is_a_short_json_422_naming_the_field(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    changes: dict[str, Any],
    field: str,
) -> None:
    """Regression: a dose of 1e1000000 answered a 500 HTML page; a 40-byte number a 2 MB body."""
    before = Refill.objects.count(), AuditEntry.objects.count()
    body = refill_body(idempotency_key="hostile", version=version_of(implant)) | changes
    response = post(client_as(Role.NURSE), f"/api/implants/{implant.id}/refills", body)
    error = refused(response, field) if field != "overrides" else response.json()["error"]
    assert response.status_code == 422 and len(response.content) < SMALL
    assert error["field"].startswith(field)
    assert (Refill.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize("field", ["family_name", "given_name", "mrn"])
def test_a_lone_surrogate_in_a_name_is_a_json_422_naming_the_field(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], field: str
) -> None:
    """Regression: a lone surrogate ("\\ud800" in the JSON) in a name answered a 500."""
    body = {"mrn": "MRN-S1", "family_name": "Muster", "given_name": "Erika"}
    body["birth_date"] = "1960-01-01"
    raw = json.dumps(body).replace(f'"{field}": "', f'"{field}": "\\ud800', 1)
    response = client_as(Role.NURSE).post("/api/patients", raw, content_type=JSON)
    refused(response, field)
    assert not Patient.objects.filter(mrn__startswith="MRN-S").exists()


HIDDEN = "LOT-\u202e4321\u202c-\u200b"
"""A right-to-left override, its end and a zero-width space: the lot shows as another."""
HIDDEN_SHOWN = "LOT-\\u202e4321\\u202c-\\u200b"


def test_a_lot_with_format_characters_is_refused_escaped_naming_the_rule(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """Issue 14: bidi overrides and a zero-width space, refused in patient names, passed in a
    refill's lot."""
    before = Refill.objects.count(), AuditEntry.objects.count()
    body = refill_body(idempotency_key="bidi", version=version_of(implant), lot=HIDDEN)
    error = refused(post(client_as(Role.NURSE), f"/api/implants/{implant.id}/refills", body), "lot")
    assert error["value"] == HIDDEN_SHOWN and error["source"] == TEXT_RULES
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in error["message"]
    assert (Refill.objects.count(), AuditEntry.objects.count()) == before


def test_a_pump_serial_with_format_characters_is_refused_escaped_naming_the_rule(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    expected_to_live(users[Role.NURSE], patient)
    episode = new_episode(users[Role.PHYSICIAN], patient, "tumour_pain", 30)
    body = {
        "version": 1,
        "pump_model": "synchromed-ii-20",
        "pump_serial": HIDDEN,
        "catheter_model": "8709SC",
        "catheter_length": "60 cm",
        "dead_volume": "0.25 mL",
        "acknowledge": dict(MEDTRONIC_CATHETER),
        "implanted_on": today().isoformat(),
    }
    before = AuditEntry.objects.count()
    client = client_as(Role.PHYSICIAN)
    error = refused(post(client, f"/api/episodes/{episode.id}/implants", body), "pump_serial")
    assert error["value"] == HIDDEN_SHOWN and error["source"] == TEXT_RULES
    assert not Implant.objects.exists() and AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("mrn", "value"),
    [("MRN-\u041e001", "MRN-\\u041e001"), ("MRN-\uff10\uff10\uff10\uff11", "MRN-0001")],
    ids=["cyrillic-o", "fullwidth-digits"],
)
def test_a_record_number_with_a_look_alike_is_a_json_422_naming_it_escaped(
    client_as: Callable[[Role | None], Client], patient: Patient, mrn: str, value: str
) -> None:
    """Regression: a second record could look like an existing one (MRN-0001 here)."""
    body = {"mrn": mrn, "family_name": "Muster", "given_name": "Erik", "birth_date": "1960-01-01"}
    error = refused(post(client_as(Role.NURSE), "/api/patients", body), "mrn")
    assert error["value"] == value
    assert Patient.objects.count() == 1


def test_a_refill_without_the_implant_version_is_refused_naming_it(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """Regression: refills took the version as optional, and four concurrent refills of one
    pump with different keys recorded three (blind writes)."""
    nurse = client_as(Role.NURSE)
    for key in ("blind-1", "blind-2"):
        body = refill_body(idempotency_key=key)
        error = refused(post(nurse, f"/api/implants/{implant.id}/refills", body), "version")
        assert error["value"] == "missing"
    assert Refill.objects.filter(implant=implant).count() == 1  # the first fill only
    stale = refill_body(idempotency_key="stale", version=version_of(implant) - 1)
    assert post(nurse, f"/api/implants/{implant.id}/refills", stale).status_code == 409


def test_a_programming_or_an_appointment_change_without_its_version_is_refused_naming_it(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    nurse = client_as(Role.NURSE)
    refused(post(nurse, f"/api/implants/{implant.id}/programs", {}), "version")
    appointment = Appointment.objects.get()
    answer = nurse.patch(
        f"/api/appointments/{appointment.id}",
        {"status": "booked", "late_reason": "patient abroad until then"},
        content_type=JSON,
    )
    refused(answer, "expected_version")
    assert Appointment.objects.get().version == appointment.version


def test_a_huge_discriminator_is_echoed_short_in_every_part_of_the_answer(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """Regression: a program kind of a million characters came back four times in full (4 MB)."""
    answer = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{implant.id}/prescriptions/preview",
        {
            "drugs": [{"drug": "baclofen", "concentration": "2 mg/mL"}],
            "program": {"kind": "A" * 1_000_000},
        },
    )
    assert answer.status_code == 422
    assert len(answer.content) < 5_000


def test_a_request_to_a_host_not_allowed_is_a_json_400_on_api_paths(client: Client) -> None:
    """Regression: a Host not allowed answered Django's HTML 400 on /api/ paths."""
    answer = client.get("/api/auth/me", HTTP_HOST="evil.example")
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("application/json")
    assert answer.json()["error"]["field"] == "request"
    page = client.get("/sign-in/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
