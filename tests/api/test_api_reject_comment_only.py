"""A rejection at the double-check takes the comment alone through the API too (round 3 of the
clinical review: CheckIn required the concentrations, the program and the PTM settings even with
accept: false). Rejected so, it is audited, answered with no entries (`entered`: null) and shown
on the prescriber's dashboard; entries given with a rejection come whole and are recorded;
accepting without them is refused, naming each one missing."""

from __future__ import annotations

from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant, check_body, post, prescription_body

from painpump.clinic.models import AuditEntry, Implant, Patient, Prescription, PrescriptionCheck
from painpump.clinic.roles import Role

pytestmark = pytest.mark.django_db

P, PH = Role.PHYSICIAN, Role.PHARMACIST
COMMENT = "four boluses a day is too many for her"
Clients = Callable[[Role | None], Client]


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[P], patient)


@pytest.fixture
def signed(client_as: Clients, implant: Implant) -> dict[str, Any]:
    """The flex prescription with patient boluses, awaiting its double-check."""
    version = Implant.objects.get(id=implant.id).version
    answer = post(
        client_as(P), f"/api/implants/{implant.id}/prescriptions", prescription_body(version)
    )
    assert answer.status_code == 201, answer.content
    shown: dict[str, Any] = answer.json()
    return shown


def _check(client: Client, signed: dict[str, Any], body: dict[str, Any]) -> Any:
    return post(client, f"/api/prescriptions/{signed['id']}/checks", body)


def test_a_rejection_with_the_comment_alone_is_recorded_audited_and_on_the_dashboard(
    client_as: Clients, signed: dict[str, Any]
) -> None:
    answer = _check(client_as(PH), signed, {"accept": False, "comment": COMMENT})
    assert answer.status_code == 201, answer.content
    shown = answer.json()
    assert (shown["accepted"], shown["comment"], shown["entered"]) == (False, COMMENT, None)
    assert shown["mismatches"] == [] and shown["prescription"]["status"] == "rejected"
    entry = AuditEntry.objects.get(action="prescription.reject")
    assert entry.after is not None
    assert entry.actor == "pharma.cist" and entry.after["comment"] == COMMENT
    assert entry.after["entered"] == {} and entry.object_id == signed["id"]
    board = unescape(client_as(P).get("/").content.decode())  # the physician's dashboard
    listed = board.split('data-testid="rejected"')[1].split("</section>")[0]
    assert f"#{signed['number']} by dr.house" in listed and f"“{COMMENT}”" in listed
    versions = client_as(P).get(f"/api/implants/{signed['implant_id']}/prescriptions").json()
    [check] = next(v for v in versions if v["id"] == signed["id"])["checks"]
    assert (check["comment"], check["entered"]) == (COMMENT, None)


def test_a_rejection_without_a_comment_is_refused(
    client_as: Clients, signed: dict[str, Any]
) -> None:
    refused = _check(client_as(PH), signed, {"accept": False})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "comment"
    assert Prescription.objects.get(id=signed["id"]).status == "awaiting_check"


def test_accepting_without_the_entries_is_refused_naming_each(
    client_as: Clients, signed: dict[str, Any]
) -> None:
    refused = _check(client_as(PH), signed, {"accept": True, "comment": COMMENT})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("concentrations", "missing")
    assert "is required to accept (so are program, ptm)" in error["message"]
    without_ptm = check_body()
    del without_ptm["ptm"]
    refused = _check(client_as(PH), signed, without_ptm)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "ptm"
    assert "null when off" in refused.json()["error"]["limit"]
    assert not PrescriptionCheck.objects.filter(prescription_id=signed["id"]).exists()
    assert _check(client_as(PH), signed, check_body()).status_code == 201


def test_entries_given_with_a_rejection_come_whole_and_are_recorded(
    client_as: Clients, signed: dict[str, Any]
) -> None:
    half = {"accept": False, "comment": COMMENT, "ptm": check_body()["ptm"]}
    refused = _check(client_as(PH), signed, half)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["field"] == "concentrations" and "with the other entries" in error["message"]
    assert "or none of them, to reject with the comment alone" in error["limit"]
    whole = check_body(accept=False, comment=COMMENT)
    whole["ptm"] = {**whole["ptm"], "max_per_day": 3}
    answer = _check(client_as(PH), signed, whole)
    assert answer.status_code == 201, answer.content
    shown = answer.json()
    assert shown["entered"]["concentrations"] == ["baclofen 2000 mcg/mL"]
    assert [m["field"] for m in shown["mismatches"]] == ["ptm.max_per_day"]
