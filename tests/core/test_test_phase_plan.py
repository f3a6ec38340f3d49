"""The test phase's plan (core.trial_phase.planned_test_phase): the spasticity's severity
recorded at the start sets the planned length (clinic settings shipped as unverified
placeholders), the planned end is counted in the clinic's days from the start, apart from the 2-3
day stay; the implantation's earliest day counts from the actual end, never from the planned one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from painpump.core.errors import Refusal
from painpump.core.pathway.episode import (
    DEFAULT_SETTINGS,
    PLACEHOLDER_TEST_DAYS,
    Episode,
    PathwaySettings,
)
from painpump.core.pathway.indications import Severity
from painpump.core.pathway.transitions import refer, transition
from painpump.core.trial_phase import planned_test_phase

D0 = date(2026, 11, 2)
TODAY = date(2027, 6, 1)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def started(
    indication: str = "multiple_sclerosis",
    settings: PathwaySettings = DEFAULT_SETTINGS,
    **facts: Any,
) -> Episode:
    ep = refer(indication, on=D0)
    return transition(
        ep, "start_test_phase", now=TODAY, settings=settings, on=D0, protocol="continuous", **facts
    ).episode


def test_the_default_lengths_are_unverified_placeholders() -> None:
    assert dict(DEFAULT_SETTINGS.test_phase_days) == dict(PLACEHOLDER_TEST_DAYS)
    assert DEFAULT_SETTINGS.test_phase_days_verified is False
    assert set(PLACEHOLDER_TEST_DAYS) == set(Severity)


@pytest.mark.parametrize(
    ("severity", "days", "today", "left", "overdue"),
    [
        ("moderate", 3, day(1), 2, False),
        ("severe", 5, day(5), 0, False),
        ("very_severe", 7, day(9), -2, True),
        (Severity.SEVERE, 5, day(0), 5, False),
    ],
    ids=["moderate", "severe-ends-today", "very-severe-overdue", "enum-member"],
)
def test_the_severity_sets_the_planned_length_and_end(
    severity: Any, days: int, today: date, left: int, overdue: bool
) -> None:
    ep = started(severity=severity, rehabilitation=True)
    plan = planned_test_phase(ep, today)
    assert plan is not None
    assert (plan.planned_days, plan.planned_end) == (days, day(days))
    assert (plan.days_left, plan.overdue, plan.rehabilitation) == (left, overdue, True)
    assert plan.verified is False and plan.source.startswith("rule-clinic-setting")
    assert ep.test_severity is Severity(severity)


def test_the_plan_keeps_the_clinics_days_of_its_start() -> None:
    clinic = PathwaySettings(
        test_phase_days={Severity.MODERATE: 4, Severity.SEVERE: 10, Severity.VERY_SEVERE: 14}
    )
    ep = started(settings=clinic, severity="severe")
    plan = planned_test_phase(ep, day(2), verified=True)
    assert plan is not None and (plan.planned_days, plan.planned_end) == (10, day(10))
    assert plan.verified is True
    later = planned_test_phase(ep, day(2))  # the settings changed since: the plan stays
    assert later is not None and later.planned_days == 10


@pytest.mark.parametrize(
    ("indication", "facts", "field", "text"),
    [
        (
            "failed_back_surgery_syndrome",
            {"severity": "severe"},
            "severity",
            "severity: severe does not apply to failed_back_surgery_syndrome; limit: a "
            "spasticity indication (the severity of the spasticity sets the test phase's "
            "planned length) (source: rule-clinic-setting",
        ),
        (
            "stroke",
            {"severity": "mild"},
            "severity",
            "severity: mild is unknown; limit: one of moderate, severe, very_severe",
        ),
    ],
    ids=["pain-has-no-spasticity-severity", "unknown-severity"],
)
def test_a_severity_that_does_not_fit_is_refused(
    indication: str, facts: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(Refusal) as info:
        started(indication, **facts)
    assert info.value.field == field
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ({Severity.MODERATE: 0, Severity.SEVERE: 5, Severity.VERY_SEVERE: 7}, "0 day"),
        ({Severity.MODERATE: 3, Severity.SEVERE: 5}, "None day"),
        ({Severity.MODERATE: 3, Severity.SEVERE: 5, Severity.VERY_SEVERE: 400}, "400 day"),
    ],
    ids=["zero", "missing", "over-a-year"],
)
def test_nonsense_lengths_are_refused(days: dict[Severity, int], text: str) -> None:
    with pytest.raises(Refusal) as info:
        PathwaySettings(test_phase_days=days)
    assert info.value.field.startswith("test_phase_days[")
    assert info.value.value == text and info.value.limit == "1-365 day"


def test_no_severity_no_plan() -> None:
    assert planned_test_phase(started(), TODAY) is None
    assert planned_test_phase(refer("tumour_pain", on=D0), TODAY) is None


@pytest.mark.parametrize(
    ("ended", "earliest"),
    [(2, 23), (10, 31)],
    ids=["ended-before-the-plan", "ended-after-the-plan"],
)
def test_the_earliest_implant_day_counts_from_the_actual_end(ended: int, earliest: int) -> None:
    ep = started(severity="very_severe")  # planned end: day 7
    ack = None if ended in (2, 3) else {"hospital_stay": "test phase with rehabilitation"}
    ep = transition(
        ep, "decide_test_phase", now=TODAY, on=day(ended), outcome="responder", acknowledge=ack
    ).episode
    ep = transition(ep, "record_catheter_removal", now=TODAY, on=day(ended)).episode
    plan = planned_test_phase(ep, TODAY)
    assert plan is not None and plan.ended_on == day(ended) and plan.days_left is None
    with pytest.raises(Refusal, match=f"earliest allowed date is {day(earliest).isoformat()}"):
        transition(ep, "implant", now=TODAY, on=day(earliest - 1))
    done = transition(ep, "implant", now=TODAY, on=day(earliest)).episode
    assert done.implanted_on == day(earliest)
