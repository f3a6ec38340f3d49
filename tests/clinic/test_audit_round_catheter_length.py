"""Implants whose catheter length is a round number verify (the eighth outside attack, M1): the
API reads "50 cm" as Decimal("5E+1"), and the implantation's entry printed it as
"prometra-catheter 5E+1 cm", which `audit verify` then compared as text with the "50 cm" the
database holds and reported as an edit. The entry now prints the length as painpump prints
numbers ("50 cm"), and verify compares the lengths by their number, so entries already written
with "5E+1" verify too, while a length edited in the database is still named."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from django.test import Client

from frozen import TODAY, day
from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import implantation, patients
from painpump.clinic.models import AuditEntry, Implant, Patient
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

HOLDS = {"50": "0.13 mL", "30": "0.078 mL", "25": "0.065 mL"}
"""What each length of Prometra catheter holds (0.0026 mL/cm, prometra-ii-ifu)."""


def tumour_pain(physician: User, nurse: User, patient: Patient) -> Any:
    """An episode implanted directly (a life expectancy of a year recorded)."""
    patients.update_patient(
        nurse,
        patient.id,
        expected_version=patient.version,
        today=TODAY,
        life_expectancy_months=12,
    )
    return patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-10)
    )


def implant_entry(implant_id: object) -> dict[str, Any]:
    entry = AuditEntry.objects.get(action="implant.register", object_id=str(implant_id))
    assert isinstance(entry.after, dict)
    return entry.after


@pytest.mark.parametrize(
    ("length", "cm"),
    [
        ("50 cm", "50"),
        ({"value": 50, "unit": "cm"}, "50"),
        ("30 cm", "30"),
        ("25 cm", "25"),
    ],
)
def test_an_implant_registered_through_the_api_with_a_round_length_verifies(
    physician: User, nurse: User, patient: Patient, length: object, cm: str
) -> None:
    episode = tumour_pain(physician, nurse, patient)
    client = Client()
    client.force_login(physician)
    body = {
        "version": episode.version,
        "pump_model": "prometra-ii-20",
        "pump_serial": "PR-0001",
        "catheter_model": "prometra-catheter",
        "catheter_length": length,
        "dead_volume": HOLDS[cm],
        "implanted_on": TODAY.isoformat(),
    }

    response = client.post(
        f"/api/episodes/{episode.id}/implants", body, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    implant_id = response.json()["id"]
    assert implant_entry(implant_id)["catheter"] == f"prometra-catheter {cm} cm"
    outcome = audit.verify()
    assert outcome.ok, outcome.problems


def register(physician: User, episode_id: UUID, length: Decimal) -> Implant:
    return implantation.register_implantation(
        physician,
        episode_id,
        expected_version=1,
        now=clock.now(),
        pump_model="prometra-ii-20",
        pump_serial="PR-0001",
        catheter_model="prometra-catheter",
        catheter_length_cm=length,
        dead_volume=parse("0.13 mL", Kind.VOLUME, "dead_volume"),
        acknowledge={},
        alarm_volume=None,
        implanted_on=TODAY,
    )


def test_an_older_entry_that_wrote_the_length_in_exponent_notation_verifies(
    physician: User, nurse: User, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    episode = tumour_pain(physician, nurse, patient)
    length = parse("50 cm", Kind.LENGTH, "catheter_length").to("cm").value
    assert str(length) == "5E+1"  # as the API hands it over
    with monkeypatch.context() as older:  # the writer as it was: str() of the Decimal
        older.setattr(implantation, "format_decimal", str)
        implant = register(physician, episode.id, length)
    assert implant_entry(implant.id)["catheter"] == "prometra-catheter 5E+1 cm"

    assert audit.verify().ok

    Implant.objects.filter(id=implant.id).update(catheter_length_cm=Decimal(60))
    entry = AuditEntry.objects.get(action="implant.register", object_id=str(implant.id))
    problems = audit.verify().problems
    assert (
        f"implant {implant.id}: catheter is 'prometra-catheter 60 cm' in the database, "
        f"'prometra-catheter 5E+1 cm' in its audit trail (entry {entry.seq})"
    ) in problems
