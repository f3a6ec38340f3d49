"""A clinic's largest single decrease (percent) and largest single bolus (an amount): set only
when stricter than the packaged limit (a drug with no packaged decrease may be given one), a bolus
limit a hundred times below the library refused as a unit slip; then judged beside the packaged
limits (checks.check for every fall of a daily dose, checks.check_single_bolus for every bolus),
a hard one stopping and a soft one warning, worded in the drug's unit with the clinic's source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog, checks
from painpump.core.catalog import Limit
from painpump.core.clinic_limits import RULES, clinic_limit, parse_value
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import PrescribedProgram, Prescription, single_bolus
from painpump.core.prescription_decision import decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
    check_drugs,
)
from painpump.core.units import Kind, Q, parse

POLICY = "Opioid policy v3, section 4"
DECREASE, BOLUS = "max_decrease_percent", "max_single_bolus"
CUT_RISK = "(opioid withdrawal or a pain crisis; a slip of units?)"


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def limit(drug: str, rule: str, text: str, severity: str = "hard") -> Limit:
    return clinic_limit(
        catalog.drug(drug), rule, parse_value(rule, text), severity, POLICY, region="us"
    )


def only(findings: list[Finding] | tuple[Finding, ...], rule: str) -> Finding:
    (found,) = [f for f in findings if f.rule == rule]
    return found


def test_both_rules_are_offered_to_a_clinic_with_their_kind() -> None:
    assert RULES[DECREASE].kind is None and RULES[DECREASE].lower_is_stricter
    assert RULES[BOLUS].kind is Kind.MASS and RULES[BOLUS].lower_is_stricter
    assert parse_value(DECREASE, "30 %") == Decimal(30)
    assert parse_value(BOLUS, "300 mcg") == Q(Decimal(300), "mcg")


# (drug, clinic limit, severity, previous daily dose, new daily dose, verdict, message)
DECREASES = [
    (
        "morphine", "30 %", "hard", "10 mg/day", "8 mg/day", Verdict.OK,
        "a cut of 20.00 % of morphine in one change (from 10 mg/day to 8 mg/day) is within the "
        "clinic's largest single decrease, 30 %",
    ),
    (
        "morphine", "30 %", "hard", "10 mg/day", "7 mg/day", Verdict.OK,
        "a cut of 30.00 % of morphine in one change (from 10 mg/day to 7 mg/day) is within the "
        "clinic's largest single decrease, 30 %",
    ),
    (
        "morphine", "30 %", "hard", "10 mg/day", "6.5 mg/day", Verdict.STOP,
        "a cut of 35.00 % of morphine in one change (from 10 mg/day to 6.5 mg/day) exceeds the "
        f"clinic's largest single decrease, 30 % {CUT_RISK}: taper in smaller steps",
    ),
    (
        "morphine", "30 %", "soft", "10 mg/day", "6.5 mg/day", Verdict.WARN,
        "a cut of 35.00 % of morphine in one change (from 10 mg/day to 6.5 mg/day) exceeds the "
        f"clinic's largest single decrease, 30 % {CUT_RISK}: taper in smaller steps or give the "
        "reason",
    ),
    (
        # typed in another unit: worded in the drug's (mcg/day for clonidine)
        "clonidine", "10 %", "hard", "0.2 mg/day", "150 mcg/day", Verdict.STOP,
        "a cut of 25.00 % of clonidine in one change (from 200 mcg/day to 150 mcg/day) exceeds "
        "the clinic's largest single decrease, 10 % (withdrawal risk: rebound hypertension and "
        "agitation after an abrupt fall): taper in smaller steps",
    ),
    (
        # no packaged decrease for ziconotide: the clinic's tightens "no limit"
        "ziconotide", "50 %", "soft", "6 mcg/day", "2.4 mcg/day", Verdict.WARN,
        "a cut of 60.00 % of ziconotide in one change (from 6 mcg/day to 2.4 mcg/day) exceeds the "
        "clinic's largest single decrease, 50 %: taper in smaller steps or give the reason",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("drug", "value", "severity", "previous", "new", "verdict", "message"),
    DECREASES,
    ids=["within", "at-the-limit", "beyond-hard", "beyond-soft", "other-unit", "no-packaged"],
)
def test_a_clinic_decrease_limit_judges_every_fall_of_the_daily_dose(
    drug: str,
    value: str,
    severity: str,
    previous: str,
    new: str,
    verdict: Verdict,
    message: str,
) -> None:
    found = limit(drug, DECREASE, value, severity)
    usual = catalog.drug(drug).usual_range("concentration")
    assert usual is not None
    decision = checks.check(
        drug, usual.low, q(new), previous_dose=q(previous), extra_limits=[found]
    )
    finding = only(decision.findings, f"clinic_{DECREASE}")
    assert (finding.verdict, finding.message) == (verdict, message)
    assert finding.limit == f"<= {value} less"
    assert (finding.source, finding.verified, finding.tier) == (POLICY, True, Tier(severity))
    assert (finding.subject, finding.drug) == (Subject.DOSE, drug)
    if verdict is Verdict.STOP:
        assert decision.verdict is Verdict.STOP


def test_a_clinic_decrease_limit_leaves_an_increase_or_no_change_alone() -> None:
    found = limit("morphine", DECREASE, "30 %")
    for new in ("10 mg/day", "11 mg/day"):
        decision = checks.check(
            "morphine",
            q("10 mg/mL", Kind.CONCENTRATION),
            q(new),
            previous_dose=q("10 mg/day"),
            extra_limits=[found],
        )
        assert not [f for f in decision.findings if f.rule == f"clinic_{DECREASE}"]


def test_a_stop_is_left_to_the_packaged_decrease_rules_never_refused_by_a_clinic_limit() -> None:
    """A clinic's hard decrease limit must not make a pump impossible to stop (an infection, a
    granuloma): the stop is judged by the packaged rules, which warn and take a reason."""
    found = limit("baclofen", DECREASE, "15 %")
    decision = checks.check(
        "baclofen",
        q("2000 mcg/mL", Kind.CONCENTRATION),
        q("0 mcg/day"),
        previous_dose=q("400 mcg/day"),
        extra_limits=[found],
    )
    assert not [f for f in decision.findings if f.rule == f"clinic_{DECREASE}"]
    assert decision.verdict is not Verdict.STOP
    warned = {f.rule for f in decision.findings if f.verdict is Verdict.WARN}
    assert {"abrupt_discontinuation", "max_decrease_percent"} <= warned


def test_a_clinic_decrease_limit_of_another_drug_does_not_apply() -> None:
    decision = checks.check(
        "hydromorphone",
        q("10 mg/mL", Kind.CONCENTRATION),
        q("1 mg/day"),
        previous_dose=q("2 mg/day"),
        extra_limits=[limit("morphine", DECREASE, "30 %")],
    )
    assert not [f for f in decision.findings if f.rule.startswith("clinic_")]


# (drug, clinic limit, severity, bolus, verdict, message)
BOLUSES = [
    (
        "morphine", "0.3 mg", "hard", "0.2 mg", Verdict.OK,
        "a patient bolus of 0.2 mg morphine is within the clinic's largest single bolus 0.3 mg",
    ),
    (
        "morphine", "0.3 mg", "hard", "300 mcg", Verdict.OK,
        "a patient bolus of 0.3 mg morphine is within the clinic's largest single bolus 0.3 mg",
    ),
    (
        "morphine", "0.3 mg", "hard", "0.4 mg", Verdict.STOP,
        "a patient bolus of 0.4 mg morphine exceeds the clinic's largest single bolus 0.3 mg",
    ),
    (
        "morphine", "0.3 mg", "soft", "0.4 mg", Verdict.WARN,
        "a patient bolus of 0.4 mg morphine exceeds the clinic's largest single bolus 0.3 mg",
    ),
    (
        # typed in mg for a drug dosed in mcg: worded in mcg, as typed after
        "baclofen", "0.05 mg", "hard", "75 mcg", Verdict.STOP,
        "a patient bolus of 75 mcg baclofen exceeds the clinic's largest single bolus 50 mcg "
        "(= 0.05 mg)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("drug", "value", "severity", "bolus", "verdict", "message"),
    BOLUSES,
    ids=["within", "at-the-limit", "beyond-hard", "beyond-soft", "other-unit"],
)
def test_a_clinic_bolus_limit_judges_every_bolus(
    drug: str, value: str, severity: str, bolus: str, verdict: Verdict, message: str
) -> None:
    found = limit(drug, BOLUS, value, severity)
    findings = checks.check_single_bolus(
        catalog.drug(drug), q(bolus, Kind.MASS), "us", "a patient bolus", [found]
    )
    finding = only(findings, f"clinic_{BOLUS}")
    assert (finding.verdict, finding.message) == (verdict, message)
    assert finding.limit.startswith("<= ") and finding.limit.endswith(" a single bolus")
    assert (finding.source, finding.verified, finding.tier) == (POLICY, True, Tier(severity))
    # the packaged largest single bolus and the day's ceiling are still judged beside it
    assert {"max_single_bolus", "single_bolus_daily_maximum"} <= {f.rule for f in findings}


def test_a_clinic_bolus_limit_is_no_daily_dose_limit() -> None:
    """check() judges daily doses: the clinic's bolus limit leaves no finding there."""
    decision = checks.check(
        "morphine",
        q("10 mg/mL", Kind.CONCENTRATION),
        q("5 mg/day"),
        previous_dose=q("4 mg/day"),
        extra_limits=[limit("morphine", BOLUS, "0.3 mg")],
    )
    assert not [f for f in decision.findings if f.rule.startswith("clinic_")]


AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def running_pump(drug: str = "baclofen", concentration: int = 2000, dose: int = 400) -> PumpState:
    """`drug` at `concentration` mcg/mL filled 30 days ago, `dose` mcg/day since."""
    filled = AT - timedelta(days=30)
    rate = Decimal(dose) / concentration
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=LastFill(
            filled,
            q("20 mL", Kind.VOLUME),
            ((drug, Decimal(concentration)),),
            (filled + timedelta(days=90)).date(),
            LimitedBy.STABILITY,
            ((rate, filled, None),),
        ),
        running=RunningProgram(Decimal(dose), rate, filled),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False),
            origin="spinal",
        ),
    )


@pytest.mark.parametrize(("bolus", "stopped"), [("40 mcg", False), ("50 mcg", True)])
def test_a_single_bolus_program_is_judged_against_the_clinics_bolus_limit(
    bolus: str, stopped: bool
) -> None:
    rules = DosingRules(
        region="us",
        clinic_limits=(limit("baclofen", BOLUS, "40 mcg"),),
        margin_days=Decimal(7),
        tz=UTC,
    )
    fluid = (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),)
    program = PrescribedProgram.single_bolus(single_bolus(bolus, "10 min"))
    decision = decide_prescription(running_pump(), Prescription(fluid, program), AT, rules)
    if not stopped:
        assert decision.stop is None
        return
    assert decision.stop is not None
    assert (decision.stop.field, decision.stop.value) == (
        "dose",
        "baclofen 2000 mcg/mL: a single bolus of 50 mcg",
    )
    assert decision.stop.problem == (
        "is stopped by clinic_max_single_bolus: a single bolus of 50 mcg baclofen exceeds the "
        "clinic's largest single bolus 40 mcg"
    )
    assert decision.stop.source == POLICY


@pytest.mark.parametrize(("dose", "stopped"), [("7 mg/day", False), ("6.5 mg/day", True)])
def test_a_refill_at_a_cut_dose_is_judged_against_the_clinics_decrease_limit(
    dose: str, stopped: bool
) -> None:
    """A refill's dose is judged as a step from the running one (check_drugs), as a
    prescription's is: morphine 10 mg/mL at 10 mg/day, cut by 30 % or by 35 %."""
    state = running_pump("morphine", 10_000, 10_000)
    assert state.running is not None and state.last_fill is not None

    def refill() -> list[Finding]:
        return check_drugs(
            state.pump,
            (("morphine", q("10 mg/mL", Kind.CONCENTRATION)),),
            q(dose),
            state.running,
            AT,
            "spinal",
            "us",
            (limit("morphine", DECREASE, "30 %"),),
            therapy=state.therapy,
            previous_drugs=state.last_fill.drugs if state.last_fill else None,
        )[1]

    if not stopped:
        assert not [w for w in refill() if w.rule.startswith("clinic_")]
        return
    with pytest.raises(Refusal) as caught:
        refill()
    assert caught.value.problem.startswith(
        "is stopped by clinic_max_decrease_percent: a cut of 35.00 % of morphine in one change "
        "(from 10 mg/day to 6.5 mg/day)"
    )
    assert caught.value.limit == "<= 30 % less (hard limit: no override)"
    assert caught.value.source == POLICY


# (drug, rule, value typed, severity, problem in the refusal)
REFUSED = [
    ("morphine", DECREASE, "40 %", "soft", "may only tighten"),  # the packaged 40 %
    ("morphine", DECREASE, "45 %", "soft", "may only tighten"),
    ("baclofen", DECREASE, "25 %", "soft", "may only tighten"),  # the packaged 20 %
    ("ziconotide", DECREASE, "101 %", "hard", "is not a decrease a clinic may set"),
    ("morphine", DECREASE, "0 %", "hard", "is not a limit"),
    ("morphine", DECREASE, "30", "hard", "has no unit"),
    ("morphine", DECREASE, "30 mg/day", "hard", "has no unit"),  # not a percentage
    ("morphine", BOLUS, "0.5 mg", "soft", "may only tighten"),  # the packaged 0.5 mg
    ("morphine", BOLUS, "0.6 mg", "soft", "may only tighten"),
    ("baclofen", BOLUS, "0.2 mg", "soft", "may only tighten"),  # the packaged 100 mcg
    ("morphine", BOLUS, "5 mcg", "hard", "unit or decimal slip"),  # meant 5 mg? 0.5 mg / 100
    ("baclofen", BOLUS, "1 mcg", "hard", "unit or decimal slip"),  # 100 mcg / 100
    ("morphine", BOLUS, "0.3 mg/day", "hard", "is not a mass"),
    ("morphine", BOLUS, "0.3", "hard", "has no unit"),
    ("morphine", BOLUS, "0 mg", "hard", "is zero"),
]


@pytest.mark.parametrize(
    ("drug", "rule", "text", "severity", "problem"),
    REFUSED,
    ids=[f"{d}-{r}-{t}-{s}" for d, r, t, s, _ in REFUSED],
)
def test_a_clinic_limit_that_would_loosen_or_is_a_slip_is_refused(
    drug: str, rule: str, text: str, severity: str, problem: str
) -> None:
    with pytest.raises(Refusal) as caught:
        limit(drug, rule, text, severity)
    assert caught.value.field == "value"
    assert problem in caught.value.problem


def test_a_loosening_refusal_names_the_packaged_limit_and_its_source() -> None:
    with pytest.raises(Refusal) as caught:
        limit("morphine", BOLUS, "0.6 mg", "soft")
    assert caught.value.limit == "< 0.5 mg, the packaged soft largest single bolus of morphine"
    assert caught.value.source.startswith("pacc-2017-trialing")
    with pytest.raises(Refusal) as caught:
        limit("morphine", DECREASE, "45 %", "soft")
    assert caught.value.limit.startswith("< 40 %, the packaged soft largest single decrease")


def test_a_hard_limit_may_harden_a_packaged_soft_one_beyond_it() -> None:
    """As for the other rules: a hard clinic limit must act before the packaged hard limits
    only, so one above a packaged soft limit turns its warning into a stop beyond it."""
    assert limit("morphine", DECREASE, "60 %").severity is Tier.HARD
    assert limit("morphine", BOLUS, "1 mg").severity is Tier.HARD


def test_the_slip_floor_of_a_bolus_limit_is_just_above_a_hundredth_of_the_library() -> None:
    assert limit("baclofen", BOLUS, "1.01 mcg").value == Q(Decimal("1.01"), "mcg")
    assert limit("ziconotide", DECREASE, "100 %").value == Decimal(100)
