"""A stopped pump through HTTP: the physician signs it with a reason for each warning (no dose
limit refuses it, a hard clinic decrease limit included), the pharmacist enters it again, the
nurse programs and reads it back; the pump then gives nothing, its dates come from its drug's
stability alone, the dashboard lists it with the stopped single boluses, a refill of it is
refused naming who may prescribe, and a restart is judged from the program it ran before."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import (
    baclofen_implant,
    check_body,
    post,
    prescription_body,
    readback_body,
    refill_body,
)

from clinic_fixtures import programmed_between_refills
from frozen import NOW
from painpump.clinic.actions import library, programs
from painpump.clinic.models import Implant, Patient
from painpump.clinic.reads import program_preview, pump_history, whatif
from painpump.clinic.roles import Role
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.clinic_limits import parse_value
from painpump.core.units import Kind, Q, parse

STOP = {"kind": "stopped"}
REASON = "pump infection: explant planned, oral baclofen restarted"


def hard_decrease(users: dict[Role, User], value: str) -> None:
    """A hard clinic limit on baclofen's largest single decrease, set by the pharmacist and
    approved by the physician."""
    rule = "max_decrease_percent"
    row = library.add_limit(
        users[Role.PHARMACIST],
        drug="baclofen",
        rule=rule,
        value=parse_value(rule, value),
        severity="hard",
        source="clinic policy 2026/7",
        idempotency_key=f"hard-decrease-{value}",
    )
    library.approve_limit(users[Role.PHYSICIAN], row.id, expected_version=row.version)


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def test_a_stop_is_prescribed_checked_programmed_read_back_and_listed_as_stopped(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    physician = client_as(Role.PHYSICIAN)
    url = f"/api/implants/{implant.id}/prescriptions"
    preview = post(physician, f"{url}/preview", prescription_body(None, program=STOP, ptm=None))
    assert preview.status_code == 200, preview.content
    assert preview.json()["stop"] is None
    warned = {w["rule"]: w for w in preview.json()["warnings"]}
    assert set(warned) == {"pump_stopped", "stopped_pump_overinfusion"}
    assert "baclofen stops abruptly, which risks withdrawal" in warned["pump_stopped"]["message"]
    unsigned = post(physician, url, prescription_body(implant.version, program=STOP, ptm=None))
    assert unsigned.status_code == 422, unsigned.content
    signed = post(
        physician,
        url,
        prescription_body(
            implant.version,
            program=STOP,
            ptm=None,
            overrides=dict.fromkeys(warned, REASON),
        ),
    )
    assert signed.status_code == 201, signed.content
    body = signed.json()
    assert body["program"]["kind"] == "stopped"
    assert body["high_alert"] is True
    checks_url = f"/api/prescriptions/{body['id']}/checks"
    wrong = post(client_as(Role.PHARMACIST), checks_url, check_body(ptm=None))
    assert wrong.status_code == 422, wrong.content
    checked = post(client_as(Role.PHARMACIST), checks_url, check_body(program=STOP, ptm=None))
    assert checked.status_code == 201, checked.content
    nurse = client_as(Role.NURSE)
    version = checked.json()["prescription"]["implant_version"]
    programmed = post(nurse, f"/api/implants/{implant.id}/programs", {"version": version})
    assert programmed.status_code == 201, programmed.content
    readback_url = f"/api/programs/{programmed.json()['id']}/readbacks"
    # 90 days at 0.2 mL/day from 20 mL: 2 mL left, kept from now on
    readback = post(nurse, readback_url, readback_body(reservoir="2 mL", program=STOP))
    assert readback.status_code == 201, readback.content
    assert readback.json()["matches"] is True, readback.json()["mismatches"]
    stored = Implant.objects.get(id=implant.id)
    # the reservoir reached its 2 mL alarm before the stop: that alarm stays; it never empties
    assert stored.alarm_at is not None and stored.alarm_at < NOW
    assert stored.empty_at is None
    shown = nurse.get(f"/api/implants/{implant.id}").json()
    assert shown["program"]["kind"] == "stopped pump"
    assert shown["program"]["dose"] == {"value": 0, "unit": "mcg/day"}
    assert shown["program"]["rate"] == {"value": 0, "unit": "mL/day"}
    [row] = physician.get("/api/dashboard").json()["stopped"]
    # the reviewer's case: a stop read as a bolus "stopped pump" that ended when programmed
    assert row["kind"] == "stopped" and row["bolus"] is None and row["bolus_ends_at"] is None
    assert datetime.fromisoformat(row["stopped_since"]) == datetime.fromisoformat(
        shown["program"]["started_at"]
    )
    assert row["drug"] == "baclofen" and row["long_stop"] == ""
    due = Implant.objects.get(id=implant.id).refill_by
    assert due is not None and row["refill_by"] == due.isoformat()
    assert row["bolus_state"] == "stopped" and row["high_risk"] is True
    refill = post(
        nurse,
        f"/api/implants/{implant.id}/refills",
        refill_body(idempotency_key="after-stop", version=stored.version),
    )
    assert refill.status_code == 422, refill.content
    error = refill.json()["error"]
    assert error["field"] == "prescription"
    assert "(a stopped pump) cannot be executed by a refill" in error["message"]
    assert "a physician prescribes the program a refill fills for" in error["message"]


def test_a_hard_clinic_decrease_limit_refuses_the_minimum_rate_but_not_a_stop(
    client_as: Callable[[Role | None], Client], implant: Implant, users: dict[Role, User]
) -> None:
    hard_decrease(users, "20 %")
    physician = client_as(Role.PHYSICIAN)
    preview_url = f"/api/implants/{implant.id}/prescriptions/preview"
    lowest = {"kind": "continuous", "dose": "96 mcg/day"}  # 0.048 mL/day at 2000 mcg/mL
    refused = post(physician, preview_url, prescription_body(None, program=lowest, ptm=None))
    assert refused.json()["stop"] is not None
    assert "clinic_max_decrease_percent" in refused.json()["stop"]["message"]
    stop = post(physician, preview_url, prescription_body(None, program=STOP, ptm=None))
    assert stop.json()["stop"] is None, stop.content


def test_a_restart_warns_of_lost_tolerance_is_never_a_cut_and_steps_up_from_before_the_stop(
    client_as: Callable[[Role | None], Client], implant: Implant, users: dict[Role, User]
) -> None:
    """The reviewer's case: 400 mcg/day of baclofen stopped three days ago (2.4 mL left, above
    the alarm: no alarm or empty date). A restart at 100 mcg/day is no cut, even under a hard
    clinic decrease of 30 %; at 400 mcg/day it warns that tolerance may be lost and, after more
    than 48 h, of overinfusion; above 400 mcg/day it is a step from 400."""
    stop = rx.PrescribedProgram.stopped()
    programmed = programmed_between_refills(implant.id, stop, at=NOW - timedelta(days=3))
    assert programmed.rate_ml_per_day == 0
    stored = Implant.objects.get(id=implant.id)
    assert stored.alarm_at is None and stored.empty_at is None
    assert stored.refill_by is not None
    hard_decrease(users, "30 %")
    physician = client_as(Role.PHYSICIAN)
    [row] = physician.get("/api/dashboard").json()["stopped"]
    assert row["long_stop"] == "48 h"  # three days on a SynchroMed II
    preview_url = f"/api/implants/{implant.id}/prescriptions/preview"

    def judged(dose: str) -> dict[str, Any]:
        program = {"kind": "continuous", "dose": dose}
        found = post(physician, preview_url, prescription_body(None, program=program, ptm=None))
        assert found.status_code == 200, found.content
        body: dict[str, Any] = found.json()
        return body

    low = judged("100 mcg/day")
    assert low["stop"] is None, low
    warned = {w["rule"] for w in low["warnings"]}
    assert not {r for r in warned if "decrease" in r}
    assert {"restart_after_stop", "restart_after_long_stop"} <= warned
    same = judged("400 mcg/day")
    assert same["stop"] is None
    message = next(w["message"] for w in same["warnings"] if w["rule"] == "restart_after_stop")
    assert message.startswith("the pump has given no basal dose for 3 days (since ")
    assert "the dose before the stop (400 mcg/day) may now be too much" in message
    escalated = judged("600 mcg/day")["stop"]
    assert escalated is not None and "max_step_percent" in escalated["message"]


def test_the_what_if_of_a_stopped_pump_tries_a_restart_never_the_stop_or_a_refill_of_it(
    implant: Implant, users: dict[Role, User]
) -> None:
    stop = rx.PrescribedProgram.stopped()
    programmed_between_refills(implant.id, stop, at=NOW - timedelta(days=2))
    physician = users[Role.PHYSICIAN]
    as_is = whatif.what_if(physician, implant.id, whatif.Proposal("program", None), NOW)
    # the reviewer's case: this was a refusal, shown as a hard limit
    assert as_is.stop is None and as_is.projection is None
    assert as_is.prompt.endswith(
        "stops the pump, so it gives nothing to project: type a daily dose to try a restart"
    )
    volume = parse("20 mL", Kind.VOLUME, "v")
    concentration = (parse("2000 mcg/mL", Kind.CONCENTRATION, "c"),)
    refill = whatif.what_if(
        physician, implant.id, whatif.Proposal("refill", None, volume, concentration), NOW
    )
    # the reviewer's case: a "hard limit" refusal where a physician's prescription is missing
    assert refill.stop is None and refill.projection is None
    assert refill.prompt.endswith(
        "(stopped pump): a physician prescribes a running program first; type a daily dose to "
        "try a restart with this fill"
    )
    restart = parse("400 mcg/day", Kind.DOSE_RATE, "d")
    tried = whatif.what_if(physician, implant.id, whatif.Proposal("program", restart), NOW)
    assert tried.stop is None and tried.projection is not None
    assert tried.projection.alarm_at is not None
    assert "restart_after_stop" in {w.rule for w in tried.warnings}
    # the reviewer's case: it said "the prescription's flex steps are not applied"
    assert tried.program_note == (
        "a restart of the stopped pump, continuous at 400 mcg/day; prescribe it to run it"
    )
    low = parse("100 mcg/day", Kind.DOSE_RATE, "d")
    lower = whatif.what_if(physician, implant.id, whatif.Proposal("program", low), NOW)
    assert not {w.rule for w in lower.warnings if "decrease" in w.rule}
    # the reviewer's case: a refill with a dose typed projected as if a refill could run it
    refilled = whatif.what_if(
        physician, implant.id, whatif.Proposal("refill", restart, volume, concentration), NOW
    )
    assert refilled.projection is not None
    assert refilled.program_note.startswith(
        "a refill restarting the pump, continuous at 400 mcg/day: no refill can execute "
        "prescription #"
    )
    assert refilled.program_note.endswith("(stopped pump), so a physician prescribes this first")


def restart_low(users: dict[Role, User], implant: Implant, warned: list[str], *, at: datetime) -> Q:
    """A restart of baclofen at 100 mcg/day signed at `at` with a reason for each rule `warned`,
    and double-checked: ready to program. Returns its dose."""
    low = parse("100 mcg/day", Kind.DOSE_RATE, "d")
    prescribed(
        users[Role.PHYSICIAN],
        users[Role.PHARMACIST],
        implant.id,
        baclofen(),
        low,
        overrides=dict.fromkeys(warned, "restart low after the test bolus"),
        at=at,
    )
    return low


def bolus_of(dose: str, duration: str) -> rx.PrescribedProgram:
    return rx.PrescribedProgram.single_bolus(rx.single_bolus(dose, duration))


def test_a_pump_stopped_after_its_single_bolus_restarts_as_a_stopped_pump_does(
    client_as: Callable[[Role | None], Client], implant: Implant, users: dict[Role, User]
) -> None:
    """The reviewer's case: a single bolus that ended three days ago has stopped the pump. A low
    restart is no cut under a hard clinic decrease of 30 %, every restart warns of lost tolerance
    and of overinfusion, another bolus stops nothing, and the dashboard flags the long stop."""
    programmed_between_refills(implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(days=3))
    hard_decrease(users, "30 %")
    physician = client_as(Role.PHYSICIAN)
    [row] = physician.get("/api/dashboard").json()["stopped"]
    assert row["kind"] == "single_bolus" and row["bolus_state"] == "stopped"
    assert row["long_stop"] == "48 h"
    preview_url = f"/api/implants/{implant.id}/prescriptions/preview"

    def judged(program: dict[str, Any]) -> dict[str, Any]:
        found = post(physician, preview_url, prescription_body(None, program=program, ptm=None))
        assert found.status_code == 200, found.content
        body: dict[str, Any] = found.json()
        return body

    low = judged({"kind": "continuous", "dose": "100 mcg/day"})
    assert low["stop"] is None, low
    warned = {w["rule"] for w in low["warnings"]}
    assert not {r for r in warned if "decrease" in r}
    assert {"restart_after_stop", "restart_after_long_stop"} <= warned
    message = next(w["message"] for w in low["warnings"] if w["rule"] == "restart_after_stop")
    # counted from the bolus's start
    assert message.startswith("the pump has given no basal dose for 3 days (since ")
    again = judged({"kind": "single_bolus", "dose": "50 mcg", "duration": "1 hour"})
    assert again["stop"] is None, again
    assert "stops_after_single_bolus" not in {w["rule"] for w in again["warnings"]}


def test_a_restart_signed_while_the_bolus_runs_is_a_restart_and_programs_after_it_ends(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    users: dict[Role, User],
    frozen_clock: time_machine.Traveller,
) -> None:
    """The reviewer's case: a single bolus stops the basal program when it is programmed. A
    restart signed while the bolus runs is judged as a restart (a low one is no cut under a hard
    clinic decrease of 30 %, its tolerance warning is the prescriber's to pass), and the nurse
    programs it once the bolus has ended, with nothing new to acknowledge."""
    programmed_between_refills(
        implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(minutes=10)
    )
    hard_decrease(users, "30 %")
    physician = client_as(Role.PHYSICIAN)
    [row] = physician.get("/api/dashboard").json()["stopped"]
    assert row["bolus_state"] == "running" and row["long_stop"] == ""
    program = {"kind": "continuous", "dose": "100 mcg/day"}
    preview = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions/preview",
        prescription_body(None, program=program, ptm=None),
    ).json()
    assert preview["stop"] is None, preview
    warned = {w["rule"]: w["message"] for w in preview["warnings"]}
    assert warned["restart_after_stop"].startswith("the pump has given no basal dose for 10 min")
    assert not {r for r in warned if "decrease" in r}
    restart_low(users, implant, list(warned), at=NOW)
    # the reviewer's case: programming it during the bolus cut the bolus short, unsaid
    early = post(
        client_as(Role.NURSE),
        f"/api/implants/{implant.id}/programs",
        {"version": Implant.objects.get(id=implant.id).version},
    )
    assert early.status_code == 422, early.content
    assert "ends_single_bolus" in early.json()["error"]["value"]
    assert (
        "programming now ends it after 10 min of 1 h, with about"
        in (early.json()["error"]["message"])
    )
    # the reviewer's case: a nurse's reason was refused with "may not prescribe"
    reasoned = post(
        client_as(Role.NURSE),
        f"/api/implants/{implant.id}/programs",
        {
            "version": Implant.objects.get(id=implant.id).version,
            "overrides": {"ends_single_bolus": "the patient is in pain, restart now"},
        },
    )
    assert reasoned.status_code == 403, reasoned.content
    assert reasoned.json()["error"]["message"].endswith(
        "may not give the reason for ends_single_bolus at programming: a physician gives it "
        "(program.prescribe), or the pump is programmed once the single bolus has ended"
    )
    frozen_clock.shift(timedelta(hours=2))  # the bolus has ended
    done = post(
        client_as(Role.NURSE),
        f"/api/implants/{implant.id}/programs",
        {"version": Implant.objects.get(id=implant.id).version},
    )
    assert done.status_code == 201, done.content


def test_a_bolus_on_a_stopped_pump_keeps_the_time_of_the_stop(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """Tolerance falls from the moment the basal program stopped: a bolus given since does not
    restart that count."""
    programmed_between_refills(
        implant.id, rx.PrescribedProgram.stopped(), at=NOW - timedelta(days=3)
    )
    programmed_between_refills(
        implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(hours=3)
    )
    program = {"kind": "continuous", "dose": "100 mcg/day"}
    preview = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{implant.id}/prescriptions/preview",
        prescription_body(None, program=program, ptm=None),
    ).json()
    warned = {w["rule"]: w["message"] for w in preview["warnings"]}
    assert warned["restart_after_stop"].startswith("the pump has given no basal dose for 3 days")
    assert "restart_after_long_stop" in warned


def test_the_what_if_of_a_single_bolus_projects_it_while_it_runs_and_asks_for_a_dose_after(
    implant: Implant, users: dict[Role, User], frozen_clock: time_machine.Traveller
) -> None:
    programmed_between_refills(
        implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(minutes=10)
    )
    physician = users[Role.PHYSICIAN]
    running = whatif.what_if(physician, implant.id, whatif.Proposal("program", None), NOW)
    assert running.prompt == "" and running.projection is not None
    assert running.projection.stopped
    frozen_clock.shift(timedelta(hours=2))
    later = NOW + timedelta(hours=2)
    # the reviewer's case: the bolus that had run was projected again, dated at the horizon
    ended = whatif.what_if(physician, implant.id, whatif.Proposal("program", None), later)
    assert ended.projection is None and ended.stop is None
    assert ended.prompt.endswith(
        "has run and the pump is stopped, so nothing is left to project: type a daily dose to "
        "try a restart"
    )


def test_the_record_of_a_restart_after_a_bolus_shows_the_pump_at_0_before_it(
    implant: Implant, users: dict[Role, User]
) -> None:
    """The reviewer's case: its "before" column gave the bolus as a daily dose (50 mcg/day)."""
    programmed_between_refills(implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(days=1))
    low = restart_low(users, implant, ["restart_after_stop"], at=NOW - timedelta(hours=1))
    program = programs.program_pump(
        users[Role.PHYSICIAN],
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=NOW,
        overrides={"refill_margin_change": "refill booked for tomorrow"},
    )
    record = program_preview.program_record(users[Role.PHYSICIAN], program.id)
    assert record.before.dose == parse("0 mcg/day", Kind.DOSE_RATE, "d")
    assert record.before.rate == parse("0 mL/day", Kind.VOLUME_RATE, "r")
    assert record.after.dose == low
    assert record.before.reservoir == pump_history.residual_at(implant, program.started_at)


def test_the_program_record_of_a_single_bolus_lists_the_stop_after_it_with_its_reason(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """The reviewer's case: the record of a bolus on a running pump listed a "decrease of
    87.80 %" (the bolus against the day) and not the withdrawal after it, which the prescriber
    gave a reason for."""
    programmed_between_refills(
        implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(hours=3)
    )
    shown = client_as(Role.NURSE).get(f"/api/implants/{implant.id}").json()["program"]
    assert [w["rule"] for w in shown["warnings"]] == ["stops_after_single_bolus"]
    assert "baclofen then stops abruptly" in shown["warnings"][0]["message"]
    [given] = shown["overrides"]
    assert given["rule"] == "stops_after_single_bolus" and given["given_at"] == "prescribing"
    assert given["reason"] == "oral baclofen restarted, stop planned"


def test_a_third_bolus_is_judged_at_signing_with_every_bolus_and_basal_of_its_day(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """The reviewer's case: a third bolus was signed and double-checked counting only the bolus
    in force, and refused only once programmed. 400 mcg/day until a 300 mcg bolus 5 h ago, a
    50 mcg bolus 2 h ago: 666.7 mcg within the day; 400 mcg more passes the 1000 mcg ceiling."""
    programmed_between_refills(
        implant.id, bolus_of("300 mcg", "1 hour"), at=NOW - timedelta(hours=5)
    )
    programmed_between_refills(
        implant.id, bolus_of("50 mcg", "1 hour"), at=NOW - timedelta(hours=2)
    )
    third = {"kind": "single_bolus", "dose": "400 mcg", "duration": "1 hour"}
    preview = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{implant.id}/prescriptions/preview",
        prescription_body(None, program=third, ptm=None),
    ).json()
    stop = preview["stop"]
    assert stop is not None and stop["field"] == "dose"
    assert "is stopped by single_bolus_day_total: a single bolus of 400 mcg" in stop["message"]
    # counted from the stored program times (to the second): about 666.7 mcg given, 333.3 left
    assert re.match(r"<= 333\.3\d* mcg a single bolus after the 666\.6\d* mcg", stop["limit"])
