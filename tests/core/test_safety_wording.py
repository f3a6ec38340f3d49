"""Safety messages say what their source says: a flex step's refusal quotes the step's dose as
typed (then the largest day it gives), and the Infumorph label's caution above 20 mg/day is worded
as a caution, never as a maximum (judged the same: soft, and the day's ceiling of a single
bolus)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog, checks
from painpump.core.decision import Tier, Verdict
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    PrescribedProgram,
    Prescription,
    flex_program,
    single_bolus,
    step_row,
)
from painpump.core.prescription_decision import PrescriptionDecision, decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
)
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
FILLED = AT - timedelta(days=10)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
TOLERANT = PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
MORPHINE_25 = parse("25 mg/mL", Kind.CONCENTRATION, "test")


def q(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "test")


def on_morphine(daily: str) -> PumpState:
    """A pump filled ten days ago with morphine 25 mg/mL, running `daily` since."""
    dose = q(daily).canonical
    rate = dose / MORPHINE_25.canonical
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "test"),
        alarm_volume=parse("2 mL", Kind.VOLUME, "test"),
        last_fill=LastFill(
            at=FILLED,
            volume=parse("20 mL", Kind.VOLUME, "test"),
            drugs=(("morphine", MORPHINE_25.canonical),),
            refill_by=(FILLED + timedelta(days=40)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((rate, FILLED, None),),
        ),
        running=RunningProgram(dose, rate, FILLED, PrescribedProgram.continuous(q(daily)), None),
        therapy=Therapy(patient=TOLERANT),
    )


def decide(program: PrescribedProgram) -> PrescriptionDecision:
    prescription = Prescription((("morphine", MORPHINE_25),), program)
    return decide_prescription(on_morphine("9.05 mg/day"), prescription, AT, RULES)


def evening_step(dose: str) -> PrescribedProgram:
    return flex_program(
        [
            step_row("every day", "00:00", "3 mg/day", "steps[0]"),
            step_row("every day", "06:00", "4 mg/day", "steps[1]"),
            step_row("every day", "12:00", "3 mg/day", "steps[2]"),
            step_row("every day", "21:00", dose, "steps[3]"),
        ]
    )


# (the fourth step as typed, the refusal's value: that step first, then the largest day)
STEP_REFUSALS = [
    (
        "1500 mg/day",
        "a step of 1500 mg/day (mon from 21:00); the largest day: morphine 25 mg/mL, "
        "190.375 mg/day (= 190375 mcg/day)",
    ),
    (
        "1500000 mcg/day",
        "a step of 1500000 mcg/day (mon from 21:00); the largest day: morphine 25 mg/mL, "
        "190.375 mg/day (= 190375 mcg/day)",
    ),
]


@pytest.mark.parametrize(("typed", "value"), STEP_REFUSALS)
def test_a_flex_steps_refusal_quotes_the_step_as_typed_then_the_largest_day(
    typed: str, value: str
) -> None:
    stop = decide(evening_step(typed)).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("dose", value)
    assert "is stopped by far_above_usual" in stop.problem


def test_a_continuous_programs_refusal_quotes_its_dose_alone() -> None:
    stop = decide(PrescribedProgram.continuous(q("190 mg/day"))).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("dose", "morphine 25 mg/mL, 190 mg/day (= 190000 mcg/day)")


def test_the_infumorph_20_mg_per_day_entry_is_a_caution_not_a_maximum() -> None:
    cautions = [lim for lim in catalog.drug("morphine").limits if lim.caution]
    assert [(lim.rule, str(lim.value)) for lim in cautions] == [("max_daily_dose", "20 mg/day")]
    assert cautions[0].source.startswith("infumorph-label:")
    others = [d for d in catalog.drugs().values() if d.name != "morphine"]
    assert not [lim for drug in others for lim in drug.limits if lim.caution]


# (daily dose, the verdict of the label's caution, its message)
CAUTION_MESSAGES = [
    (
        "22 mg/day",
        Verdict.WARN,
        "22 mg/day exceeds 20 mg/day: its source advises caution with a daily dose above it (a "
        "caution, not a maximum)",
    ),
    (
        "18 mg/day",
        Verdict.OK,
        "18 mg/day is within 20 mg/day, above which its source advises caution",
    ),
]


@pytest.mark.parametrize(("dose", "verdict", "message"), CAUTION_MESSAGES)
def test_a_daily_dose_is_judged_against_the_labels_caution_worded_as_one(
    dose: str, verdict: Verdict, message: str
) -> None:
    decision = checks.check("morphine", MORPHINE_25, q(dose))
    (caution,) = [
        f for f in decision.findings if f.rule == "max_daily_dose" and "caution" in f.limit
    ]
    assert (caution.verdict, caution.tier, caution.message) == (verdict, Tier.SOFT, message)
    assert caution.limit == "<= 20 mg/day (caution above it)"
    maxima = [f for f in decision.findings if f.rule == "max_daily_dose"]
    (pacc,) = [f for f in maxima if f.source.startswith("pacc-2012:")]
    assert "the maximum daily dose 15 mg/day" in pacc.message


def test_a_single_bolus_above_the_caution_is_refused_naming_the_caution() -> None:
    stop = decide(PrescribedProgram.single_bolus(single_bolus("21 mg", "4 hour"))).stop
    assert stop is not None
    assert (
        "21 mg morphine exceeds 20 mg/day, the daily dose above which its source advises caution "
        "(soft as a daily dose, unverified)"
    ) in stop.problem
    assert "maximum daily dose" not in stop.problem
    assert stop.limit.startswith("<= 20 mg a single bolus (caution above a daily dose of 20 mg/day")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"rule": "max_step_percent", "value": "25", "caution": True}, "caution = true only on"),
        ({"rule": "max_daily_dose", "value": "20 mg/day", "caution": 1}, "caution = true only on"),
    ],
)
def test_the_loader_takes_a_caution_only_on_a_maximum_and_as_true_or_false(
    entry: dict[str, object], problem: str
) -> None:
    base = {"severity": "soft", "verified": False, "source": "rule-clinic-setting: test"}
    with pytest.raises(catalog.CatalogError, match=problem):
        catalog._limit("morphine", {**base, **entry})
