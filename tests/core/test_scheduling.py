"""Refill appointments over weekends and holidays, overdue handling, the priority order of
patients due, and properties of the proposal (never late unless flagged, never a closed day,
never before today)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.refill import plan_refill
from painpump.core.scheduling import (
    ClinicCalendar,
    DueRefill,
    earliest_working_day,
    prioritise,
    propose_appointment,
)
from painpump.core.units import Q

DE = ClinicCalendar("DE")
US = ClinicCalendar("US")
GB = ClinicCalendar("GB")
EARLY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("calendar", "refill_by", "today", "proposed", "skipped"),
    [
        (DE, date(2026, 12, 16), EARLY, date(2026, 12, 16), ()),
        (
            DE,
            date(2026, 12, 13),
            EARLY,
            date(2026, 12, 11),
            ("closed on Sunday", "closed on Saturday"),
        ),
        (DE, date(2026, 12, 12), EARLY, date(2026, 12, 11), ("closed on Saturday",)),
        (DE, date(2026, 12, 25), EARLY, date(2026, 12, 24), ("public holiday (Christmas Day)",)),
        (
            DE,
            date(2026, 12, 27),
            EARLY,
            date(2026, 12, 24),
            ("closed on Sunday", "Second Day of Christmas", "Christmas Day"),
        ),
        (
            ClinicCalendar("DE", closed_dates=frozenset({date(2026, 12, 24), date(2026, 12, 31)})),
            date(2026, 12, 26),
            EARLY,
            date(2026, 12, 23),
            ("Second Day of Christmas", "Christmas Day", "clinic closed"),
        ),
        (
            DE,
            date(2026, 4, 6),
            date(2026, 3, 1),
            date(2026, 4, 2),
            ("Easter Monday", "Good Friday"),
        ),
        (
            ClinicCalendar("DE", "BY"),
            date(2026, 1, 6),
            date(2026, 1, 1),
            date(2026, 1, 5),
            ("Epiphany",),
        ),
        (DE, date(2026, 1, 6), date(2026, 1, 1), date(2026, 1, 6), ()),
        (US, date(2026, 7, 5), date(2026, 6, 1), date(2026, 7, 2), ("Independence Day",)),
        (US, date(2026, 11, 26), date(2026, 11, 1), date(2026, 11, 25), ("Thanksgiving",)),
        (GB, date(2026, 12, 28), EARLY, date(2026, 12, 24), ("Boxing Day",)),
        (DE, date(2026, 12, 14), date(2026, 12, 14), date(2026, 12, 14), ()),
        (
            ClinicCalendar("DE", open_weekdays=frozenset({1, 3})),
            date(2026, 12, 14),
            EARLY,
            date(2026, 12, 10),
            ("closed on Monday", "closed on Sunday", "closed on Friday"),
        ),
    ],
    ids=[
        "wednesday-as-is",
        "sunday-to-friday",
        "saturday-to-friday",
        "de-christmas-day-to-24th",
        "de-27th-over-weekend-and-christmas",
        "de-clinic-closed-24th-to-23rd",
        "de-easter-to-thursday",
        "de-bavaria-epiphany",
        "de-federal-no-epiphany",
        "us-independence-day-observed",
        "us-thanksgiving",
        "gb-boxing-day-substitute",
        "refill-by-today-open",
        "clinic-open-tuesday-thursday",
    ],
)
def test_latest_working_day_on_or_before_refill_by(
    calendar: ClinicCalendar, refill_by: date, today: date, proposed: date, skipped: tuple[str, ...]
) -> None:
    proposal = propose_appointment(refill_by, today=today, calendar=calendar)
    assert proposal.day == proposed
    assert not proposal.overdue and proposal.days_late == 0
    assert proposal.decision.verdict is Verdict.OK
    finding = proposal.decision.findings[0]
    assert finding.rule == "refill_appointment"
    assert f"latest working day on or before the refill-by date {refill_by}" in finding.message
    for why in skipped:
        assert why in finding.message
    assert [d for d, _ in proposal.skipped] == [
        refill_by - timedelta(days=n) for n in range((refill_by - proposed).days)
    ]


@pytest.mark.parametrize(
    ("refill_by", "today", "proposed", "late", "cause"),
    [
        (
            date(2026, 12, 25),
            date(2026, 12, 25),
            date(2026, 12, 28),
            3,
            "no working day from today",
        ),
        (date(2026, 12, 26), date(2026, 12, 25), date(2026, 12, 28), 2, "Second Day of Christmas"),
        (date(2026, 12, 10), date(2026, 12, 14), date(2026, 12, 14), 4, "is already past"),
        (date(2026, 12, 10), date(2026, 12, 26), date(2026, 12, 28), 18, "is already past"),
    ],
    ids=[
        "refill-by-today-on-christmas",
        "holiday-then-weekend",
        "past-refill-by-open-today",
        "past-refill-by-on-a-holiday",
    ],
)
def test_no_day_in_time_is_overdue_with_a_warning(
    refill_by: date, today: date, proposed: date, late: int, cause: str
) -> None:
    proposal = propose_appointment(refill_by, today=today, calendar=DE)
    assert proposal.overdue
    assert proposal.day == proposed
    assert proposal.days_late == late
    assert proposal.decision.verdict is Verdict.WARN
    finding = proposal.decision.findings[0]
    assert finding.rule == "refill_overdue"
    assert finding.message.startswith("OVERDUE: ")
    assert cause in finding.message
    assert f"{late} {'day' if late == 1 else 'days'} after it" in finding.message
    assert f"on or before {refill_by}" == finding.limit


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "de"}, "country"),
        ({"country": "DE", "subdivision": "ZZ"}, "subdivision"),
        ({"country": "DE", "open_weekdays": frozenset()}, "open_weekdays"),
        ({"country": "DE", "open_weekdays": frozenset({7})}, "open_weekdays"),
    ],
    ids=[
        "unknown-country",
        "lower-case-not-guessed",
        "unknown-subdivision",
        "never-open",
        "weekday-7",
    ],
)
def test_calendar_refuses_what_it_cannot_know(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(Refusal) as info:
        ClinicCalendar(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_a_calendar_closed_for_a_year_is_refused() -> None:
    closed = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(800))
    calendar = ClinicCalendar("DE", closed_dates=closed)
    with pytest.raises(Refusal, match="has no working day"):
        propose_appointment(date(2026, 12, 1), today=date(2026, 1, 1), calendar=calendar)
    with pytest.raises(Refusal, match="has no working day"):
        propose_appointment(date(2027, 12, 1), today=date(2026, 1, 1), calendar=calendar)
    with pytest.raises(Refusal, match="has no working day"):
        earliest_working_day(date(2026, 1, 1), calendar)


# --- priority ------------------------------------------------------------------------------------

TODAY = date(2026, 12, 14)  # a Monday


def due(pid: str, drugs: tuple[str, ...], alarm_in: int, refill_in: int) -> DueRefill:
    return DueRefill(
        pid, drugs, TODAY + timedelta(days=alarm_in), TODAY + timedelta(days=refill_in)
    )


@pytest.mark.parametrize(
    ("patients", "order"),
    [
        (
            [due("m", ("morphine",), 10, 3), due("b", ("baclofen",), 10, 3)],
            ["b", "m"],
        ),
        (
            [due("b", ("baclofen",), 12, 5), due("m", ("morphine",), 10, 3)],
            ["m", "b"],
        ),
        (
            [
                due("b", ("baclofen",), 2, 0),
                due("late", ("morphine",), 20, -1),
                due("z", ("ziconotide",), 1, 0),
            ],
            ["late", "z", "b"],
        ),
        (
            [
                due("m2", ("morphine",), 5, 1),
                due("mix", ("morphine", "Baclofen"), 5, 1),
                due("m1", ("morphine",), 5, 1),
            ],
            ["mix", "m1", "m2"],
        ),
        (
            [
                due("m", ("morphine",), -2, -9),
                due("b", ("baclofen",), -2, -9),
                due("o", ("morphine",), -5, -12),
            ],
            ["o", "b", "m"],
        ),
    ],
    ids=[
        "baclofen-first-among-ties",
        "nearer-alarm-beats-baclofen",
        "overdue-first-of-all",
        "admixture-with-baclofen-is-high-risk",
        "overdue-sorted-by-alarm-then-baclofen",
    ],
)
def test_priority_order(patients: list[DueRefill], order: list[str]) -> None:
    ranked = prioritise(patients, today=TODAY, calendar=DE)
    assert [p.due.patient_id for p in ranked] == order
    for p in ranked:
        assert p.days_to_alarm == (p.due.alarm_date - TODAY).days
        assert p.high_risk is any(d.lower() == "baclofen" for d in p.due.drug_names)
        assert p.overdue is p.proposal.overdue
        assert p.sort_key[0] == (0 if p.overdue else 1)


def test_baclofen_reason_cites_the_boxed_warning() -> None:
    (late_b,) = prioritise([due("b", ("baclofen",), 1, -1)], today=TODAY, calendar=DE)
    reason = next(r for r in late_b.reasons if r.rule == "baclofen_high_risk")
    assert reason.verdict is Verdict.WARN
    assert (
        "withdrawal" in reason.message and "first among patients of equal urgency" in reason.message
    )
    assert "boxed warning" in reason.source
    (ok_b,) = prioritise([due("b", ("baclofen",), 9, 2)], today=TODAY, calendar=DE)
    assert next(r for r in ok_b.reasons if r.rule == "baclofen_high_risk").verdict is Verdict.OK
    (m,) = prioritise([due("m", ("morphine",), 9, 2)], today=TODAY, calendar=DE)
    assert [r.rule for r in m.reasons] == ["refill_appointment"]


def test_refill_by_today_on_a_holiday_puts_the_patient_first() -> None:
    christmas = date(2026, 12, 25)
    patients = [
        DueRefill(
            "soon", ("baclofen",), christmas + timedelta(days=1), christmas + timedelta(days=1)
        ),
        DueRefill("today", ("morphine",), christmas + timedelta(days=7), christmas),
    ]
    ranked = prioritise(patients, today=christmas, calendar=DE)
    assert [p.due.patient_id for p in ranked] == ["soon", "today"]
    assert all(p.overdue for p in ranked)


@pytest.mark.parametrize(
    ("drugs", "field"),
    [((), "drug_names"), (("baclofenn",), "drug_names[0]"), (("morphine", "xyz"), "drug_names[1]")],
    ids=["no-drug", "typo-could-hide-baclofen", "unknown-second"],
)
def test_due_refill_refuses_unknown_drugs(drugs: tuple[str, ...], field: str) -> None:
    with pytest.raises(Refusal) as info:
        DueRefill("p", drugs, TODAY, TODAY)
    assert info.value.field == field


def test_due_refill_from_a_refill_plan() -> None:
    pump = catalog.pump("synchromed-ii-20")
    plan = plan_refill(
        pump,
        Q(Decimal(20), "mL"),
        Q(Decimal("0.5"), "mL/day"),
        fill_at=datetime(2026, 11, 1, 23, 30, tzinfo=UTC),
        alarm_volume=Q(Decimal(2), "mL"),
    )
    item = DueRefill.from_plan("p1", ["baclofen"], plan)
    assert item.alarm_date == plan.alarm_at.date()
    assert item.refill_by == plan.refill_by
    assert item.empty_date == plan.empty_at.date()
    assert item.high_risk
    proposal = propose_appointment(item.refill_by, today=date(2026, 11, 2), calendar=DE)
    assert proposal.day <= plan.refill_by


# --- properties ----------------------------------------------------------------------------------

calendars = st.builds(
    ClinicCalendar,
    country=st.sampled_from(["DE", "US", "GB", "FR", "AT"]),
    open_weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    closed_dates=st.frozensets(st.dates(date(2025, 1, 1), date(2028, 12, 31)), max_size=30),
)
days = st.dates(date(2025, 1, 1), date(2028, 12, 31))


@settings(max_examples=300, deadline=None)
@given(calendars, days, days)
def test_proposal_properties(calendar: ClinicCalendar, refill_by: date, today: date) -> None:
    proposal = propose_appointment(refill_by, today=today, calendar=calendar)
    assert calendar.is_working_day(proposal.day)
    assert proposal.day.weekday() in calendar.open_weekdays
    assert proposal.day not in calendar.closed_dates
    assert proposal.day >= today
    if not proposal.overdue:
        assert proposal.day <= refill_by
        assert proposal.decision.verdict is Verdict.OK
        # the latest: every day after it up to refill-by is closed
        later = (
            proposal.day + timedelta(days=n) for n in range(1, (refill_by - proposal.day).days + 1)
        )
        assert not any(calendar.is_working_day(d) for d in later)
    else:
        assert proposal.decision.verdict is Verdict.WARN
        assert "OVERDUE" in proposal.decision.findings[0].message
        # overdue only when nothing from today to refill-by was open; then the earliest
        window = (today + timedelta(days=n) for n in range(max(0, (refill_by - today).days + 1)))
        assert not any(calendar.is_working_day(d) for d in window)
        before = (today + timedelta(days=n) for n in range((proposal.day - today).days))
        assert not any(calendar.is_working_day(d) for d in before)
    assert proposal.day <= refill_by or proposal.overdue


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([("baclofen",), ("morphine",), ("ziconotide", "clonidine")]),
            st.integers(-10, 60),
            st.integers(0, 20),
        ),
        max_size=12,
    ),
    days,
)
def test_priority_properties(rows: list[tuple[tuple[str, ...], int, int]], today: date) -> None:
    patients = [
        DueRefill(
            f"p{i}", drugs, today + timedelta(days=alarm), today + timedelta(days=alarm - margin)
        )
        for i, (drugs, alarm, margin) in enumerate(rows)
    ]
    ranked = prioritise(patients, today=today, calendar=DE)
    assert sorted(p.due.patient_id for p in ranked) == sorted(p.patient_id for p in patients)
    for first, second in itertools.pairwise(ranked):
        # overdue first; then the alarm never later; baclofen first on ties
        assert first.overdue >= second.overdue
        if first.overdue == second.overdue:
            assert first.days_to_alarm <= second.days_to_alarm
            if first.days_to_alarm == second.days_to_alarm:
                assert first.high_risk >= second.high_risk
