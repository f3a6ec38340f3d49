"""Prescriptions through HTTP, end to end as the issue's done-when says: a physician prescribes
a flex program with patient boluses; a pharmacist rejects it with a comment and accepts the
corrected one; a nurse fills the pump with it and posts the programmer's readback; a wrong
readback opens an incident, which a physician closes; a nurse changing the drug at a refill is
refused naming who may. Then who may do what, the preview, stale versions and malformed entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import (
    FLEX,
    PTM,
    baclofen_implant,
    check_body,
    day_60,
    iso,
    left_at,
    post,
    prescription_body,
    readback_body,
    refill_body,
)

from painpump import clock
from painpump.api.idempotency import HEADER
from painpump.clinic.actions import prescriptions
from painpump.clinic.models import AuditEntry, Implant, Incident, Patient, Prescription
from painpump.clinic.roles import Role
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse
from painpump.plumbing.idempotency import REPLAYED

P, N, PH, AD, AU = Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.ADMIN, Role.AUDITOR
BACLOFEN = [{"drug": "baclofen", "concentration": "2000 mcg/mL"}]
Clients = Callable[[Role | None], Client]


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[P], patient)


def _version(implant: Implant) -> int:
    return Implant.objects.get(id=implant.id).version


def _prescribe(client: Client, implant: Implant, **changes: Any) -> Any:
    url = f"/api/implants/{implant.id}/prescriptions"
    return post(client, url, prescription_body(_version(implant), **changes))


def _check(client: Client, prescription: dict[str, Any], **changes: Any) -> Any:
    return post(client, f"/api/prescriptions/{prescription['id']}/checks", check_body(**changes))


def test_a_flex_prescription_is_double_checked_filled_and_read_back_through_the_api(
    client_as: Clients, implant: Implant, patient: Patient
) -> None:
    physician, pharmacist, nurse = client_as(P), client_as(PH), client_as(N)
    first = _prescribe(physician, implant)
    assert first.status_code == 201, first.content
    shown = first.json()
    assert (shown["number"], shown["status"], shown["high_alert"]) == (2, "awaiting_check", True)
    assert shown["program"]["kind"] == "flex"
    days = {d["day"]: d for d in shown["program"]["days"]}
    assert [s["start"] for s in days["mon"]["steps"]] == ["00:00", "08:00", "18:00"]
    assert days["mon"]["steps"][1]["dose"] == {"value": 360, "unit": "mcg/day"}
    assert [s["start"] for s in days["sun"]["steps"]] == ["00:00"] and len(days) == 7
    assert shown["daily_dose"] == {"value": 400, "unit": "mcg/day"}  # the weekend's
    assert shown["worst_day"] == {"value": 440, "unit": "mcg/day"}  # with 4 x 10 mcg
    assert shown["ptm"] == {
        "dose": {"value": 10, "unit": "mcg"},
        "duration": {"value": 120, "unit": "s"},
        "lockout": {"value": 10800, "unit": "s"},
        "max_per_day": 4,
    }
    assert (shown["prescribed_by"], shown["supersedes"]) == ("dr.house", 1)

    late = {**FLEX, "steps": [*FLEX["steps"][:2], {**FLEX["steps"][2], "start": "17:00"}]}
    mismatch = _check(pharmacist, shown, program=late)
    assert mismatch.status_code == 422
    error = mismatch.json()["error"]
    assert (error["field"], error["value"]) == (
        "program.days.mon",
        "00:00 400 mcg/day, 08:00 360 mcg/day, 17:00 400 mcg/day",
    )
    assert "(not shown: the double-check is independent)" in error["limit"]
    assert (
        "(so do program.days.tue, program.days.wed, program.days.thu, program.days.fri)"
        in (error["message"])
    )
    assert error["source"] == "rule-double-check"
    milligrams = _check(pharmacist, shown, ptm=PTM | {"dose": "25 mg"})
    assert milligrams.status_code == 422
    assert milligrams.json()["error"]["field"] == "ptm.dose"
    assert "(not shown: the double-check is independent)" in milligrams.json()["error"]["limit"]
    rejected = _check(
        pharmacist,
        shown,
        ptm=None,
        accept=False,
        comment="four boluses a day is too many for her",
    )
    assert rejected.status_code == 201, rejected.content
    assert rejected.json()["accepted"] is False
    assert rejected.json()["prescription"]["status"] == "rejected"
    assert rejected.json()["mismatches"] == [
        {
            "field": "ptm",
            "entered": "off",
            "prescribed": "10 mcg over 2 min, lockout 3 h, at most 4 a day",
            "against": "prescribed",
        }
    ]

    corrected = _prescribe(physician, implant, ptm=PTM | {"max_per_day": 3})
    assert corrected.status_code == 201, corrected.content
    in_other_units = {
        "concentrations": [{"drug": "Baclofen", "concentration": "2 mg/mL"}],
        "program": {
            "kind": "flex",
            "steps": [
                {"days": "mon-fri", "start": "18:00", "dose": "0.4 mg/day"},
                {"days": "every day", "start": "00:00", "dose": "400 mcg/day"},
                {"days": "mon-fri", "start": "08:00", "dose": "0.36 mg/day"},
            ],
        },
        "ptm": {"dose": "0.01 mg", "duration": "120 s", "lockout": "180 min", "max_per_day": 3},
    }
    accepted = _check(pharmacist, corrected.json(), **in_other_units)
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["prescription"]["status"] == "ready"
    assert accepted.json()["mismatches"] == []
    weekday = ["00:00 400 mcg/day", "08:00 0.36 mg/day", "18:00 0.4 mg/day"]
    assert accepted.json()["entered"] == {
        "concentrations": ["Baclofen 2 mg/mL"],
        "program": "flex",
        "days": [weekday] * 5 + [["00:00 400 mcg/day"]] * 2,
        "bolus": None,
        "ptm": {"dose": "0.01 mg", "duration_s": 120, "lockout_s": 10800, "max_per_day": 3},
        "fluid_change": "none",  # the reviewer's case: compared, then left out of the record
    }

    morphine = [{"drug": "morphine", "concentration": "10 mg/mL"}]
    changed = post(
        nurse,
        f"/api/implants/{implant.id}/refills",
        refill_body(idempotency_key="morphine", drugs=morphine, version=_version(implant)),
    )
    assert changed.status_code == 422, changed.content
    refused = changed.json()["error"]
    assert refused["field"] == "drugs[0]" and "differs from the prescription" in refused["message"]
    assert refused["limit"].endswith("is a new prescription, signed by a physician")

    # filled after the double-check, as the clock now says
    now = clock.now()
    left = left_at(implant, now)  # the pump delivered as recorded
    body = refill_body(
        left,
        idempotency_key="flex-fill",
        performed_at=now.isoformat(),
        expected=left,
        version=_version(implant),
    )
    del body["dose"]
    filled = post(nurse, f"/api/implants/{implant.id}/refills", body)
    assert filled.status_code == 201, filled.content
    program = filled.json()["program"]
    assert (program["prescription"], program["programmed_by"]) == (3, "nurse.joy")
    readbacks = f"/api/programs/{program['id']}/readbacks"
    ptm = PTM | {"max_per_day": 3}
    right = post(nurse, readbacks, readback_body(program=FLEX, ptm=ptm))
    assert right.status_code == 201, right.content
    assert (right.json()["matches"], right.json()["incident_id"]) == (True, None)

    wrong = post(nurse, readbacks, readback_body(program=FLEX, ptm=PTM))
    assert wrong.status_code == 201, wrong.content
    assert wrong.json()["matches"] is False
    assert wrong.json()["mismatches"] == [
        {"field": "ptm.max_per_day", "entered": "4", "prescribed": "3", "against": "prescribed"}
    ]
    incident_id = wrong.json()["incident_id"]
    listed = client_as(AU).get(f"/api/patients/{patient.id}/incidents").json()
    assert [(i["id"], i["closed_at"]) for i in listed] == [(incident_id, None)]
    assert "ptm.max_per_day" in listed[0]["summary"]

    history = client_as(AU).get(f"/api/implants/{implant.id}/prescriptions").json()
    assert [(v["number"], v["status"]) for v in history] == [
        (3, "active"),
        (2, "rejected"),
        (1, "superseded"),
    ]
    newest, rejected_version = history[0], history[1]
    # compared with the prescription in force it replaces, never with the rejected one
    assert {"setting": "program", "before": "continuous", "after": "flex"} in newest["changes"]
    assert {"setting": "boluses a day", "before": "", "after": "3"} in newest["changes"]
    assert [(c["checked_by"], c["accepted"]) for c in newest["checks"]] == [("pharma.cist", True)]
    (session,) = newest["programmed"]
    assert (session["program_id"], session["by"], session["at_refill"]) == (
        program["id"],
        "nurse.joy",
        True,
    )
    assert session["state"] == "stopped"
    assert [r["matches"] for r in session["readbacks"]] == [True, False]
    assert session["readbacks"][1]["incident_id"] == incident_id
    assert rejected_version["checks"][0]["comment"] == "four boluses a day is too many for her"

    close = f"/api/incidents/{incident_id}/close"
    resolution = {"resolution": "PTM reprogrammed to 3 a day and read back"}
    assert post(nurse, close, resolution).status_code == 403
    closed = post(physician, close, resolution)
    assert closed.status_code == 200, closed.content
    assert (closed.json()["closed_by"], closed.json()["resolution"]) == (
        "dr.house",
        resolution["resolution"],
    )
    again = post(physician, close, resolution)
    assert again.status_code == 422 and again.json()["error"]["field"] == "incident"


def test_a_flex_program_whose_largest_day_repeats_forever_is_accepted_step_by_step(
    client_as: Clients, implant: Implant
) -> None:
    """00:00 400 and 07:00 401 mcg/day give 400.708333... mcg on the day: no dose typed can
    equal it, the steps can."""
    program = {
        "kind": "flex",
        "steps": [
            {"days": "every day", "start": "00:00", "dose": "400 mcg/day"},
            {"days": "every day", "start": "07:00", "dose": "401 mcg/day"},
        ],
    }
    signed = _prescribe(client_as(P), implant, program=program, ptm=None)
    assert signed.status_code == 201, signed.content
    accepted = _check(client_as(PH), signed.json(), program=program, ptm=None)
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["prescription"]["status"] == "ready"


def test_a_check_without_the_program_or_the_patient_bolus_settings_is_refused(
    client_as: Clients, implant: Implant
) -> None:
    signed = _prescribe(client_as(P), implant).json()
    url = f"/api/prescriptions/{signed['id']}/checks"
    for missing in ("program", "ptm"):
        body = check_body()
        del body[missing]
        refused = post(client_as(PH), url, body)
        assert refused.status_code == 422, refused.content
        assert missing in refused.content.decode()
    legacy = post(client_as(PH), url, {**check_body(), "daily_dose": "400 mcg/day"})
    assert legacy.status_code == 422
    assert Prescription.objects.get(id=signed["id"]).status == "awaiting_check"


@pytest.mark.parametrize("role", [N, PH, AD, AU])
def test_only_a_physician_prescribes_or_previews(
    client_as: Clients, implant: Implant, role: Role
) -> None:
    refused = _prescribe(client_as(role), implant)
    assert refused.status_code == 403
    assert refused.json()["error"]["capability"] == "program.prescribe"
    url = f"/api/implants/{implant.id}/prescriptions/preview"
    assert post(client_as(role), url, prescription_body(None)).status_code == 403
    assert Prescription.objects.count() == 1


@pytest.mark.parametrize("role", [N, AD, AU])
def test_only_a_physician_or_pharmacist_double_checks(
    client_as: Clients, implant: Implant, role: Role
) -> None:
    signed = _prescribe(client_as(P), implant).json()
    refused = _check(client_as(role), signed)
    assert refused.status_code == 403
    assert refused.json()["error"]["capability"] == "prescription.check"
    assert Prescription.objects.get(id=signed["id"]).status == "awaiting_check"


def test_the_prescriber_cannot_double_check_their_own_prescription(
    client_as: Clients, implant: Implant
) -> None:
    signed = _prescribe(client_as(P), implant).json()
    refused = _check(client_as(P), signed)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "checked_by"
    assert Prescription.objects.get(id=signed["id"]).status == "awaiting_check"


def test_a_stale_or_missing_version_signs_nothing(client_as: Clients, implant: Implant) -> None:
    url = f"/api/implants/{implant.id}/prescriptions"
    stale = post(client_as(P), url, prescription_body(_version(implant) - 1))
    assert stale.status_code == 409
    assert stale.json()["error"]["current_version"] == _version(implant)
    body = prescription_body(_version(implant))
    del body["version"]
    missing = post(client_as(P), url, body)
    assert missing.status_code == 422
    assert (missing.json()["error"]["field"], missing.json()["error"]["value"]) == (
        "version",
        "missing",
    )
    assert Prescription.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"origin": "spinal"}, "origin"),
        ({"program": {"kind": "continuous", "dose": "400 mcg/day", "steps": []}}, "steps"),
        ({"program": {"kind": "weekly", "dose": "400 mcg/day"}}, "program"),
        ({"program": {"kind": "continuous", "dose": "400 mcg"}}, "program.dose"),
        (
            {"program": {"kind": "flex", "steps": [FLEX["steps"][0] | {"days": "weekends"}]}},
            "program.steps[0].days",
        ),
        (
            {"program": {"kind": "flex", "steps": [FLEX["steps"][0] | {"start": "25:00"}]}},
            "program.steps[0].start",
        ),
        ({"ptm": PTM | {"lockout": "1 min"}}, "ptm.lockout"),
        ({"ptm": PTM | {"max_per_day": -1}}, "ptm.max_per_day"),
        ({"drugs": []}, "drugs"),
    ],
)
def test_a_malformed_prescription_is_refused_naming_the_field(
    client_as: Clients, implant: Implant, changes: dict[str, Any], field: str
) -> None:
    response = _prescribe(client_as(P), implant, **changes)
    assert response.status_code == 422, response.content
    assert field in response.json()["error"]["field"]
    assert Prescription.objects.count() == 1


def test_the_preview_judges_without_signing_and_names_what_changes(
    client_as: Clients, implant: Implant
) -> None:
    url = f"/api/implants/{implant.id}/prescriptions/preview"
    previewed = post(client_as(P), url, prescription_body(None))
    assert previewed.status_code == 200, previewed.content
    shown = previewed.json()
    assert shown["stop"] is None and shown["needs_double_check"] is True
    assert (shown["version"], shown["replaces"]) == (_version(implant), 1)
    assert {"setting": "program", "before": "continuous", "after": "flex"} in shown["changes"]
    assert shown["worst_day"] == {"value": 440, "unit": "mcg/day"}
    too_much = prescription_body(None, program={"kind": "continuous", "dose": "600 mcg/day"})
    stopped = post(client_as(P), url, too_much).json()
    assert stopped["stop"]["field"] and stopped["stop"]["source"]
    assert Prescription.objects.count() == 1


def test_a_prescription_sent_again_with_its_key_is_signed_once(
    client_as: Clients, implant: Implant
) -> None:
    body = prescription_body(_version(implant))
    url = f"/api/implants/{implant.id}/prescriptions"
    first = post(client_as(P), url, body, headers={HEADER: "rx-1"})
    again = post(client_as(P), url, body, headers={HEADER: "rx-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again[REPLAYED] == "true" and again.json() == first.json()
    assert Prescription.objects.count() == 2


def test_a_readback_of_a_program_not_in_force_is_refused(
    client_as: Clients, implant: Implant
) -> None:
    body = refill_body(idempotency_key="r", version=_version(implant))
    filled = post(client_as(N), f"/api/implants/{implant.id}/refills", body).json()
    first_program = implant.programs.order_by("started_at").first()
    assert first_program is not None and str(first_program.id) != filled["program"]["id"]
    refused = post(client_as(N), f"/api/programs/{first_program.id}/readbacks", readback_body())
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "program"
    assert not Incident.objects.exists()


def test_the_refill_after_patient_boluses_records_the_counts_the_pump_reports(
    client_as: Clients, users: dict[Role, User], implant: Implant
) -> None:
    """Prescribed, checked and filled on day 60 (through the services, to record the past);
    the refill 20 days later reports the patient boluses given since."""
    signed = prescriptions.prescribe(
        users[P],
        implant.id,
        rx.Prescription(
            (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),),
            rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
            rx.patient_bolus("10 mcg", "2 min", "3 hour", "4"),
            Phase.MAINTENANCE,
        ),
        reason="patient boluses for spasms at night",
        now=day_60() - timedelta(hours=2),
        expected_version=_version(implant),
    )
    prescriptions.double_check(
        users[PH],
        signed.id,
        entries=CheckEntries(
            (("baclofen", parse("2 mg/mL", Kind.CONCENTRATION, "c")),),
            rx.PrescribedProgram.continuous(parse("0.4 mg/day", Kind.DOSE_RATE, "d")),
            rx.patient_bolus("0.01 mg", "120 s", "180 min", "4"),
        ),
        accept=True,
        comment="",
        now=day_60() - timedelta(hours=1),
    )
    nurse = client_as(N)
    body = refill_body(idempotency_key="with-ptm", version=_version(implant))
    del body["dose"]
    url = f"/api/implants/{implant.id}/refills"
    assert post(nurse, url, body).status_code == 201
    later = dict(
        body,
        idempotency_key="next",
        performed_at=iso(day_60() + timedelta(days=20)),
        # 20 days at 0.2 mL/day and 30 boluses of 0.005 mL since the 20 mL fill
        expected="15.85 mL",
        aspirated="15.85 mL",
        version=_version(implant),
    )
    missing = post(nurse, url, later)
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "ptm_given"
    half = post(nurse, url, later | {"ptm_requests": 30})
    assert half.status_code == 422 and half.json()["error"]["field"] == "ptm_given"
    too_many = post(nurse, url, later | {"ptm_requests": 90, "ptm_given": 81})
    assert too_many.status_code == 422
    assert "<= 80 (4 a day over 20 days" in too_many.json()["error"]["limit"]
    done = post(nurse, url, later | {"ptm_requests": 42, "ptm_given": 30})
    assert done.status_code == 201, done.content
    assert (done.json()["ptm_requests"], done.json()["ptm_given"]) == (42, 30)


def test_a_refused_accept_is_audited_despite_the_422_and_the_prescription_answer_counts_it(
    client_as: Clients, implant: Implant
) -> None:
    """An error rolls the request back, yet each accept refused because entries did not match
    is kept in the audit trail; the accepted prescription answers with every refused attempt
    (who, when, each entry as entered), as does the settings history."""
    physician, pharmacist = client_as(P), client_as(PH)
    shown = _prescribe(physician, implant).json()
    assert shown["refused_accepts"] == []
    wrong = _check(pharmacist, shown, ptm=PTM | {"max_per_day": 6})
    assert wrong.status_code == 422
    [entry] = AuditEntry.objects.filter(action="prescription.accept_refused")
    assert (entry.actor, entry.object_id) == ("pharma.cist", shown["id"])
    assert Prescription.objects.get(id=shown["id"]).status == Prescription.Status.AWAITING_CHECK
    accepted = _check(pharmacist, shown)
    assert accepted.status_code == 201, accepted.content
    [refused] = accepted.json()["prescription"]["refused_accepts"]
    assert refused["by"] == "pharma.cist"
    assert abs(datetime.fromisoformat(refused["at"]) - clock.now()) < timedelta(minutes=1)
    assert refused["differed"] == [{"field": "ptm.max_per_day", "entered": "6"}]
    history = client_as(N).get(f"/api/implants/{implant.id}/prescriptions").json()
    assert [v["refused_accepts"] for v in history if v["id"] == shown["id"]] == [[refused]]


def test_regression_a_percent_sign_in_a_dose_is_refused_at_the_preview(
    client_as: Clients, implant: Implant
) -> None:
    """Regression: the preview read "4.3 mg/day%" as 43 mcg/day (the "%" a factor of 0.01)."""
    url = f"/api/implants/{implant.id}/prescriptions/preview"
    body = prescription_body(None, program={"kind": "continuous", "dose": "4.3 mg/day%"})
    refused = post(client_as(P), url, body)
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert "'4.3 mg/day%' has the sign '%' in its unit" in error["message"]
