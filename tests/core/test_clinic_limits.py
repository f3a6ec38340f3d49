"""Clinic limits in the core: typed with their unit, refused when they would not tighten the
packaged library or look like a unit slip, and checked beside (never instead of) the packaged
limits, hard ones stopping and soft ones warning under their own rule name."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.core import catalog, checks
from painpump.core.clinic_limits import clinic_limit, parse_value
from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse

MORPHINE = catalog.drug("morphine")
BACLOFEN = catalog.drug("baclofen")
POLICY = "Opioid policy v3, section 2"


def q(text: str, kind: Kind) -> Q:
    return parse(text, kind, "t")


def morphine_daily(value: str, severity: str = "hard") -> catalog.Limit:
    return clinic_limit(
        MORPHINE, "max_daily_dose", q(value, Kind.DOSE_RATE), severity, POLICY, region="us"
    )


def test_values_are_parsed_with_their_unit_and_waiting_times_in_hours() -> None:
    assert parse_value("max_daily_dose", "10 mg/day") == Q(Decimal("10"), "mg/day")
    assert parse_value("max_step_percent", "20 %") == Decimal("20")
    assert parse_value("min_hours_between_increases", "2 day") == Q(Decimal("48"), "hour")


@pytest.mark.parametrize(
    ("rule", "text", "problem"),
    [
        ("max_daily_dose", "10", "has no unit"),
        ("max_daily_dose", "10 mg/mL", "is not a dose rate"),
        ("max_step_percent", "20", "has no unit"),
        ("max_concentration", "0 mg/mL", "is zero"),
    ],
)
def test_a_value_without_its_unit_or_of_the_wrong_kind_is_refused(
    rule: str, text: str, problem: str
) -> None:
    with pytest.raises(Refusal) as caught:
        parse_value(rule, text)
    assert caught.value.field == "value"
    assert problem in caught.value.problem


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(Refusal) as caught:
        parse_value("max_bolus", "1 mg")
    assert caught.value.field == "rule"


def test_a_limit_needs_a_source_and_a_severity() -> None:
    with pytest.raises(Refusal) as caught:
        clinic_limit(
            MORPHINE, "max_daily_dose", q("10 mg/day", Kind.DOSE_RATE), "hard", " ", region="us"
        )
    assert caught.value.field == "source"
    with pytest.raises(Refusal) as caught:
        clinic_limit(
            MORPHINE, "max_daily_dose", q("10 mg/day", Kind.DOSE_RATE), "firm", POLICY, region="us"
        )
    assert caught.value.field == "severity"


def test_a_clinic_limit_is_verified_and_keeps_its_source() -> None:
    limit = morphine_daily("10 mg/day")
    assert limit.verified and limit.severity == "hard" and limit.source == POLICY


def test_a_soft_limit_must_act_before_every_packaged_limit_of_its_rule() -> None:
    # morphine: packaged soft 15 mg/day (unverified) and soft 20 mg/day (label caution)
    morphine_daily("14 mg/day", "soft")
    with pytest.raises(Refusal) as caught:
        morphine_daily("25 mg/day", "soft")
    assert "may only tighten" in caught.value.problem
    assert "< 20 mg/day" in caught.value.limit


def test_a_hard_limit_between_packaged_soft_limits_turns_their_warning_into_a_stop() -> None:
    assert morphine_daily("18 mg/day").severity == "hard"


def test_a_hard_limit_must_be_stricter_than_the_packaged_hard_limit() -> None:
    ziconotide = catalog.drug("ziconotide")
    with pytest.raises(Refusal) as caught:
        clinic_limit(
            ziconotide,
            "max_concentration",
            q("100 mcg/mL", Kind.CONCENTRATION),
            "hard",
            POLICY,
            region="us",
        )
    assert "Prialt" in caught.value.source
    clinic_limit(
        ziconotide,
        "max_concentration",
        q("50 mcg/mL", Kind.CONCENTRATION),
        "hard",
        POLICY,
        region="us",
    )


def test_the_packaged_limit_of_the_clinic_region_is_the_one_compared() -> None:
    ziconotide = catalog.drug("ziconotide")
    twenty = q("20 mcg/day", Kind.DOSE_RATE)
    clinic_limit(ziconotide, "max_daily_dose", twenty, "hard", POLICY, region="eu")  # EU 21.6
    with pytest.raises(Refusal):
        clinic_limit(ziconotide, "max_daily_dose", twenty, "hard", POLICY, region="us")  # US 19.2


def test_a_longer_wait_between_increases_tightens_and_a_shorter_one_is_refused() -> None:
    clinic_limit(
        BACLOFEN,
        "min_hours_between_increases",
        q("48 hour", Kind.DURATION),
        "hard",
        POLICY,
        region="us",
    )
    with pytest.raises(Refusal) as caught:
        clinic_limit(
            BACLOFEN,
            "min_hours_between_increases",
            q("12 hour", Kind.DURATION),
            "hard",
            POLICY,
            region="us",
        )
    assert "> 24 hour" in caught.value.limit


def test_a_maximum_a_hundred_times_below_the_library_is_a_unit_slip() -> None:
    with pytest.raises(Refusal) as caught:
        morphine_daily("10 mcg/day")
    assert "unit or decimal slip" in caught.value.problem


def test_a_soft_clinic_limit_must_act_before_the_clinics_own_hard_one() -> None:
    hard = morphine_daily("10 mg/day")
    with pytest.raises(Refusal) as caught:
        clinic_limit(
            MORPHINE,
            "max_daily_dose",
            q("12 mg/day", Kind.DOSE_RATE),
            "soft",
            POLICY,
            region="us",
            others=[hard],
        )
    assert "clinic" in caught.value.problem


def test_a_hard_clinic_limit_stops_with_the_clinics_source() -> None:
    decision = checks.check(
        "morphine",
        q("10 mg/mL", Kind.CONCENTRATION),
        q("12 mg/day", Kind.DOSE_RATE),
        extra_limits=[morphine_daily("10 mg/day")],
    )
    assert decision.verdict is Verdict.STOP
    stop = decision.most_limiting
    assert stop is not None
    assert stop.rule == "clinic_max_daily_dose" and stop.source == POLICY
    assert "exceeds the clinic's maximum daily dose 10 mg/day" in stop.message


def test_a_soft_clinic_limit_warns_under_its_own_rule_name() -> None:
    decision = checks.check(
        "morphine",
        q("10 mg/mL", Kind.CONCENTRATION),
        q("12 mg/day", Kind.DOSE_RATE),
        extra_limits=[morphine_daily("10 mg/day", "soft")],
    )
    assert decision.verdict is Verdict.WARN
    assert [f.rule for f in decision.findings if f.verdict is Verdict.WARN] == [
        "clinic_max_daily_dose"
    ]


def test_the_packaged_hard_limit_still_stops_beside_a_looser_clinic_soft_step() -> None:
    # baclofen, cerebral origin: packaged hard +15 %; a clinic soft +20 % never replaces it
    step = clinic_limit(BACLOFEN, "max_step_percent", Decimal("20"), "soft", POLICY, region="us")
    decision = checks.check(
        "baclofen",
        q("2000 mcg/mL", Kind.CONCENTRATION),
        q("470 mcg/day", Kind.DOSE_RATE),
        previous_dose=q("400 mcg/day", Kind.DOSE_RATE),
        hours_since_change=Decimal(48),
        origin="cerebral",
        extra_limits=[step],
    )
    assert decision.verdict is Verdict.STOP
    assert decision.most_limiting is not None
    assert decision.most_limiting.rule == "max_step_percent"


def test_clinic_titration_limits_apply_to_increases_only() -> None:
    step = clinic_limit(MORPHINE, "max_step_percent", Decimal("10"), "hard", POLICY, region="us")
    concentration = q("10 mg/mL", Kind.CONCENTRATION)
    up = checks.check(
        "morphine",
        concentration,
        q("5.6 mg/day", Kind.DOSE_RATE),
        previous_dose=q("5 mg/day", Kind.DOSE_RATE),
        extra_limits=[step],
    )
    assert up.verdict is Verdict.STOP
    down = checks.check(
        "morphine",
        concentration,
        q("4 mg/day", Kind.DOSE_RATE),
        previous_dose=q("5 mg/day", Kind.DOSE_RATE),
        extra_limits=[step],
    )
    assert "clinic_max_step_percent" not in {f.rule for f in down.findings}


def test_another_drugs_clinic_limit_does_not_apply() -> None:
    decision = checks.check(
        "hydromorphone",
        q("10 mg/mL", Kind.CONCENTRATION),
        q("12 mg/day", Kind.DOSE_RATE),
        extra_limits=[morphine_daily("10 mg/day")],
    )
    assert not any(f.rule.startswith("clinic_") for f in decision.findings)
