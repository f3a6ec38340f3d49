"""The one refill decision and the one titration decision of core: what a refill at a time with
given entries is judged to be (refused, stopped, warned, needing a second clinician), from
values alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.dose_history import DoseChange, Phase, increases_within
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import FluidChange
from painpump.core.refill import DeliveryFinding, LimitedBy
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
from painpump.core.units import Kind, Q, parse

FILLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY_60 = FILLED + timedelta(days=60)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
BACLOFEN = (("baclofen", Decimal(2000)),)


def q(text: str, kind: Kind) -> Q:
    return parse(text, kind, "test")


def baclofen_pump(dose: str = "400 mcg/day") -> PumpState:
    """A SynchroMed II 20 mL filled with 20 mL baclofen 2000 mcg/mL, running 400 mcg/day."""
    rate = q(dose, Kind.DOSE_RATE).canonical / Decimal(2000)
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump_model"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=LastFill(
            at=FILLED,
            volume=q("20 mL", Kind.VOLUME),
            drugs=BACLOFEN,
            refill_by=(FILLED + timedelta(days=80)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((rate, FILLED, None),),
        ),
        running=RunningProgram(q(dose, Kind.DOSE_RATE).canonical, rate, FILLED),
    )


def fill(concentration: str = "2000 mcg/mL", volume: str = "20 mL") -> Fill:
    return Fill((("baclofen", q(concentration, Kind.CONCENTRATION)),), q(volume, Kind.VOLUME), "L1")


def entries(**changes: object) -> RefillEntries:
    base = RefillEntries(
        at=DAY_60,
        expected=q("8 mL", Kind.VOLUME),
        aspirated=q("8 mL", Kind.VOLUME),
        fill=fill(),
        dose=q("400 mcg/day", Kind.DOSE_RATE),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_refill_as_programmed_is_clean_and_needs_no_second_clinician() -> None:
    decision = decide_refill(baclofen_pump(), entries(), RULES, now=DAY_60)
    assert decision.stop is None and decision.warnings == ()
    assert decision.reconciliation is not None
    assert decision.reconciliation.finding is DeliveryFinding.NONE
    assert decision.programmed == q("12 mL", Kind.VOLUME)
    assert decision.outcome is not None and decision.outcome.rate_ml_per_day == Decimal("0.2")
    assert not decision.needs_verification and not decision.dose_changed


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"at": FILLED}, "performed_at", "is out of order"),
        ({"at": DAY_60 + timedelta(hours=1)}, "performed_at", "is in the future"),
        ({"aspirated": None}, "aspirated", "is required at every refill"),
        ({"expected": None}, "expected", "is required at every refill"),
        ({"expected": q("21 mL", Kind.VOLUME)}, "expected", "is not below the last fill volume"),
        ({"aspirated": q("21 mL", Kind.VOLUME)}, "aspirated", "overfills the pump"),
    ],
)
def test_bad_entries_are_refused_naming_the_field(
    changes: dict[str, object], field: str, problem: str
) -> None:
    with pytest.raises(Refusal) as refused:
        decide_refill(baclofen_pump(), entries(**changes), RULES, now=DAY_60)
    assert refused.value.field == field
    assert problem in refused.value.problem


def test_a_form_being_filled_in_is_judged_without_its_volumes() -> None:
    decision = decide_refill(
        baclofen_pump(), entries(expected=None, aspirated=None), RULES, now=DAY_60, complete=False
    )
    assert decision.reconciliation is None and decision.outcome is not None


def test_a_residual_beyond_the_pump_accuracy_warns_about_delivery() -> None:
    decision = decide_refill(
        baclofen_pump(), entries(aspirated=q("5 mL", Kind.VOLUME)), RULES, now=DAY_60
    )
    (warning,) = decision.warnings
    assert (warning.rule, warning.subject) == ("reconciliation", Subject.DELIVERY)
    assert "overinfusion" in warning.message
    assert decision.needs_verification


@pytest.mark.parametrize(
    ("concentration", "field"),
    [("2000 mg/mL", "drugs[0]"), ("2000000 mcg/mL", "drugs[0]")],
)
def test_a_hard_limit_of_the_concentration_stops_naming_the_drug(
    concentration: str, field: str
) -> None:
    decision = decide_refill(baclofen_pump(), entries(fill=fill(concentration)), RULES, now=DAY_60)
    assert decision.stop is not None and decision.outcome is None
    assert decision.stop.field == field
    assert "baclofen" in decision.stop.value


def test_a_fill_below_the_alarm_volume_is_the_volume_s_fault() -> None:
    decision = decide_refill(baclofen_pump(), entries(fill=fill(volume="1 mL")), RULES, now=DAY_60)
    assert decision.stop is not None and decision.stop.field == "volume"


def test_a_new_concentration_bridges_as_prescribed_and_needs_a_second_clinician() -> None:
    bridged = replace(entries(fill=fill("1000 mcg/mL")), fluid_change=FluidChange.BRIDGE)
    decision = decide_refill(baclofen_pump(), bridged, RULES, now=DAY_60)
    assert decision.drug_changed and decision.needs_verification
    assert decision.outcome is not None and decision.outcome.bridge is not None
    assert decision.outcome.priming is None


def test_a_new_concentration_prescribed_with_a_priming_bolus_runs_it_and_no_bridge() -> None:
    primed = replace(entries(fill=fill("1000 mcg/mL")), fluid_change=FluidChange.PRIMING)
    outcome = decide_refill(baclofen_pump(), primed, RULES, now=DAY_60).outcome
    assert outcome is not None and outcome.bridge is None
    assert outcome.priming is not None and outcome.priming.volume == q("0.2 mL", Kind.VOLUME)


def test_a_refill_of_the_same_fluid_runs_neither_bridge_nor_priming_bolus() -> None:
    for change in FluidChange:
        same = replace(entries(), fluid_change=change)
        outcome = decide_refill(baclofen_pump(), same, RULES, now=DAY_60).outcome
        assert outcome is not None and outcome.bridge is None and outcome.priming is None


def test_a_new_dose_is_a_dose_change_and_its_titration_is_checked() -> None:
    decision = decide_refill(
        baclofen_pump(), entries(dose=q("440 mcg/day", Kind.DOSE_RATE)), RULES, now=DAY_60
    )
    assert decision.dose_changed
    assert all(w.verdict is Verdict.WARN for w in decision.warnings)


def test_the_first_fill_needs_no_residual() -> None:
    empty = replace(baclofen_pump(), last_fill=None, running=None)
    decision = decide_refill(empty, entries(expected=None, aspirated=None), RULES, now=DAY_60)
    assert decision.first_fill and decision.reconciliation is None
    assert decision.outcome is not None and decision.outcome.bridge is None


def test_a_program_change_projects_from_the_volume_left() -> None:
    decision = decide_program_change(
        baclofen_pump(), q("420 mcg/day", Kind.DOSE_RATE), DAY_60, None, RULES
    )
    assert decision.stop is None and decision.projection is not None
    assert decision.projection.left == q("8 mL", Kind.VOLUME)
    assert decision.rate_ml_per_day == Decimal("0.21")


def test_a_program_change_before_the_running_program_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        decide_program_change(
            baclofen_pump(), q("420 mcg/day", Kind.DOSE_RATE), FILLED, None, RULES
        )
    assert (refused.value.field, refused.value.problem) == ("now", "is out of order")


def test_a_program_change_beyond_the_library_stops() -> None:
    decision = decide_program_change(
        baclofen_pump(), q("400 mg/day", Kind.DOSE_RATE), DAY_60, None, RULES
    )
    assert decision.stop is not None and decision.projection is None


def test_a_titration_at_the_alarm_empties_at_the_new_rate_and_is_due_today() -> None:
    at = FILLED + timedelta(days=95)  # 1 mL left, below the 2 mL alarm
    decision = decide_program_change(
        baclofen_pump(), q("440 mcg/day", Kind.DOSE_RATE), at, None, RULES
    )
    projection = decision.projection
    assert projection is not None and projection.left == q("1 mL", Kind.VOLUME)
    assert (projection.alarm_at, projection.refill_by) == (at, at.date())
    # 1 mL at 0.22 mL/day: 4.545... days, floored to the second
    assert projection.empty_at == at + timedelta(seconds=392727)


def test_a_baclofen_reservoir_found_empty_warns_of_withdrawal() -> None:
    decision = decide_refill(
        baclofen_pump(), entries(aspirated=q("0 mL", Kind.VOLUME)), RULES, now=DAY_60
    )
    (warning,) = decision.warnings
    assert decision.reconciliation is not None
    assert decision.reconciliation.finding is DeliveryFinding.EMPTY
    assert warning.message.startswith("the reservoir was found empty")
    assert "watch for withdrawal" in warning.message and "lioresal-label" in warning.message
    assert decision.needs_verification


def _rules_of(decision_warnings: tuple[Finding, ...]) -> set[str]:
    return {w.rule for w in decision_warnings}


def test_a_pumps_first_fill_is_judged_against_the_start_dose_and_its_phase_is_titration() -> None:
    first = replace(baclofen_pump(), last_fill=None, running=None)
    above = decide_refill(first, entries(expected=None, aspirated=None), RULES, now=DAY_60)
    assert above.stop is None and _rules_of(above.warnings) == {"max_start_dose"}
    assert above.phase is Phase.TITRATION
    within = decide_refill(
        first,
        entries(expected=None, aspirated=None, dose=q("200 mcg/day", Kind.DOSE_RATE)),
        RULES,
        now=DAY_60,
    )
    assert within.warnings == ()


def test_a_new_drug_is_judged_by_its_start_dose_not_as_a_step_from_the_old_one() -> None:
    morphine = Fill(
        (("morphine", q("10 mg/mL", Kind.CONCENTRATION)),), q("20 mL", Kind.VOLUME), "M"
    )
    tolerant = Therapy(patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT))
    state = replace(baclofen_pump(), therapy=tolerant)
    decision = decide_refill(
        state, entries(fill=morphine, dose=q("5 mg/day", Kind.DOSE_RATE)), RULES, now=DAY_60
    )
    assert decision.stop is None
    assert "max_step_percent" not in _rules_of(decision.warnings)
    assert "baclofen_stopped" in _rules_of(decision.warnings)
    assert decision.phase is Phase.TITRATION
    stopped = next(w for w in decision.warnings if w.rule == "baclofen_stopped")
    assert stopped.tier is Tier.SOFT and "boxed warning" in stopped.source


def test_increases_are_counted_over_the_rolling_seven_days_of_the_recorded_history() -> None:
    at = DAY_60
    history = tuple(
        DoseChange(at - timedelta(days=days), "ziconotide", Decimal(dose))
        for days, dose in ((30, "1.2"), (6, "2.4"), (4, "3.6"), (2, "4.8"))
    )
    assert increases_within(history, "ziconotide", at) == 3
    assert increases_within(history, "ziconotide", at + timedelta(days=1)) == 2
    assert increases_within(history, "baclofen", at) == 0


def test_a_fourth_ziconotide_increase_in_seven_days_is_stopped_by_the_label() -> None:
    zic = (("ziconotide", Decimal(25)),)
    running_at = DAY_60 - timedelta(days=2)
    history = tuple(
        DoseChange(DAY_60 - timedelta(days=days), "ziconotide", Decimal(dose))
        for days, dose in ((30, "1.2"), (6, "2.4"), (4, "3.6"), (2, "4.8"))
    )
    state = replace(
        baclofen_pump(),
        last_fill=replace(
            baclofen_pump().last_fill,  # type: ignore[type-var]
            drugs=zic,
            programs=((Decimal("0.192"), running_at, None),),
        ),
        running=RunningProgram(Decimal("4.8"), Decimal("0.192"), running_at),
        therapy=Therapy(
            patient=PatientFacts(psychosis_history=False), history=history, phase=Phase.TITRATION
        ),
    )
    decision = decide_program_change(state, q("6 mcg/day", Kind.DOSE_RATE), DAY_60, None, RULES)
    assert decision.stop is not None
    assert "max_increases_per_week" in decision.stop.problem
    assert "this would be increase 4 in 7 days" in decision.stop.problem


def test_ziconotide_with_a_recorded_psychosis_history_is_stopped_hard() -> None:
    zic = Fill((("ziconotide", q("25 mcg/mL", Kind.CONCENTRATION)),), q("20 mL", Kind.VOLUME), "Z")
    first = replace(
        baclofen_pump(),
        last_fill=None,
        running=None,
        therapy=Therapy(patient=PatientFacts(psychosis_history=True)),
    )
    decision = decide_refill(
        first,
        entries(expected=None, aspirated=None, fill=zic, dose=q("1.2 mcg/day", Kind.DOSE_RATE)),
        RULES,
        now=DAY_60,
    )
    assert decision.stop is not None
    assert "contraindication" in decision.stop.problem
    assert decision.stop.limit.endswith("(hard limit: no override)")
