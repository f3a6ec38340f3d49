"""The refill-margin warning is judged on the pump's twin when the decision has the pump's history
and the prescription it executes: a fill whose patient boluses (assumed at their maximum, as the
pumps' refill rules do) bring the alarm within the margin warns even when the basal rate alone
would not, and its alarm moment and refill-by day are the twin's, the ones the refill stores. A
program change between refills that brings the alarm forward to within the margin warns too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Finding, Tier, Verdict
from painpump.core.prescription import PatientBolus, PrescribedProgram, Prescription, single_bolus
from painpump.core.pump_twin import (
    PumpHistory,
    RecordedFill,
    RecordedProgram,
    stored_dates,
    with_fill,
    with_program,
)
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    Fill,
    LastFill,
    PumpState,
    RefillEntries,
    RunningProgram,
    decide_program_change,
    decide_refill,
)
from painpump.core.units import Q, of

FILL = datetime(2026, 1, 5, 8, tzinfo=UTC)
HOUR = 3600
MORPHINE = (("morphine", Decimal(10_000)),)
CONCENTRATION = (("morphine", of(Decimal(10_000), "mcg/mL")),)
RULES = DosingRules(region="eu", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
PTM = PatientBolus(of(Decimal(500), "mcg"), 60, 3 * HOUR, 4)
"""0.05 mL of morphine 10 mg/mL a bolus, at most four a day: 0.2 mL/day on the worst day."""


def dose(mcg_per_day: int) -> Q:
    return of(Decimal(mcg_per_day), "mcg/day")


def prescribed(mcg_per_day: int, ptm: PatientBolus | None = None) -> Prescription:
    return Prescription(CONCENTRATION, PrescribedProgram.continuous(dose(mcg_per_day)), ptm)


def pump(*, history: bool = True) -> PumpState:
    """A SynchroMed II 20 mL (alarm 2 mL) filled with 20 mL of morphine 10 mg/mL, 1 mg/day
    (0.1 mL/day) without patient boluses since the fill."""
    recorded = PumpHistory(
        catalog.pump("synchromed-ii-20"),
        Decimal(2),
        Decimal("0.25"),
        UTC,
        (RecordedFill(FILL, Decimal(20), MORPHINE),),
        (RecordedProgram(FILL, MORPHINE, prescribed(1000).program, None),),
    )
    return PumpState(
        pump=catalog.pump("synchromed-ii-20"),
        dead_volume=of(Decimal("0.25"), "mL"),
        alarm_volume=of(Decimal(2), "mL"),
        last_fill=LastFill(
            at=FILL,
            volume=of(Decimal(20), "mL"),
            drugs=MORPHINE,
            refill_by=(FILL + timedelta(days=173)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((Decimal("0.1"), FILL, None),),
        ),
        running=RunningProgram(Decimal(1000), Decimal("0.1"), FILL),
        history=recorded if history else None,
    )


def refill(volume: str, prescription: Prescription | None, days: int = 30) -> RefillEntries:
    left = of(Decimal(20) - Decimal("0.1") * days, "mL")
    return RefillEntries(
        at=FILL + timedelta(days=days),
        expected=left,
        aspirated=left,
        fill=Fill(CONCENTRATION, of(Decimal(volume), "mL"), "L1"),
        dose=dose(1000),
        prescription=prescription,
    )


def margin_warnings(warnings: tuple[Finding, ...]) -> list[Finding]:
    """The warnings of a program change that brings the alarm within the margin."""
    return [w for w in warnings if w.rule == "refill_margin_change"]


def test_patient_boluses_at_their_maximum_bring_the_alarm_within_the_margin() -> None:
    entries = refill("4", prescribed(1000, PTM))
    decision = decide_refill(pump(), entries, RULES, now=entries.at)
    assert decision.outcome is not None and decision.outcome.twin is not None
    assert decision.outcome.plan.days_to_alarm == Q(Decimal(20), "day")  # the basal alone
    # the patient boluses the prescription adds are a step of the worst day of their own
    (warning,) = [w for w in decision.warnings if w.rule == "refill_margin"]
    assert (warning.rule, warning.verdict, warning.tier) == (
        "refill_margin",
        Verdict.WARN,
        Tier.SOFT,
    )
    # 0.1 mL/day and four 0.05 mL boluses a day, three hours apart from the fill: 1.8 mL used
    # after six days; on the seventh 1.85, 1.9125, 1.975 mL after the boluses at 0, 3 and 6 h,
    # and the one at 9 h crosses 2 mL a quarter into its 60 s (0.0125 of its 0.05 mL)
    twin = decision.outcome.twin
    assert twin.alarm_at == entries.at + timedelta(days=6, hours=9, seconds=15)
    assert twin.refill_by == entries.at.date()  # the alarm less 7 days lies before the fill
    assert warning.message == (
        "this fill of 4 mL reaches the low-reservoir alarm (2 mL) 6.38 day after the fill, on "
        "Tue 2026-02-10 17:00 UTC, within the clinic's refill margin of 7 day: the next refill "
        "is due at once (refill by Wed 2026-02-04); morphine stops abruptly when the reservoir "
        "runs empty: opioid withdrawal or a pain crisis. Fill more, or give the reason and book "
        "the next refill before the alarm"
    )


def test_the_warning_dates_are_those_the_refill_stores() -> None:
    state, entries = pump(), refill("4", prescribed(1000, PTM))
    assert state.history is not None and entries.prescription is not None
    stored = stored_dates(
        with_fill(state.history, entries.at, Decimal(4), entries.prescription),
        entries.at,
        margin_days=RULES.margin_days,
    )
    decision = decide_refill(state, entries, RULES, now=entries.at)
    assert decision.outcome is not None
    assert decision.outcome.twin == stored


def test_the_same_fill_without_patient_boluses_lasts_beyond_the_margin() -> None:
    entries = refill("4", prescribed(1000))
    decision = decide_refill(pump(), entries, RULES, now=entries.at)
    assert decision.warnings == ()
    assert decision.outcome is not None and decision.outcome.twin is not None
    assert decision.outcome.twin.alarm_at == entries.at + timedelta(days=20)


def test_without_the_pumps_history_the_constant_rate_plan_judges() -> None:
    entries = refill("4", prescribed(1000, PTM))
    decision = decide_refill(pump(history=False), entries, RULES, now=entries.at)
    assert decision.outcome is not None and decision.outcome.twin is None
    assert [w.rule for w in decision.warnings if w.rule.startswith("refill_margin")] == []


def test_a_single_bolus_that_stops_the_pump_never_warns_of_the_alarm() -> None:
    bolus = Prescription(
        CONCENTRATION, PrescribedProgram.single_bolus(single_bolus("1 mg", "1 hour"))
    )
    entries = refill("3", bolus)
    entries = replace(entries, basal=False)
    decision = decide_refill(pump(), entries, RULES, now=entries.at)
    assert decision.stop is None
    assert [w for w in decision.warnings if w.rule.startswith("refill_margin")] == []


CHANGE = FILL + timedelta(days=170)
"""3 mL left at 0.1 mL/day: the alarm ten days ahead, beyond the 7-day margin."""


@pytest.mark.parametrize("history", [True, False], ids=["on the twin", "constant rate"])
def test_a_dose_increase_that_brings_the_alarm_within_the_margin_warns(history: bool) -> None:
    decision = decide_program_change(
        pump(history=history),
        dose(1500),
        CHANGE,
        None,
        RULES,
        prescription=prescribed(1500) if history else None,
    )
    assert decision.stop is None
    (warning,) = margin_warnings(decision.warnings)
    assert warning.tier is Tier.SOFT
    assert warning.message.startswith(
        "this program change brings the low-reservoir alarm (2 mL) forward to "
        "Wed 2026-07-01 00:00 UTC (from Sat 2026-07-04 08:00 UTC), 6.67 day after the change, "
        "within the clinic's refill margin of 7 day: the next refill is due at once (refill by "
        "Wed 2026-06-24)"
    )
    assert warning.limit == (
        ">= 7 day from the change to the low-reservoir alarm (the clinic's refill margin)"
    )
    if history:
        assert decision.twin is not None
        assert decision.twin.alarm_at == CHANGE + timedelta(days=20) / 3


def test_a_dose_decrease_never_warns_of_the_margin() -> None:
    decision = decide_program_change(
        pump(), dose(800), CHANGE, None, RULES, prescription=prescribed(800)
    )
    assert margin_warnings(decision.warnings) == []


def test_an_increase_that_leaves_the_alarm_beyond_the_margin_does_not_warn() -> None:
    decision = decide_program_change(
        pump(), dose(1200), FILL + timedelta(days=100), None, RULES, prescription=prescribed(1200)
    )
    assert margin_warnings(decision.warnings) == []


def test_a_pump_already_within_the_margin_is_not_warned_of_again_by_a_change() -> None:
    short = FILL + timedelta(days=175)  # 2.5 mL left: the alarm five days ahead, refill due
    for mcg_per_day in (900, 1100, 2000):
        decision = decide_program_change(
            pump(), dose(mcg_per_day), short, None, RULES, prescription=prescribed(mcg_per_day)
        )
        assert margin_warnings(decision.warnings) == [], mcg_per_day


def test_patient_boluses_added_between_refills_are_judged_at_their_maximum() -> None:
    decision = decide_program_change(
        pump(), dose(1000), CHANGE, None, RULES, prescription=prescribed(1000, PTM)
    )
    (warning,) = margin_warnings(decision.warnings)
    assert "after the change, within the clinic's refill margin" in warning.message
    history = pump().history
    assert history is not None
    program = with_program(history, CHANGE, prescribed(1000, PTM))
    assert decision.twin == stored_dates(program, CHANGE, margin_days=RULES.margin_days)
