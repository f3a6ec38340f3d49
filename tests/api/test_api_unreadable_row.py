"""An API answer about a pump whose prescription holds a row written outside the application (a
step on weekday 9) is a JSON 409 naming the record and the field, not a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant

from painpump.clinic.models import Implant, Patient, PrescriptionStep
from painpump.clinic.reads import prescriptions
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def test_the_implant_of_a_pump_with_a_step_on_weekday_9_is_a_json_409_naming_the_row(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    record = prescriptions.in_force(implant)
    assert record is not None
    PrescriptionStep.objects.filter(prescription=record, weekday=6).update(weekday=9)
    response = client_as(Role.PHYSICIAN).get(f"/api/implants/{implant.id}")
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["record"] == f"prescription {record.id}"
    assert error["field"] == "a step's weekday"
    assert "weekday is 9, not a day of the week" in error["message"]
