"""Regressions from the independent reviews of the safety engine's second pass: each test is
named for the hole it closes (a way a dangerous program got through, or a refusal that blocked
standard care)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.checks import check
from painpump.core.decision import Tier, Verdict
from painpump.core.dose_history import DoseChange
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, checked_reason, overrides_for
from painpump.core.patient_facts import OpioidStatus, PatientFacts
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
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)


def q(text: str, kind: Kind) -> Q:
    return parse(text, kind, "test")


def pump(drugs: tuple[tuple[str, Decimal], ...], dose_mcg: str, rate: str) -> PumpState:
    filled = AT - timedelta(days=30)
    return PumpState(
        pump=catalog.pump("synchromed-ii-40"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=LastFill(
            filled,
            q("40 mL", Kind.VOLUME),
            drugs,
            (filled + timedelta(days=90)).date(),
            LimitedBy.RESERVOIR,
            ((Decimal(rate), filled, None),),
        ),
        running=RunningProgram(Decimal(dose_mcg), Decimal(rate), filled),
    )


def fill(*drugs: tuple[str, str]) -> Fill:
    return Fill(
        tuple((name, q(conc, Kind.CONCENTRATION)) for name, conc in drugs),
        q("40 mL", Kind.VOLUME),
        "LOT",
    )


def entries(refill: Fill, dose: str) -> RefillEntries:
    return RefillEntries(
        AT, q("10 mL", Kind.VOLUME), q("10 mL", Kind.VOLUME), refill, q(dose, Kind.DOSE_RATE)
    )


BACLOFEN = pump((("baclofen", Decimal(2000)),), "400", "0.2")


def test_a_drug_named_twice_in_a_fill_is_refused_not_checked_twice_alone() -> None:
    twice = fill(("baclofen", "2000 mcg/mL"), ("baclofen", "2000 mcg/mL"))
    with pytest.raises(Refusal) as caught:
        decide_refill(BACLOFEN, entries(twice, "400 mcg/day"), RULES, now=AT)
    assert (caught.value.field, caught.value.problem) == ("drugs[1]", "is named twice")


@pytest.mark.parametrize("typed", ["Baclofen", "BACLOFEN", " baclofen", "baclofen\t"])
def test_a_drug_name_typed_otherwise_is_the_same_drug_and_keeps_its_step_limits(
    typed: str,
) -> None:
    decision = decide_refill(
        BACLOFEN, entries(fill((typed, "2000 mcg/mL")), "1400 mcg/day"), RULES, now=AT
    )
    assert not decision.drug_changed and not decision.drug_swapped
    assert decision.stop is not None
    assert "is stopped by max_step_percent" in decision.stop.problem


def test_a_tenfold_increase_of_the_running_dose_is_a_hard_stop_for_every_drug() -> None:
    for name, conc, before, after in (
        ("morphine", "25 mg/mL", "15 mg/day", "150 mg/day"),
        ("hydromorphone", "10 mg/mL", "10 mg/day", "100 mg/day"),
        ("clonidine", "1000 mcg/mL", "60 mcg/day", "600 mcg/day"),
        ("bupivacaine", "20 mg/mL", "1.5 mg/day", "15 mg/day"),
    ):
        decision = check(
            name,
            q(conc, Kind.CONCENTRATION),
            q(after, Kind.DOSE_RATE),
            previous_dose=q(before, Kind.DOSE_RATE),
            hours_since_change=Decimal(48),
        )
        (tenfold,) = [f for f in decision.findings if f.rule == "tenfold_step"]
        assert (tenfold.verdict, tenfold.tier) == (Verdict.STOP, Tier.HARD), name


def test_a_first_dose_ten_times_the_largest_start_dose_is_a_hard_stop() -> None:
    decision = check(
        "morphine",
        q("25 mg/mL", Kind.CONCENTRATION),
        q("100 mg/day", Kind.DOSE_RATE),
        starting=True,
        patient=PatientFacts(),
        on=AT.date(),
    )
    assert decision.verdict is Verdict.STOP
    assert any(f.rule == "tenfold_start" and f.tier is Tier.HARD for f in decision.findings)


@pytest.mark.parametrize(
    ("status", "tenfold"),
    [(OpioidStatus.TOLERANT, False), (OpioidStatus.NAIVE, True), (OpioidStatus.UNKNOWN, True)],
    ids=["tolerant-rotation-warns", "naive-stops", "unknown-stops"],
)
def test_reviewer_case_an_opioid_rotation_of_a_tolerant_patient_is_no_start_slip(
    status: OpioidStatus, tenfold: bool
) -> None:
    """Morphine 9.8 mg/day rotated to hydromorphone 1.5 mg/day: ten times PACC's (opioid-naive)
    start of 0.15 mg/day, yet the equianalgesic dose of an opioid-tolerant patient."""
    decision = check(
        "hydromorphone",
        q("5 mg/mL", Kind.CONCENTRATION),
        q("1.5 mg/day", Kind.DOSE_RATE),
        starting=True,
        patient=PatientFacts(opioid_status=status),
        on=AT.date(),
    )
    assert any(f.rule == "tenfold_start" for f in decision.findings) is tenfold
    started = [f for f in decision.findings if f.rule == "max_start_dose"]
    assert started and all(f.verdict is Verdict.WARN for f in started)


@pytest.mark.parametrize(
    ("dose", "verdict"),
    [("6 mcg/day", Verdict.STOP), ("4.8 mcg/day", Verdict.WARN), ("2.4 mcg/day", Verdict.OK)],
    ids=["increase-stops", "unchanged-needs-a-reason", "decrease-allowed"],
)
def test_a_recorded_contraindication_stops_increases_but_lets_the_dose_come_down(
    dose: str, verdict: Verdict
) -> None:
    decision = check(
        "ziconotide",
        q("25 mcg/mL", Kind.CONCENTRATION),
        q(dose, Kind.DOSE_RATE),
        previous_dose=q("4.8 mcg/day", Kind.DOSE_RATE),
        hours_since_change=Decimal(72),
        increases_last_7_days=0,
        patient=PatientFacts(psychosis_history=True),
        on=AT.date(),
    )
    (contra,) = [f for f in decision.findings if f.rule == "contraindication"]
    assert contra.verdict is verdict


def test_leaving_clonidine_or_an_opioid_out_of_a_fill_warns_of_withdrawal() -> None:
    admixture = pump(
        (
            ("morphine", Decimal(10000)),
            ("bupivacaine", Decimal(10000)),
            ("clonidine", Decimal(500)),
        ),
        "2000",
        "0.2",
    )
    decision = decide_refill(
        admixture, entries(fill(("morphine", "10 mg/mL")), "2 mg/day"), RULES, now=AT
    )
    rules = {w.rule for w in decision.warnings}
    assert "clonidine_stopped" in rules and "bupivacaine_stopped" not in rules
    switched = decide_refill(
        admixture, entries(fill(("ziconotide", "25 mcg/mL")), "1.2 mcg/day"), RULES, now=AT
    )
    assert {"morphine_stopped", "clonidine_stopped"} <= {w.rule for w in switched.warnings}


def test_a_refill_at_the_same_dose_does_not_restart_the_24_hours_between_increases() -> None:
    """Regression: a titration right after an unchanged refill was stopped as "0.02 hour since
    the last change"; the labels space increases, not refills."""
    started = AT - timedelta(minutes=5)
    state = replace(
        BACLOFEN,
        running=RunningProgram(Decimal(400), Decimal("0.2"), started),
        therapy=Therapy(
            history=(
                DoseChange(AT - timedelta(days=90), "baclofen", Decimal(300)),
                DoseChange(AT - timedelta(days=30), "baclofen", Decimal(400)),
                DoseChange(started, "baclofen", Decimal(400)),
            ),
            origin="spinal",
        ),
    )
    decision = decide_program_change(state, q("440 mcg/day", Kind.DOSE_RATE), AT, None, RULES)
    assert decision.stop is None


def test_a_pocket_fill_within_the_accuracy_names_the_pocket_fill_threshold_as_its_limit() -> None:
    decision = decide_refill(
        BACLOFEN,
        RefillEntries(
            AT,
            q("14.4 mL", Kind.VOLUME),
            q("11 mL", Kind.VOLUME),
            fill(("baclofen", "2000 mcg/mL")),
            q("400 mcg/day", Kind.DOSE_RATE),
        ),
        RULES,
        now=AT,
    )
    (warning,) = [w for w in decision.warnings if w.rule == "reconciliation"]
    assert "possible pocket fill" in warning.limit and "maino-2017" in warning.source
    assert warning.tier is Tier.SOFT


@pytest.mark.parametrize(
    "reason",
    ["........", "aaaaaaaa", "\u3164" * 9, "\u2800" * 9, "a" + "\u0301" * 9, "ok ok ok"],
)
def test_a_reason_that_says_nothing_is_refused(reason: str) -> None:
    with pytest.raises(Refusal) as caught:
        checked_reason("overrides[max_step_percent]", reason)
    assert caught.value.field == "overrides[max_step_percent]"


def test_a_reason_in_words_is_kept_tidied() -> None:
    assert (
        checked_reason("reason", "  taper   agreed  with patient ") == "taper agreed with patient"
    )


def test_a_missing_reason_names_the_rule_as_the_value() -> None:
    decision = check("morphine", q("10 mg/mL", Kind.CONCENTRATION), q("30 mg/day", Kind.DOSE_RATE))
    with pytest.raises(Refusal) as caught:
        overrides_for(
            [f for f in decision.findings if f.verdict is Verdict.WARN], {}, GivenAt.PRESCRIBING
        )
    assert caught.value.field == "overrides"
    assert "max_daily_dose" in caught.value.value
    assert caught.value.problem.startswith("needs a typed reason")


MORPHINE_CLONIDINE = pump(
    (("morphine", Decimal(10000)), ("clonidine", Decimal(100))), "5000", "0.5"
)


def test_an_admixture_partner_is_judged_as_a_step_from_the_dose_it_was_given() -> None:
    """Regression: only the first drug of a fill was judged as a step, so clonidine could go
    ten-fold (or baclofen past its hard step) from second place."""
    tenfold = decide_refill(
        MORPHINE_CLONIDINE,
        entries(fill(("morphine", "10 mg/mL"), ("clonidine", "1000 mcg/mL")), "5 mg/day"),
        RULES,
        now=AT,
    )
    assert tenfold.stop is not None and "tenfold_step" in tenfold.stop.problem
    assert tenfold.stop.field == "dose"


def test_moving_a_drug_out_of_first_place_keeps_its_hard_step_limits() -> None:
    baclofen_first = pump((("baclofen", Decimal(2000)), ("morphine", Decimal(500))), "440", "0.22")
    moved = decide_refill(
        replace(baclofen_first, therapy=Therapy(origin="cerebral")),
        entries(fill(("morphine", "500 mcg/mL"), ("baclofen", "2000 mcg/mL")), "0.25 mg/day"),
        RULES,
        now=AT,
    )
    assert moved.stop is not None
    assert "max_step_percent" in moved.stop.problem and "baclofen" in moved.stop.value
    assert moved.drug_swapped


def test_a_partners_new_daily_dose_is_a_dose_change() -> None:
    raised = decide_refill(
        MORPHINE_CLONIDINE,
        entries(fill(("morphine", "10 mg/mL"), ("clonidine", "110 mcg/mL")), "5 mg/day"),
        RULES,
        now=AT,
    )
    assert raised.stop is None and raised.dose_changed and not raised.drug_swapped


def test_the_us_increases_per_week_do_not_apply_in_the_eu() -> None:
    def fourth(region: str) -> Verdict:
        return check(
            "ziconotide",
            q("25 mcg/mL", Kind.CONCENTRATION),
            q("4.8 mcg/day", Kind.DOSE_RATE),
            previous_dose=q("3.6 mcg/day", Kind.DOSE_RATE),
            hours_since_change=Decimal(48),
            increases_last_7_days=3,
            region=region,
        ).verdict

    assert fourth("us") is Verdict.STOP
    assert fourth("eu") is Verdict.OK


def test_a_decrease_to_a_tenth_is_a_slip_except_where_the_label_allows_any() -> None:
    hydromorphone = check(
        "hydromorphone",
        q("10 mg/mL", Kind.CONCENTRATION),
        q("0.8 mg/day", Kind.DOSE_RATE),
        previous_dose=q("8 mg/day", Kind.DOSE_RATE),
    )
    assert any(f.rule == "tenfold_step" and f.tier is Tier.HARD for f in hydromorphone.findings)
    ziconotide = check(
        "ziconotide",
        q("25 mcg/mL", Kind.CONCENTRATION),
        q("1.2 mcg/day", Kind.DOSE_RATE),
        previous_dose=q("19.2 mcg/day", Kind.DOSE_RATE),
    )
    assert ziconotide.verdict is Verdict.OK


@pytest.mark.parametrize(
    ("drug", "conc", "dose", "verdict"),
    [
        ("morphine", "25 mg/mL", "59 mg/day", Verdict.WARN),
        ("morphine", "25 mg/mL", "69 mg/day", Verdict.STOP),
        ("bupivacaine", "30 mg/mL", "40 mg/day", Verdict.WARN),
    ],
    ids=["morphine-under-3x", "morphine-3x-usual", "bupivacaine-40-not-a-slip"],
)
def test_three_times_the_usual_ceiling_stops_and_below_it_only_warns(
    drug: str, conc: str, dose: str, verdict: Verdict
) -> None:
    decision = check(drug, q(conc, Kind.CONCENTRATION), q(dose, Kind.DOSE_RATE))
    assert decision.verdict is verdict
    assert not any(f.rule == "unit_slip" for f in decision.findings)
