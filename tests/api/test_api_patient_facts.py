"""The patient facts and the origin-of-spasticity override through the API: round trips, a
refusal as JSON naming the field, a stale version as a 409."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from painpump.clinic.models import AuditEntry, Episode, Patient
from painpump.clinic.roles import Role

JSON = "application/json"
NEW = {
    "mrn": "MRN-API-F",
    "family_name": "Fakt",
    "given_name": "Frieda",
    "birth_date": "1950-06-07",
}


def test_the_facts_round_trip_through_create_read_and_patch(
    client_as: Callable[[Role | None], Client],
) -> None:
    nurse = client_as(Role.PHYSICIAN)  # the facts doses depend on: a prescriber
    created = nurse.post(
        "/api/patients",
        {
            **NEW,
            "weight_kg": 58.25,
            "opioid_status": "tolerant",
            "psychosis_history": False,
            "life_expectancy_months": 4,
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["weight_kg"] == 58.25
    assert body["opioid_status"] == "tolerant"
    assert body["psychosis_history"] is False
    assert body["life_expectancy_months"] == 4
    url = f"/api/patients/{body['id']}"
    assert nurse.get(url).json() == body
    changed = nurse.patch(
        url, {"version": 1, "weight_kg": 60, "psychosis_history": None}, content_type=JSON
    ).json()
    assert (changed["weight_kg"], changed["psychosis_history"], changed["version"]) == (
        60,
        None,
        2,
    )
    assert changed["opioid_status"] == "tolerant"


def test_a_patient_without_facts_shows_them_unknown(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    body = client_as(Role.NURSE).get(f"/api/patients/{patient.id}").json()
    assert body["weight_kg"] is None
    assert body["opioid_status"] == "unknown"
    assert body["psychosis_history"] is None
    assert body["life_expectancy_months"] is None


def test_an_implausible_weight_is_a_422_naming_the_field_and_stores_nothing(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    before = AuditEntry.objects.filter(action="patient.update").count()
    response = client_as(Role.NURSE).patch(
        f"/api/patients/{patient.id}", {"version": 1, "weight_kg": 720}, content_type=JSON
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["field"], error["value"]) == ("weight_kg", "720 kg")
    assert "0.5 to 400 kg" in error["limit"]
    assert error["source"] == "painpump input rules"
    assert AuditEntry.objects.filter(action="patient.update").count() == before
    patient.refresh_from_db()
    assert patient.weight_kg is None


def test_the_origin_override_round_trips_and_shows_its_basis(
    client_as: Callable[[Role | None], Client], episode: Episode
) -> None:
    physician = client_as(Role.PHYSICIAN)
    url = f"/api/episodes/{episode.id}"
    shown = physician.get(url).json()
    assert (shown["origin"], shown["origin_basis"], shown["origin_override"]) == (
        "spinal",
        "indication",
        "",
    )
    reason = "a cerebral lesion explains the spasticity"
    body: dict[str, Any] = {"version": 1, "origin": "cerebral", "reason": reason}
    overridden = physician.put(f"{url}/origin", body, content_type=JSON)
    assert overridden.status_code == 200, overridden.content
    got = overridden.json()
    assert (got["origin"], got["origin_basis"], got["origin_reason"]) == (
        "cerebral",
        "override",
        reason,
    )
    assert physician.get(url).json()["origin"] == "cerebral"
    stale = physician.put(f"{url}/origin", body, content_type=JSON)
    assert stale.status_code == 409


def test_an_override_without_a_reason_is_a_422_and_a_nurse_may_not_override(
    client_as: Callable[[Role | None], Client], episode: Episode
) -> None:
    url = f"/api/episodes/{episode.id}/origin"
    body = {"version": 1, "origin": "cerebral", "reason": ""}
    refused = client_as(Role.PHYSICIAN).put(url, body, content_type=JSON)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "reason"
    forbidden = client_as(Role.NURSE).put(
        url, body | {"reason": "a long enough reason"}, content_type=JSON
    )
    assert forbidden.status_code == 403
    episode.refresh_from_db()
    assert (episode.origin_override, episode.version) == ("", 1)
