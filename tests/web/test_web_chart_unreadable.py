"""The chart of a pump whose prescription holds a row written outside the application (a step
on weekday 9, an open finding of issue 14's sixth outside attack): it answered 500. It answers
200 now, the row named in an alert, the running program, the projection and the settings history
flagged as unreadable rather than shown as missing, and the error logged."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Implant, PrescriptionStep
from painpump.clinic.reads import prescriptions

pytestmark = pytest.mark.django_db

WEEKDAY_9 = (
    "its row cannot be read: a step&#x27;s weekday is 9, not a day of the week (0 Monday to 6 "
    "Sunday): a row written outside the application"
)


def test_the_chart_of_a_pump_with_a_step_on_weekday_9_answers_200_naming_the_row(
    implant: Implant, physician: User, caplog: pytest.LogCaptureFixture
) -> None:
    record = prescriptions.in_force(implant)
    assert record is not None
    PrescriptionStep.objects.filter(prescription=record, weekday=6).update(weekday=9)
    client = Client()
    client.force_login(physician)
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/patients/{implant.episode.patient_id}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="unreadable"' in page
    assert f"prescription {record.id}: {WEEKDAY_9}" in page
    assert 'data-testid="program-unreadable"' in page
    assert "The settings history cannot be read" in page
    assert 'data-testid="projection-unreadable"' in page
    assert "The pump has not been filled yet" not in page
    assert "No prescription yet" not in page
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"pump {implant.id} without its program" in m for m in logged), logged
    assert any(f"pump {implant.id} without its settings history" in m for m in logged), logged


def test_a_sound_chart_shows_no_alert(implant: Implant, physician: User) -> None:
    client = Client()
    client.force_login(physician)
    page = client.get(f"/patients/{implant.episode.patient_id}/").content.decode()
    assert 'data-testid="unreadable"' not in page
    assert 'data-testid="program-unreadable"' not in page
