"""The clinic-wide endpoints through HTTP: the dashboard (an overdue baclofen pump first among
equals, with its priority's reasons; a prescription awaiting its double-check until checked),
the appointment calendar, alarms open until acknowledged with an action, and the clinic settings
(admin only, validated by the core rules that use them, 409 on a stale version, audited, and in
force for the next pathway step)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import at, implanted, iso, new_episode, new_patient, post, today

from frozen import ZONE_NAME, day
from painpump import clock
from painpump.clinic.actions.readbacks import record_readback
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AlarmReport, AuditEntry, Implant
from painpump.clinic.reads import prescriptions as prescription_reads
from painpump.clinic.roles import Role
from painpump.clinic.testing import CARRIED_OVER, responder_episode
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.units import Kind, parse

FILLED_DAYS_AGO = 88


@pytest.fixture
def pumps(users: dict[Role, User]) -> dict[str, Implant]:
    """Two pumps filled at the same moment at 0.2 mL/day, 20 mL to the 2 mL alarm (90 days):
    both overdue, alarm in 2 days; the morphine patient is created first and sorts first by
    name, so only the baclofen rule can put the baclofen pump first."""
    physician, nurse = users[Role.PHYSICIAN], users[Role.NURSE]
    filled = at(today() - timedelta(days=FILLED_DAYS_AGO))
    # the cancer patient on systemic opioids (tolerant) with a life expectancy of a year
    adler = new_patient(nurse, "M-1", "Adler", opioid_status="tolerant", life_expectancy_months=12)
    cancer = new_episode(physician, adler, "tumour_pain", 200)
    morphine = implanted(physician, cancer, filled, "morphine", "10 mg/mL", "2 mg/day")
    stroke = new_episode(physician, new_patient(nurse, "B-1", "Zeta"), "stroke", 200)
    responder_episode(physician, stroke.id, start=today() - timedelta(days=120))
    # her established dose, its reason the prescriber's: double-checked before the fill
    baclofen = implanted(physician, stroke, filled, overrides=CARRIED_OVER)
    return {"morphine": morphine, "baclofen": baclofen}


def test_the_dashboard_lists_an_overdue_baclofen_pump_first_among_equals(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    response = client_as(Role.NURSE).get("/api/dashboard")
    assert response.status_code == 200, response.content
    board = response.json()
    assert board["today"] == today().isoformat()
    for name in ("overdue", "at_risk"):
        rows = board[name]
        assert [r["implant_id"] for r in rows] == [
            str(pumps["baclofen"].id),
            str(pumps["morphine"].id),
        ]
        first, second = (r["priority"] for r in rows)
        assert first["overdue"] and second["overdue"]
        assert first["days_to_alarm"] == second["days_to_alarm"] == 2
        assert (first["high_risk"], second["high_risk"]) == (True, False)
        visit = rows[0]["visit"]  # the refill visit as stored, urgent at the nearest slot
        assert (
            visit["overdue"]
            and visit["status"] == "proposed"
            and visit["on"] >= today().isoformat()
        )
        assert {f["rule"] for f in first["reasons"]} >= {"refill_overdue"}
        assert all(f["source"] for f in first["reasons"])
    assert rows[0]["drugs"] == ["baclofen"] and rows[0]["patient"] == "Zeta, Erika"
    assert board["test_phases"] == [] and board["unverified"] == []
    assert (board["offset"], board["limit"]) == (0, 25)
    assert board["due_today"] == board["due_week"] == []
    assert board["totals"] == {
        "overdue": 2,
        "due_today": 0,
        "due_week": 0,
        "at_risk": 2,
        "test_phases": 0,
        "awaiting_implant": 0,
        "nearing_replacement": 0,
        "unverified": 0,
        "awaiting_check": 0,
        "open_alarms": 0,
        "open_incidents": 0,
        "stopped": 0,
        "awaiting_readback": 2,  # both pumps programmed, neither read back
    }
    assert AuditEntry.objects.filter(action="dashboard.read").count() == 1


def test_the_dashboard_lists_a_prescription_awaiting_its_double_check_until_checked(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    morphine = pumps["morphine"]
    drugs = [{"drug": "morphine", "concentration": "10 mg/mL"}]
    program = {"kind": "continuous", "dose": "2 mg/day"}
    signed = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{morphine.id}/prescriptions",
        {
            "drugs": drugs,
            "program": program,
            "version": Implant.objects.get(id=morphine.id).version,
            "reason": "the dose as before, prescribed again at the visit",
        },
    )
    assert signed.status_code == 201, signed.content
    prescription = signed.json()
    nurse = client_as(Role.NURSE)
    board = nurse.get("/api/dashboard").json()
    assert board["awaiting_check"] == [
        {
            "patient_id": str(morphine.episode.patient_id),
            "patient": "Adler, Erika",
            "prescription_id": prescription["id"],
            "implant_id": str(morphine.id),
            "pump_model": morphine.pump_model,
            "number": prescription["number"],
            "drugs": ["morphine"],
            "prescribed_by": prescription["prescribed_by"],
            "prescribed_at": prescription["prescribed_at"],
            "high_alert": True,
        }
    ]
    assert board["totals"]["awaiting_check"] == 1
    checked = post(
        client_as(Role.PHARMACIST),
        f"/api/prescriptions/{prescription['id']}/checks",
        {"concentrations": drugs, "program": program, "ptm": None, "accept": True},
    )
    assert checked.status_code == 201, checked.content
    board = nurse.get("/api/dashboard").json()
    assert board["awaiting_check"] == [] and board["totals"]["awaiting_check"] == 0


def test_the_dashboard_is_read_a_page_at_a_time(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    nurse = client_as(Role.NURSE)
    pages = [nurse.get("/api/dashboard", {"offset": k, "limit": 1}) for k in (0, 1, 2)]
    assert [p.status_code for p in pages] == [200, 200, 200], pages[0].content
    first, second, past = (p.json() for p in pages)
    assert [r["implant_id"] for r in first["at_risk"] + second["at_risk"]] == [
        str(pumps["baclofen"].id),
        str(pumps["morphine"].id),
    ]
    assert past["at_risk"] == past["overdue"] == []
    assert first["totals"] == second["totals"] == past["totals"]
    assert first["totals"]["at_risk"] == 2
    assert (second["offset"], second["limit"]) == (1, 1)
    assert AuditEntry.objects.filter(action="dashboard.read").count() == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"offset": -1}, "offset")],
)
def test_a_page_out_of_range_is_refused_naming_the_field(
    client_as: Callable[[Role | None], Client], query: dict[str, int], field: str
) -> None:
    response = client_as(Role.NURSE).get("/api/dashboard", query)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field
    assert not AuditEntry.objects.filter(action="dashboard.read").exists()


def test_the_calendar_lists_the_proposed_refill_appointments(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    nurse = client_as(Role.NURSE)
    start = (today() - timedelta(days=FILLED_DAYS_AGO)).isoformat()
    # both pumps are overdue: each visit is at the nearest open slot, today or (on a weekend or
    # a holiday) within the coming week
    end = (today() + timedelta(days=7)).isoformat()
    listed = nurse.get("/api/appointments", {"from": start, "to": end})
    assert listed.status_code == 200, listed.content
    rows = listed.json()
    assert sorted(a["patient"] for a in rows) == ["Adler, Erika", "Zeta, Erika"]
    assert {a["kind"] for a in rows} == {"refill"}
    assert all(a["on"] <= a["due_by"] or a["overdue"] for a in rows)
    later = (today() + timedelta(days=30)).isoformat()
    assert nurse.get("/api/appointments", {"from": later, "to": later}).json() == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": day(-15).isoformat(), "to": day(-24).isoformat()}, "to"),
        ({"from": day(-328).isoformat(), "to": day(188).isoformat()}, "to"),
        ({"to": day(-24).isoformat()}, "from"),
        ({"from": day(-24).isoformat(), "to": "yesterday"}, "to"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    client_as: Callable[[Role | None], Client],
    users: dict[Role, User],
    query: dict[str, str],
    field: str,
) -> None:
    response = client_as(Role.NURSE).get("/api/appointments", query)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["field"] == field


def test_alarms_stay_open_until_acknowledged_with_an_action(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    nurse = client_as(Role.NURSE)
    reported = {}
    for name in ("morphine", "baclofen"):
        response = post(
            nurse,
            f"/api/implants/{pumps[name].id}/alarms",
            {"kind": "low_reservoir", "reported_at": iso(at(today(), 8)), "note": "beeping"},
        )
        assert response.status_code == 201, response.content
        reported[name] = response.json()["id"]
    bad = post(
        nurse,
        f"/api/implants/{pumps['morphine'].id}/alarms",
        {"kind": "siren", "reported_at": iso(at(today()))},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "kind"
    open_alarms = nurse.get("/api/alarms", {"open": "true"}).json()
    assert [a["id"] for a in open_alarms] == [reported["baclofen"], reported["morphine"]]
    assert open_alarms[0]["high_risk"] is True
    url = f"/api/alarms/{reported['baclofen']}/acknowledge"
    empty = post(nurse, url, {"action_taken": "  "})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "action_taken"
    done = post(nurse, url, {"action_taken": "refill booked for today"})
    assert done.status_code == 200, done.content
    assert done.json()["acknowledged_by"] == "nurse.joy"
    assert [a["id"] for a in nurse.get("/api/alarms").json()] == [reported["morphine"]]
    assert len(nurse.get("/api/alarms", {"open": "false"}).json()) == 2
    again = post(nurse, url, {"action_taken": "again"})
    assert again.status_code == 422
    assert AlarmReport.objects.filter(acknowledged_at__isnull=True).count() == 1


def test_the_admin_changes_the_settings_audited_and_the_pathway_follows(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    admin = client_as(Role.ADMIN)
    shown = admin.get("/api/settings").json()
    assert shown == {
        "implant_wait_days": 21,
        "stay_min_days": 2,
        "stay_max_days": 3,
        "test_phase_days_moderate": 3,
        "test_phase_days_severe": 5,
        "test_phase_days_very_severe": 7,
        "test_phase_days_verified": False,
        "refill_margin_days": 7,
        "country": "US",
        "subdivision": "",
        "dosing_region": "us",
        "time_zone": ZONE_NAME,
        "open_weekdays": [0, 1, 2, 3, 4],
        "opens_at": "08:00",
        "closes_at": "17:00",
        "date_format": "iso",
        "time_format": "24h",
        "refill_visit_minutes": 30,
        "refill_capacity_per_day": 8,
        "readback_tolerance": {"value": 0.1, "unit": "mL"},
        "readback_tolerance_verified": False,
        "version": 1,
    }
    change = {"version": 1, "implant_wait_days": 28, "country": "de", "subdivision": "by"}
    changed = admin.patch("/api/settings", change, content_type="application/json")
    assert changed.status_code == 200, changed.content
    assert changed.json() == shown | {
        "implant_wait_days": 28,
        "country": "DE",
        "subdivision": "BY",
        "version": 2,
    }
    entry = AuditEntry.objects.filter(action="settings.update").get()
    assert entry.actor == "ad.min"
    assert entry.before is not None and entry.after is not None
    assert entry.before["implant_wait_days"] == "21 day"
    assert entry.after["implant_wait_days"] == "28 day"
    stale = admin.patch("/api/settings", change, content_type="application/json")
    assert stale.status_code == 409 and stale.json()["error"]["current_version"] == 2

    # The next implantation waits the new 28 days.
    physician = users[Role.PHYSICIAN]
    patient = new_patient(users[Role.NURSE], "S-1")
    episode = new_episode(physician, patient, "stroke", 100)
    responder = responder_episode(physician, episode.id, start=today() - timedelta(days=40))
    decided = today() - timedelta(days=38)
    preview = client_as(Role.PHYSICIAN).get(
        f"/api/episodes/{episode.id}/preview",
        {"action": "implant", "on": (decided + timedelta(days=21)).isoformat()},
    )
    assert preview.status_code == 422
    earliest = (decided + timedelta(days=28)).isoformat()
    assert f"earliest allowed date is {earliest}" in preview.json()["error"]["message"]
    assert responder.stage == "responder"


@pytest.mark.parametrize(
    ("change", "field", "limit"),
    [
        ({"country": "XX"}, "country", "ISO 3166"),
        ({"country": "DE", "subdivision": "ZZ"}, "subdivision", "ISO 3166"),
        ({"stay_min_days": 4}, "stay_min_days", "stay_min_days <= stay_max_days"),
        ({"implant_wait_days": -1}, "implant_wait_days", ">= 0 day"),
        ({"refill_margin_days": -1}, "refill_margin_days", ">= 0 day"),
        ({"dosing_region": "jp"}, "dosing_region", "us, eu"),
        ({"implant_wait_days": 40000}, "implant_wait_days", "32767"),
        ({"implant_wait_days": "21"}, "implant_wait_days", "integer"),
        ({"colour": "blue"}, "colour", "Extra inputs"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    client_as: Callable[[Role | None], Client],
    users: dict[Role, User],
    change: dict[str, Any],
    field: str,
    limit: str,
) -> None:
    response = client_as(Role.ADMIN).patch(
        "/api/settings", {"version": 1, **change}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["field"] == field and limit in error["limit"], error
    assert clinic_settings().version == 1
    assert not AuditEntry.objects.filter(action="settings.update").exists()


def test_the_patient_list_filters_sorts_and_gives_its_total_in_a_header(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    nurse = client_as(Role.NURSE)
    everyone = nurse.get("/api/patients", {"limit": 1})
    assert everyone.status_code == 200 and len(everyone.json()) == 1
    assert everyone["X-Total-Count"] == "2"
    baclofen = nurse.get("/api/patients", {"drug": "baclofen", "sort": "refill_by"})
    assert [p["family_name"] for p in baclofen.json()] == ["Zeta"]
    assert baclofen["X-Total-Count"] == "1"
    refused = nurse.get("/api/patients", {"drug": "aspirin"})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "drug"


@pytest.mark.parametrize(
    ("reported_at", "status"),
    [("-17:39", 201), ("+23:59", 201)],
    ids=["beyond-postgres-offsets-west", "beyond-postgres-offsets-east"],
)
def test_regression_a_moment_with_an_offset_postgresql_cannot_take_is_stored_in_utc(
    client_as: Callable[[Role | None], Client],
    pumps: dict[str, Implant],
    reported_at: str,
    status: int,
) -> None:
    """schemathesis found a 500 on PostgreSQL: 'time zone displacement out of range'."""
    moment = f"{(today() - timedelta(days=1)).isoformat()}T08:00:00{reported_at}"
    response = post(
        client_as(Role.NURSE),
        f"/api/implants/{pumps['baclofen'].id}/alarms",
        {"kind": "low_reservoir", "reported_at": moment},
    )
    assert response.status_code == status, response.content
    stored = datetime.fromisoformat(response.json()["reported_at"].replace("Z", "+00:00"))
    assert stored == datetime.fromisoformat(moment)


def test_a_moment_outside_the_calendar_in_utc_is_refused_naming_it(
    client_as: Callable[[Role | None], Client], pumps: dict[str, Implant]
) -> None:
    response = post(
        client_as(Role.NURSE),
        f"/api/implants/{pumps['baclofen'].id}/alarms",
        {"kind": "low_reservoir", "reported_at": "0001-01-01T00:00:00+05:00"},
    )
    assert response.status_code == 422
    assert "reported_at" in response.content.decode()


def test_the_dashboard_lists_pumps_awaiting_their_readback_and_each_incidents_severity(
    client_as: Callable[[Role | None], Client],
    pumps: dict[str, Implant],
    users: dict[Role, User],
) -> None:
    nurse = client_as(Role.NURSE)
    rows = nurse.get("/api/dashboard").json()["awaiting_readback"]
    programs = {p: pumps[p].programs.get(ended_at__isnull=True) for p in pumps}
    assert {(r["implant_id"], r["program_id"]) for r in rows} == {
        (str(pumps[p].id), str(programs[p].id)) for p in pumps
    }
    row = next(r for r in rows if r["implant_id"] == str(pumps["morphine"].id))
    assert row["patient"].startswith("Adler, ")
    assert (row["pump_model"], row["prescription_number"]) == ("synchromed-ii-20", 1)
    assert (row["programmed_by"], row["at_refill"]) == ("dr.house", True)
    assert row["programmed_at"] == iso(programs["morphine"].started_at)
    record = prescription_reads.in_force(pumps["morphine"])
    assert record is not None
    prescribed_now = prescription_reads.as_core(record)
    wrong = ReadValues(
        parse("5 mL", Kind.VOLUME, "reservoir"), prescribed_now.drugs, prescribed_now.program, None
    )
    record_readback(users[Role.NURSE], programs["morphine"].id, wrong, clock.now())
    board = nurse.get("/api/dashboard").json()
    assert [r["implant_id"] for r in board["awaiting_readback"]] == [str(pumps["baclofen"].id)]
    assert board["totals"]["awaiting_readback"] == 1
    [incident] = board["open_incidents"]
    assert incident["severity"] == "other"  # the reservoir alone differed
