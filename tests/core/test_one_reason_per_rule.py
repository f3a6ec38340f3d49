"""One reason is typed per rule (issue 13 clinical review): where a rule finds several things (two
flex steps, two drugs of an admixture) its one warning names every finding with its step or drug
and values, so the reason typed for it, and the override recorded, cover all of them; a refusal
for a missing reason names every finding of its rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, Override, one_per_rule, overrides_for
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    flex_program,
    patient_bolus,
    step_row,
)
from painpump.core.prescription_decision import PrescriptionDecision, decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import DosingRules, LastFill, PumpState, RunningProgram, Therapy
from painpump.core.units import Kind, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
MORPHINE = (("morphine", "10 mg/mL"),)
MIX = (("morphine", "20 mg/mL"), ("bupivacaine", "15 mg/mL"), ("clonidine", "75 mcg/mL"))
STEP = "max_step_percent"
OFF_LABEL = "pump_approval"
SYNCHROMED = "Medtronic SynchroMed II, 20 mL (8637-20) (approved: morphine, ziconotide, baclofen)"


def pump(basal: str, drugs: tuple[tuple[str, str], ...] = MORPHINE) -> PumpState:
    """A SynchroMed II filled ten days ago with `drugs`, running `basal` of the first since, for
    an opioid-tolerant patient."""
    filled = AT - timedelta(days=10)
    concs = tuple((name, parse(c, Kind.CONCENTRATION, "c").canonical) for name, c in drugs)
    daily = parse(basal, Kind.DOSE_RATE, "d")
    rate = daily.canonical / concs[0][1]
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
        running=RunningProgram(daily.canonical, rate, filled, PrescribedProgram.continuous(daily)),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
        ),
    )


def decide(
    state: PumpState,
    program: PrescribedProgram,
    drugs: tuple[tuple[str, str], ...] = MORPHINE,
    ptm: PatientBolus | None = None,
) -> PrescriptionDecision:
    prescribed = tuple((name, parse(c, Kind.CONCENTRATION, "c")) for name, c in drugs)
    return decide_prescription(state, Prescription(prescribed, program, ptm), AT, RULES)


def continuous(dose: str) -> PrescribedProgram:
    return PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "d"))


def of_rule(decision: PrescriptionDecision, rule: str) -> Finding:
    assert decision.stop is None
    (finding,) = [w for w in decision.warnings if w.rule == rule]
    return finding


def test_two_steps_of_a_flex_program_above_a_soft_step_are_one_warning_naming_both() -> None:
    # morphine 2 mg/day now; weekdays 2 then 2.7 from noon, weekends 2 then 3.4 from noon
    flex = flex_program(
        [
            step_row("mon-fri", "00:00", "2 mg/day", "steps[0]"),
            step_row("mon-fri", "12:00", "2.7 mg/day", "steps[1]"),
            step_row("sat-sun", "00:00", "2 mg/day", "steps[2]"),
            step_row("sat-sun", "12:00", "3.4 mg/day", "steps[3]"),
        ]
    )
    warning = of_rule(decide(pump("2 mg/day"), flex), STEP)
    assert warning.message == (
        "2 findings, one reason covers them all: "
        "(1) the largest day's total: increase from 2 mg/day to 2.7 mg/day is +35.00 %, "
        "above <= 25 %; "
        "(2) sat from 12:00: increase from 2 mg/day to 3.4 mg/day is +70.00 %, above <= 25 %"
    )
    assert (warning.limit, warning.tier, warning.drug) == ("<= 25 %", Tier.SOFT, "morphine")


def test_two_drugs_of_an_admixture_off_label_in_the_pump_are_one_warning_naming_both() -> None:
    decision = decide(pump("4 mg/day", MIX), continuous("4 mg/day"), MIX)
    warning = of_rule(decision, OFF_LABEL)
    assert warning.message == (
        "2 findings, one reason covers them all: "
        f"(1) bupivacaine is not approved for the {SYNCHROMED}: off-label use in this pump; "
        f"(2) clonidine is not approved for the {SYNCHROMED}: off-label use in this pump"
    )
    assert warning.limit == "one of morphine, ziconotide, baclofen"
    assert (warning.subject, warning.drug) == (Subject.DOSE, None)


def test_the_worst_day_with_every_patient_bolus_is_named_as_such() -> None:
    boluses = patient_bolus("0.2 mg", "10 min", "3 hour", "6")
    decision = decide(pump("2.15 mg/day"), continuous("2.15 mg/day"), ptm=boluses)
    assert of_rule(decision, STEP).message == (
        "the worst day with every patient bolus: increase from 2.15 mg/day to 3.35 mg/day is "
        "+55.81 %, above <= 25 %"
    )


def test_the_one_reason_typed_for_the_rule_is_recorded_once_beside_the_warning_naming_all() -> None:
    warnings = decide(pump("4 mg/day", MIX), continuous("4 mg/day"), MIX).warnings
    reasons = {w.rule: "admixture per the clinic's protocol" for w in warnings}
    passed = overrides_for(warnings, reasons, GivenAt.PRESCRIBING)
    assert [o for o in passed if o.rule == OFF_LABEL] == [
        Override(OFF_LABEL, "admixture per the clinic's protocol", GivenAt.PRESCRIBING)
    ]
    (covered,) = [w for w in warnings if w.rule == OFF_LABEL]
    assert "bupivacaine is not" in covered.message and "clonidine is not" in covered.message


def soft(message: str, *, drug: str | None = "morphine", verified: bool = True) -> Finding:
    return Finding(
        STEP,
        Verdict.WARN,
        message,
        "<= 25 %",
        "rule-clinic-setting: a step",
        verified=verified,
        subject=Subject.DOSE,
        drug=drug,
        tier=Tier.SOFT,
    )


def test_a_missing_reason_is_refused_naming_every_finding_of_its_rule() -> None:
    # as a refill's or programming's warnings come, one finding a step
    warnings = [soft("mon from 12:00: +35 %"), soft("sat from 12:00: +70 %")]
    with pytest.raises(Refusal) as refused:
        overrides_for(warnings, {}, GivenAt.REFILL)
    assert (refused.value.field, refused.value.value) == ("overrides", STEP)
    assert refused.value.problem == (
        "needs a typed reason (2 findings, one reason covers them all: "
        "(1) mon from 12:00: +35 %; (2) sat from 12:00: +70 %)"
    )
    (passed,) = overrides_for(warnings, {STEP: "titrating under observation"}, GivenAt.REFILL)
    assert (passed.rule, passed.reason) == (STEP, "titrating under observation")


def test_a_reason_for_a_rule_with_a_hard_finding_among_its_soft_ones_is_refused() -> None:
    hard = Finding(
        STEP, Verdict.STOP, "sat from 12:00: +70 %", "<= 30 %", "label: a step", tier=Tier.HARD
    )
    with pytest.raises(Refusal) as refused:
        overrides_for([soft("mon from 12:00: +35 %"), hard], {STEP: "titrating"}, GivenAt.REFILL)
    assert (refused.value.field, refused.value.problem) == (
        f"overrides[{STEP}]",
        "is not a warning that may be overridden",
    )


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        # one finding stays as it was
        ([soft("a")], soft("a")),
        # the same words twice are one finding
        ([soft("a"), soft("a")], soft("a")),
        # verified only if each is; a drug only if they share it
        (
            [soft("a", drug="morphine"), soft("b", drug="clonidine", verified=False)],
            Finding(
                STEP,
                Verdict.WARN,
                "2 findings, one reason covers them all: (1) a; (2) b",
                "<= 25 %",
                "rule-clinic-setting: a step",
                verified=False,
                subject=Subject.DOSE,
                drug=None,
                tier=Tier.SOFT,
            ),
        ),
    ],
)
def test_findings_of_one_rule_become_one_that_names_each(
    findings: list[Finding], expected: Finding
) -> None:
    assert one_per_rule(findings) == (expected,)


def test_rules_keep_the_order_they_were_first_shown_in() -> None:
    other = Finding("pump_approval", Verdict.WARN, "c", "one of", "pump", tier=Tier.SOFT)
    merged = one_per_rule([soft("a"), other, soft("b")])
    assert [(f.rule, f.message) for f in merged] == [
        (STEP, "2 findings, one reason covers them all: (1) a; (2) b"),
        ("pump_approval", "c"),
    ]


def test_several_rules_without_a_reason_are_refused_naming_each_with_its_source() -> None:
    """The reviewer's case: the refusal named only the first rule's source."""
    other = Finding(
        "max_daily_dose",
        Verdict.WARN,
        "16 mg/day > 15 mg/day",
        "<= 15 mg/day",
        "pacc-2012: x",
        tier=Tier.SOFT,
    )
    with pytest.raises(Refusal) as refused:
        overrides_for([soft("mon from 12:00: +35 %"), other], {}, GivenAt.REFILL)
    assert refused.value.value == f"max_daily_dose, {STEP}"
    assert refused.value.source == "rule-clinic-setting: a step; pacc-2012: x"
    assert refused.value.problem == (
        f"needs a typed reason ({STEP}: mon from 12:00: +35 %; "
        "max_daily_dose: 16 mg/day > 15 mg/day)"
    )
