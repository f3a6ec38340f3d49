"""The demo clinic: a small seeded clinic covers every indication and stage, its records are the
services' own (pathway, implants with programs executing double-checked prescriptions, read back,
audited refills whose volumes a fresh twin run reproduces from the stored records), it shows
flex programs, patient boluses, a rejected prescription, one awaiting its double-check and a
readback incident, it shows over-infusing pumps, baclofen pumps near their
alarm, outcomes improving after implantation and users of every role who can log in; the plan
is deterministic per seed; `painpump demo --no-serve` works in a fresh data directory with no
secret configured, while `painpump serve` still refuses to start without one.

The demo clinic is a clinic in Berlin (its settings are seeded, audited): its history falls on
Berlin's working days and opening hours; the seeding is anchored to the clinic's day, and data
more than MAX_AGE_DAYS old are stale (the tests move the frozen clock, or the clock's variable)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections import defaultdict
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from frozen import NOW
from painpump import clock
from painpump.clinic import audit
from painpump.clinic.demo import seed as demo
from painpump.clinic.demo.plan import (
    DEMO_LOCALE,
    INDICATIONS,
    PTM_REQUESTS,
    STAGES,
    PatientPlan,
    plan_clinic,
)
from painpump.clinic.locale import clinic_locale, clinic_settings
from painpump.clinic.models import (
    Assessment,
    AuditEntry,
    DemoAnchor,
    Episode,
    Implant,
    Incident,
    Patient,
    Prescription,
    Program,
    Refill,
)
from painpump.clinic.pathway_state import load_state
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.roles import Role, roles_of
from painpump.core.locale import ClinicLocale, zone
from painpump.core.prescription import WEEKDAYS, ProgramKind
from painpump.core.scheduling import ClinicCalendar
from painpump.core.twin import Twin, load_scenario
from painpump.core.units import Q, format_decimal

TODAY = DEMO_LOCALE.today(NOW)
"""The demo clinic's day at the frozen clock (in Berlin, where the demo clinic is)."""
PATIENTS = 30
PAINPUMP = Path(sys.executable).parent / "painpump"


def micro(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.000001"))


def fluid(refill: Refill) -> list[dict[str, str]]:
    return [
        {"drug": d.drug, "concentration": f"{format_decimal(d.concentration_mcg_per_ml)} mcg/mL"}
        for d in refill.drugs.all()
    ]


def micrograms(dose: Q) -> str:
    return format_decimal(dose.canonical)


def program_table(program: Program, bridge: bool) -> dict[str, Any]:
    """The twin's program table of the prescription a stored program executes."""
    assert program.prescription is not None
    prescribed = as_core(program.prescription).program
    days = {
        name: [
            {"start": s.start, "dose": f"{format_decimal(s.dose.canonical)} mcg/day"} for s in day
        ]
        for name, day in zip(WEEKDAYS, prescribed.days, strict=True)
    }
    if prescribed.kind is ProgramKind.CONTINUOUS:
        assert program.dose_mcg_per_day == prescribed.days[0][0].dose.canonical
        return {"kind": "continuous", "dose": days["mon"][0]["dose"], "bridge": bridge}
    return {"kind": "flex", "steps": days["mon"], "weekdays": days}


def scenario_from_records(implant: Implant, plan: PatientPlan) -> dict[str, Any]:
    """The twin scenario of an implant rebuilt from what the clinic stored (fills, the
    prescriptions each program executed, programs started between refills, bridges, the PTM
    settings), with the pump's true accuracy (and fault) and the patient's bolus requests that
    only the plan knows."""
    fills = list(implant.refills.order_by("performed_at").prefetch_related("drugs"))
    first, later = fills[0], fills[1:]
    events: list[dict[str, Any]] = [
        {
            "at": r.performed_at.isoformat(),
            "kind": "refill",
            "volume": f"{format_decimal(r.volume_ml)} mL",
            "drugs": fluid(r),
            "program": program_table(r.program, r.bridge_volume_ml is not None),
        }
        for r in later
    ]
    events += [
        {"at": p.started_at.isoformat(), "kind": "program", "program": program_table(p, False)}
        for p in implant.programs.filter(refills__isnull=True)
    ]
    if plan.fault is not None:
        events.append(
            {"at": plan.fault[0].isoformat(), "kind": "accuracy", "factor": str(plan.fault[1])}
        )
    offset = DEMO_LOCALE.local(first.performed_at).strftime("%z")
    document: dict[str, Any] = {
        "start": first.performed_at.isoformat(),
        "until": (fills[-1].performed_at + timedelta(hours=1)).isoformat(),
        "pump": {
            "model": implant.pump_model,
            "accuracy": str(plan.accuracy),
            "dead_volume": f"{format_decimal(implant.dead_volume_ml)} mL",
            "primed": True,
            "utc_offset": f"{offset[:3]}:{offset[3:]}",
        },
        "fill": {"volume": f"{format_decimal(first.volume_ml)} mL", "drugs": fluid(first)},
        "program": program_table(first.program, False),
        "event": events,
    }
    assert first.program.prescription is not None
    ptm = first.program.prescription
    if ptm.ptm_dose_mcg is not None:
        document["ptm"] = {
            "bolus": f"{format_decimal(ptm.ptm_dose_mcg)} mcg",
            "duration": f"{ptm.ptm_duration_s} s",
            "lockout": f"{ptm.ptm_lockout_s} s",
            "max_per_day": ptm.ptm_max_per_day,
            "daily": list(PTM_REQUESTS),
        }
    return document


@pytest.mark.django_db
def test_a_seeded_demo_clinic_is_complete_consistent_and_audited() -> None:
    report = demo.seed(patients=PATIENTS, seed=7)
    assert report.seeded_on == TODAY
    plans = {p.mrn: p for p in plan_clinic(patients=PATIENTS, seed=7, today=TODAY)}

    # the patients of the plan, over every indication and pathway stage
    stored = {p.mrn: (p.family_name, p.given_name, p.birth_date) for p in Patient.objects.all()}
    assert stored == {m: (p.family_name, p.given_name, p.birth_date) for m, p in plans.items()}
    episodes = list(Episode.objects.select_related("patient"))
    assert {e.indication for e in episodes} == set(INDICATIONS)
    assert {e.stage for e in episodes} == set(STAGES)
    assert {e.patient.mrn: e.stage for e in episodes} == {m: p.stage for m, p in plans.items()}
    assert report.patients == PATIENTS and sum(report.stages.values()) == PATIENTS

    for episode in episodes:
        state = load_state(episode.pathway_state)
        if episode.stage == "closed_non_responder":
            assert state.catheter_removed_on is not None and episode.closed_at is not None
        if episode.stage == "responder":
            assert state.test_ended_on is not None and state.test_ended_on < TODAY
        if episode.indication == "traumatic_brain_injury" and state.implanted_on is not None:
            assert episode.injury_date is not None
            assert (state.implanted_on - episode.injury_date).days > 365
        if episode.indication == "tumour_pain":
            assert state.test_started_on is None
        implants = list(episode.implants.all())
        if episode.stage in ("rehabilitation", "maintenance"):
            assert len(implants) == 1
            assert implants[0].programs.filter(ended_at__isnull=True).count() == 1
        else:
            assert implants == []
    # baseline assessments at referral: pain for all, Ashworth per limb for spasticity, OMED for
    # pain indications; after implantation the pain falls and so does the oral morphine dose
    kinds: dict[str, set[str]] = defaultdict(set)
    for a in Assessment.objects.select_related("episode"):
        kinds[a.episode.indication].add(a.kind)
    assert kinds["stroke"] == {"pain_nrs", "ashworth"}
    assert kinds["failed_back_surgery_syndrome"] == {"pain_nrs", "omed_mg_per_day"}
    improved = 0
    for episode in Episode.objects.filter(stage="maintenance"):
        for kind in ("pain_nrs", "omed_mg_per_day"):
            values = list(episode.assessments.filter(kind=kind).values_list("value", flat=True))
            if len(values) > 2:
                assert values[-1] <= values[0]
                improved += values[-1] < values[0]
    assert improved > 0

    # refills: the volumes a fresh twin run gives from the stored records, pump by pump
    implants = list(Implant.objects.select_related("episode__patient"))
    assert implants and report.implants == len(implants)
    for implant in implants:
        plan = plans[implant.episode.patient.mrn]
        rows = list(implant.refills.filter(expected_ml__isnull=False).order_by("performed_at"))
        if not rows:
            continue
        result = Twin(load_scenario(scenario_from_records(implant, plan))).run()
        events = [e for e in result.events if e.kind == "refill"]
        assert [
            (micro(e.details["expected"].canonical), micro(e.details["aspirated"].canonical))
            for e in events
        ] == [(micro(r.expected_ml), micro(r.aspirated_ml)) for r in rows]  # type: ignore[arg-type]
        assert [(r.expected_ml, r.aspirated_ml) for r in rows] == [
            (v.expected_ml, v.aspirated_ml) for v in plan.visits[1:]
        ]
    refills = Refill.objects.filter(expected_ml__isnull=False)
    assert report.refills == refills.count() > 50
    over = refills.filter(finding="overinfusion")
    assert over.exists() and report.over_infusing_pumps >= 1
    assert all(
        any(
            o["rule"] == "reconciliation" and o["reason"].startswith("demo: ")
            for o in r.acknowledged
        )
        and r.needs_verification
        for r in over
    )
    faulty = {p.mrn for p in plans.values() if p.fault is not None}
    assert {
        r.implant.episode.patient.mrn for r in over.select_related("implant__episode__patient")
    } <= faulty
    for refill in Refill.objects.filter(needs_verification=True):
        assert refill.verified_by != refill.performed_by
    assert Refill.objects.filter(needs_verification=True).exclude(verified_by="").exists()

    # baclofen pumps close to their low-reservoir alarm today (the clinic's days)
    start, end = DEMO_LOCALE.day_start(TODAY), DEMO_LOCALE.day_start(TODAY + timedelta(days=14))
    near = [
        i
        for i in implants
        if (last := i.refills.order_by("-performed_at").first()) is not None
        and last.drugs.get(position=0).drug == "baclofen"
        and start <= last.alarm_at < end
    ]
    assert near and report.near_alarm == len(near)

    # users of every role, who log in with the printed passwords
    assert {login.role for login in report.logins} == {role.value for role in Role}
    assert len([x for x in report.logins if x.role == "physician"]) == 2
    for login in report.logins:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password)
        assert roles_of(user) == {Role(login.role)}
    assert len({login.password for login in report.logins}) == len(report.logins)

    verification = audit.verify()
    assert verification.ok, verification.problem
    assert verification.entries > report.refills

    # a reused demo clinic gets new passwords; the old ones stop working
    again = demo.reset_passwords()
    assert [x.username for x in again] == [x.username for x in report.logins]
    first = User.objects.get(username=again[0].username)
    assert first.check_password(again[0].password)
    assert not first.check_password(report.logins[0].password)
    assert audit.verify().ok


@pytest.mark.django_db
def test_every_demo_pump_runs_a_prescription_a_second_clinician_checked_and_a_nurse_read_back() -> (
    None
):
    """Each program executes a physician's prescription, double-checked (accepted) by the
    pharmacist or the other physician before it ran, programmed by a nurse and read back; the
    demo shows flex programs (one started between refills), patient boluses with their use
    recorded at the refills, a prescription rejected and signed again corrected, one awaiting
    its double-check and one readback that differs from the prescription, with its incident
    open."""
    report = demo.seed(patients=PATIENTS, seed=7)
    plans = {p.mrn: p for p in plan_clinic(patients=PATIENTS, seed=7, today=TODAY)}
    physicians = {"demo.physician1", "demo.physician2"}
    nurses = {"demo.nurse1", "demo.nurse2"}

    programs = list(Program.objects.select_related("prescription").prefetch_related("readbacks"))
    assert programs
    for program in programs:
        prescription = program.prescription
        assert prescription is not None and prescription.high_alert
        assert program.dose_mcg_per_day == prescription.daily_dose_mcg_per_day
        assert program.programmed_by in nurses
        assert prescription.prescribed_by == program.prescribed_by in physicians
        assert prescription.prescribed_at < program.started_at
        accepted = prescription.checks.get(accepted=True)
        assert accepted.checked_by != prescription.prescribed_by
        assert accepted.checked_by in physicians | {"demo.pharmacist"}
        assert prescription.prescribed_at <= accepted.checked_at < program.started_at
        assert program.readbacks.count() == 1
    assert Program.objects.filter(refills__isnull=True).exists()  # programmed between refills

    # one readback differs from the prescription: its incident is open on the patient's record
    (wrong,) = [p for p in programs if not p.readbacks.get().matches]
    (incident,) = Incident.objects.filter(closed_at__isnull=True)
    assert incident.implant_id == wrong.implant_id and "reservoir" in incident.summary
    mismatch = [m for m, p in plans.items() if any(v.readback_error for v in p.visits)]
    assert [incident.patient.mrn] == mismatch

    # one prescription rejected with a comment, then signed again corrected and accepted
    (rejected,) = Prescription.objects.filter(status=Prescription.Status.REJECTED)
    check = rejected.checks.get()
    assert not check.accepted and check.comment.startswith("demo: ")
    differs = [m["field"] for m in check.mismatches]  # the order's program, entered step by step
    assert differs and all(field.startswith("program.days.") for field in differs)
    corrected = Prescription.objects.get(implant=rejected.implant, number=rejected.number + 1)
    assert corrected.checks.get().accepted and corrected.programs.exists()

    # one awaiting its double-check, after the pump's last programming
    (waiting,) = Prescription.objects.filter(status=Prescription.Status.AWAITING_CHECK)
    assert not waiting.checks.exists() and not waiting.programs.exists()
    assert waiting.prescribed_at > waiting.implant.programs.latest("started_at").started_at
    assert [waiting.implant.episode.patient.mrn] == [m for m, p in plans.items() if p.pending]

    # flex programs (a baclofen night step) and patient boluses, their use at every refill
    flex = Prescription.objects.filter(program_kind="flex")
    assert flex.exists() and report.flex_pumps == flex.values("implant").distinct().count()
    night = flex.filter(drugs__drug="baclofen").first()
    assert night is not None and night.steps.filter(weekday=0).count() == 3
    with_ptm = Prescription.objects.filter(ptm_dose_mcg__isnull=False)
    assert with_ptm.exists() and report.ptm_pumps >= 1
    for prescription in with_ptm.select_related("implant__episode__patient"):
        assert prescription.implant.episode.patient.opioid_status == "tolerant"
        later = prescription.implant.refills.filter(expected_ml__isnull=False)
        assert all(r.ptm_given is not None and r.ptm_requests is not None for r in later)
        assert all(0 < r.ptm_given < r.ptm_requests for r in later)  # type: ignore[operator]
    assert audit.verify().ok


def test_the_same_seed_gives_the_same_clinic() -> None:
    one = plan_clinic(patients=12, seed=3, today=TODAY)
    assert one == plan_clinic(patients=12, seed=3, today=TODAY)
    other = plan_clinic(patients=12, seed=4, today=TODAY)
    assert [p.mrn for p in one] == [p.mrn for p in other]
    assert [(p.family_name, p.birth_date, p.visits) for p in one] != [
        (p.family_name, p.birth_date, p.visits) for p in other
    ]
    # every event is in the past of `today`, none before a five-year history
    for plan in one:
        for visit in plan.visits:
            assert TODAY - timedelta(days=5 * 366) < visit.at.date() < TODAY
        assert plan.referred_on <= TODAY


@pytest.mark.skipif(not PAINPUMP.exists(), reason="the painpump console script is not installed")
def test_painpump_demo_seeds_and_prints_the_logins_without_a_configured_secret(
    tmp_path: Path,
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "PAINPUMP_SECRET_KEY", "PAINPUMP_SECRET_KEY_FILE")
    }  # a fresh SQLite database in the temporary data dir, never a real one
    env["PAINPUMP_DATA_DIR"] = str(tmp_path)
    command = [str(PAINPUMP), "demo", "--no-serve", "--patients", "10"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for _, username, role in demo.DEMO_USERS:
        assert any(
            line.split()[0] == username and line.split()[-1] == role
            for line in done.stdout.splitlines()
            if line.strip()
        ), done.stdout
    assert "patients: 10" in done.stdout
    assert "http://127.0.0.1:8000/api/" in done.stdout
    secret = tmp_path / "demo-secret-key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "reusing the demo clinic" in again.stdout and "demo.nurse1" in again.stdout

    # the demo's secret is the demo's: the settings still fail closed for painpump serve
    serve = subprocess.run(
        [str(PAINPUMP), "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert serve.returncode != 0
    assert "PAINPUMP_SECRET_KEY" in serve.stderr


@pytest.mark.django_db
def test_the_demo_clinic_is_a_clinic_in_berlin_seeded_with_an_audited_settings_change() -> None:
    demo.seed(patients=3, seed=2)
    settings = clinic_settings()
    assert (settings.time_zone, settings.country, settings.subdivision) == (
        "Europe/Berlin",
        "DE",
        "BE",
    )
    assert settings.open_weekdays == [0, 1, 2, 3, 4]
    assert (settings.opens_at, settings.closes_at) == (time(8, 0), time(16, 0))
    assert (settings.date_format, settings.time_format) == ("dmy_dots", "24h")
    assert clinic_locale() == DEMO_LOCALE
    # Berlin's holidays: German Unity Day everywhere, International Women's Day in Berlin only
    assert DEMO_LOCALE.calendar.closed_because(TODAY.replace(month=10, day=3))
    assert DEMO_LOCALE.calendar.closed_because(TODAY.replace(month=3, day=8))
    change = AuditEntry.objects.get(action="settings.update")
    assert change.actor == demo.ACTOR
    assert change.after is not None and change.before is not None
    assert change.after["time_zone"] == "Europe/Berlin" and change.after["country"] == "DE"
    assert change.before["version"] + 1 == change.after["version"] == settings.version
    assert audit.verify().ok


def test_the_plan_keeps_to_the_clinics_calendar_hours_and_zone() -> None:
    """Referrals, admissions, implants and refills fall on the clinic's working days (no
    weekend, no public holiday of its region), within its opening hours on its wall clock;
    another clinic's locale gives that clinic's days and hours."""
    us = ClinicLocale(
        zone=zone("America/Chicago"),
        calendar=ClinicCalendar("US", open_weekdays=frozenset({0, 1, 2, 3})),
        opens_at=time(7, 0),
        closes_at=time(12, 0),
    )
    for locale in (DEMO_LOCALE, us):
        plans = plan_clinic(patients=40, seed=5, today=locale.today(NOW), locale=locale)
        visits = [v for p in plans for v in p.visits[1:]]  # the first fill is at the implant
        assert len(visits) > 50
        for visit in visits:
            local = locale.local(visit.at)
            assert locale.calendar.is_working_day(local.date()), local
            assert locale.opens_at <= local.time() < locale.closes_at, local
        for plan in plans:
            assert locale.calendar.is_working_day(plan.referred_on), plan.referred_on
            admissions = [s for s in plan.steps if s.action == "start_test_phase"]
            if plan.stage != "test_phase":  # a stay still running keeps its days
                for admission in admissions:
                    assert locale.calendar.is_working_day(admission.facts["on"]), admission
            if plan.device is not None:
                assert locale.calendar.is_working_day(plan.device.implanted_on)
                assert locale.local(plan.device.implant_at).time() == time(11, 0)


@pytest.mark.django_db
def test_the_seeding_is_anchored_to_the_clinics_day_and_goes_stale_after_max_age_days(
    frozen_clock: time_machine.Traveller,
) -> None:
    assert demo.is_empty()
    demo.seed(patients=3, seed=2)
    assert not demo.is_empty()
    anchor = DemoAnchor.objects.get()
    assert anchor.seeded_on == TODAY and (anchor.patients, anchor.seed) == (3, 2)
    assert abs(anchor.seeded_at - NOW) < timedelta(minutes=1)
    assert AuditEntry.objects.filter(action="demo.seed", actor=demo.ACTOR).count() == 1

    fresh = demo.freshness()
    assert (fresh.age, fresh.stale) == (0, False)
    assert "today" in fresh.describe()

    def on(days: int) -> demo.Freshness:
        frozen_clock.move_to(DEMO_LOCALE.at(TODAY + timedelta(days=days), time(9, 0)))
        return demo.freshness()

    assert (on(demo.MAX_AGE_DAYS).age, on(demo.MAX_AGE_DAYS).stale) == (demo.MAX_AGE_DAYS, False)
    old = on(demo.MAX_AGE_DAYS + 1)
    assert old.stale and f"more than {demo.MAX_AGE_DAYS}" in old.describe()
    assert DEMO_LOCALE.format_date(TODAY) in old.describe()
    # a clock moved before the seeding: the data lie in its future
    back = on(-1)
    assert back.stale and "after the clinic's today" in back.describe()
    # an interrupted (or older) seeding has no anchor
    frozen_clock.move_to(NOW)
    DemoAnchor.objects.all().delete()
    assert demo.freshness().stale and demo.freshness().age is None


@pytest.mark.django_db
def test_a_seeding_on_a_moved_clock_is_anchored_to_the_moved_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`painpump demo --at` sets PAINPUMP_CLOCK_AT: the seeding reads that moment as now (here a
    Saturday of the clinic, a few weeks on), and its history ends before it."""
    saturday = TODAY + timedelta(days=(5 - TODAY.weekday()) % 7 + 21)
    moment = DEMO_LOCALE.at(saturday, time(10, 0))
    monkeypatch.setenv(clock.CLOCK_AT, moment.isoformat())
    monkeypatch.setenv(clock.CLOCK_FROM, NOW.isoformat())
    report = demo.seed(patients=8, seed=3)
    assert report.seeded_on == saturday == DemoAnchor.objects.get().seeded_on
    assert demo.freshness().age == 0
    latest = Refill.objects.order_by("-performed_at").first()
    assert latest is not None and DEMO_LOCALE.local(latest.performed_at).date() < saturday
    monkeypatch.delenv(clock.CLOCK_AT)
    assert demo.freshness().stale  # back on the real (frozen) clock, the data are in its future
