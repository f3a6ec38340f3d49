"""A page that works on a pump whose prescription holds a row written outside the application
(a step on weekday 9) refuses cleanly with 409, naming the row, and logs it, instead of a 500."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Implant, PrescriptionStep
from painpump.clinic.reads import prescriptions

pytestmark = pytest.mark.django_db


def test_the_refill_form_of_a_pump_with_a_step_on_weekday_9_is_a_409_naming_the_row(
    implant: Implant, nurse: User, caplog: pytest.LogCaptureFixture
) -> None:
    record = prescriptions.in_force(implant)
    assert record is not None
    PrescriptionStep.objects.filter(prescription=record, weekday=6).update(weekday=9)
    client = Client()
    client.force_login(nurse)
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/implants/{implant.id}/refill/")
    assert response.status_code == 409
    page = response.content.decode()
    assert f"prescription {record.id}: its row cannot be read" in page
    assert "weekday is 9, not a day of the week" in page
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"/implants/{implant.id}/refill/ refused" in m for m in logged), logged
