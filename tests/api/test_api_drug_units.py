"""The API and one unit per drug (issue 13): its canonical fields stay canonical (mcg, mcg/day,
mcg/mL, whatever the order's unit), what a clinician typed stays as typed (`entered`: the record
of an entry), and every text painpump writes shows each drug's quantities in the unit its order
is written in (a morphine order in mg: the settings changed, what a readback was compared with,
an incident's summary)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from drug_units_flow import MORPHINE, Flow, double_checked, first_fill, programmed, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def morphine(physician: User, nurse: User, pharmacist: User) -> Flow:
    flow = first_fill(physician, nurse, pharmacist, MORPHINE)
    double_checked(flow, pharmacist)
    programmed(flow, physician, nurse)
    return flow


def _get(user: User, url: str) -> Any:
    answer = signed_in(user).get(url)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_canonical_fields_stay_canonical_for_a_drug_ordered_in_mg(
    morphine: Flow, nurse: User
) -> None:
    implant = _get(nurse, f"/api/implants/{morphine.implant.id}")
    assert implant["drugs"] == [
        {"drug": "morphine", "concentration": {"value": 20000, "unit": "mcg/mL"}}
    ]
    assert implant["last_refill"]["program"]["dose"] == {"value": 4000, "unit": "mcg/day"}
    (titration, first) = _get(nurse, f"/api/implants/{morphine.implant.id}/prescriptions")
    assert first["daily_dose"] == {"value": 4000, "unit": "mcg/day"}
    assert first["ptm"]["dose"] == {"value": 100, "unit": "mcg"}
    monday = titration["program"]["days"][0]["steps"]
    assert [s["dose"] for s in monday] == [
        {"value": 4000, "unit": "mcg/day"},
        {"value": 4400, "unit": "mcg/day"},
    ]


def test_texts_painpump_writes_are_in_the_orders_unit_and_entries_stay_as_typed(
    morphine: Flow, nurse: User
) -> None:
    """Was: "steps mon" before "00:00 4000 mcg/day", a readback "prescribed 100 mcg", an
    incident "prescribed 100 mcg", on a morphine order in mg."""
    (titration, first) = _get(nurse, f"/api/implants/{morphine.implant.id}/prescriptions")
    steps = next(c for c in titration["changes"] if c["setting"] == "steps mon")
    assert steps == {
        "setting": "steps mon",
        "before": "00:00 4 mg/day",
        "after": "00:00 4 mg/day, 08:00 4.4 mg/day",
    }
    assert {"setting": "drug 1", "before": "", "after": "morphine 20 mg/mL"} in first["changes"]
    (refused,) = titration["refused_accepts"]
    assert refused["differed"] == [{"field": "ptm.dose", "entered": "200 mcg"}]  # as typed
    (readback,) = titration["programmed"][0]["readbacks"]
    assert readback["entered"]["ptm"]["dose"] == "200 mcg"  # as typed
    ptm = next(m for m in readback["mismatches"] if m["field"] == "ptm.dose")
    assert ptm == {
        "field": "ptm.dose",
        "entered": "200 mcg",
        "prescribed": "0.1 mg",
        "against": "prescribed",
    }
    patient = morphine.implant.episode.patient_id
    (incident,) = _get(nurse, f"/api/patients/{patient}/incidents")
    assert "ptm.dose: entered 0.2 mg, prescribed 0.1 mg" in incident["summary"]
