"""The program a pump runs, as the API shows it (issue 13): a flex program's steps day by day and
its patient-bolus (PTM) settings, equal to the prescription's, wherever the program is shown (the
programming's answer, the implant, its refills); a continuous program one step a day; a single
bolus no days and no patient boluses; a program recorded before prescriptions continuous at its
dose. Each quantity carries its unit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import (
    baclofen_implant,
    check_body,
    left_at,
    post,
    prescription_body,
    refill_body,
    version_of,
)

from clinic_fixtures import single_bolus_programmed
from painpump import clock
from painpump.clinic.models import Implant, Patient, Program
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db
Clients = Callable[[Role | None], Client]

WEEKDAY_STEPS = [
    {"start": "00:00", "dose": {"value": 400, "unit": "mcg/day"}},
    {"start": "08:00", "dose": {"value": 360, "unit": "mcg/day"}},
    {"start": "18:00", "dose": {"value": 400, "unit": "mcg/day"}},
]
"""therapy_setup.FLEX on a weekday: 400 mcg/day, 360 from 08:00 to 18:00."""
WEEKEND_STEPS = [{"start": "00:00", "dose": {"value": 400, "unit": "mcg/day"}}]
PTM_SHOWN = {
    "dose": {"value": 10, "unit": "mcg"},
    "duration": {"value": 120, "unit": "s"},
    "lockout": {"value": 10800, "unit": "s"},
    "max_per_day": 4,
}
"""therapy_setup.PTM (10 mcg over 2 min, lockout 3 hour, 4 a day), as PrescriptionOut shows it."""


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def _get(client: Client, url: str) -> Any:
    answer = client.get(url)
    assert answer.status_code == 200, answer.content
    return answer.json()


def _flex_ready(client_as: Clients, implant: Implant) -> dict[str, Any]:
    """therapy_setup's flex prescription with patient boluses, signed by the physician and
    double-checked by the pharmacist through the API: ready to program."""
    url = f"/api/implants/{implant.id}/prescriptions"
    signed = post(client_as(Role.PHYSICIAN), url, prescription_body(version_of(implant)))
    assert signed.status_code == 201, signed.content
    checks = f"/api/prescriptions/{signed.json()['id']}/checks"
    checked = post(client_as(Role.PHARMACIST), checks, check_body())
    assert checked.status_code == 201, checked.content
    ready: dict[str, Any] = checked.json()["prescription"]
    assert ready["status"] == "ready"
    return ready


def _runs_the_prescription(shown: dict[str, Any], prescription: dict[str, Any]) -> None:
    assert (shown["prescription"], shown["kind"]) == (prescription["number"], "flex")
    assert shown["days"] == prescription["program"]["days"]
    assert shown["ptm"] == prescription["ptm"] == PTM_SHOWN
    assert [d["day"] for d in shown["days"]] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert [d["steps"] for d in shown["days"]] == [WEEKDAY_STEPS] * 5 + [WEEKEND_STEPS] * 2
    assert shown["days"][0]["dose"] == {"value": 383.333, "unit": "mcg/day"}  # 10 h at 360
    assert shown["days"][5]["dose"] == {"value": 400, "unit": "mcg/day"}


def test_a_flex_program_programmed_between_refills_shows_its_steps_and_ptm_as_prescribed(
    client_as: Clients, implant: Implant
) -> None:
    ready = _flex_ready(client_as, implant)
    nurse = client_as(Role.NURSE)
    url = f"/api/implants/{implant.id}/programs"
    programmed = post(nurse, url, {"version": ready["implant_version"]})
    assert programmed.status_code == 201, programmed.content
    _runs_the_prescription(programmed.json(), ready)

    shown = _get(nurse, f"/api/implants/{implant.id}")
    assert shown["program"]["id"] == programmed.json()["id"]
    _runs_the_prescription(shown["program"], ready)
    (in_force, *_) = _get(nurse, f"/api/implants/{implant.id}/prescriptions")
    assert (in_force["number"], in_force["status"]) == (ready["number"], "active")
    _runs_the_prescription(shown["program"], in_force)


def test_a_flex_program_filled_at_a_refill_shows_its_steps_and_ptm_in_the_refill(
    client_as: Clients, implant: Implant
) -> None:
    ready = _flex_ready(client_as, implant)
    nurse = client_as(Role.NURSE)
    now = clock.now()
    left = left_at(implant, now)  # the pump delivered as recorded
    body = refill_body(
        left,
        idempotency_key="flex-fill",
        performed_at=now.isoformat(),
        expected=left,
        version=ready["implant_version"],
    )
    del body["dose"]  # a flex program has no one daily dose to type
    filled = post(nurse, f"/api/implants/{implant.id}/refills", body)
    assert filled.status_code == 201, filled.content
    _runs_the_prescription(filled.json()["program"], ready)

    *_, newest = _get(nurse, f"/api/implants/{implant.id}/refills")
    assert newest["id"] == filled.json()["id"]
    _runs_the_prescription(newest["program"], ready)
    shown = _get(nurse, f"/api/implants/{implant.id}")
    _runs_the_prescription(shown["program"], ready)
    _runs_the_prescription(shown["last_refill"]["program"], ready)


CONTINUOUS_DAY = {
    "steps": [{"start": "00:00", "dose": {"value": 400, "unit": "mcg/day"}}],
    "dose": {"value": 400, "unit": "mcg/day"},
}
"""A day of the fixture's continuous 400 mcg/day program: one step from 00:00."""


def _single_bolus(implant: Implant) -> None:
    single_bolus_programmed(implant.id, at=clock.now() - timedelta(minutes=5))


def _before_prescriptions(implant: Implant) -> None:
    Program.objects.filter(implant=implant).update(prescription=None)


@pytest.mark.parametrize(
    ("change", "kind", "days", "why"),
    [
        (None, "continuous", 7, "a continuous program is one step a day, every day"),
        (_single_bolus, "single bolus", 0, "a single bolus runs no basal day"),
        (_before_prescriptions, "continuous", 7, "programmed before prescriptions: its dose"),
    ],
    ids=["continuous", "single-bolus", "before-prescriptions"],
)
def test_a_program_without_patient_boluses_shows_its_days_and_no_ptm(
    client_as: Clients,
    implant: Implant,
    change: Callable[[Implant], None] | None,
    kind: str,
    days: int,
    why: str,
) -> None:
    if change is not None:
        change(implant)
    shown = _get(client_as(Role.NURSE), f"/api/implants/{implant.id}")["program"]
    assert shown["kind"] == kind, why
    assert shown["ptm"] is None, why
    assert [d["day"] for d in shown["days"]] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][
        :days
    ], why
    assert all({k: d[k] for k in ("steps", "dose")} == CONTINUOUS_DAY for d in shown["days"]), why


def test_the_openapi_program_names_its_days_and_ptm_with_their_units(client_as: Clients) -> None:
    schemas = _get(client_as(None), "/api/openapi.json")["components"]["schemas"]
    program = schemas["ProgramOut"]
    assert {"days", "ptm"} <= set(program["required"])
    assert program["properties"]["days"]["items"] == {"$ref": "#/components/schemas/DayOut"}
    ptm = program["properties"]["ptm"]["anyOf"]
    assert {"$ref": "#/components/schemas/PtmOut"} in ptm
    for name in ("dose", "duration", "lockout"):
        assert schemas["PtmOut"]["properties"][name]["$ref"] == "#/components/schemas/QuantityOut"
    units = {
        ("PtmOut", "duration"): "(s)",
        ("PtmOut", "lockout"): "(s)",
        ("PtmOut", "dose"): "(mcg)",
        ("DayOut", "dose"): "(mcg/day)",
        ("StepShownOut", "dose"): "(mcg/day)",
        ("ProgramOut", "dose"): "(mcg/day)",
        ("ProgramOut", "rate"): "(mL/day)",
        ("PrescriptionOut", "daily_dose"): "mcg/day",
    }
    for (shape, field), unit in units.items():
        assert unit in schemas[shape]["properties"][field]["description"], (shape, field)
