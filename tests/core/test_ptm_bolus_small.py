"""A patient bolus far below the basal day warns as a possible slip of units (issue 13 clinical
review: 0.1 mcg of morphine meant as 0.1 mg), even where the pump runs no patient bolus to
compare it with: soft, a placeholder share of the day (rule-clinic-setting, unverified)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Subject, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, overrides_for
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    flex_program,
    patient_bolus,
    step_row,
)
from painpump.core.prescription_decision import (
    PTM_BOLUS_SMALL,
    PrescriptionDecision,
    decide_prescription,
)
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import DosingRules, LastFill, PumpState, RunningProgram, Therapy
from painpump.core.units import Kind, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
SMALL = "ptm_bolus_small"
SLIP = "a slip of units or of the bolus size?"


def morphine_pump(ptm: PatientBolus | None = None) -> PumpState:
    """The reviewer's pump: morphine 10 mg/mL running 2.15 mg/day (and `ptm`), filled ten days
    ago, for an opioid-tolerant patient."""
    filled = AT - timedelta(days=10)
    conc = parse("10 mg/mL", Kind.CONCENTRATION, "c").canonical
    daily = parse("2.15 mg/day", Kind.DOSE_RATE, "d")
    rate = daily.canonical / conc
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        alarm_volume=parse("2 mL", Kind.VOLUME, "a"),
        last_fill=LastFill(
            filled,
            parse("20 mL", Kind.VOLUME, "v"),
            (("morphine", conc),),
            (filled + timedelta(days=40)).date(),
            LimitedBy.RESERVOIR,
            ((rate, filled, None),),
        ),
        running=RunningProgram(
            daily.canonical, rate, filled, PrescribedProgram.continuous(daily), ptm
        ),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
        ),
    )


def once_a_day(dose: str) -> PatientBolus:
    return patient_bolus(dose, "10 min", "24 hour", "1")


def decide(
    dose: str,
    program: PrescribedProgram | None = None,
    state: PumpState | None = None,
) -> PrescriptionDecision:
    drugs = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
    program = program or PrescribedProgram.continuous(parse("2.15 mg/day", Kind.DOSE_RATE, "d"))
    prescription = Prescription(drugs, program, once_a_day(dose))
    return decide_prescription(state or morphine_pump(), prescription, AT, RULES)


def small(decision: PrescriptionDecision) -> list[str]:
    return [w.message for w in decision.warnings if w.rule == SMALL]


@pytest.mark.parametrize(
    ("dose", "reason"),
    [
        # the reviewer's case: 0.1 mg meant, 0.1 mcg entered
        (
            "0.1 mcg",
            "one patient bolus of 0.0001 mg (= 0.1 mcg) is less than 0.1 % of the basal day of "
            "morphine "
            f"(2.15 mg/day): {SLIP}",
        ),
        # named in the unit entered
        (
            "0.0001 mg",
            "one patient bolus of 0.0001 mg is less than 0.1 % of the basal day of morphine "
            f"(2.15 mg/day): {SLIP}",
        ),
        (
            "2.14 mcg",
            "one patient bolus of 0.00214 mg (= 2.14 mcg) is less than 0.1 % of the basal day",
        ),
        ("2.15 mcg", None),  # a thousandth of the day exactly: no warning
        ("0.1 mg", None),  # a usual bolus, about 5 % of the day
        ("20 mcg", None),
    ],
)
def test_a_patient_bolus_below_a_thousandth_of_the_basal_day_warns_as_a_slip_of_units(
    dose: str, reason: str | None
) -> None:
    decision = decide(dose)
    assert decision.stop is None
    found = small(decision)
    if reason is None:
        assert found == []
    else:
        (message,) = found
        assert message.startswith(reason)


def test_the_reviewers_tiny_bolus_warns_soft_unverified_citing_the_clinic_setting_rule() -> None:
    (warning,) = [w for w in decide("0.1 mcg").warnings if w.rule == SMALL]
    assert (warning.verdict, warning.tier, warning.verified) == (Verdict.WARN, Tier.SOFT, False)
    assert (warning.subject, warning.drug) == (Subject.DOSE, "morphine")
    assert warning.limit == ">= 0.00215 mg (= 2.15 mcg) a bolus (0.1 % of 2.15 mg/day)"
    assert warning.source == PTM_BOLUS_SMALL.source
    assert warning.source.startswith("rule-clinic-setting: no source gives a smallest patient")
    assert (PTM_BOLUS_SMALL.value, PTM_BOLUS_SMALL.verified) == (Decimal("0.001"), False)


def test_the_limit_is_in_the_unit_of_the_bolus_and_the_day_in_the_drugs_unit() -> None:
    program = PrescribedProgram.continuous(parse("2150 mcg/day", Kind.DOSE_RATE, "d"))
    (warning,) = [w for w in decide("0.0001 mg", program).warnings if w.rule == SMALL]
    assert "of the basal day of morphine (2.15 mg/day)" in warning.message
    assert warning.limit == ">= 0.00215 mg (= 2.15 mcg) a bolus (0.1 % of 2.15 mg/day)"


def test_a_flex_program_judges_the_bolus_against_its_largest_day() -> None:
    # weekdays 2 mg/day, the weekend 4 mg/day: 3 mcg is above a thousandth of 2 mg, not of 4 mg
    flex = flex_program(
        [
            step_row("mon-fri", "00:00", "2 mg/day", "steps[0]"),
            step_row("sat-sun", "00:00", "4 mg/day", "steps[1]"),
        ]
    )
    (message,) = small(decide("3 mcg", flex))
    assert message == (
        "one patient bolus of 0.003 mg (= 3 mcg) is less than 0.1 % of the basal day of morphine "
        f"(4 mg/day): {SLIP}"
    )


def test_a_tiny_bolus_after_a_running_one_is_still_refused_as_a_tenth_of_it_hard() -> None:
    stop = decide("0.1 mcg", state=morphine_pump(once_a_day("0.1 mg"))).stop
    assert stop is not None and stop.field == "ptm.dose"
    assert "is a tenth of the 0.1 mg before or less: a decimal or unit slip" in stop.problem


def test_the_tiny_bolus_passes_only_with_a_reason_typed_for_it() -> None:
    warnings = decide("0.1 mcg").warnings
    with pytest.raises(Refusal) as refused:
        overrides_for(warnings, {}, GivenAt.PRESCRIBING)
    assert (refused.value.field, refused.value.value) == ("overrides", SMALL)
    assert refused.value.problem.startswith(
        "needs a typed reason (one patient bolus of 0.0001 mg (= 0.1 mcg) is less than 0.1 % of "
        "the basal day"
    )
    (passed,) = overrides_for(
        warnings, {SMALL: "micro-dose trial, 0.1 mcg is intended"}, GivenAt.PRESCRIBING
    )
    assert (passed.rule, passed.reason) == (SMALL, "micro-dose trial, 0.1 mcg is intended")
