"""No patient data in the logs or on the error pages: requests that fail in every way a clinic
meets (a record that does not exist, a stale edit, a refused input, a server fault) and a search
by a patient's name, through the web app and the API, with every logger captured at DEBUG: the
patient's name, date of birth and record number appear in no log record (message or traceback),
and the 404 and 500 pages show none of them. (`painpump serve` writes no access log, whose
request lines would carry search queries: tests/api/test_api_serve.py.)"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Implant, Patient
from painpump.web.views import patients as patient_pages

pytestmark = pytest.mark.django_db

SECRETS = ("Muster", "Erika", "1970-05-01", "01.05.1970", "MRN-0001")


def signed_in(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def logged(caplog: pytest.LogCaptureFixture) -> str:
    handler = logging.Formatter()
    return "\n".join(
        record.getMessage() + (handler.formatException(record.exc_info) if record.exc_info else "")
        for record in caplog.records
    )


def assert_nothing_of_the_patient(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked"


def test_failing_requests_and_searches_leave_no_patient_data_in_the_logs(
    caplog: pytest.LogCaptureFixture, nurse: User, patient: Patient, implant: Implant
) -> None:
    caplog.set_level(logging.DEBUG)
    client = signed_in(nurse)
    json = "application/json"
    responses = {
        "web 404": client.get(f"/patients/{uuid.uuid4()}/"),
        "api 404": client.get(f"/api/patients/{uuid.uuid4()}"),
        "web search": client.get("/patients/?q=Muster"),
        "api search": client.get("/api/patients?q=Muster"),
        "api 409": client.patch(
            f"/api/patients/{patient.id}", {"version": 99, "given_name": "Eva"}, content_type=json
        ),
        "api 422": client.post(
            "/api/patients",
            {"mrn": "MRN-0001", "family_name": "Muster", "given_name": "Erika", "birth_date": "x"},
            content_type=json,
        ),
        "api duplicate": client.post(
            "/api/patients",
            {
                "mrn": "MRN-0001",
                "family_name": "Muster",
                "given_name": "Erika",
                "birth_date": "1970-05-01",
            },
            content_type=json,
        ),
        "web 422": client.post(
            "/patients/new/",
            {
                "mrn": "MRN-0001",
                "family_name": "Muster",
                "given_name": "Erika",
                "birth_date": "1970-05-01",
            },
        ),
    }
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "web 404": 404,
        "api 404": 404,
        "web search": 200,
        "api search": 200,
        "api 409": 409,
        "api 422": 422,
        "api duplicate": 422,
        "web 422": 422,
    }
    assert caplog.records, "the failures were logged (as paths, without patient data)"
    assert_nothing_of_the_patient(logged(caplog))
    for name in ("web 404", "api 404"):
        assert_nothing_of_the_patient(responses[name].content.decode())


def test_a_server_error_on_a_chart_logs_and_shows_no_patient_data(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    nurse: User,
    implant: Implant,
    patient: Patient,
) -> None:
    """A fault after the chart was read (the patient's data in memory): the 500 page and the log
    name the path and the exception, nothing of the patient."""
    assert settings.DEBUG is False

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated fault while drawing the chart")

    monkeypatch.setattr(patient_pages, "reservoir_data", broken)
    caplog.set_level(logging.DEBUG)
    response = signed_in(nurse).get(f"/patients/{patient.id}/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Traceback" not in page and "simulated fault" not in page
    assert_nothing_of_the_patient(page)
    text = logged(caplog)
    assert "simulated fault while drawing the chart" in text  # the fault itself is logged
    assert_nothing_of_the_patient(text)
