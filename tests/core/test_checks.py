"""Drug-library checks: every boundary exactly at its limit, the verdict and the rule, message and
source text behind it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.checks import check
from painpump.core.decision import Decision, Finding, Subject, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse


def q(text: str, kind: Kind) -> Q:
    return parse(text, kind, "test")


def conc(text: str) -> Q:
    return q(text, Kind.CONCENTRATION)


def dose(text: str) -> Q:
    return q(text, Kind.DOSE_RATE)


def findings(decision: Decision, rule: str) -> list[Finding]:
    return [f for f in decision.findings if f.rule == rule]


def only(decision: Decision, rule: str) -> Finding:
    found = findings(decision, rule)
    assert len(found) == 1, found
    return found[0]


# (drug, concentration, dose, region, verdict, rule, verdict of that rule, text in message,
#  text in source)
DOSE_CASES = [
    (
        "ziconotide",
        "25 mcg/mL",
        "19.2 mcg/day",
        "us",
        "ok",
        "max_daily_dose",
        "ok",
        "19.2 mcg/day",
        "Prialt US label",
    ),
    (
        "ziconotide",
        "25 mcg/mL",
        "19.3 mcg/day",
        "us",
        "stop",
        "max_daily_dose",
        "stop",
        "exceeds the maximum daily dose 19.2 mcg/day (US)",
        "Prialt US label",
    ),
    (
        "ziconotide",
        "25 mcg/mL",
        "21.6 mcg/day",
        "eu",
        "ok",
        "max_daily_dose",
        "ok",
        "21.6 mcg/day (EU)",
        "Prialt EU SmPC",
    ),
    (
        "ziconotide",
        "25 mcg/mL",
        "21.7 mcg/day",
        "eu",
        "stop",
        "max_daily_dose",
        "stop",
        "exceeds the maximum daily dose 21.6 mcg/day (EU)",
        "Prialt EU SmPC",
    ),
    (
        "ziconotide",
        "25 mcg/mL",
        "0.8 mcg/h",
        "us",
        "ok",
        "max_daily_dose",
        "ok",
        "19.2 mcg/day",
        "Prialt US label",
    ),
    (
        "baclofen",
        "2000 mcg/mL",
        "1000 mcg/day",
        "us",
        "ok",
        "max_daily_dose",
        "ok",
        "within the maximum daily dose 1000 mcg/day",
        "minclinic",
    ),
    (
        "baclofen",
        "2000 mcg/mL",
        "1001 mcg/day",
        "us",
        "warn",
        "max_daily_dose",
        "warn",
        "exceeds the maximum daily dose 1000 mcg/day",
        "no such maximum found in any label copy read",
    ),
    (
        "clonidine",
        "500 mcg/mL",
        "601 mcg/day",
        "us",
        "warn",
        "max_daily_dose",
        "warn",
        "exceeds the maximum daily dose 600 mcg/day",
        "UNCONFIRMED",
    ),
]


@pytest.mark.parametrize(
    ("drug", "c", "d", "region", "verdict", "rule", "rule_verdict", "message", "source"),
    DOSE_CASES,
    ids=[
        "ziconotide-us-19.2-at-max-ok",
        "ziconotide-us-19.3-over-max-stop",
        "ziconotide-eu-21.6-at-max-ok",
        "ziconotide-eu-21.7-over-max-stop",
        "ziconotide-0.8-mcg-per-hour-is-19.2-per-day-ok",
        "baclofen-1000-at-unverified-max-ok",
        "baclofen-1001-over-unverified-max-warns-never-stops",
        "clonidine-over-unverified-pacc-max-warns",
    ],
)
def test_daily_dose_limits_by_region(
    drug: str,
    c: str,
    d: str,
    region: str,
    verdict: str,
    rule: str,
    rule_verdict: str,
    message: str,
    source: str,
) -> None:
    decision = check(drug, conc(c), dose(d), region=region)
    assert decision.verdict.value == verdict
    finding = only(decision, rule)
    assert finding.verdict.value == rule_verdict
    assert message in finding.message
    assert source in finding.source


def test_morphine_above_both_daily_maxima_warns_twice_with_each_source() -> None:
    decision = check("morphine", conc("10 mg/mL"), dose("21 mg/day"))
    assert decision.verdict is Verdict.WARN
    broken = [f for f in findings(decision, "max_daily_dose") if f.verdict is Verdict.WARN]
    assert {f.verified for f in broken} == {False}
    assert {f.tier for f in broken} == {Tier.SOFT}
    assert any("Infumorph label" in f.source for f in broken)
    assert any("PACC 2012" in f.source for f in broken)


CONCENTRATION_CASES = [
    ("ziconotide", "100 mcg/mL", "ok", "max_concentration", "ok", "Prialt PI"),
    ("ziconotide", "101 mcg/mL", "stop", "max_concentration", "stop", "Prialt PI"),
    ("ziconotide", "24 mcg/mL", "warn", "min_concentration", "warn", "Brain Behav 2021"),
    ("baclofen", "2000 mcg/mL", "ok", "max_concentration", "ok", "Lioresal/Gablofen"),
    ("baclofen", "2 mg/mL", "ok", "max_concentration", "ok", "Lioresal/Gablofen"),
    ("baclofen", "2001 mcg/mL", "stop", "max_concentration", "stop", "Lioresal/Gablofen"),
    ("morphine", "20 mg/mL", "ok", "max_concentration", "ok", "PACC 2012"),
    ("morphine", "25 mg/mL", "warn", "max_concentration", "warn", "PACC 2012"),
    ("morphine", "25 mg/mL", "warn", "max_concentration", "ok", "strongest product"),
    ("morphine", "25.01 mg/mL", "stop", "max_concentration", "stop", "strongest product"),
]


@pytest.mark.parametrize(
    ("drug", "c", "verdict", "rule", "rule_verdict", "source"),
    CONCENTRATION_CASES,
    ids=[
        "ziconotide-100-at-max-ok",
        "ziconotide-101-over-hard-max-stop",
        "ziconotide-24-below-soft-min-warn",
        "baclofen-2000-mcg-at-max-ok",
        "baclofen-2-mg-same-as-2000-mcg-ok",
        "baclofen-2001-over-hard-max-stop",
        "morphine-20-at-unverified-max-ok",
        "morphine-25-product-over-unverified-pacc-max-warns",
        "morphine-25-at-strongest-product-ok",
        "morphine-beyond-any-product-stops-hard",
    ],
)
def test_concentration_limits(
    drug: str, c: str, verdict: str, rule: str, rule_verdict: str, source: str
) -> None:
    small = {"ziconotide": "1 mcg/day", "baclofen": "100 mcg/day", "morphine": "1 mg/day"}[drug]
    decision = check(drug, conc(c), dose(small))
    assert decision.verdict.value == verdict
    (finding,) = [f for f in findings(decision, rule) if source in f.source]
    assert finding.verdict.value == rule_verdict


# (drug, concentration, daily dose, the value read with the other prefix (in the drug's unit after
# when that is another), or None: no slip)
UNIT_SLIP_CASES = [
    ("morphine", "10 mg/mL", "10 mcg/day", "10 mg/day"),
    ("morphine", "10 mg/mL", "15000 mg/day", "15000 mcg/day (= 15 mg/day)"),
    ("morphine", "10 mcg/mL", "1 mg/day", "10 mg/mL"),
    ("morphine", "25 mcg/mL", "1 mg/day", "25 mg/mL"),
    ("morphine", "10 mg/mL", "30 mg/day", None),
    ("morphine", "10 mg/mL", "500 mcg/day", None),
    ("hydromorphone", "2 mg/mL", "0.5 mcg/day", "0.5 mg/day"),
    ("hydromorphone", "2 mg/mL", "2 mcg/day", "2 mg/day"),
    ("morphine", "10 mg/mL", "150 mg/day", "150 mcg/day (= 0.15 mg/day)"),
    ("morphine", "10 mg/mL", "39 mg/day", None),
    ("hydromorphone", "2 mg/mL", "12 mg/day", None),
    ("fentanyl", "50 mcg/mL", "50 mg/day", "50 mcg/day"),
    ("fentanyl", "50 mcg/mL", "0.5 mg/day", None),
    ("fentanyl", "50 mg/mL", "100 mcg/day", "50 mcg/mL"),
    ("sufentanil", "50 mcg/mL", "20 mg/day", "20 mcg/day"),
    ("sufentanil", "50 mcg/mL", "300 mcg/day", None),
    ("ziconotide", "25 mcg/mL", "2.4 mg/day", "2.4 mcg/day"),
    ("ziconotide", "25 mg/mL", "2.4 mcg/day", "25 mcg/mL"),
    ("ziconotide", "25 mcg/mL", "25 mcg/day", None),
    ("bupivacaine", "15 mg/mL", "1 mcg/day", "1 mg/day"),
    ("bupivacaine", "15 mg/mL", "250 mg/day", "250 mcg/day (= 0.25 mg/day)"),
    ("bupivacaine", "15 mcg/mL", "4 mg/day", "15 mg/mL"),
    ("bupivacaine", "15 mg/mL", "25 mg/day", None),
    ("clonidine", "500 mcg/mL", "100 mg/day", "100 mcg/day"),
    ("clonidine", "500 mg/mL", "100 mcg/day", "500 mcg/mL"),
    ("clonidine", "500 mcg/mL", "700 mcg/day", None),
    ("baclofen", "500 mcg/mL", "500 mg/day", "500 mcg/day"),
    ("baclofen", "500 mcg/mL", "0.5 mcg/day", "0.5 mg/day (= 500 mcg/day)"),
    ("baclofen", "2000 mg/mL", "100 mcg/day", "2000 mcg/mL"),
    ("baclofen", "2 mcg/mL", "100 mcg/day", "2 mg/mL (= 2000 mcg/mL)"),
    ("baclofen", "500 mcg/mL", "1200 mcg/day", None),
]


@pytest.mark.parametrize(
    ("drug", "c", "d", "other"),
    UNIT_SLIP_CASES,
    ids=[f"{drug}-{c}-{d}".replace(" ", "") for drug, c, d, _ in UNIT_SLIP_CASES],
)
def test_a_unit_slip_stops_hard_and_names_the_other_unit_only_when_it_fits(
    drug: str, c: str, d: str, other: str | None
) -> None:
    decision = check(drug, conc(c), dose(d))
    slips = findings(decision, "unit_slip")
    if other is None:
        assert slips == []
        assert not any("mg/mcg slip" in f.message for f in decision.findings)
        return
    (slip,) = slips
    assert slip.verdict is Verdict.STOP
    assert slip.tier is Tier.HARD
    assert f"but {other} is within it: a mg/mcg slip?" in slip.message
    assert "rule-unit-slip" in slip.source
    assert decision.verdict is Verdict.STOP


def test_a_value_merely_above_a_maximum_warns_without_suggesting_a_unit() -> None:
    decision = check("morphine", conc("10 mg/mL"), dose("30 mg/day"))
    assert decision.verdict is Verdict.WARN
    (usual,) = [f for f in findings(decision, "usual_range") if f.verdict is Verdict.WARN]
    assert usual.tier is Tier.SOFT
    assert "above its usual range 0.1 mg/day to 20 mg/day" in usual.message
    assert "mcg" not in usual.message


def test_a_high_concentration_slip_also_stops_on_the_hard_max() -> None:
    decision = check("baclofen", conc("2000 mg/mL"), dose("100 mcg/day"))
    assert decision.verdict is Verdict.STOP
    stop = only(decision, "max_concentration")
    assert "2000 mg/mL (= 2000000 mcg/mL) exceeds" in stop.message
    assert stop.tier is Tier.HARD


@pytest.mark.parametrize(
    ("drug", "c"),
    [("baclofen", "2 mg/mL"), ("baclofen", "500 mcg/mL"), ("morphine", "10 mg/mL")],
    ids=["baclofen-2-mg", "baclofen-500-mcg", "morphine-10-mg"],
)
def test_commercial_strengths_raise_no_unit_mixup(drug: str, c: str) -> None:
    d = "100 mcg/day" if drug == "baclofen" else "1 mg/day"
    decision = check(drug, conc(c), dose(d))
    assert findings(decision, "unit_slip") == []
    assert findings(decision, "commercial_strength") == []


def test_non_commercial_strength_is_an_informational_ok_note() -> None:
    decision = check("ziconotide", conc("50 mcg/mL"), dose("2.4 mcg/day"))
    note = only(decision, "commercial_strength")
    assert note.verdict is Verdict.OK
    assert "not a commercial strength" in note.message
    assert "25 mcg/mL, 100 mcg/mL" in note.message
    assert decision.verdict is Verdict.OK


# Titration: (drug, previous, new, origin, hours, verdict, rule, rule verdict, text)
STEP_CASES = [
    (
        "baclofen",
        "100 mcg/day",
        "130 mcg/day",
        "spinal",
        "24",
        "ok",
        "max_step_percent",
        "ok",
        "+30.00 %",
    ),
    (
        "baclofen",
        "1000 mcg/day",
        "1301 mcg/day",
        "spinal",
        "24",
        "stop",
        "max_step_percent",
        "stop",
        "+30.10 %",
    ),
    (
        "baclofen",
        "100 mcg/day",
        "115 mcg/day",
        "cerebral",
        "24",
        "ok",
        "max_step_percent",
        "ok",
        "+15.00 %",
    ),
    (
        "baclofen",
        "1000 mcg/day",
        "1151 mcg/day",
        "cerebral",
        "24",
        "stop",
        "max_step_percent",
        "stop",
        "+15.10 %",
    ),
    (
        "baclofen",
        "100 mcg/day",
        "120 mcg/day",
        None,
        "24",
        "stop",
        "max_step_percent",
        "stop",
        "origin not given; phase not given: the strictest limit applies",
    ),
    (
        "baclofen",
        "100 mcg/day",
        "110 mcg/day",
        "spinal",
        "23.9",
        "stop",
        "min_hours_between_increases",
        "stop",
        "less than >= 24 hour",
    ),
    (
        "ziconotide",
        "2.4 mcg/day",
        "4.8 mcg/day",
        None,
        "48",
        "ok",
        "max_step_absolute",
        "ok",
        "within the step <= 2.4 mcg/day",
    ),
    (
        "ziconotide",
        "2.4 mcg/day",
        "4.9 mcg/day",
        None,
        "48",
        "stop",
        "max_step_absolute",
        "stop",
        "exceeds the step <= 2.4 mcg/day",
    ),
    ("morphine", "4 mg/day", "5 mg/day", None, None, "ok", "max_step_percent", "ok", "+25.00 %"),
    (
        "morphine",
        "4 mg/day",
        "5.1 mg/day",
        None,
        None,
        "warn",
        "max_step_percent",
        "warn",
        "+27.50 %",
    ),
]


@pytest.mark.parametrize(
    ("drug", "prev", "new", "origin", "hours", "verdict", "rule", "rule_verdict", "text"),
    STEP_CASES,
    ids=[
        "baclofen-spinal-plus-30-percent-ok",
        "baclofen-spinal-plus-30.1-percent-stop",
        "baclofen-cerebral-plus-15-percent-ok",
        "baclofen-cerebral-plus-15.1-percent-stop",
        "baclofen-no-origin-applies-stricter-cerebral",
        "baclofen-increase-before-24-hours-stop",
        "ziconotide-step-2.4-at-max-ok",
        "ziconotide-step-2.5-over-max-stop",
        "morphine-clinic-step-25-percent-ok",
        "morphine-clinic-step-over-25-percent-warns-unverified",
    ],
)
def test_titration_steps(
    drug: str,
    prev: str,
    new: str,
    origin: str | None,
    hours: str | None,
    verdict: str,
    rule: str,
    rule_verdict: str,
    text: str,
) -> None:
    decision = check(
        drug,
        conc(
            "2000 mcg/mL"
            if drug == "baclofen"
            else "25 mcg/mL"
            if drug == "ziconotide"
            else "10 mg/mL"
        ),
        dose(new),
        previous_dose=dose(prev),
        origin=origin,
        hours_since_change=None if hours is None else Decimal(hours),
    )
    assert decision.verdict.value == verdict
    finding = only(decision, rule)
    assert finding.verdict.value == rule_verdict
    assert text in finding.message


@pytest.mark.parametrize(
    ("hours", "verdict", "soft_verdict"),
    [
        ("23.9", "stop", "warn"),
        ("24", "warn", "warn"),
        ("47.9", "warn", "warn"),
        ("48", "ok", "ok"),
    ],
    ids=["under-24h-stop", "at-24h-hard-ok-soft-warns", "under-48h-warns", "at-48h-ok"],
)
def test_ziconotide_interval_24h_hard_48h_soft(hours: str, verdict: str, soft_verdict: str) -> None:
    decision = check(
        "ziconotide",
        conc("25 mcg/mL"),
        dose("3.6 mcg/day"),
        previous_dose=dose("2.4 mcg/day"),
        hours_since_change=Decimal(hours),
    )
    assert decision.verdict.value == verdict
    soft = [f for f in findings(decision, "min_hours_between_increases") if "48" in f.limit]
    assert soft[0].verdict.value == soft_verdict
    assert "at least 48 h" in soft[0].source


def test_interval_not_given_warns_that_it_was_not_checked() -> None:
    decision = check(
        "baclofen",
        conc("2000 mcg/mL"),
        dose("110 mcg/day"),
        previous_dose=dose("100 mcg/day"),
        origin="spinal",
    )
    finding = only(decision, "min_hours_between_increases")
    assert finding.verdict is Verdict.WARN
    assert "not checked" in finding.message


def test_decrease_is_always_allowed_and_noted() -> None:
    decision = check(
        "ziconotide", conc("25 mcg/mL"), dose("1.2 mcg/day"), previous_dose=dose("19.2 mcg/day")
    )
    note = only(decision, "titration_decrease")
    assert note.verdict is Verdict.OK
    assert "decrease from 19.2 mcg/day to 1.2 mcg/day (-93.75 %)" in note.message
    assert "reduced by any amount" in note.source
    assert decision.verdict is Verdict.OK


def test_stopping_baclofen_warns_of_withdrawal() -> None:
    decision = check(
        "baclofen", conc("2000 mcg/mL"), dose("0 mcg/day"), previous_dose=dose("300 mcg/day")
    )
    warning = only(decision, "abrupt_discontinuation")
    assert warning.verdict is Verdict.WARN and warning.tier is Tier.SOFT
    assert "prescribed taper it ends or the reason" in warning.message
    assert "boxed warning" in warning.source


def test_ziconotide_increases_per_week_counts_this_increase() -> None:
    decision = check(
        "ziconotide",
        conc("25 mcg/mL"),
        dose("3.6 mcg/day"),
        previous_dose=dose("2.4 mcg/day"),
        hours_since_change=Decimal(48),
        increases_last_7_days=3,
    )
    finding = only(decision, "max_increases_per_week")
    assert finding.verdict is Verdict.STOP
    assert "increase 4 in 7 days" in finding.message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"origin": "brain"}, "origin"),
        ({"region": "uk"}, "region"),
        ({"hours_since_change": Decimal(-1)}, "hours_since_change"),
    ],
    ids=["unknown-origin", "unknown-region", "negative-hours"],
)
def test_bad_options_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(Refusal) as caught:
        check("baclofen", conc("2000 mcg/mL"), dose("100 mcg/day"), **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_unknown_drug_is_refused_with_the_known_names() -> None:
    with pytest.raises(Refusal) as caught:
        check("aspirin", conc("1 mg/mL"), dose("1 mg/day"))
    assert caught.value.field == "drug"
    assert "morphine" in caught.value.limit


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=100))
def test_any_decrease_or_same_dose_never_stops_on_titration(prev: int, cut_percent: int) -> None:
    new = Decimal(prev) * (100 - cut_percent) / 100
    decision = check(
        "baclofen",
        conc("500 mcg/mL"),
        Q(new, "mcg/day"),
        previous_dose=Q(Decimal(prev), "mcg/day"),
        hours_since_change=Decimal(0),
    )
    titration = [f for f in decision.findings if f.rule.startswith(("titration", "max_step"))]
    assert all(f.verdict is Verdict.OK for f in titration)


@pytest.mark.parametrize(
    ("drug", "concentration", "dose"),
    [
        ("morphine", "25 g/mL", "5 mg/day"),
        ("baclofen", "2000 mg/mL", "400 mcg/day"),
        ("morphine", "10 mg/mL", "5 g/day"),
        ("ziconotide", "25 mcg/mL", "2.4 mg/day"),
    ],
    ids=[
        "morphine-grams-per-mL",
        "baclofen-mg-for-mcg",
        "morphine-grams-per-day",
        "ziconotide-mg-for-mcg",
    ],
)
def test_a_value_hundredfold_above_the_library_stops_even_where_limits_are_unverified(
    drug: str, concentration: str, dose: str
) -> None:
    decision = check(
        drug,
        parse(concentration, Kind.CONCENTRATION, "concentration"),
        parse(dose, Kind.DOSE_RATE, "dose"),
    )
    assert decision.verdict is Verdict.STOP
    guard = next(f for f in decision.findings if f.rule in ("implausible", "unit_slip"))
    assert guard.tier is Tier.HARD
    assert "slip" in guard.message


def test_the_strongest_labelled_concentration_is_not_implausible() -> None:
    decision = check(
        "morphine",
        parse("25 mg/mL", Kind.CONCENTRATION, "concentration"),
        parse("10 mg/day", Kind.DOSE_RATE, "dose"),
    )
    assert all(f.rule != "implausible" for f in decision.findings)


def test_regression_infumorph_25_mg_per_ml_was_flagged_as_a_thousand_fold_slip() -> None:
    decision = check(
        "morphine",
        parse("25 mg/mL", Kind.CONCENTRATION, "concentration"),
        parse("5 mg/day", Kind.DOSE_RATE, "dose"),
    )
    assert [f.rule for f in decision.findings if f.verdict is Verdict.WARN] == ["max_concentration"]


def test_a_dose_without_a_floor_is_never_a_low_dose_slip_but_keeps_its_maxima() -> None:
    """An admixture partner's share of a single bolus (floor=False): 1.5 mcg of clonidine is no
    mg/mcg slip, a fall to a tenth is no slip either; three times the usual ceiling still stops
    and the maximum still warns."""
    slipped = check("clonidine", conc("60 mcg/mL"), dose("1.5 mcg/day"))
    assert only(slipped, "unit_slip").verdict is Verdict.STOP
    share = check("clonidine", conc("60 mcg/mL"), dose("1.5 mcg/day"), floor=False)
    assert share.verdict is Verdict.OK
    (usual,) = [f for f in findings(share, "usual_range") if f.subject is Subject.DOSE]
    assert "below its usual range 20 mcg/day to 2000 mcg/day" in usual.message
    assert "share of a single bolus" in usual.message
    fall = check(
        "clonidine", conc("60 mcg/mL"), dose("1.5 mcg/day"), previous_dose=dose("30 mcg/day")
    )
    assert only(fall, "tenfold_step").verdict is Verdict.STOP
    shared_fall = check(
        "clonidine",
        conc("60 mcg/mL"),
        dose("1.5 mcg/day"),
        previous_dose=dose("30 mcg/day"),
        floor=False,
    )
    assert findings(shared_fall, "tenfold_step") == []
    assert only(shared_fall, "max_decrease_percent").verdict is Verdict.WARN
    far = check("clonidine", conc("60 mcg/mL"), dose("6000 mcg/day"), floor=False)
    assert only(far, "far_above_usual").verdict is Verdict.STOP
    above = check("clonidine", conc("60 mcg/mL"), dose("700 mcg/day"), floor=False)
    assert only(above, "max_daily_dose").verdict is Verdict.WARN
