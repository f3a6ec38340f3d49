"""A prescription is judged again by the limits in force when a refill or a programming executes
it: each patient bolus against the clinic's (and the library's) largest single bolus, each
stretch of a flex change against the clinic's largest single decrease, as signing judges them
(core.refill_decision.ProgramJudge.beyond_day_totals, shared). A clinic limit hardened after
signing stops the execution with the refusal signing would give now; a soft one warns once per
rule and passes with the prescriber's reason for it or a new typed one. A single bolus after
which the pump stops is never refused by a clinic limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.catalog import Limit
from painpump.core.clinic_limits import clinic_limit, parse_value
from painpump.core.decision import Finding, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, Override, overrides_for
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription_decision import decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    Fill,
    LastFill,
    PumpState,
    RefillEntries,
    RunningProgram,
    Therapy,
    decide_program_change,
    decide_refill,
)
from painpump.core.units import Kind, of, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FILLED = AT - timedelta(days=30)
POLICY = "Opioid policy v3, section 4"
MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
DECREASE, BOLUS = "max_decrease_percent", "max_single_bolus"
CUT_RISK = "(opioid withdrawal or a pain crisis; a slip of units?)"
REASON = "agreed with the patient's oncologist at the visit"


def flex(*steps: tuple[str, str]) -> rx.PrescribedProgram:
    return rx.flex_program(
        [
            rx.step_row("every day", start, dose, f"steps[{i}]")
            for i, (start, dose) in enumerate(steps)
        ]
    )


def continuous(daily: str) -> rx.PrescribedProgram:
    return rx.PrescribedProgram.continuous(parse(daily, Kind.DOSE_RATE, "dose"))


CUT_FROM = flex(("00:00", "2.8 mg/day"), ("08:00", "3.4 mg/day"), ("20:00", "2.8 mg/day"))
"""3.1 mg/day over the day; its 08:00 step falls 23.53 % to a continuous 2.6 mg/day (the day
total 16.13 %)."""
WITH_BOLUS = flex(("00:00", "2.5 mg/day"), ("08:00", "2.7 mg/day"), ("20:00", "2.5 mg/day"))
PTM = rx.patient_bolus("0.35 mg", "10 min", "4 hour", "3")
BIG_PTM = rx.patient_bolus("0.6 mg", "10 min", "4 hour", "3")
FLEX_PTM = rx.Prescription(MORPHINE, WITH_BOLUS, PTM)
"""Flex 2.5/2.7/2.5 mg/day with a patient bolus of 0.35 mg up to 3 a day."""
CUT = rx.Prescription(MORPHINE, continuous("2.6 mg/day"))


def limit(rule: str, text: str, severity: str) -> Limit:
    return clinic_limit(
        catalog.drug("morphine"), rule, parse_value(rule, text), severity, POLICY, region="us"
    )


def rules(*limits: Limit) -> DosingRules:
    return DosingRules(region="us", clinic_limits=limits, margin_days=Decimal(7), tz=UTC)


def pump(program: rx.PrescribedProgram, ptm: rx.PatientBolus | None = None) -> PumpState:
    """An opioid-tolerant patient's SynchroMed II filled with 20 mL of morphine 10 mg/mL 30 days
    ago, running `program` (and `ptm`) since."""
    day = program.largest_day.canonical
    rate = day / Decimal(10_000)
    return PumpState(
        pump=catalog.pump("synchromed-ii-20"),
        dead_volume=of(Decimal("0.25"), "mL"),
        alarm_volume=of(Decimal(2), "mL"),
        last_fill=LastFill(
            FILLED,
            of(Decimal(20), "mL"),
            (("morphine", Decimal(10_000)),),
            (FILLED + timedelta(days=90)).date(),
            LimitedBy.STABILITY,
            ((rate, FILLED, None),),
        ),
        running=RunningProgram(day, rate, FILLED, program, ptm),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
        ),
    )


@dataclass(frozen=True)
class Executed:
    stop: Refusal | None
    warnings: tuple[Finding, ...]


def execute(
    how: str, state: PumpState, prescription: rx.Prescription | None, judged_by: DosingRules
) -> Executed:
    """`prescription` (or, None, its dose alone as older paths give it) executed at AT by a
    refill or a programming of the pump of `state`."""
    dose = (prescription or FLEX_PTM).daily_dose
    if how == "programming":
        programmed = decide_program_change(
            state, dose, AT, None, judged_by, prescription=prescription
        )
        if programmed.stop is not None:
            assert (programmed.rate_ml_per_day, programmed.projection) == (None, None)
        return Executed(programmed.stop, programmed.warnings)
    assert state.running is not None
    left = of(Decimal(20) - state.running.rate_ml_per_day * 30, "mL")
    entries = RefillEntries(
        AT, left, left, Fill(MORPHINE, of(Decimal(20), "mL"), "LOT-1"), dose,
        prescription=prescription,
    )  # fmt: skip
    refilled = decide_refill(state, entries, judged_by, now=AT)
    if refilled.stop is not None:
        assert refilled.outcome is None  # nothing is filled or programmed
    return Executed(refilled.stop, refilled.warnings)


EXECUTIONS = ["refill", "programming"]

BOLUS_STOP = (
    "is stopped by clinic_max_single_bolus: a patient bolus of 0.35 mg morphine exceeds the "
    "clinic's largest single bolus 0.3 mg"
)
CUT_STOP = (
    "is stopped by clinic_max_decrease_percent: a cut of 23.53 % of morphine in one change "
    "(from 3.4 mg/day to 2.6 mg/day) exceeds the clinic's largest single decrease, 22 % "
    f"{CUT_RISK}: taper in smaller steps"
)

# (running program, its patient bolus, the prescription executed, the clinic's limits at
#  execution, the refusal expected (field, value, limit, problem) or None)
HARDENED = [
    (
        WITH_BOLUS, PTM, FLEX_PTM, (limit(BOLUS, "0.3 mg", "hard"),),
        (
            "ptm.dose",
            "morphine 10 mg/mL: a patient bolus of 0.35 mg",
            "<= 0.3 mg a single bolus (hard limit: no override)",
            BOLUS_STOP,
        ),
    ),
    (
        # the prescription adds the patient bolus to the program the pump runs
        CUT_FROM, None, FLEX_PTM, (limit(BOLUS, "0.3 mg", "hard"),),
        (
            "ptm.dose",
            "morphine 10 mg/mL: a patient bolus of 0.35 mg",
            "<= 0.3 mg a single bolus (hard limit: no override)",
            BOLUS_STOP,
        ),
    ),
    (
        CUT_FROM, None, CUT,
        (limit(DECREASE, "22 %", "hard"),),
        (
            "program.days.mon[0].dose",
            "morphine 10 mg/mL, 2.6 mg/day",
            "<= 22 % less (hard limit: no override)",
            CUT_STOP,
        ),
    ),
    (
        WITH_BOLUS, PTM, FLEX_PTM, (limit(BOLUS, "0.4 mg", "hard"),),
        None,
    ),
    (
        CUT_FROM, None, CUT,
        (limit(DECREASE, "30 %", "hard"),),
        None,
    ),
]  # fmt: skip


@pytest.mark.parametrize("how", EXECUTIONS)
@pytest.mark.parametrize(
    ("running", "running_ptm", "prescription", "limits", "refused"),
    HARDENED,
    ids=["bolus-in-force", "bolus-added", "step-cut", "bolus-within", "step-cut-within"],
)
def test_a_clinic_limit_hardened_after_signing_stops_the_execution_as_signing_would(
    how: str,
    running: rx.PrescribedProgram,
    running_ptm: rx.PatientBolus | None,
    prescription: rx.Prescription,
    limits: tuple[Limit, ...],
    refused: tuple[str, str, str, str] | None,
) -> None:
    state = pump(running, running_ptm)
    executed = execute(how, state, prescription, rules(*limits))
    signed = decide_prescription(state, prescription, AT, rules(*limits))
    if refused is None:
        assert executed.stop is None and signed.stop is None
        assert not [w for w in executed.warnings if w.rule.startswith("clinic_")]
        return
    stop = executed.stop
    assert stop is not None
    assert (stop.field, stop.value, stop.limit, stop.problem) == refused
    assert stop.source == POLICY
    # the very refusal the prescription would meet, signed now
    assert signed.stop is not None and signed.stop.as_dict() == stop.as_dict()
    # before the limit was hardened, the same execution passed without a clinic finding
    passed = execute(how, state, prescription, rules())
    assert passed.stop is None
    assert not [w for w in passed.warnings if w.rule.startswith("clinic_")]


# (running program, its patient bolus, the prescription executed, the clinic's limits at
#  execution, the one finding expected: rule, message)
SOFT = [
    (
        WITH_BOLUS, PTM, FLEX_PTM, (limit(BOLUS, "0.3 mg", "soft"),),
        "clinic_max_single_bolus",
        "a patient bolus of 0.35 mg morphine exceeds the clinic's largest single bolus 0.3 mg",
    ),
    (
        # no clinic limit: the library's own largest single bolus of morphine
        WITH_BOLUS, BIG_PTM, rx.Prescription(MORPHINE, WITH_BOLUS, BIG_PTM), (),
        "max_single_bolus",
        "a patient bolus of 0.6 mg exceeds the largest single bolus of morphine, 0.5 mg (soft "
        "limit, unverified; source pacc-2017-trialing)",
    ),
    (
        CUT_FROM, None, CUT,
        (limit(DECREASE, "20 %", "soft"),),
        "clinic_max_decrease_percent",
        "mon from 08:00: a cut of 23.53 % of morphine in one change (from 3.4 mg/day to 2.6 "
        "mg/day) exceeds the clinic's largest single decrease, 20 % "
        f"{CUT_RISK}: taper in smaller steps or give the reason",
    ),
    (
        # the day total (16.13 %) and its 08:00 step (23.53 %) both beyond: one finding, one reason
        CUT_FROM, None, CUT,
        (limit(DECREASE, "15 %", "soft"),),
        "clinic_max_decrease_percent",
        "2 findings, one reason covers them all: (1) a cut of 16.13 % of morphine in one change "
        "(from 3.1 mg/day to 2.6 mg/day) exceeds the clinic's largest single decrease, 15 % "
        f"{CUT_RISK}: taper in smaller steps or give the reason; (2) mon from 08:00: a cut of "
        "23.53 % of morphine in one change (from 3.4 mg/day to 2.6 mg/day) exceeds the clinic's "
        f"largest single decrease, 15 % {CUT_RISK}: taper in smaller steps or give the reason",
    ),
]  # fmt: skip


@pytest.mark.parametrize("how", EXECUTIONS)
@pytest.mark.parametrize(
    ("running", "running_ptm", "prescription", "limits", "rule", "message"),
    SOFT,
    ids=["clinic-bolus", "library-bolus", "step-cut", "day-and-step-cut"],
)
def test_a_soft_limit_at_execution_warns_once_per_rule_and_passes_with_a_reason(
    how: str,
    running: rx.PrescribedProgram,
    running_ptm: rx.PatientBolus | None,
    prescription: rx.Prescription,
    limits: tuple[Limit, ...],
    rule: str,
    message: str,
) -> None:
    state = pump(running, running_ptm)
    executed = execute(how, state, prescription, rules(*limits))
    assert executed.stop is None
    (finding,) = [w for w in executed.warnings if w.rule == rule]
    assert (finding.verdict, finding.tier, finding.message) == (Verdict.WARN, Tier.SOFT, message)
    assert [w.rule for w in executed.warnings] == [rule]  # nothing else, nothing twice
    signed = decide_prescription(state, prescription, AT, rules(*limits))
    assert [w.rule for w in signed.warnings] == [rule]
    # the prescriber's reason for the rule travels with the prescription...
    carried = (Override(rule, REASON, GivenAt.PRESCRIBING),)
    assert overrides_for(executed.warnings, {}, GivenAt.REFILL, carried) == carried
    # ...without it, a reason typed now passes it, and nothing else does
    with pytest.raises(Refusal) as caught:
        overrides_for(executed.warnings, {}, GivenAt.REFILL)
    assert (caught.value.field, caught.value.value) == ("overrides", rule)
    typed = overrides_for(executed.warnings, {rule: REASON}, GivenAt.PROGRAMMING)
    assert typed == (Override(rule, REASON, GivenAt.PROGRAMMING),)
    # a reason the prescriber gave for another rule does not cover it
    other = (Override("clinic_max_daily_dose", REASON, GivenAt.PRESCRIBING),)
    with pytest.raises(Refusal):
        overrides_for(executed.warnings, {}, GivenAt.REFILL, other)


@pytest.mark.parametrize("how", EXECUTIONS)
def test_a_stored_prescription_is_worded_in_the_drugs_own_units(how: str) -> None:
    """As stored (mcg/mL, mcg/day, mcg), nobody typed its units: the refusal words them as the
    drug's ("0.35 mg"), as a prescription typed in them is worded at signing."""
    mcg = FLEX_PTM.program.days[0]
    stored = rx.Prescription(
        (("morphine", of(Decimal(10_000), "mcg/mL")),),
        rx.PrescribedProgram.flex(
            (tuple(rx.Step(s.start_s, of(s.dose.canonical, "mcg/day")) for s in mcg),) * 7
        ),
        rx.PatientBolus(of(Decimal(350), "mcg"), 600, 4 * 3600, 3),
    )
    state = pump(WITH_BOLUS, PTM)
    hard = rules(limit(BOLUS, "0.3 mg", "hard"))
    stop = execute(how, state, stored, hard).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("ptm.dose", "morphine 10 mg/mL: a patient bolus of 0.35 mg")
    signed = decide_prescription(state, FLEX_PTM, AT, hard).stop
    assert signed is not None and signed.as_dict() == stop.as_dict()


@pytest.mark.parametrize("how", EXECUTIONS)
def test_an_execution_without_its_prescription_is_judged_on_its_dose_as_before(how: str) -> None:
    """Older paths and tests give no prescription: the day total alone, as before."""
    state = pump(WITH_BOLUS, PTM)
    executed = execute(how, state, None, rules(limit(BOLUS, "0.3 mg", "hard")))
    assert executed.stop is None
    assert executed.warnings == ()


def test_a_single_bolus_after_which_the_pump_stops_is_never_refused_by_a_clinic_limit() -> None:
    """A clinic's hard largest single decrease must not make a pump impossible to stop: the
    bolus programmed after a flex program is no decrease of its day; the stop after it warns of
    withdrawal, at programming as at signing."""
    state = pump(CUT_FROM)
    bolus = rx.Prescription(
        MORPHINE, rx.PrescribedProgram.single_bolus(rx.single_bolus("0.3 mg", "1 hour"))
    )
    hard = rules(limit(DECREASE, "10 %", "hard"), limit(BOLUS, "0.3 mg", "hard"))
    programmed = decide_program_change(
        state, bolus.daily_dose, AT, None, hard, basal=False, prescription=bolus
    )
    assert programmed.stop is None
    assert [w.rule for w in programmed.warnings] == ["stops_after_single_bolus"]
    assert decide_prescription(state, bolus, AT, hard).stop is None
