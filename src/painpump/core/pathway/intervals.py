"""The pathway's date rules, usable on their own (planning screens call them before any
transition): the implantation's interval after the test phase, a year after a brain injury, and
the length of a hospital stay."""

from __future__ import annotations

from datetime import date, timedelta

from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import DEFAULT_SETTINGS, PathwaySettings
from painpump.core.pathway.sources import (
    IMPLANT_INTERVAL_SOURCE,
    ORDER_SOURCE,
    STAY_SOURCE,
    TBI_SOURCE,
)


def earliest_implant_date(test_phase_end: date, setting_days: int = 21) -> date:
    """The first day an implantation may take place: the end of the test phase plus the
    clinic's minimum interval (default 21 days)."""
    if setting_days < 0:
        raise Refusal(
            "min_days_test_to_implant",
            f"{setting_days} day",
            ">= 0 day",
            IMPLANT_INTERVAL_SOURCE,
            "is negative",
        )
    try:
        return test_phase_end + timedelta(days=setting_days)
    except OverflowError:
        raise Refusal(
            "min_days_test_to_implant",
            f"{setting_days} day after {test_phase_end.isoformat()}",
            f"an earliest implant date within the calendar (by {date.max.isoformat()})",
            IMPLANT_INTERVAL_SOURCE,
            "is out of range",
        ) from None


def check_implant_interval(test_phase_end: date, implant_on: date, setting_days: int) -> Finding:
    """`ok` when the implantation is at least `setting_days` after the test phase's end, else
    `stop` with the earliest allowed date."""
    earliest = earliest_implant_date(test_phase_end, setting_days)
    gap = (implant_on - test_phase_end).days
    limit = f">= {setting_days} day after the test phase ended on {test_phase_end.isoformat()}"
    if implant_on < earliest:
        message = (
            f"implantation on {implant_on.isoformat()} is {gap} day after the test phase ended: "
            f"the earliest allowed date is {earliest.isoformat()}"
        )
        return Finding("implant_interval", Verdict.STOP, message, limit, IMPLANT_INTERVAL_SOURCE)
    message = (
        f"implantation {gap} day after the test phase (earliest allowed {earliest.isoformat()})"
    )
    return Finding("implant_interval", Verdict.OK, message, limit, IMPLANT_INTERVAL_SOURCE)


def tbi_earliest_itb(injury_date: date) -> date:
    """One year after the injury, same day of the year (29 February goes to 1 March)."""
    if injury_date.year >= date.max.year:
        raise Refusal(
            "injury_date",
            injury_date.isoformat(),
            f"a date a year before the calendar's end ({date.max.isoformat()}) or earlier",
            TBI_SOURCE,
            "is out of range",
        )
    try:
        return injury_date.replace(year=injury_date.year + 1)
    except ValueError:
        return date(injury_date.year + 1, 3, 1)


def check_tbi_interval(injury_date: date, on: date, *, severity: Verdict = Verdict.STOP) -> Finding:
    """Long-term ITB at least 1 year after a traumatic brain injury: `ok`, or `severity` with
    the first allowed date (a stop at implantation, a warning for an early test phase)."""
    earliest = tbi_earliest_itb(injury_date)
    limit = f">= 1 year after the injury on {injury_date.isoformat()}"
    if on < earliest:
        message = (
            f"{on.isoformat()} is {(on - injury_date).days} day after the traumatic brain injury: "
            f"long-term ITB not before {earliest.isoformat()}"
        )
        return Finding("tbi_interval", severity, message, limit, TBI_SOURCE)
    message = f"{on.isoformat()} is at least 1 year after the traumatic brain injury"
    return Finding("tbi_interval", Verdict.OK, message, limit, TBI_SOURCE)


def check_stay(
    kind: str, admitted: date, discharged: date, settings: PathwaySettings = DEFAULT_SETTINGS
) -> Finding:
    """A hospital stay of `stay_min_days`..`stay_max_days` days is `ok`, any other length a
    `warn` (clinic practice, not a guideline limit); a discharge before admission is refused."""
    if discharged < admitted:
        raise Refusal(
            "on",
            discharged.isoformat(),
            f"on or after the admission {admitted.isoformat()}",
            ORDER_SOURCE,
            f"is before the {kind} admission",
        )
    days = (discharged - admitted).days
    low, high = settings.stay_min_days, settings.stay_max_days
    limit = f"{low}-{high} day"
    length = f"{days} day" if days == 1 else f"{days} days"
    if low <= days <= high:
        return Finding("hospital_stay", Verdict.OK, f"{kind} stay of {length}", limit, STAY_SOURCE)
    message = (
        f"{kind} stay of {length} ({admitted.isoformat()} to {discharged.isoformat()}) is "
        f"outside the usual {low}-{high} days"
    )
    return Finding("hospital_stay", Verdict.WARN, message, limit, STAY_SOURCE, verified=False)
