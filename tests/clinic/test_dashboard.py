"""The worklist: what is due, overdue and at risk (baclofen first among equals), test phases,
responders with their earliest implant date, pumps to replace, refills awaiting a second
clinician, prescriptions awaiting their double-check (until accepted or rejected), open alarms
(acknowledged ones leave it); reading it is audited. Each list is read a
page at a time, in the core's order across pages, with the size of the whole list."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

import holidays
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_fixtures import single_bolus_programmed
from frozen import NOW, TODAY, ZONE, day, next_weekday
from painpump.clinic.actions import (
    alarms,
    implantation,
    pathway,
    patients,
    prescriptions,
    readbacks,
    refills,
)
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, Episode, Implant, Incident, Prescription, Refill
from painpump.clinic.reads import dashboard
from painpump.clinic.reads import prescriptions as prescription_reads
from painpump.clinic.testing import CARRIED_OVER, MEDTRONIC_CATHETER, prescribed, responder_episode
from painpump.core import prescription as rx
from painpump.core.device_life import add_months
from painpump.core.errors import Refusal
from painpump.core.prescription import BolusState
from painpump.core.prescription_compare import CheckEntries
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.readback_severity import Severity
from painpump.core.refill_decision import Fill
from painpump.core.scheduling import ClinicCalendar, DueRefill, prioritise
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

REPLACE_BY = day(6)
"""When the ageing SynchroMed II is due for replacement (7 years less 6 months after its
implant): within the dashboard's horizon."""


def at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def patient_with(physician: User, nurse: User, mrn: str, indication: str) -> Episode:
    """A patient referred for `indication`; a tumour-pain patient is on systemic opioids
    (opioid-tolerant) with a life expectancy of a year recorded, as before an implantation."""
    tumour = indication == "tumour_pain"
    patient = patients.create_patient(
        nurse,
        mrn=mrn,
        family_name=f"Patient {mrn}",
        given_name="A",
        birth_date=date(1960, 1, 1),
        today=NOW.date(),
        opioid_status="tolerant" if tumour else None,
        life_expectancy_months=12 if tumour else None,
    )
    return patients.open_episode(
        physician, patient.id, indication=indication, referred_on=date(2019, 1, 2)
    )


def implanted(
    physician: User,
    checker: User,
    episode: Episode,
    on: date,
    drug: str,
    concentration: str,
    dose: str,
    model: str = "synchromed-ii-20",
    overrides: Mapping[str, str] | None = None,
) -> Implant:
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=Episode.objects.get(id=episode.id).version,
        now=at(on),
        pump_model=model,
        pump_serial=f"S-{episode.id}"[:20],
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=on,
    )
    fill = Fill(
        ((drug, parse(concentration, Kind.CONCENTRATION, "c")),),
        parse("20 mL", Kind.VOLUME, "v"),
        "LOT",
    )
    daily = parse(dose, Kind.DOSE_RATE, "dose")
    prescribed(physician, checker, implant.id, fill, daily, at=at(on), overrides=overrides)
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key=f"fill-{implant.id}",
        performed_at=at(on),
        expected=None,
        aspirated=None,
        fill=fill,
        dose=daily,
        overrides=overrides,
    )
    return Implant.objects.get(id=implant.id)


@pytest.fixture
def clinic(physician: User, nurse: User, pharmacist: User) -> dict[str, object]:
    spastic = patient_with(physician, nurse, "B-1", "paraplegia")
    responder_episode(physician, spastic.id, start=day(-147))
    # baclofen 400 mcg/day at 2000 mcg/mL = 0.2 mL/day: alarm 90 days after the fill, in 5 days
    # (her established dose, above the label's 200 mcg/day start)
    baclofen = implanted(
        physician,
        pharmacist,
        spastic,
        day(-85),
        "baclofen",
        "2000 mcg/mL",
        "400 mcg/day",
        overrides=CARRIED_OVER,
    )
    # the override of its start dose was the prescriber's, double-checked before the fill
    assert not Refill.objects.get(implant=baclofen).needs_verification
    # morphine 1 mg/day at 10 mg/mL = 0.1 mL/day: alarm 180 days after the fill
    cancer = patient_with(physician, nurse, "M-1", "tumour_pain")
    morphine = implanted(
        physician, pharmacist, cancer, day(-55), "morphine", "10 mg/mL", "1 mg/day"
    )
    # an older SynchroMed II, implanted 7 years less 6 months before its replacement date
    old = patient_with(physician, nurse, "O-1", "tumour_pain")
    ageing = implanted(
        physician,
        pharmacist,
        old,
        add_months(REPLACE_BY, -(7 * 12 - 6)),
        "morphine",
        "10 mg/mL",
        "2 mg/day",
    )
    testing = patient_with(physician, nurse, "T-1", "stroke")
    pathway.step(
        physician,
        testing.id,
        "start_test_phase",
        expected_version=1,
        now=at(day(-1)),
        on=day(-1),
        protocol="bolus",
    )
    waiting = patient_with(physician, nurse, "R-1", "multiple_sclerosis")
    responder_episode(physician, waiting.id, start=day(-15))
    return {"baclofen": baclofen, "morphine": morphine, "ageing": ageing}


def test_the_worklist_shows_each_list_most_urgent_first(
    clinic: dict[str, Implant], physician: User
) -> None:
    board = dashboard.worklist(physician, NOW)
    baclofen, ageing = clinic["baclofen"], clinic["ageing"]
    # baclofen: refill by 2 days ago (the alarm in 5 days less the 7-day margin): overdue;
    # the ageing pump, never refilled since 2020, is far more overdue and comes first
    assert [r.implant_id for r in board.overdue] == [str(ageing.id), str(baclofen.id)]
    assert all(r.urgent for r in board.overdue)
    assert board.overdue[1].priority.high_risk
    assert [r.implant_id for r in board.at_risk[:2]] == [str(ageing.id), str(baclofen.id)]
    assert board.at_risk[1].priority.days_to_alarm == 5
    assert [row.patient for row in board.test_phases] == ["Patient T-1, A"]
    decided = day(-15) + timedelta(days=2)
    assert board.awaiting_implant[0].earliest_implant == decided + timedelta(days=21)
    assert [(r.pump_model, r.replace_by) for r in board.nearing_replacement] == [
        ("synchromed-ii-20", REPLACE_BY)
    ]
    entry = AuditEntry.objects.filter(action="dashboard.read").get()
    assert entry.after is not None
    assert str(baclofen.episode.patient_id) in entry.after["patients"]


def test_an_alarm_stays_on_the_worklist_until_acknowledged_with_an_action(
    clinic: dict[str, Implant], nurse: User, physician: User
) -> None:
    morphine = alarms.report_alarm(nurse, clinic["morphine"].id, kind="other", reported_at=NOW)
    baclofen = alarms.report_alarm(
        nurse, clinic["baclofen"].id, kind="low_reservoir", reported_at=NOW
    )
    board = dashboard.worklist(physician, NOW)
    assert [a.alarm_id for a in board.open_alarms] == [str(baclofen.id), str(morphine.id)]
    with pytest.raises(Refusal, match="is empty"):
        alarms.acknowledge_alarm(nurse, baclofen.id, now=NOW, action_taken="  ")
    alarms.acknowledge_alarm(nurse, baclofen.id, now=NOW, action_taken="refill booked today")
    board = dashboard.worklist(physician, NOW)
    assert [a.alarm_id for a in board.open_alarms] == [str(morphine.id)]
    with pytest.raises(Refusal, match="already acknowledged"):
        alarms.acknowledge_alarm(nurse, baclofen.id, now=NOW, action_taken="again")


def test_a_refill_waiting_for_verification_is_listed_until_verified(
    clinic: dict[str, Implant], physician: User, pharmacist: User, nurse: User
) -> None:
    implant = clinic["morphine"]
    # a reason typed at the refill for what the nurse found (3 mL less than expected)
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="overinfused",
        performed_at=at(day(-5)),
        expected=parse("15 mL", Kind.VOLUME, "e"),
        aspirated=parse("12 mL", Kind.VOLUME, "a"),
        fill=Fill(
            (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),),
            parse("20 mL", Kind.VOLUME, "v"),
            "LOT-2",
        ),
        overrides={"reconciliation": "pump interrogated, residual re-measured twice"},
    )
    assert refill.needs_verification
    assert [r.refill_id for r in dashboard.worklist(physician, NOW).unverified] == [str(refill.id)]
    refills.verify_refill(pharmacist, refill.id, NOW)
    assert dashboard.worklist(physician, NOW).unverified == []


MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)


def awaiting_check(
    physician: User,
    implant: Implant,
    hours_ago: int,
    drugs: tuple[tuple[str, Q], ...] = MORPHINE,
    dose: str = "1 mg/day",
) -> Prescription:
    """A high-alert prescription for the pump signed `hours_ago` hours before NOW, not yet
    double-checked."""
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(
            drugs, rx.PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "dose"))
        ),
        reason="the dose as before, prescribed again at the visit",
        now=NOW - timedelta(hours=hours_ago),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    assert record.status == Prescription.Status.AWAITING_CHECK
    return record


def entries_of(record: Prescription) -> CheckEntries:
    """The second clinician's entries matching the prescription as signed."""
    signed = prescription_reads.as_core(record)
    return CheckEntries(signed.drugs, signed.program, signed.ptm)


def test_a_prescription_awaiting_its_double_check_is_listed_until_accepted_or_rejected(
    clinic: dict[str, Implant], physician: User, pharmacist: User
) -> None:
    morphine, ageing = clinic["morphine"], clinic["ageing"]
    older = awaiting_check(physician, ageing, hours_ago=5, dose="2 mg/day")
    newer = awaiting_check(physician, morphine, hours_ago=2)
    board = dashboard.worklist(physician, NOW)
    assert board.awaiting_check == [
        dashboard.CheckRow(
            str(ageing.episode.patient_id),
            "Patient O-1, A",
            str(older.id),
            str(ageing.id),
            "synchromed-ii-20",
            older.number,
            ("morphine",),
            "dr.house",
            NOW - timedelta(hours=5),
            True,
        ),
        dashboard.CheckRow(
            str(morphine.episode.patient_id),
            "Patient M-1, A",
            str(newer.id),
            str(morphine.id),
            "synchromed-ii-20",
            newer.number,
            ("morphine",),
            "dr.house",
            NOW - timedelta(hours=2),
            True,
        ),
    ]
    assert board.totals.awaiting_check == 2
    entry = AuditEntry.objects.filter(action="dashboard.read").get()
    assert entry.after is not None
    assert str(morphine.episode.patient_id) in entry.after["patients"]
    prescriptions.double_check(
        pharmacist, older.id, entries=entries_of(older), accept=True, comment="", now=NOW
    )
    assert [r.prescription_id for r in dashboard.worklist(physician, NOW).awaiting_check] == [
        str(newer.id)
    ]
    prescriptions.double_check(
        pharmacist,
        newer.id,
        entries=entries_of(newer),
        accept=False,
        comment="the order names another concentration",
        now=NOW,
    )
    board = dashboard.worklist(physician, NOW)
    assert board.awaiting_check == [] and board.totals.awaiting_check == 0


def test_prescriptions_awaiting_check_are_paged_oldest_first_with_their_drugs_in_order(
    clinic: dict[str, Implant], physician: User
) -> None:
    admixture = (
        ("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),
        ("baclofen", parse("1000 mcg/mL", Kind.CONCENTRATION, "c")),
    )
    oldest = awaiting_check(physician, clinic["ageing"], hours_ago=9, dose="2 mg/day")
    middle = awaiting_check(physician, clinic["morphine"], hours_ago=6, drugs=admixture)
    baclofen = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
    newest = awaiting_check(
        physician, clinic["baclofen"], hours_ago=3, drugs=baclofen, dose="400 mcg/day"
    )
    order = [str(r.id) for r in (oldest, middle, newest)]
    whole = dashboard.worklist(physician, NOW).awaiting_check
    assert [r.prescription_id for r in whole] == order
    assert [r.drugs for r in whole] == [
        ("morphine",),
        ("morphine", "baclofen"),
        ("baclofen",),
    ]
    for limit in (1, 2):
        pages = [
            dashboard.worklist(physician, NOW, offset=offset, limit=limit)
            for offset in range(0, 3, limit)
        ]
        assert [r for p in pages for r in p.awaiting_check] == whole, limit
        assert {p.totals.awaiting_check for p in pages} == {3}
    past = dashboard.worklist(physician, NOW, offset=5)
    assert past.awaiting_check == [] and past.totals.awaiting_check == 3


def test_the_worklist_reads_as_many_queries_however_many_prescriptions_await_check(
    clinic: dict[str, Implant], physician: User
) -> None:
    awaiting_check(physician, clinic["ageing"], hours_ago=4, dose="2 mg/day")
    with CaptureQueriesContext(connection) as one:
        dashboard.worklist(physician, NOW)
    awaiting_check(physician, clinic["morphine"], hours_ago=3)
    with CaptureQueriesContext(connection) as two:
        dashboard.worklist(physician, NOW)
    assert len(two) == len(one)


# Paging: each list is read a page at a time; the pages, laid end to end, are the whole list in
# the core's order, and `totals` counts each whole list.


def next_thanksgiving() -> date:
    found = holidays.country_holidays("US", years=(TODAY.year, TODAY.year + 1))
    return min(day for day, name in found.items() if "Thanksgiving" in name and day >= TODAY)


THANKSGIVING = datetime.combine(next_thanksgiving(), time(9, 0), tzinfo=ZONE)
"""A Thursday the clinic (US calendar) is closed: a refill due today is overdue (no working day
left in time), one due tomorrow, Friday, is not."""


def followed_pump(
    nurse: User,
    physician: User,
    mrn: str,
    family_name: str,
    *,
    alarm_at: datetime,
    refill_by: date,
    drugs: str,
) -> Implant:
    """A patient and a pump in place, its dates as the refill service leaves them on the
    implant (written directly: the worklist reads only these)."""
    patient = patients.create_patient(
        nurse,
        mrn=mrn,
        family_name=family_name,
        given_name="A",
        birth_date=date(1960, 1, 1),
        today=TODAY,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="paraplegia", referred_on=date(2020, 1, 2)
    )
    return Implant.objects.create(
        episode=episode,
        pump_model="synchromed-ii-40",
        pump_serial=f"S-{mrn}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume_ml=Decimal("0.2"),
        alarm_volume_ml=Decimal(2),
        implanted_on=date(2024, 1, 1),
        alarm_at=alarm_at,
        empty_at=alarm_at + timedelta(days=10),
        refill_by=refill_by,
        high_risk="baclofen" in drugs,
        drug_names=drugs,
    )


def followed_pumps(nurse: User, physician: User, count: int, seed: int) -> list[Implant]:
    """Pumps whose alarm and refill-by dates crowd a few days (ties of alarm day between
    baclofen and other drugs, overdue and in-time refill-by dates on the same alarm day), as
    the refill service leaves them on the implant."""
    rng = random.Random(seed)
    today = THANKSGIVING.date()
    made = []
    for n in range(count):
        drugs = rng.choice(["baclofen", "morphine", "baclofen+clonidine", "ziconotide"])
        alarm_day = today + timedelta(days=rng.choice([-3, 0, 1, 1, 2, 2, 2, 5, 9, 30]))
        alarm_at = datetime.combine(alarm_day, time(rng.randrange(24), rng.randrange(60)), ZONE)
        refill_by = alarm_day - timedelta(days=rng.choice([0, 1, 2, 7]))
        made.append(
            followed_pump(
                nurse,
                physician,
                f"P-{n:03d}",
                f"Family {n % 7}",
                alarm_at=alarm_at,
                refill_by=refill_by,
                drugs=drugs,
            )
        )
    return made


def core_order(implants: list[Implant], today: date) -> list[str]:
    """The implants in the order painpump.core.scheduling.prioritise gives them."""
    calendar = ClinicCalendar(clinic_settings().country)
    by_due = {}
    for implant in implants:
        assert implant.alarm_at is not None and implant.refill_by is not None
        due = DueRefill(
            str(implant.episode.patient_id),
            tuple(implant.drug_names.split("+")),
            implant.alarm_at.astimezone(ZONE).date(),
            implant.refill_by,
        )
        by_due[id(due)] = (due, str(implant.id))
    ranked = prioritise([due for due, _ in by_due.values()], today=today, calendar=calendar)
    return [by_due[id(p.due)][1] for p in ranked]


def test_pages_laid_end_to_end_are_the_whole_list_in_the_core_order(
    nurse: User, physician: User
) -> None:
    implants = followed_pumps(nurse, physician, 40, seed=7)
    today = THANKSGIVING.date()
    at_risk = core_order(implants, today)
    friday = today + timedelta(days=1)  # the first open day: refill-by dates before it are late
    # core_order has asserted that each has its refill-by date
    late = core_order(
        [i for i in implants if i.refill_by is not None and i.refill_by < friday], today
    )
    due = core_order(
        [
            i
            for i in implants
            if i.refill_by is not None and friday <= i.refill_by <= today + timedelta(7)
        ],
        today,
    )
    # the data has what makes paging hard: overdue pumps, ties of alarm day, baclofen
    board = dashboard.worklist(physician, THANKSGIVING, limit=100)
    assert [r.implant_id for r in board.at_risk] == at_risk
    assert [r.implant_id for r in board.overdue] == late
    assert board.due_today == []  # the clinic is closed today
    assert [r.implant_id for r in board.due_week] == due
    overdue = [r for r in board.at_risk if r.priority.overdue]
    assert 0 < len(overdue) < len(at_risk)
    assert any(r.refill_by == today for r in overdue)  # due on a holiday: overdue
    assert not any(r.refill_by == today + timedelta(days=1) for r in overdue)
    days = [(r.priority.overdue, r.priority.days_to_alarm) for r in board.at_risk]
    tied = [k for k in set(days) if days.count(k) > 2]
    assert tied
    for limit in (1, 2, 3, 7, 25):
        pages = [
            dashboard.worklist(physician, THANKSGIVING, offset=offset, limit=limit)
            for offset in range(0, len(at_risk) + limit, limit)
        ]
        assert [r.implant_id for p in pages for r in p.at_risk] == at_risk, limit
        assert [r.implant_id for p in pages for r in p.overdue] == late, limit
        assert [r.implant_id for p in pages for r in p.due_week] == due, limit
        assert {(p.totals.at_risk, p.totals.overdue, p.totals.due_week) for p in pages} == {
            (len(at_risk), len(late), len(due))
        }
        assert all((p.offset, p.limit) == (k * limit, limit) for k, p in enumerate(pages))


def test_each_list_is_paged_with_its_total(
    clinic: dict[str, Implant], physician: User, nurse: User
) -> None:
    for implant in clinic.values():
        alarms.report_alarm(nurse, implant.id, kind="other", reported_at=NOW)
    board = dashboard.worklist(physician, NOW)
    assert board.totals == dashboard.Totals(
        overdue=2,
        due_today=0,
        due_week=0,
        at_risk=3,
        test_phases=1,
        awaiting_implant=1,
        nearing_replacement=1,
        unverified=0,
        open_alarms=3,
        awaiting_readback=3,  # the fixture's pumps were programmed, never read back
    )
    assert (board.offset, board.limit) == (0, dashboard.DEFAULT_LIMIT)
    first, second = (dashboard.worklist(physician, NOW, offset=k, limit=1) for k in (0, 1))
    assert first.totals == second.totals == board.totals
    for name in ("overdue", "at_risk", "open_alarms"):
        whole = getattr(board, name)
        assert getattr(first, name) == whole[:1] and getattr(second, name) == whole[1:2]
    assert first.open_alarms[0].high_risk  # baclofen first among the open alarms
    assert second.test_phases == [] and second.awaiting_implant == []
    assert second.nearing_replacement == []
    past = dashboard.worklist(physician, NOW, offset=10)
    assert past.totals == board.totals and past.at_risk == [] and past.open_alarms == []


def test_looking_at_a_page_audits_the_patients_on_it(
    clinic: dict[str, Implant], physician: User
) -> None:
    second = dashboard.worklist(physician, NOW, offset=1, limit=1)
    entry = AuditEntry.objects.filter(action="dashboard.read").get()
    shown = {
        row.patient_id
        for rows in (second.overdue, second.at_risk, second.nearing_replacement)
        for row in rows
    }
    assert entry.after == {"patients": sorted(shown), "offset": 1, "limit": 1}
    assert str(clinic["baclofen"].episode.patient_id) in shown


@pytest.mark.parametrize(
    ("offset", "limit", "field"), [(-1, 25, "offset"), (0, 0, "limit"), (0, 101, "limit")]
)
def test_a_page_out_of_range_is_refused_and_not_audited(
    physician: User, offset: int, limit: int, field: str
) -> None:
    with pytest.raises(Refusal) as refused:
        dashboard.worklist(physician, NOW, offset=offset, limit=limit)
    assert refused.value.field == field
    assert not AuditEntry.objects.filter(action="dashboard.read").exists()


@pytest.mark.parametrize("weekday", [2, 4, 5], ids=["wednesday", "friday", "saturday"])
def test_overdue_due_today_and_this_week_are_disjoint_and_each_total_is_its_rows(
    nurse: User, physician: User, weekday: int
) -> None:
    calendar = ClinicCalendar(clinic_settings().country)
    today = next_weekday(weekday)
    while calendar.is_working_day(today) != (weekday < 5) or calendar.closed_because(
        today + timedelta(days=1)
    ) not in (None, "closed on Saturday", "closed on Sunday"):
        today = next_weekday(weekday, after=today)
    now = datetime.combine(today, time(10, 0), tzinfo=ZONE)
    made = {}
    for n, offset in enumerate(range(-3, 10)):
        refill_by = today + timedelta(days=offset)
        alarm_at = datetime.combine(refill_by + timedelta(days=7), time(9, 0), tzinfo=ZONE)
        made[refill_by] = followed_pump(
            nurse,
            physician,
            f"D-{n:02d}",
            f"Due {n:02d}",
            alarm_at=alarm_at,
            refill_by=refill_by,
            drugs="baclofen",
        )
    board = dashboard.worklist(physician, now, limit=100)
    lists = {
        name: {row.implant_id for row in getattr(board, name)}
        for name in ("overdue", "due_today", "due_week")
    }
    for name, ids in lists.items():
        assert len(ids) == getattr(board.totals, name), name
    assert not (lists["overdue"] & lists["due_today"])
    assert not (lists["overdue"] & lists["due_week"])
    assert not (lists["due_today"] & lists["due_week"])
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    by_sunday = str(made[sunday].id)
    if weekday == 4:  # Friday is the last open day before a Sunday refill-by date
        assert by_sunday in lists["due_today"]
    elif weekday == 5:  # on Saturday no open day is left before Sunday: urgent
        assert by_sunday in lists["overdue"] and not lists["due_today"]
    else:
        assert by_sunday in lists["due_week"]
    assert str(made[today - timedelta(days=1)].id) in lists["overdue"]
    assert all(row.urgent for row in board.overdue)
    assert not any(row.urgent for row in board.due_today + board.due_week)


def test_an_open_incident_is_listed_until_a_physician_closes_it(
    clinic: dict[str, Implant], physician: User, nurse: User
) -> None:
    implant = clinic["baclofen"]
    program = implant.programs.get(ended_at__isnull=True)
    record = prescription_reads.in_force(implant)
    assert record is not None
    prescribed_now = prescription_reads.as_core(record)
    wrong = ReadValues(
        parse("5 mL", Kind.VOLUME, "reservoir"),
        prescribed_now.drugs,
        prescribed_now.program,
        prescribed_now.ptm,
    )
    readbacks.record_readback(nurse, program.id, wrong, NOW - timedelta(hours=1))
    board = dashboard.worklist(physician, NOW)
    [row] = board.open_incidents
    assert board.totals.open_incidents == 1
    assert row.patient_id == str(implant.episode.patient_id)
    assert row.opened_by == "nurse.joy" and "reservoir" in row.summary
    readbacks.close_incident(physician, UUID(row.incident_id), "pump interrogated, refilled", NOW)
    after = dashboard.worklist(physician, NOW)
    assert after.open_incidents == [] and after.totals.open_incidents == 0


def test_a_pump_on_a_single_bolus_is_listed_running_until_its_end_then_stopped_since(
    implant: Implant, physician: User
) -> None:
    """Not "stopped" while its bolus runs: the end is the program's start plus the bolus's
    duration, the state the worklist's moment, in the same reads whatever the state."""
    started = NOW - timedelta(minutes=30)
    single_bolus_programmed(implant.id, at=started)
    with CaptureQueriesContext(connection) as while_running:
        running = dashboard.worklist(physician, NOW)
    [row] = running.stopped
    assert row.programmed_at == started
    assert (row.bolus_state, row.bolus_ends_at) == (
        BolusState.RUNNING,
        started + timedelta(hours=1),
    )
    assert row.stopped_since is None
    with CaptureQueriesContext(connection) as once_stopped:
        later = dashboard.worklist(physician, NOW + timedelta(hours=2))
    [row] = later.stopped
    assert (row.bolus_state, row.bolus_ends_at) == (
        BolusState.STOPPED,
        started + timedelta(hours=1),
    )
    assert row.stopped_since == started + timedelta(hours=1)
    assert len(once_stopped) == len(while_running)


def read_back(
    nurse: User,
    implant: Implant,
    reservoir: str = "20 mL",
    *,
    hours_ago: int = 1,
    dose: str | None = None,
) -> None:
    """The programmer's readback of the program in force: as prescribed, but for the reservoir
    (20 mL: the volume filled) and, if given, the daily dose read back."""
    record = prescription_reads.in_force(implant)
    assert record is not None
    prescribed_now = prescription_reads.as_core(record)
    program = prescribed_now.program
    if dose is not None:
        program = rx.PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "dose"))
    values = ReadValues(
        parse(reservoir, Kind.VOLUME, "reservoir"),
        prescribed_now.drugs,
        program,
        prescribed_now.ptm,
    )
    running = implant.programs.get(ended_at__isnull=True)
    readbacks.record_readback(nurse, running.id, values, NOW - timedelta(hours=hours_ago))


def test_a_pump_programmed_without_its_readback_is_listed_longest_waiting_first_until_read_back(
    clinic: dict[str, Implant], physician: User, nurse: User
) -> None:
    """Regression: a pump programmed and never read back showed nowhere on the worklist."""
    ageing, baclofen, morphine = (clinic[k] for k in ("ageing", "baclofen", "morphine"))
    board = dashboard.worklist(physician, NOW)
    order = [str(i.id) for i in (ageing, baclofen, morphine)]  # programmed longest ago first
    assert [r.implant_id for r in board.awaiting_readback] == order
    assert board.totals.awaiting_readback == 3
    row = board.awaiting_readback[1]
    program = baclofen.programs.get(ended_at__isnull=True)
    assert (row.patient, row.pump_model, row.program_id) == (
        "Patient B-1, A",
        "synchromed-ii-20",
        str(program.id),
    )
    assert (row.programmed_at, row.programmed_by, row.at_refill) == (
        at(day(-85)),
        "dr.house",
        True,
    )
    assert row.prescription_number == 1
    assert [
        r.implant_id
        for r in dashboard.worklist(physician, NOW, offset=1, limit=1).awaiting_readback
    ] == order[1:2]
    read_back(nurse, baclofen)  # matches: the session is complete
    read_back(nurse, morphine, "5 mL")  # differs: listed among the open incidents instead
    after = dashboard.worklist(physician, NOW)
    assert [r.implant_id for r in after.awaiting_readback] == [str(ageing.id)]
    assert after.totals.awaiting_readback == 1
    assert [r.patient for r in after.open_incidents] == ["Patient M-1, A"]


def test_a_programming_between_refills_awaits_its_readback_and_the_one_it_ended_does_not(
    implant: Implant, physician: User, nurse: User
) -> None:
    """Only the program in force can be read back (an ended one is no longer in the pump)."""
    single_bolus_programmed(implant.id, at=NOW - timedelta(hours=3))
    [row] = dashboard.worklist(physician, NOW).awaiting_readback
    program = implant.programs.get(ended_at__isnull=True)
    assert (row.program_id, row.at_refill, row.programmed_by) == (
        str(program.id),
        False,
        "dr.house",
    )
    assert row.programmed_at == NOW - timedelta(hours=3)


def test_the_worklist_reads_no_more_queries_for_an_empty_awaiting_readback_list(
    clinic: dict[str, Implant], physician: User, nurse: User
) -> None:
    for implant in clinic.values():
        read_back(nurse, implant)
    with CaptureQueriesContext(connection) as none_waiting:
        empty = dashboard.worklist(physician, NOW)
    assert empty.awaiting_readback == [] and empty.totals.awaiting_readback == 0
    alarms.report_alarm(nurse, clinic["morphine"].id, kind="other", reported_at=NOW)
    with CaptureQueriesContext(connection) as one_alarm:
        dashboard.worklist(physician, NOW)
    assert len(none_waiting) == len(one_alarm) - 1  # the alarm's list read, nothing else


def test_open_incidents_list_a_dose_concentration_or_drug_that_differed_first_then_oldest(
    clinic: dict[str, Implant], physician: User, nurse: User
) -> None:
    """An older incident of the reservoir alone comes after a newer one of the daily dose."""
    read_back(nurse, clinic["ageing"], "5 mL", hours_ago=5)  # the reservoir only
    read_back(nurse, clinic["morphine"], dose="10 mg/day", hours_ago=3)  # the dose
    read_back(nurse, clinic["baclofen"], "5 mL", dose="4000 mcg/day", hours_ago=1)
    board = dashboard.worklist(physician, NOW)
    assert [(r.patient, r.severity) for r in board.open_incidents] == [
        ("Patient M-1, A", Severity.DOSE),
        ("Patient B-1, A", Severity.DOSE),
        ("Patient O-1, A", Severity.OTHER),
    ]
    pages = [dashboard.worklist(physician, NOW, offset=k, limit=1) for k in range(3)]
    assert [p.open_incidents[0] for p in pages] == board.open_incidents


def test_an_incident_opened_before_its_severity_was_kept_is_listed_as_a_dose_difference(
    clinic: dict[str, Implant], physician: User, nurse: User
) -> None:
    read_back(nurse, clinic["morphine"], dose="10 mg/day", hours_ago=5)
    read_back(nurse, clinic["ageing"], "5 mL", hours_ago=3)
    Incident.objects.filter(implant=clinic["ageing"]).update(details={})
    board = dashboard.worklist(physician, NOW)
    assert [r.patient for r in board.open_incidents] == ["Patient M-1, A", "Patient O-1, A"]
    assert {r.severity for r in board.open_incidents} == {Severity.DOSE}
