"""Each patient bolus (PTM) is judged per bolus as a single bolus is, not only through its worst
day: for every drug of the fluid (a partner's share: the bolus volume times its concentration)
above the drug's largest single bolus it warns (soft), above its day's ceiling it is refused
(hard); ten times the running patient bolus of the drug, or a tenth of it, is refused as a slip
(hard); one bolus as big as the basal day warns. Refusals name the PTM dose field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Finding, Tier
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    patient_bolus,
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
from painpump.core.units import Kind, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
MORPHINE = (("morphine", "10 mg/mL"),)
"""The reviewer's pump: morphine 10 mg/mL running 2.15 mg/day."""
MIX = (("morphine", "20 mg/mL"), ("bupivacaine", "15 mg/mL"), ("clonidine", "75 mcg/mL"))
PER_BOLUS = "max_single_bolus"


def pump(
    basal: str = "2.15 mg/day",
    ptm: PatientBolus | None = None,
    drugs: tuple[tuple[str, str], ...] = MORPHINE,
) -> PumpState:
    """A pump filled with `drugs` ten days ago, running `basal` of the first (and `ptm`) since,
    for an opioid-tolerant patient."""
    filled = AT - timedelta(days=10)
    concs = tuple((name, parse(c, Kind.CONCENTRATION, "c").canonical) for name, c in drugs)
    daily = parse(basal, Kind.DOSE_RATE, "d")
    rate = daily.canonical / concs[0][1]
    program = PrescribedProgram.continuous(daily)
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        alarm_volume=parse("2 mL", Kind.VOLUME, "a"),
        last_fill=LastFill(
            filled,
            parse("20 mL", Kind.VOLUME, "v"),
            concs,
            (filled + timedelta(days=40)).date(),
            LimitedBy.RESERVOIR,
            ((rate, filled, None),),
        ),
        running=RunningProgram(daily.canonical, rate, filled, program, ptm),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
        ),
    )


def once_a_day(dose: str) -> PatientBolus:
    return patient_bolus(dose, "10 min", "24 hour", "1")


def decide(
    dose: str, state: PumpState | None = None, basal: str = "2.15 mg/day"
) -> PrescriptionDecision:
    state = state or pump()
    assert state.last_fill is not None
    drugs = tuple(
        (name, parse(f"{conc} mcg/mL", Kind.CONCENTRATION, "c"))
        for name, conc in state.last_fill.drugs
    )
    program = PrescribedProgram.continuous(parse(basal, Kind.DOSE_RATE, "d"))
    return decide_prescription(state, Prescription(drugs, program, once_a_day(dose)), AT, RULES)


def per_bolus(decision: PrescriptionDecision) -> list[Finding]:
    return [w for w in decision.warnings if w.rule.endswith(PER_BOLUS)]


def test_reviewer_case_a_2_1_mg_patient_bolus_warns_above_the_largest_single_bolus() -> None:
    decision = decide("2.1 mg")
    assert decision.stop is None
    (warning,) = per_bolus(decision)
    assert warning.message == (
        "a patient bolus of 2.1 mg exceeds the largest single bolus of morphine, 0.5 mg "
        "(soft limit, unverified; source pacc-2017-trialing)"
    )
    assert warning.limit == "<= 0.5 mg a single bolus"
    assert warning.tier is Tier.SOFT and not warning.verified
    assert warning.source.startswith("pacc-2017-trialing:")


def test_reviewer_case_a_1_mg_patient_bolus_warns_and_is_refused_ten_times_0_1_mg() -> None:
    (warning,) = per_bolus(decide("1 mg"))
    assert "a patient bolus of 1 mg exceeds the largest single bolus of morphine" in (
        warning.message
    )
    stop = decide("1 mg", pump(ptm=once_a_day("0.1 mg"))).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("ptm.dose", "morphine 10 mg/mL: a patient bolus of 1 mg")
    assert stop.problem == (
        "is stopped by tenfold_bolus_step: a patient bolus of 1 mg is ten times the 0.1 mg "
        "before or more: a decimal or unit slip, never a step; re-enter it"
    )
    assert stop.limit == (
        "> 0.01 mg and < 1 mg a bolus (a tenth to ten times the 0.1 mg before) "
        "(hard limit: no override)"
    )
    assert stop.source.startswith("rule-unit-slip:")


def test_reviewer_case_a_0_1_mcg_patient_bolus_after_0_1_mg_is_refused_as_a_slip() -> None:
    stop = decide("0.1 mcg", pump(ptm=once_a_day("0.1 mg"))).stop
    assert stop is not None
    assert (stop.field, stop.value) == (
        "ptm.dose",
        "morphine 10 mg/mL: a patient bolus of 0.1 mcg (= 0.0001 mg)",
    )
    assert "is a tenth of the 0.1 mg before or less: a decimal or unit slip" in stop.problem


@pytest.mark.parametrize(
    ("before", "dose", "rule", "reason"),
    [
        (None, "0.5 mg", None, None),
        (None, "2.1 mg", PER_BOLUS, "a patient bolus of 2.1 mg exceeds the largest single bolus"),
        (
            None,
            "21 mg",
            "single_bolus_daily_maximum",
            "a patient bolus of 21 mg morphine exceeds 20 mg/day, the daily dose above which its "
            "source advises caution",
        ),
        ("0.1 mg", "0.9 mg", PER_BOLUS, "a patient bolus of 0.9 mg exceeds the largest single"),
        ("0.1 mg", "1 mg", "tenfold_bolus_step", "1 mg is ten times the 0.1 mg before or more"),
        ("0.1 mg", "0.011 mg", None, None),
        ("0.1 mg", "0.01 mg", "tenfold_bolus_step", "is a tenth of the 0.1 mg before or less"),
        ("0.1 mg", "100 mcg", None, None),
        ("2.1 mg", "21 mg", "tenfold_bolus_step", "21 mg is ten times the 2.1 mg before"),
    ],
)
def test_patient_bolus_scenarios_name_their_rule_and_reason(
    before: str | None, dose: str, rule: str | None, reason: str | None
) -> None:
    """Stop rules are hard refusals at the PTM dose; PER_BOLUS is a soft warning."""
    decision = decide(dose, pump(ptm=once_a_day(before) if before else None))
    if rule is None:
        assert decision.stop is None and per_bolus(decision) == []
    elif rule == PER_BOLUS:
        assert decision.stop is None
        (warning,) = per_bolus(decision)
        assert reason is not None and reason in warning.message
    else:
        assert decision.stop is not None and decision.stop.field == "ptm.dose"
        assert f"is stopped by {rule}: " in decision.stop.problem
        assert reason is not None and reason in decision.stop.problem


def test_each_partners_share_of_a_patient_bolus_is_judged_on_its_own() -> None:
    # 15 mg of morphine 20 mg/mL is 0.75 mL: 11.25 mg of bupivacaine, above its 10 mg/day
    state = pump("4.95 mg/day", drugs=MIX)
    stop = decide("15 mg", state, "4.95 mg/day").stop
    assert stop is not None
    assert (stop.field, stop.value) == (
        "ptm.dose",
        "bupivacaine 15 mg/mL: a patient bolus of 11.25 mg",
    )
    assert "a patient bolus of 11.25 mg bupivacaine exceeds the maximum daily dose" in stop.problem
    assert stop.source.startswith("pacc-2012:")
    # 2 mg of morphine is 0.1 mL: each drug's share is named with its drug
    warned = {w.rule for w in per_bolus(decide("2 mg", state, "4.95 mg/day"))}
    assert "morphine:max_single_bolus" in warned


def test_a_patient_bolus_as_big_as_the_running_basal_day_warns_naming_both() -> None:
    # the new basal day is 3 mg/day, but the pump gives 2.15 mg a day now
    decision = decide("2.5 mg", basal="3 mg/day")
    (size,) = [w for w in decision.warnings if w.rule == "ptm_bolus_size"]
    assert size.message == (
        "one patient bolus of 2.5 mg is as much as the 2.15 mg/day (= 2150 mcg/day) of morphine "
        "the pump gives in a whole day now: a slip of units or of the bolus size?"
    )
    assert size.limit == "< 2.15 mg/day (= 2150 mcg/day) a bolus" and size.tier is Tier.SOFT
    assert "ptm_bolus_size" not in {w.rule for w in decide("2.1 mg").warnings}


def test_a_slip_of_the_bolus_is_named_at_the_dose_before_its_worst_day() -> None:
    """A bolus ten times the running one whose worst day also breaks a hard step (baclofen,
    +30 %) is refused at the PTM dose as a slip, not at the count of boluses."""
    state = pump("400 mcg/day", ptm=once_a_day("20 mcg"), drugs=(("baclofen", "2000 mcg/mL"),))
    stop = decide("200 mcg", state, "400 mcg/day").stop
    assert stop is not None
    assert stop.field == "ptm.dose" and "tenfold_bolus_step" in stop.problem
    below_ten_fold = decide("190 mcg", state, "400 mcg/day").stop
    assert below_ten_fold is not None and below_ten_fold.field == "ptm.max_per_day"
