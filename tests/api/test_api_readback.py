"""The programmer's readback through HTTP beyond the prescription (rule-readback): after a refill
that ran a bridge the body carries what the programmer shows of it and a difference opens an
incident; between refills the reservoir is compared with the pump's twin within the clinic's
tolerance, a correct one raising no incident and a wrong one naming the twin's volume, the
tolerance and its source (`against`: expected); the schema documents both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant, day_60, fill, post, readback_body

from painpump import clock
from painpump.clinic.actions import programs, refills
from painpump.clinic.models import Implant, Incident, Patient, Program
from painpump.clinic.reads.readback_expected import expected_reservoir
from painpump.clinic.roles import Role
from painpump.clinic.testing import prescribed
from painpump.core.units import Kind, parse

TOLD = "± 0.1 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def url_of(program: Program) -> str:
    return f"/api/programs/{program.id}/readbacks"


@pytest.fixture
def bridged(users: dict[Role, User], implant: Implant) -> Program:
    """The day-60 refill with half the concentration: a bridge of the 0.25 mL path at the rate
    that keeps 400 mcg/day of 2000 mcg/mL (0.2 mL/day)."""
    half = fill("baclofen", "1000 mcg/mL")
    dose = parse("400 mcg/day", Kind.DOSE_RATE, "d")
    at = day_60()
    prescribed(users[Role.PHYSICIAN], users[Role.PHARMACIST], implant.id, half, dose, at=at)
    refill = refills.perform_refill(
        users[Role.NURSE],
        implant.id,
        idempotency_key="half",
        performed_at=at,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=half,
    )
    return refill.program


def half(**changes: Any) -> dict[str, Any]:
    return readback_body(drugs=[{"drug": "baclofen", "concentration": "1000 mcg/mL"}], **changes)


def test_a_bridge_read_back_as_the_refill_ran_it_matches(
    client_as: Callable[[Role | None], Client], bridged: Program
) -> None:
    shown = {"kind": "bridge", "volume": "0.25 mL", "rate": {"value": 0.2, "unit": "mL/day"}}
    answer = post(client_as(Role.NURSE), url_of(bridged), half(fluid_change=shown))
    assert answer.status_code == 201, answer.content
    assert (answer.json()["matches"], answer.json()["incident_id"]) == (True, None)
    assert answer.json()["entered"]["fluid_change"] == {
        "kind": "bridge",
        "volume": "0.25 mL",
        "rate": "0.2 mL/day",
    }


def test_a_wrong_bridge_or_none_read_back_opens_an_incident(
    client_as: Callable[[Role | None], Client], bridged: Program
) -> None:
    nurse = client_as(Role.NURSE)
    shown = {"kind": "bridge", "volume": "0.25 mL", "rate": "0.4 mL/day"}
    wrong = post(nurse, url_of(bridged), half(fluid_change=shown))
    assert wrong.status_code == 201, wrong.content
    assert wrong.json()["mismatches"] == [
        {
            "field": "fluid_change.rate",
            "entered": "0.4 mL/day",
            "prescribed": "0.2 mL/day, the bridge the refill ran",
            "against": "prescribed",
        }
    ]
    assert wrong.json()["incident_id"] == str(Incident.objects.get().id)
    missing = post(nurse, url_of(bridged), half())
    assert [m["field"] for m in missing.json()["mismatches"]] == ["fluid_change"]
    assert Incident.objects.count() == 2


def test_a_fluid_change_read_back_without_its_unit_is_refused_naming_it(
    client_as: Callable[[Role | None], Client], bridged: Program
) -> None:
    shown = {"kind": "bridge", "volume": "0.25 mL", "rate": "0.2"}
    refused = post(client_as(Role.NURSE), url_of(bridged), half(fluid_change=shown))
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "fluid_change.rate"
    assert not Incident.objects.exists()


@pytest.fixture
def titrated(users: dict[Role, User], implant: Implant) -> Program:
    """440 mcg/day programmed by the nurse an hour ago, between refills (2 mL left of the fill
    90 days ago at 0.2 mL/day)."""
    at = clock.now() - timedelta(hours=1)
    dose = parse("440 mcg/day", Kind.DOSE_RATE, "d")
    pump = fill("baclofen", "2000 mcg/mL")
    prescribed(users[Role.PHYSICIAN], users[Role.PHARMACIST], implant.id, pump, dose, at=at)
    version = Implant.objects.get(id=implant.id).version
    return programs.program_pump(users[Role.NURSE], implant.id, expected_version=version, now=at)


def at_440(reservoir: str) -> dict[str, Any]:
    return readback_body(reservoir=reservoir, program={"kind": "continuous", "dose": "440 mcg/day"})


def test_between_refills_the_twins_reservoir_raises_no_incident(
    client_as: Callable[[Role | None], Client], titrated: Program
) -> None:
    twin = expected_reservoir(titrated, clock.now()).most
    answer = post(client_as(Role.NURSE), url_of(titrated), at_440(str(twin)))
    assert answer.status_code == 201, answer.content
    assert (answer.json()["matches"], answer.json()["incident_id"]) == (True, None)
    assert not Incident.objects.exists()


def test_between_refills_a_wrong_reservoir_opens_an_incident_naming_the_twin_and_tolerance(
    client_as: Callable[[Role | None], Client], titrated: Program
) -> None:
    twin = expected_reservoir(titrated, clock.now()).most
    answer = post(client_as(Role.NURSE), url_of(titrated), at_440("20 mL"))
    assert answer.status_code == 201, answer.content
    (found,) = answer.json()["mismatches"]
    assert found == {
        "field": "reservoir",
        "entered": "20 mL",
        "prescribed": f"{twin} (the pump's twin at this readback) {TOLD}",
        "against": "expected",
    }
    assert "reservoir: entered 20 mL, expected" in Incident.objects.get().summary


def test_the_schema_documents_the_fluid_change_and_the_reservoir_comparison(
    client_as: Callable[[Role | None], Client],
) -> None:
    schema = client_as(None).get("/api/openapi.json").json()
    readback = schema["components"]["schemas"]["ReadbackIn"]["properties"]
    assert "the pump's twin" in readback["reservoir"]["description"]
    assert "`readback_tolerance` of /api/settings" in readback["reservoir"]["description"]
    assert "bridge or a priming bolus" in readback["fluid_change"]["description"]
    kinds = {
        name: schema["components"]["schemas"][name]["properties"]
        for name in ("BridgeShownIn", "PrimingShownIn")
    }
    assert set(kinds["BridgeShownIn"]) == {"kind", "volume", "rate"}
    assert set(kinds["PrimingShownIn"]) == {"kind", "volume"}
    mismatch = schema["components"]["schemas"]["MismatchOut"]["properties"]
    assert "expected" in mismatch["against"]["description"]
