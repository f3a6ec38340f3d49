"""The per-bolus limits of a single bolus, for every drug of its fluid (a partner's share: the
bolus volume times its concentration): above the drug's largest single bolus it warns (soft, a
typed reason); above the drug's highest maximum daily dose it is refused (hard), however the
bolus is judged (prescribed, previewed at the double-check, programmed between refills)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from painpump.core import catalog
from painpump.core.checks import check_single_bolus
from painpump.core.decision import Finding, Tier, Verdict
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import PrescribedProgram, Prescription, single_bolus
from painpump.core.prescription_decision import PrescriptionDecision, decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
    decide_program_change,
)
from painpump.core.units import Kind, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
MIX = (("morphine", 20_000), ("bupivacaine", 15_000), ("clonidine", 75))
"""The reviewer's pump: morphine 20 mg/mL + bupivacaine 15 mg/mL + clonidine 75 mcg/mL."""


def running(drugs: tuple[tuple[str, int], ...] = MIX, dose: Decimal = Decimal(4950)) -> PumpState:
    """`drugs` (mcg/mL, principal first) filled 30 days ago, `dose` mcg/day of the principal
    since (the reviewer's: 4.95 mg/day of morphine)."""
    filled = AT - timedelta(days=30)
    rate = dose / drugs[0][1]
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        alarm_volume=parse("2 mL", Kind.VOLUME, "a"),
        last_fill=LastFill(
            filled,
            parse("20 mL", Kind.VOLUME, "v"),
            tuple((name, Decimal(conc)) for name, conc in drugs),
            (filled + timedelta(days=90)).date(),
            LimitedBy.STABILITY,
            ((rate, filled, None),),
        ),
        running=RunningProgram(dose, rate, filled),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False),
            origin="spinal",
        ),
    )


def decide(dose: str, duration: str, state: PumpState | None = None) -> PrescriptionDecision:
    state = state or running()
    assert state.last_fill is not None
    drugs = tuple(
        (name, parse(f"{conc} mcg/mL", Kind.CONCENTRATION, "c"))
        for name, conc in state.last_fill.drugs
    )
    program = PrescribedProgram.single_bolus(single_bolus(dose, duration))
    return decide_prescription(state, Prescription(drugs, program), AT, RULES)


def bolus_warnings(decision: PrescriptionDecision) -> list[Finding]:
    return [w for w in decision.warnings if w.rule.endswith("max_single_bolus")]


def test_reviewer_case_a_40_mg_morphine_bolus_is_refused_above_the_days_maximum() -> None:
    stop = decide("40 mg", "2 hour").stop
    assert stop is not None
    assert stop.field == "dose"
    assert stop.value == "morphine 20 mg/mL: a single bolus of 40 mg"
    assert stop.limit == (
        "<= 20 mg a single bolus (caution above a daily dose of 20 mg/day, unverified) "
        "(hard limit: no override)"
    )
    assert stop.source.startswith("infumorph-label:")
    assert (
        "single bolus of 40 mg morphine exceeds 20 mg/day, the daily dose above which its source "
        "advises caution (soft as a daily dose, unverified)"
    ) in stop.problem


def test_reviewer_case_the_bupivacaine_share_of_a_bolus_is_refused_on_its_own() -> None:
    # 15 mg of morphine is within its day's maximum; its 0.75 mL give 11.25 mg of bupivacaine
    stop = decide("15 mg", "2 hour").stop
    assert stop is not None
    assert stop.field == "drugs[1]"
    assert stop.value == "bupivacaine 15 mg/mL: a single bolus of 11.25 mg"
    assert stop.limit.startswith("<= 10 mg a single bolus (the maximum daily dose 10 mg/day")
    assert stop.source.startswith("pacc-2012:")


def test_a_bolus_between_the_soft_and_hard_limits_warns_naming_the_unverified_limit() -> None:
    decision = decide("2 mg", "1 hour")
    assert decision.stop is None
    (warning,) = bolus_warnings(decision)
    assert warning.rule == "morphine:max_single_bolus"
    assert warning.message == (
        "morphine: a single bolus of 2 mg exceeds the largest single bolus of morphine, 0.5 mg "
        "(soft limit, unverified; source pacc-2017-trialing)"
    )
    assert warning.limit == "<= 0.5 mg a single bolus"
    assert warning.source.startswith("pacc-2017-trialing:") and not warning.verified


def test_a_normal_bolus_passes_the_per_bolus_limits() -> None:
    decision = decide("0.5 mg", "1 hour")
    assert decision.stop is None
    assert bolus_warnings(decision) == []


def test_a_baclofen_bolus_of_100_mcg_passes_and_150_mcg_warns() -> None:
    baclofen = running((("baclofen", 2000),), Decimal(400))
    assert bolus_warnings(decide("100 mcg", "10 min", baclofen)) == []
    decision = decide("150 mcg", "10 min", baclofen)
    assert decision.stop is None
    (warning,) = bolus_warnings(decision)
    assert "a single bolus of 150 mcg exceeds the largest single bolus of baclofen, 100 mcg" in (
        warning.message
    )
    assert warning.source.startswith("lioresal-label:") and warning.verified


def test_programming_a_bolus_between_refills_is_refused_above_the_days_maximum() -> None:
    state = running()
    dose = parse("40 mg/day", Kind.DOSE_RATE, "d")
    decision = decide_program_change(state, dose, AT, None, RULES, None, False)
    assert decision.stop is not None
    assert decision.stop.value == "morphine 20 mg/mL: a single bolus of 40 mg"
    basal = decide_program_change(state, dose, AT, None, RULES, None, True)
    assert basal.stop is None or "single bolus" not in basal.stop.value


def test_without_a_region_the_lowest_regional_day_maximum_limits_a_bolus() -> None:
    ziconotide = catalog.drug("ziconotide")
    found = check_single_bolus(ziconotide, parse("20 mcg", Kind.MASS, "b"), None)
    assert [f.verdict.value for f in found if f.rule == "single_bolus_daily_maximum"] == ["stop"]
    eu = check_single_bolus(ziconotide, parse("20 mcg", Kind.MASS, "b"), "eu")
    assert [f.verdict.value for f in eu if f.rule == "single_bolus_daily_maximum"] == ["ok"]


def test_reviewer_fentanyl_and_sufentanil_boluses_are_refused_above_their_usual_days_top() -> None:
    # no maximum daily dose in the library: 5000 mcg fentanyl, 2000 mcg sufentanil only warned
    for name, amount in (("fentanyl", "5000 mcg"), ("sufentanil", "2000 mcg")):
        found = check_single_bolus(catalog.drug(name), parse(amount, Kind.MASS, "b"), "us")
        (day,) = [f for f in found if f.rule == "single_bolus_daily_maximum"]
        assert (day.verdict, day.tier) == (Verdict.STOP, Tier.HARD)
        assert "no maximum daily dose in the library: the top of its usual daily range" in (
            day.message
        )


def test_a_fentanyl_bolus_above_the_top_of_its_usual_day_is_refused_naming_that_ceiling() -> None:
    stop = decide("1500 mcg", "2 hour", running((("fentanyl", 1000),), Decimal(500))).stop
    assert stop is not None
    assert stop.field == "dose"
    assert stop.value == "fentanyl 1000 mcg/mL: a single bolus of 1500 mcg"
    assert stop.limit == (
        "<= 1000 mcg a single bolus (no maximum daily dose in the library: the top of its usual "
        "daily range 1000 mcg/day, unverified) (hard limit: no override)"
    )
    assert stop.problem == (
        "is stopped by single_bolus_daily_maximum: a single bolus of 1500 mcg fentanyl exceeds "
        "the day's ceiling 1000 mcg/day (no maximum daily dose in the library: the top of its "
        "usual daily range, unverified): no single bolus may give more than a whole day's "
        "ceiling in hours"
    )
    assert stop.source.startswith("rule-clinic-setting, pacc-2017-trialing:")


def test_a_sufentanil_bolus_above_the_top_of_its_usual_day_is_refused() -> None:
    sufentanil = running((("sufentanil", 500),), Decimal(100))
    stop = decide("300 mcg", "2 hour", sufentanil).stop
    assert stop is not None
    assert stop.problem.startswith("is stopped by single_bolus_daily_maximum:")
    assert "exceeds the day's ceiling 200 mcg/day" in stop.problem
    # with the 100 mcg/day the pump gives in the day before it: 250 mcg within a day
    within_day = decide("150 mcg", "2 hour", sufentanil).stop
    assert within_day is not None
    assert within_day.problem.startswith("is stopped by single_bolus_day_total:")
    assert decide("100 mcg", "2 hour", sufentanil).stop is None


def test_a_bolus_of_a_drug_with_no_days_ceiling_warns_that_it_is_unchecked() -> None:
    fentanyl = catalog.drug("fentanyl")
    bare = replace(fentanyl, usual=tuple(u for u in fentanyl.usual if u.of != "daily_dose"))
    found = check_single_bolus(bare, parse("5000 mcg", Kind.MASS, "b"), "us")
    assert [(f.rule, f.verdict, f.tier) for f in found] == [
        ("max_single_bolus", Verdict.WARN, Tier.SOFT),
        ("single_bolus_daily_maximum", Verdict.WARN, Tier.SOFT),
    ]
    assert found[1].message == (
        "the drug library has neither a maximum daily dose nor a usual daily range for fentanyl: "
        "a single bolus of 5000 mcg is unchecked against any day's ceiling; check it against "
        "the prescribing information"
    )


def test_every_opioid_has_a_days_ceiling_for_a_single_bolus() -> None:
    opioids = [d for d in catalog.drugs().values() if d.drug_class == "opioid"]
    assert {d.name for d in opioids} >= {"fentanyl", "sufentanil", "morphine", "hydromorphone"}
    for drug in opioids:
        assert drug.limits_for("max_daily_dose") or drug.usual_range("daily_dose"), drug.name


def test_reviewer_baclofen_bolus_refused_by_the_step_is_worded_as_a_bolus_not_a_day() -> None:
    stop = decide("1100 mcg", "10 min", running((("baclofen", 2000),), Decimal(400))).stop
    assert stop is not None
    assert stop.field == "dose"
    assert (
        stop.value == "baclofen 2000 mcg/mL: a single bolus of 1100 mcg (judged as the day's dose)"
    )
    assert stop.problem.startswith(
        "is stopped by max_step_percent: increase from 400 mcg/day to a single bolus of 1100 mcg "
        "(judged as the day's dose) is +175.00 %"
    )
    assert "1100 mcg/day" not in stop.problem
