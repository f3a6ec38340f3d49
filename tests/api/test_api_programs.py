"""Programming between refills and appointment changes through HTTP: the ready prescription
programmed by a nurse (201, naming the prescription), a typed dose refused (422, an unknown
field), a prescription beyond the label's step refused (422 naming the rule)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import (
    JSON,
    baclofen_implant,
    check_body,
    post,
    prescription_body,
    refill_body,
)

from clinic_fixtures import single_bolus_programmed
from frozen import NOW
from painpump.clinic.models import Implant, Patient, Prescription, Program
from painpump.clinic.roles import Role


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def test_a_nurse_programs_the_ready_prescription_and_a_typed_dose_is_refused(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """Between refills the pump is programmed only with its ready prescription: the old
    titration body (a dose typed at the pump) is refused as an unknown field, programming
    before a prescription is ready is refused naming it, and the program names the
    prescription it executes, its prescriber and who programmed it."""
    url = f"/api/implants/{implant.id}/programs"
    nurse, physician = client_as(Role.NURSE), client_as(Role.PHYSICIAN)
    typed = post(physician, url, {"version": implant.version, "dose": "440 mcg/day"})
    assert typed.status_code == 422
    assert (typed.json()["error"]["field"], typed.json()["error"]["limit"]) == (
        "dose",
        "Extra inputs are not permitted",
    )
    none_ready = post(nurse, url, {"version": implant.version})
    assert none_ready.status_code == 422, none_ready.content
    assert none_ready.json()["error"]["field"] == "prescription"
    signed = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions",
        prescription_body(
            implant.version, program={"kind": "continuous", "dose": "440 mcg/day"}, ptm=None
        ),
    ).json()
    check = check_body(program={"kind": "continuous", "dose": "440 mcg/day"}, ptm=None)
    checked = post(client_as(Role.PHARMACIST), f"/api/prescriptions/{signed['id']}/checks", check)
    assert checked.status_code == 201, checked.content
    version = checked.json()["prescription"]["implant_version"]
    assert post(client_as(Role.AUDITOR), url, {"version": version}).status_code == 403
    response = post(nurse, url, {"version": version})
    assert response.status_code == 201, response.content
    program = response.json()
    assert program["dose"] == {"value": 440, "unit": "mcg/day"}
    assert program["rate"] == {"value": 0.22, "unit": "mL/day"}
    assert (program["prescription"], program["prescribed_by"], program["programmed_by"]) == (
        signed["number"],
        "dr.house",
        "nurse.joy",
    )
    stale = post(nurse, url, {"version": version})
    assert stale.status_code == 409
    assert (
        Program.objects.filter(implant=implant, ended_at__isnull=True).get().dose_mcg_per_day == 440
    )


def test_a_prescription_beyond_the_label_step_is_refused_naming_the_rule(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    response = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{implant.id}/prescriptions",
        prescription_body(implant.version, program={"kind": "continuous", "dose": "600 mcg/day"}),
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "max_step_percent" in message or "min_hours_between_increases" in message
    assert not Prescription.objects.filter(number=2).exists()


def test_an_appointment_is_booked_over_http_and_refused_after_its_due_date(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    from datetime import timedelta

    from painpump.clinic.models import Appointment

    appointment = Appointment.objects.get()
    assert appointment.due_by is not None
    url = f"/api/appointments/{appointment.id}"
    assert appointment.overdue  # the fixture's pump is past its refill-by date: urgent
    nurse = client_as(Role.NURSE)
    version = {"expected_version": appointment.version}
    refused = nurse.patch(url, {"status": "booked"} | version, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "late_reason"
    yesterday = (appointment.due_by - timedelta(days=1)).isoformat()
    past = nurse.patch(url, {"on": yesterday} | version, content_type="application/json")
    assert (past.status_code, past.json()["error"]["field"]) == (422, "on")
    booked = nurse.patch(
        url,
        {"status": "booked", "late_reason": "first free slot"} | version,
        content_type="application/json",
    )
    assert booked.status_code == 200, booked.content
    assert (booked.json()["status"], booked.json()["late_reason"]) == ("booked", "first free slot")
    assert booked.json()["overdue"] is True and booked.json()["starts_at"]
    auditor = client_as(Role.AUDITOR).patch(
        url, {"status": "done", "expected_version": appointment.version + 1}, content_type=JSON
    )
    assert auditor.status_code == 403


def test_two_clinicians_moving_the_same_appointment_conflict_instead_of_overwriting(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    from painpump.clinic.models import Appointment

    appointment = Appointment.objects.get()
    url = f"/api/appointments/{appointment.id}"
    nurse, physician = client_as(Role.NURSE), client_as(Role.PHYSICIAN)
    on = appointment.on.isoformat()
    version = nurse.get("/api/appointments", {"from": on, "to": on})
    seen = version.json()[0]["version"]
    first = nurse.patch(
        url,
        {"status": "booked", "expected_version": seen, "late_reason": "first free slot"},
        content_type="application/json",
    )
    assert first.status_code == 200, first.content
    assert first.json()["version"] == seen + 1
    second = physician.patch(
        url, {"status": "cancelled", "expected_version": seen}, content_type="application/json"
    )
    assert second.status_code == 409
    assert Appointment.objects.get().status == "booked"


@pytest.mark.parametrize(
    "starts_at", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-12:00", "2026-12-07T09:07"]
)
def test_a_hostile_start_is_refused_naming_it_not_a_server_error(
    client_as: Callable[[Role | None], Client], implant: Implant, starts_at: str
) -> None:
    from painpump.clinic.models import Appointment

    appointment = Appointment.objects.get()
    answer = client_as(Role.NURSE).patch(
        f"/api/appointments/{appointment.id}",
        {"starts_at": starts_at, "late_reason": "x y", "expected_version": appointment.version},
        content_type="application/json",
    )
    assert answer.status_code == 422, answer.content
    assert "starts_at" in answer.content.decode()
    assert Appointment.objects.get().version == appointment.version


def test_a_single_bolus_is_prescribed_checked_programmed_and_read_back_then_the_pump_stops(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """A single bolus through HTTP: the physician signs it (its warnings passed with reasons),
    the pharmacist enters the bolus again, the nurse programs and reads it back; the twin then
    gives the bolus and holds the rest, so the pump never empties: a refill of it is refused
    (a fill runs a basal program, which a physician prescribes first)."""
    bolus = {"kind": "single_bolus", "dose": "100 mcg", "duration": "1 hour"}
    physician = client_as(Role.PHYSICIAN)
    preview = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions/preview",
        prescription_body(None, program=bolus, ptm=None),
    )
    assert preview.status_code == 200, preview.content
    reasons = {
        w["rule"]: "planned stop before the pump is explanted, oral baclofen restarted"
        for w in preview.json()["warnings"]
    }
    assert "stops_after_single_bolus" in reasons
    signed = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions",
        prescription_body(implant.version, program=bolus, ptm=None, overrides=reasons),
    )
    assert signed.status_code == 201, signed.content
    body = signed.json()
    assert body["program"]["kind"] == "single_bolus" and body["program"]["days"] == []
    assert body["program"]["bolus"] == {
        "dose": {"value": 100, "unit": "mcg"},
        "duration": {"value": 3600, "unit": "s"},
    }
    # the reviewer's case: daily_dose and worst_day were the bolus as 100 mcg/day
    assert body["daily_dose"] is None and body["worst_day"] is None
    assert body["bolus"] == {
        "dose": {"value": 100, "unit": "mcg"},
        "duration": {"value": 3600, "unit": "s"},
        "volume": {"value": 0.05, "unit": "mL"},
        "rate": {"value": 0.05, "unit": "mL/hour"},
        "words": "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)",
    }
    assert preview.json()["daily_dose"] is None and preview.json()["bolus"] == body["bolus"]
    changes = {c["setting"]: c for c in preview.json()["changes"]}
    assert changes["program"]["after"] == "single bolus"
    assert changes["single bolus"]["after"] == body["bolus"]["words"]
    assert not [name for name in changes if name.startswith(("daily dose", "steps"))]
    wrong = check_body(program={**bolus, "duration": "2 hour"}, ptm=None)
    refused = post(client_as(Role.PHARMACIST), f"/api/prescriptions/{body['id']}/checks", wrong)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "program.bolus.duration"
    right = check_body(program={**bolus, "dose": "0.1 mg"}, ptm=None)
    checked = post(client_as(Role.PHARMACIST), f"/api/prescriptions/{body['id']}/checks", right)
    assert checked.status_code == 201, checked.content
    entered = checked.json()["entered"]  # was "single_bolus" with seven days of 0 mcg/day
    assert entered["program"] == "single bolus" and entered["days"] == []
    assert entered["bolus"] == {"dose": "0.1 mg", "duration_s": 3600}
    nurse = client_as(Role.NURSE)
    version = checked.json()["prescription"]["implant_version"]
    programmed = post(nurse, f"/api/implants/{implant.id}/programs", {"version": version})
    assert programmed.status_code == 201, programmed.content
    readback = post(
        nurse,
        f"/api/programs/{programmed.json()['id']}/readbacks",
        {
            "reservoir": "2 mL",  # the twin's 1.958 mL: 90 days at 0.2 mL/day, the bolus begun
            "drugs": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
            "program": bolus,
            "ptm": None,
        },
    )
    assert readback.status_code == 201, readback.content
    assert readback.json()["matches"] is True, readback.json()["mismatches"]
    stored = Implant.objects.get(id=implant.id)
    assert stored.empty_at is None and stored.refill_by is not None
    refill = post(
        nurse,
        f"/api/implants/{implant.id}/refills",
        refill_body(idempotency_key="after-bolus", version=stored.version),
    )
    assert refill.status_code == 422
    assert refill.json()["error"]["field"] == "prescription"
    assert "cannot be executed by a refill" in refill.json()["error"]["message"]
    board = physician.get("/api/dashboard").json()
    [stopped] = board["stopped"]
    assert stopped["implant_id"] == str(implant.id) and stopped["high_risk"] is True
    assert stopped["bolus"] == "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)"
    # a restart or another bolus is judged from the basal program the pump ran last (400
    # mcg/day), never from the bolus: no escalation by chained boluses
    preview_url = f"/api/implants/{implant.id}/prescriptions/preview"
    restart = post(
        physician,
        preview_url,
        prescription_body(None, program={"kind": "continuous", "dose": "400 mcg/day"}, ptm=None),
    )
    assert restart.status_code == 200, restart.content
    assert restart.json()["stop"] is None
    assert "max_start_dose" not in {w["rule"] for w in restart.json()["warnings"]}
    for program in (
        {"kind": "continuous", "dose": "600 mcg/day"},
        {"kind": "single_bolus", "dose": "600 mcg", "duration": "1 hour"},
    ):
        escalated = post(physician, preview_url, prescription_body(None, program=program, ptm=None))
        assert escalated.status_code == 200, escalated.content
        stop = escalated.json()["stop"]
        assert stop is not None and "max_step_percent" in stop["message"], escalated.content


def test_the_dashboard_answers_a_single_bolus_running_until_its_end_then_stopped_since(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    frozen_clock: time_machine.Traveller,
) -> None:
    started = NOW - timedelta(minutes=30)
    single_bolus_programmed(implant.id, at=started)

    def row() -> tuple[str, datetime]:
        [stopped] = client_as(Role.NURSE).get("/api/dashboard").json()["stopped"]
        assert stopped["implant_id"] == str(implant.id)
        return stopped["bolus_state"], datetime.fromisoformat(stopped["bolus_ends_at"])

    assert row() == ("running", started + timedelta(hours=1))
    frozen_clock.shift(timedelta(hours=1))
    assert row() == ("stopped", started + timedelta(hours=1))


def test_the_implants_program_shows_a_single_bolus_as_its_bolus_then_nothing_pumped(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    frozen_clock: time_machine.Traveller,
) -> None:
    """No daily dose or rate of the bolus: the basal is 0, the bolus its dose, volume and rate,
    running until its end, then stopped and pumping nothing."""
    started = NOW - timedelta(minutes=30)
    single_bolus_programmed(implant.id, at=started, dose="100 mcg", duration="5 min")
    ends_at = started + timedelta(minutes=5)

    def program() -> dict[str, Any]:
        found: dict[str, Any] = client_as(Role.NURSE).get(f"/api/implants/{implant.id}").json()
        shown: dict[str, Any] = found["program"]
        return shown

    frozen_clock.move_to(started + timedelta(minutes=1))
    shown = program()
    assert shown["kind"] == "single bolus"
    assert shown["dose"] == {"value": 0, "unit": "mcg/day"}
    assert shown["rate"] == {"value": 0, "unit": "mL/day"}
    assert shown["bolus"] == {
        "dose": {"value": 100, "unit": "mcg"},
        "duration": {"value": 300, "unit": "s"},
        "volume": {"value": 0.05, "unit": "mL"},
        "rate": {"value": 0.6, "unit": "mL/hour"},
        "state": "running",
        "ends_at": shown["bolus"]["ends_at"],
        "words": "single bolus 100 mcg over 5 min (0.05 mL, at 0.6 mL/h)",
    }
    assert datetime.fromisoformat(shown["bolus"]["ends_at"]) == ends_at
    frozen_clock.move_to(ends_at)
    shown = program()
    assert shown["bolus"]["state"] == "stopped" and shown["rate"]["value"] == 0
    # the reviewer's case: a raw UTC timestamp in words; the time is `ends_at`
    assert shown["bolus"]["words"] == "stopped after the bolus: pumps nothing"
    assert datetime.fromisoformat(shown["bolus"]["ends_at"]) == ends_at
