"""Patients, episodes and assessments through HTTP: what is stored and shown (quantities with
units), audited reads, a stale version is a 409 and never an overwrite, bad input a 422 naming
field, value and limit with nothing stored, an unknown record a 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from clinic_fixtures import written_entries
from frozen import day
from painpump.clinic.models import Assessment, AuditEntry, Episode, Patient
from painpump.clinic.roles import Role

JSON = "application/json"


def test_a_nurse_creates_reads_and_finds_a_patient(
    client_as: Callable[[Role | None], Client],
) -> None:
    nurse = client_as(Role.NURSE)
    body = {
        "mrn": "MRN-7",
        "family_name": "Muster",
        "given_name": "Erika",
        "birth_date": "1970-05-01",
    }
    created = nurse.post("/api/patients", body, content_type=JSON)
    assert created.status_code == 201
    record = created.json()
    assert record["version"] == 1 and record["archived"] is False
    assert record["birth_date"] == "1970-05-01"
    read = nurse.get(f"/api/patients/{record['id']}").json()
    assert read == record
    for query, found in [("must", 1), ("erika muster", 1), ("mrn-7", 1), ("nobody", 0), ("", 1)]:
        assert len(nurse.get("/api/patients", {"q": query}).json()) == found, query


def test_reads_and_searches_are_audited(
    client_as: Callable[[Role | None], Client], patient: Patient, episode: Episode
) -> None:
    auditor = client_as(Role.AUDITOR)
    auditor.get(f"/api/patients/{patient.id}")
    auditor.get("/api/patients", {"q": "Muster"})
    auditor.get(f"/api/patients/{patient.id}/episodes")
    auditor.get(f"/api/episodes/{episode.id}")
    auditor.get(f"/api/episodes/{episode.id}/assessments")
    actions = list(AuditEntry.objects.filter(actor="audi.tor").values_list("action", flat=True))
    assert actions == [
        "patient.read",
        "patient.search",
        "episode.list",
        "episode.read",
        "assessment.list",
    ]


def test_two_clinicians_editing_the_same_patient_conflict_instead_of_overwriting(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    nurse, physician = client_as(Role.NURSE), client_as(Role.PHYSICIAN)
    url = f"/api/patients/{patient.id}"
    seen_by_nurse = nurse.get(url).json()["version"]
    seen_by_physician = physician.get(url).json()["version"]
    first = nurse.patch(url, {"version": seen_by_nurse, "given_name": "Eva"}, content_type=JSON)
    assert first.status_code == 200 and first.json()["version"] == 2
    second = physician.patch(
        url, {"version": seen_by_physician, "given_name": "Erika Maria"}, content_type=JSON
    )
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["current_version"] == 2
    assert error["expected_version"] == 1
    assert "changed by someone else" in error["message"]
    patient.refresh_from_db()
    assert (patient.given_name, patient.version) == ("Eva", 2)
    retried = physician.patch(url, {"version": 2, "given_name": "Erika Maria"}, content_type=JSON)
    assert retried.status_code == 200 and retried.json()["version"] == 3


GOOD_PATIENT = {"mrn": "MRN-9", "family_name": "A", "given_name": "B", "birth_date": "1980-01-01"}


@pytest.mark.parametrize(
    ("change", "field", "value", "limit"),
    [
        ({"birth_date": "2090-01-01"}, "birth_date", "2090-01-01", "from 1900-01-01 to"),
        ({"family_name": "x" * 121}, "family_name", "'" + "x" * 121 + "'", "1 to 120 characters"),
        ({"mrn": "MRN-0001"}, "mrn", "MRN-0001", "a medical record number not yet used"),
        ({"mrn": None}, "mrn", "None", "Input should be a valid string"),
        ({"mrn": 12345}, "mrn", "12345", "Input should be a valid string"),
        ({"birth_date": "1.1.1980"}, "birth_date", "1.1.1980", "Input should be a valid date"),
        ({"weight": "70 kg"}, "weight", "70 kg", "Extra inputs are not permitted"),
    ],
)
def test_bad_patient_input_is_a_422_naming_field_value_and_limit_and_stores_nothing(
    client_as: Callable[[Role | None], Client],
    patient: Patient,
    change: dict[str, Any],
    field: str,
    value: str,
    limit: str,
) -> None:
    before = Patient.objects.count(), AuditEntry.objects.count()
    response = client_as(Role.NURSE).post(
        "/api/patients", {**GOOD_PATIENT, **change}, content_type=JSON
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["field"], error["value"]) == (field, value)
    assert limit in error["limit"]
    assert error["source"] and field in error["message"]
    assert (Patient.objects.count(), AuditEntry.objects.count()) == before


def test_a_missing_field_is_named(client_as: Callable[[Role | None], Client]) -> None:
    body = {k: v for k, v in GOOD_PATIENT.items() if k != "mrn"}
    error = client_as(Role.NURSE).post("/api/patients", body, content_type=JSON).json()["error"]
    assert (error["field"], error["value"], error["limit"]) == ("mrn", "missing", "Field required")


@pytest.mark.parametrize(
    ("body", "field", "limit"),
    [
        ({"given_name": "Eva"}, "version", "Field required"),
        ({"version": "1", "given_name": "Eva"}, "version", "valid integer"),
        ({"version": 0}, "version", "greater than or equal to 1"),
        ({"version": 1, "mrn": "X"}, "mrn", "Extra inputs are not permitted"),
        ({"version": 1, "given_name": ""}, "given_name", "1 to 120 characters"),
    ],
)
def test_bad_patient_changes_are_refused_and_change_nothing(
    client_as: Callable[[Role | None], Client],
    patient: Patient,
    body: dict[str, Any],
    field: str,
    limit: str,
) -> None:
    response = client_as(Role.NURSE).patch(f"/api/patients/{patient.id}", body, content_type=JSON)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == field and limit in error["limit"]
    patient.refresh_from_db()
    assert (patient.given_name, patient.version) == ("Erika", 1)


def test_a_physician_opens_and_lists_episodes(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    physician = client_as(Role.PHYSICIAN)
    url = f"/api/patients/{patient.id}/episodes"
    opened = physician.post(
        url, {"indication": "stroke", "referred_on": day(-23).isoformat()}, content_type=JSON
    )
    assert opened.status_code == 201
    episode = opened.json()
    assert episode["stage"] == "referred" and episode["patient_id"] == str(patient.id)
    assert [e["id"] for e in physician.get(url).json()] == [episode["id"]]
    assert physician.get(f"/api/episodes/{episode['id']}").json() == episode
    refused = physician.post(
        url, {"indication": "migraine", "referred_on": day(-23).isoformat()}, content_type=JSON
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("indication", "'migraine'")
    assert "tumour_pain" in error["limit"]
    assert Episode.objects.count() == 1


def test_assessments_carry_units_for_the_oral_morphine_equivalent_dose(
    client_as: Callable[[Role | None], Client], episode: Episode
) -> None:
    nurse = client_as(Role.NURSE)
    url = f"/api/episodes/{episode.id}/assessments"
    posts = [
        {"kind": "pain_nrs", "value": 7, "taken_at": f"{day(-5)}T09:00:00Z"},
        {
            "kind": "omed_mg_per_day",
            "value": {"value": 120, "unit": "mg/day"},
            "taken_at": f"{day(-5)}T09:05:00Z",
        },
        {
            "kind": "omed_mg_per_day",
            "value": {"value": 90000, "unit": "mcg/day"},
            "taken_at": f"{day(-4)}T09:05:00+01:00",
        },
        {
            "kind": "ashworth",
            "value": 1.5,
            "limb": "left_leg",
            "taken_at": f"{day(-3)}T09:00:00Z",
        },
    ]
    for body in posts:
        response = nurse.post(url, body, content_type=JSON)
        assert response.status_code == 201, response.content
    listed = nurse.get(url).json()
    assert [a["value"] for a in listed] == [
        7,
        {"value": 120, "unit": "mg/day"},
        {"value": 90, "unit": "mg/day"},
        1.5,
    ]
    assert listed[2]["taken_at"] == f"{day(-4)}T08:05:00Z"
    assert {a["recorded_by"] for a in listed} == {"nurse.joy"}
    entry = AuditEntry.objects.filter(action="assessment.record").last()
    assert entry is not None and entry.after is not None and entry.after["value"] == "1.5"


@pytest.mark.parametrize(
    ("body", "field", "value", "limit"),
    [
        ({"kind": "pain_nrs", "value": 11}, "value", "11", "0 to 10"),
        ({"kind": "pain_nrs", "value": -1}, "value", "-1", "0 to 10"),
        (
            {"kind": "pain_nrs", "value": {"value": 5, "unit": "mg/day"}},
            "value",
            "5 mg/day",
            "a plain score without unit",
        ),
        ({"kind": "omed_mg_per_day", "value": 120}, "value", "120", "with its unit"),
        (
            {"kind": "omed_mg_per_day", "value": {"value": 120, "unit": "mg"}},
            "value",
            "'120 mg'",
            "dose rate",
        ),
        (
            {"kind": "omed_mg_per_day", "value": {"value": 200, "unit": "g/day"}},
            "value",
            "200000 mg/day",
            "0 to 100000 mg/day",
        ),
        ({"kind": "ashworth", "value": 2}, "limb", "missing", "the limb assessed"),
        ({"kind": "mood", "value": 2}, "kind", "'mood'", "pain_nrs"),
        (
            {"kind": "pain_nrs", "value": 2, "taken_at": f"{day(-5)}T09:00:00"},
            "taken_at",
            f"{day(-5)}T09:00:00",
            "timezone",
        ),
    ],
)
def test_bad_assessments_are_refused_with_field_value_and_limit(
    client_as: Callable[[Role | None], Client],
    episode: Episode,
    body: dict[str, Any],
    field: str,
    value: str,
    limit: str,
) -> None:
    response = client_as(Role.NURSE).post(
        f"/api/episodes/{episode.id}/assessments",
        {"taken_at": f"{day(-5)}T09:00:00Z", **body},
        content_type=JSON,
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert (error["field"], error["value"]) == (field, value)
    assert limit in error["limit"]
    assert Assessment.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/patients/{id}"),
        ("get", "/api/patients/{id}/episodes"),
        ("get", "/api/episodes/{id}"),
        ("get", "/api/episodes/{id}/assessments"),
        ("patch", "/api/patients/{id}"),
        ("post", "/api/patients/{id}/episodes"),
        ("post", "/api/episodes/{id}/assessments"),
    ],
)
def test_an_unknown_record_is_a_404(
    client_as: Callable[[Role | None], Client], method: str, path: str
) -> None:
    bodies = {
        "/api/patients/{id}": {"version": 1},
        "/api/patients/{id}/episodes": {
            "indication": "stroke",
            "referred_on": day(-23).isoformat(),
        },
        "/api/episodes/{id}/assessments": {
            "kind": "pain_nrs",
            "value": 3,
            "taken_at": f"{day(-5)}T09:00:00Z",
        },
    }
    url = path.format(id=uuid.uuid4())
    client = client_as(Role.PHYSICIAN)
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, bodies[path], content_type=JSON)
    assert response.status_code == 404, response.content
    assert "does not exist" in response.json()["error"]["message"]
    assert not written_entries().exists()


def test_a_malformed_id_is_a_422_naming_it(client_as: Callable[[Role | None], Client]) -> None:
    response = client_as(Role.PHYSICIAN).get("/api/patients/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "patient_id"


def test_an_unknown_path_is_a_404(client_as: Callable[[Role | None], Client]) -> None:
    assert client_as(Role.PHYSICIAN).get("/api/nothing-here").status_code == 404


def test_a_lost_uniqueness_race_is_a_409_that_shows_no_patient_data(
    client_as: Callable[[Role | None], Client],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from django.db import IntegrityError

    from painpump.clinic.actions import patients

    def racing(*args: object, **kwargs: object) -> None:
        raise IntegrityError('duplicate key value violates "mrn" (mrn)=(MRN-9)')

    monkeypatch.setattr(patients, "create_patient", racing)
    response = client_as(Role.NURSE).post("/api/patients", GOOD_PATIENT, content_type=JSON)
    assert response.status_code == 409
    assert "MRN-9" not in response.content.decode()
    assert "MRN-9" not in caplog.text
