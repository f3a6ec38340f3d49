"""An intrathecal opioid's daily dose cut by more than its largest single decrease (40 %, a clinic
setting, unverified) in one change warns: opioid withdrawal or a pain crisis, or a slip of units;
it passes with a typed reason. The largest day is judged against the running largest day, for
every opioid of the fluid, at a prescription and at a refill alike; a cut to a tenth or less
stays a hard stop (a slip) and leaving the opioid out still warns."""

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
    check_drugs,
)
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
FILLED = AT - timedelta(days=10)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
TOLERANT = PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
CUT = "max_decrease_percent"
RISK = "opioid withdrawal or a pain crisis; a slip of units?"
OPIOIDS = ("morphine", "hydromorphone", "fentanyl", "sufentanil")


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def pump_running(drugs: tuple[tuple[str, str], ...], program: PrescribedProgram) -> PumpState:
    """A pump filled ten days ago with `drugs` (principal first), running `program` since."""
    held = tuple((name, q(conc, Kind.CONCENTRATION).canonical) for name, conc in drugs)
    daily = program.largest_day.canonical
    rate = daily / held[0][1]
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=LastFill(
            at=FILLED,
            volume=q("20 mL", Kind.VOLUME),
            drugs=held,
            refill_by=(FILLED + timedelta(days=40)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((rate, FILLED, None),),
        ),
        running=RunningProgram(daily, rate, FILLED, program),
        therapy=Therapy(patient=TOLERANT, origin="spinal"),
    )


def decide(
    state: PumpState, drugs: tuple[tuple[str, str], ...], program: PrescribedProgram
) -> PrescriptionDecision:
    fluid = tuple((name, q(conc, Kind.CONCENTRATION)) for name, conc in drugs)
    return decide_prescription(state, Prescription(fluid, program), AT, RULES)


def flex(*rows: tuple[str, str, str]) -> PrescribedProgram:
    return flex_program([step_row(*row, f"steps[{i}]") for i, row in enumerate(rows)])


MORPHINE = (("morphine", "25 mg/mL"),)
ON_9_05 = pump_running(MORPHINE, PrescribedProgram.continuous(q("9.05 mg/day")))


# (new continuous dose from 9.05 mg/day, the cut's reason or None when no cut warns)
CONTINUOUS_CUTS = [
    ("1500 mcg/day", "a cut of 83.43 % of morphine in one change (from 9.05 mg/day to 1.5 mg/day"),
    ("4.5 mg/day", "a cut of 50.28 % of morphine in one change (from 9.05 mg/day to 4.5 mg/day"),
    ("5.4 mg/day", "a cut of 40.33 % of morphine in one change"),
    ("5.43 mg/day", None),  # exactly 40 % less
    ("8 mg/day", None),
]


@pytest.mark.parametrize(("dose", "reason"), CONTINUOUS_CUTS)
def test_a_continuous_opioid_cut_beyond_40_percent_warns_of_withdrawal_and_a_slip(
    dose: str, reason: str | None
) -> None:
    decision = decide(ON_9_05, MORPHINE, PrescribedProgram.continuous(q(dose)))
    assert decision.stop is None
    cuts = [w for w in decision.warnings if w.rule == CUT]
    if reason is None:
        assert cuts == []
        return
    (cut,) = cuts
    assert reason in cut.message and RISK in cut.message
    assert "more than 40 %" in cut.message
    assert (cut.limit, cut.tier, cut.verified) == ("<= 40 % less", Tier.SOFT, False)
    assert cut.source.startswith("rule-clinic-setting:")


def test_a_flex_programs_largest_day_cut_from_the_running_largest_day_warns() -> None:
    running = flex(("mon-fri", "00:00", "5.9 mg/day"), ("sat-sun", "00:00", "4 mg/day"))
    state = pump_running(MORPHINE, running)
    program = flex(("mon-fri", "00:00", "3.38 mg/day"), ("sat-sun", "00:00", "3 mg/day"))
    decision = decide(state, MORPHINE, program)
    assert decision.stop is None
    (cut,) = [w for w in decision.warnings if w.rule == CUT]
    assert cut.message.startswith(
        "the largest day's total: a cut of 42.71 % of morphine in one change (from 5.9 mg/day to "
        "3.38 mg/day; more than 40 %)"
    )


def test_a_cut_to_a_tenth_stays_a_hard_stop_as_a_slip() -> None:
    decision = decide(ON_9_05, MORPHINE, PrescribedProgram.continuous(q("0.9 mg/day")))
    assert decision.stop is not None
    assert "is stopped by tenfold_step" in decision.stop.problem


def test_every_opioid_of_the_fluid_is_judged_an_admixture_partner_too() -> None:
    fluid = (("baclofen", "2000 mcg/mL"), ("morphine", "10 mg/mL"))
    state = pump_running(fluid, PrescribedProgram.continuous(q("400 mcg/day")))
    # half the rate: baclofen -50 % (its own withdrawal rule), its morphine partner 2 to 1 mg/day
    decision = decide(state, fluid, PrescribedProgram.continuous(q("200 mcg/day")))
    assert decision.stop is None
    cuts = {w.rule: w.message for w in decision.warnings if w.rule.endswith(CUT)}
    assert "a cut of 50.00 % of morphine in one change" in cuts[f"morphine:{CUT}"]
    assert RISK in cuts[f"morphine:{CUT}"]
    assert "withdrawal risk (boxed warning)" in cuts[f"baclofen:{CUT}"]


@pytest.mark.parametrize("name", OPIOIDS)
def test_each_intrathecal_opioid_has_the_cut_rule(name: str) -> None:
    drug = catalog.drug(name)
    day, concentration = drug.usual_range("daily_dose"), drug.usual_range("concentration")
    assert day is not None and concentration is not None
    previous = Q(day.high.value / 2, day.high.unit)
    cut = Q(previous.value / 2, previous.unit)
    decision = checks.check(name, concentration.high, cut, previous_dose=previous)
    (finding,) = [f for f in decision.findings if f.rule == CUT]
    assert finding.verdict is Verdict.WARN
    assert f"a cut of 50.00 % of {name} in one change" in finding.message


def test_a_non_opioid_without_a_decrease_rule_is_not_warned_of_a_cut() -> None:
    decision = checks.check(
        "bupivacaine", q("15 mg/mL", Kind.CONCENTRATION), q("2 mg/day"), previous_dose=q("8 mg/day")
    )
    assert not [f for f in decision.findings if f.rule == CUT]
    assert decision.verdict is Verdict.OK


def test_a_refill_at_a_cut_dose_warns_as_a_prescription_does() -> None:
    running = ON_9_05.running
    _, warnings = check_drugs(
        ON_9_05.pump,
        ((MORPHINE[0][0], q(MORPHINE[0][1], Kind.CONCENTRATION)),),
        q("4.5 mg/day"),
        running,
        AT,
        "spinal",
        "us",
        therapy=ON_9_05.therapy,
        previous_drugs=ON_9_05.last_fill.drugs if ON_9_05.last_fill else None,
    )
    (cut,) = [w for w in warnings if w.rule == CUT]
    assert "a cut of 50.28 % of morphine in one change" in cut.message


def test_leaving_the_opioid_out_still_warns_of_its_abrupt_stop() -> None:
    fluid = (("bupivacaine", "15 mg/mL"),)
    decision = decide(ON_9_05, fluid, PrescribedProgram.continuous(q("2 mg/day")))
    assert decision.stop is None
    (stopped,) = [w for w in decision.warnings if w.rule == "morphine_stopped"]
    assert "this fill leaves morphine out: an abrupt stop risks withdrawal" in stopped.message
