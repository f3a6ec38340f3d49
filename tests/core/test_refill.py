"""Refill projection and reconciliation: worked numbers, the limiting rule and its source, the
refusals, and the invariants (more volume never refills sooner; error sign follows the aspirate)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.refill import (
    DEFAULT_MARGIN_DAYS,
    as_utc,
    daily_volume_ml,
    delivery_error_percent,
    plan_refill,
    reconcile,
    stability_limit,
)
from painpump.core.units import Q

FILL = datetime(2026, 3, 1, tzinfo=UTC)
SM20 = catalog.pump("synchromed-ii-20")
SM40 = catalog.pump("synchromed-ii-40")
PROMETRA20 = catalog.pump("prometra-ii-20")


def ml(value: str) -> Q:
    return Q(Decimal(value), "mL")


def per_day(value: str) -> Q:
    return Q(Decimal(value), "mL/day")


def test_synchromed_20_ml_at_half_ml_a_day_alarms_after_36_days() -> None:
    plan = plan_refill(SM20, ml("20"), per_day("0.5"), fill_at=FILL)
    assert plan.days_to_alarm == Q(Decimal(36), "day")
    assert plan.days_to_empty == Q(Decimal(40), "day")
    assert plan.alarm_at == datetime(2026, 4, 6, tzinfo=UTC)
    assert plan.empty_at == datetime(2026, 4, 10, tzinfo=UTC)
    assert plan.alarm_volume == ml("2")
    assert "Neurosurgery 2004" in plan.alarm_volume_source
    assert plan.margin == Q(DEFAULT_MARGIN_DAYS, "day")
    assert plan.refill_by == date(2026, 3, 30)
    assert plan.limited_by == "reservoir"
    assert "clinic setting" in plan.margin_source


def test_prometra_alarm_defaults_to_3_ml_with_all_boluses_counted() -> None:
    daily = per_day(str(daily_volume_ml(Decimal("0.2"), Decimal("0.05"), 4)))
    assert daily == per_day("0.40")
    plan = plan_refill(PROMETRA20, ml("20"), daily, fill_at=FILL, margin_days=Decimal(0))
    assert plan.alarm_volume.canonical == Decimal(3)
    assert plan.days_to_alarm.value == Decimal("42.5")
    assert plan.alarm_at == datetime(2026, 4, 12, 12, tzinfo=UTC)
    assert plan.refill_by == date(2026, 4, 12)
    assert "Prometra PTC Guide" in plan.alarm_volume_source


@pytest.mark.parametrize(
    ("drugs", "first_fill", "diluted", "rule", "days", "verified", "source"),
    [
        (["ziconotide"], True, False, "first_refill", 14, True, "within 14 days"),
        (["ziconotide"], False, True, "max_interval_diluted", 40, True, "40 days if diluted"),
        (["ziconotide"], False, False, "max_interval_undiluted", 84, True, "84 days"),
        (["morphine"], False, False, "max_interval", 90, False, "UW Health"),
        (["baclofen"], False, False, "max_interval", 180, False, "180 days"),
        (["baclofen", "morphine"], False, False, "max_interval", 30, False, "Sitaram"),
        (
            ["morphine", "bupivacaine", "clonidine"],
            False,
            False,
            "max_interval",
            90,
            False,
            "UW Health",
        ),
    ],
    ids=[
        "ziconotide-first-fill-14",
        "ziconotide-diluted-40",
        "ziconotide-undiluted-84",
        "morphine-90-unverified",
        "baclofen-180-unverified",
        "baclofen-morphine-admixture-30",
        "triple-admixture-shortest-of-90s",
    ],
)
def test_stability_rule_per_drug_and_admixture(
    drugs: list[str],
    first_fill: bool,
    diluted: bool,
    rule: str,
    days: int,
    verified: bool,
    source: str,
) -> None:
    limit, _ = stability_limit(drugs, first_fill=first_fill, diluted=diluted)
    assert limit is not None
    assert (limit.rule, limit.days, limit.verified) == (rule, days, verified)
    assert source in limit.source


def test_drug_without_stability_rule_warns_and_leaves_reservoir_limit() -> None:
    limit, notes = stability_limit(["hydromorphone"])
    assert limit is None
    assert "no stability rule for hydromorphone" in notes[0].message
    assert "the low-reservoir alarm sets the refill date, or, while the pump is stopped" in (
        notes[0].message
    )  # said "limited by the reservoir only", beside a restart's alarm-set date


def test_ziconotide_of_unknown_dilution_gets_the_shorter_stability_and_says_so() -> None:
    limit, notes = stability_limit(["ziconotide"])
    assert limit is not None and (limit.rule, limit.days) == ("max_interval_diluted", 40)
    assert "not known" in notes[0].message and notes[0].source == "rule-conservative-default"
    undiluted, none = stability_limit(["ziconotide"], diluted=False)
    assert undiluted is not None and undiluted.days == 84 and none == []


def test_an_unverified_stability_rule_that_sets_the_date_says_so() -> None:
    morphine, _ = stability_limit(["morphine"])  # 90 days, a secondary source
    assert morphine is not None and not morphine.verified
    slow = plan_refill(SM20, ml("20"), per_day("0.1"), fill_at=FILL, stability=morphine)
    assert slow.limited_by == "stability"
    (said,) = [w for w in slow.warnings if w.rule == "stability_unverified"]
    assert "90 days from the fill" in said.message and not said.verified
    fast = plan_refill(SM20, ml("20"), per_day("1"), fill_at=FILL, stability=morphine)
    assert fast.limited_by == "reservoir"
    assert not [w for w in fast.warnings if w.rule == "stability_unverified"]


def test_ziconotide_first_fill_stability_wins_over_reservoir() -> None:
    limit, _ = stability_limit(["ziconotide"], first_fill=True)
    plan = plan_refill(SM20, ml("20"), per_day("0.5"), fill_at=FILL, stability=limit)
    assert plan.limited_by == "stability"
    assert plan.refill_by == date(2026, 3, 15)
    assert plan.stability is limit


def test_reservoir_wins_when_it_is_earlier_than_stability() -> None:
    limit, _ = stability_limit(["morphine"])
    plan = plan_refill(SM20, ml("20"), per_day("1"), fill_at=FILL, stability=limit)
    assert plan.limited_by == "reservoir"
    assert plan.refill_by == date(2026, 3, 12)


def test_margin_longer_than_time_to_alarm_makes_the_refill_due_at_once_and_warns() -> None:
    plan = plan_refill(SM20, ml("5"), per_day("1"), fill_at=FILL)
    assert plan.alarm_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert plan.refill_by == date(2026, 3, 1)
    assert plan.warnings[0].rule == "refill_margin"
    assert "within the 7 day margin: the refill is due at once" in plan.warnings[0].message


def test_date_fill_reads_as_start_of_day_utc_and_offsets_convert_to_utc() -> None:
    assert as_utc(date(2026, 3, 1)) == FILL
    assert as_utc(datetime(2026, 3, 1, 1, 0)) == datetime(2026, 3, 1, 1, tzinfo=UTC)
    assert as_utc(datetime.fromisoformat("2026-03-01T01:00:00+01:00")) == FILL


def test_projection_is_floored_to_the_second_never_later() -> None:
    plan = plan_refill(SM20, ml("20"), per_day("0.7"), fill_at=FILL, margin_days=Decimal(0))
    exact_days = Decimal(18) / Decimal("0.7")
    assert (plan.alarm_at - FILL).total_seconds() <= float(exact_days * 86400)
    assert plan.alarm_at.microsecond == 0


@pytest.mark.parametrize(
    ("fill", "rate", "alarm", "field", "limit_text"),
    [
        ("21", "0.5", None, "volume", "<= 20 mL (pump reservoir of synchromed-ii-20)"),
        ("2", "0.5", None, "volume", "> 2 mL (low-reservoir alarm of synchromed-ii-20)"),
        ("10", "0.5", "10", "alarm_volume", "< 10 mL (the fill volume)"),
        ("10", "0", None, "rate", "> 0 mL/day"),
    ],
    ids=["overfill", "fill-not-above-alarm", "alarm-at-fill-volume", "zero-daily-volume"],
)
def test_impossible_projections_are_refused(
    fill: str, rate: str, alarm: str | None, field: str, limit_text: str
) -> None:
    with pytest.raises(Refusal) as caught:
        plan_refill(
            SM20,
            ml(fill),
            per_day(rate),
            fill_at=FILL,
            alarm_volume=None if alarm is None else ml(alarm),
        )
    assert caught.value.field == field
    assert limit_text in caught.value.limit


def test_overfill_refusal_names_the_unverified_reservoir_source() -> None:
    with pytest.raises(Refusal) as caught:
        plan_refill(SM20, ml("20.001"), per_day("0.5"), fill_at=FILL)
    assert "Maino" in caught.value.source
    assert "verify against the device labeling" in caught.value.source


@given(
    st.decimals(min_value=Decimal("2.1"), max_value=Decimal(20), places=3),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(2), places=3),
    st.decimals(min_value=Decimal("0.048"), max_value=Decimal(24), places=3),
)
def test_more_volume_never_alarms_or_refills_sooner(
    volume: Decimal, extra: Decimal, rate: Decimal
) -> None:
    bigger = min(volume + extra, Decimal(20))
    a = plan_refill(SM20, ml(str(volume)), per_day(str(rate)), fill_at=FILL)
    b = plan_refill(SM20, ml(str(bigger)), per_day(str(rate)), fill_at=FILL)
    assert b.days_to_alarm.value >= a.days_to_alarm.value
    assert b.alarm_at >= a.alarm_at
    assert b.refill_by >= a.refill_by
    assert a.days_to_empty.value > a.days_to_alarm.value


# Reconciliation: (pump, expected, aspirated, programmed, error %, within, finding, consequential,
# the start of the reason given)
RECONCILE_CASES = [
    (
        *("synchromed-ii-20", "5", "5", "15", "0", True, "none", False),
        "the pump delivered as programmed (0.00 %), within the pump accuracy +/-14.5 %",
    ),
    (
        *("synchromed-ii-20", "5", "2.825", "15", "14.5", True, "none", True),
        "the pump delivered 14.50 % more than programmed, within the pump accuracy +/-14.5 %",
    ),
    (
        *("synchromed-ii-20", "5", "2.8", "15", "14.66666", False, "overinfusion", True),
        "aspirated 2.2 mL less than expected: the pump delivered 14.67 % more than programmed, "
        "beyond +/-14.5 %; suspect overinfusion",
    ),
    (
        *("synchromed-ii-20", "5", "7.175", "15", "-14.5", True, "none", True),
        "the pump delivered 14.50 % less than programmed, within the pump accuracy +/-14.5 % "
        "(unverified",
    ),
    (
        *("synchromed-ii-20", "5", "7.2", "15", "-14.66666", False, "underinfusion", True),
        "aspirated 2.2 mL more than expected: the pump delivered 14.67 % less than programmed, "
        "beyond +/-14.5 % (unverified",
    ),
    (
        *("synchromed-ii-20", "5", "4", "15", "6.66666", True, "none", False),
        "the pump delivered 6.67 % more than programmed, within the pump accuracy +/-14.5 %",
    ),
    (
        *("synchromed-ii-40", "5", "3.5", "30", "5", True, "none", False),
        "the pump delivered 5.00 % more than programmed, within the pump accuracy +/-14.5 %",
    ),
    (
        *("synchromed-ii-40", "5", "2.9", "30", "7", True, "none", True),
        "the pump delivered 7.00 % more than programmed, within the pump accuracy +/-14.5 %; "
        "the difference 2.1 mL exceeds 2 mL: potentially consequential (possible pocket fill)",
    ),
]


@pytest.mark.parametrize(
    ("model", "expected", "aspirated", "programmed", "error", "within", "finding", "big", "reason"),
    RECONCILE_CASES,
    ids=[
        "exact-match",
        "at-plus-14.5-percent-within",
        "over-14.5-percent-overinfusion",
        "at-minus-14.5-percent-within",
        "under-minus-14.5-percent-underinfusion",
        "1-mL-short-is-not-above-maino-1-mL",
        "40-mL-pump-1.5-mL-is-not-above-2-mL",
        "40-mL-pump-2.1-mL-is-consequential",
    ],
)
def test_reconciliation_scenarios(
    model: str,
    expected: str,
    aspirated: str,
    programmed: str,
    error: str,
    within: bool,
    finding: str,
    big: bool,
    reason: str,
) -> None:
    r = reconcile(catalog.pump(model), ml(expected), ml(aspirated), ml(programmed))
    assert r.difference == Q(Decimal(aspirated) - Decimal(expected), "mL")
    assert abs(r.delivery_error_percent - Decimal(error)) < Decimal("0.0001")
    assert r.within_accuracy is within
    assert r.finding == finding
    assert r.consequential is big
    assert r.consequential_limit is not None
    assert "Maino" in r.consequential_limit.source
    assert r.message.startswith(reason)


def test_overinfusion_message_cites_the_overinfusion_evidence() -> None:
    r = reconcile(SM20, ml("5"), ml("2"), ml("15"))
    assert "suspect overinfusion" in r.message
    assert "ECRI 2014" in r.message
    assert "possible pocket fill" in r.message
    assert r.accuracy_verified is True
    assert "ECRI" in r.accuracy_source


def test_underinfusion_side_of_synchromed_accuracy_is_unverified() -> None:
    r = reconcile(SM20, ml("5"), ml("8"), ml("15"))
    assert r.finding == "underinfusion"
    assert r.accuracy_verified is False
    assert "UNCONFIRMED" in r.accuracy_source
    assert "verify against the device labeling" in r.message


def test_pump_without_pocket_fill_threshold_reports_none() -> None:
    r = reconcile(catalog.pump("constant-flow"), ml("5"), ml("1"), ml("15"))
    assert r.consequential is None


@pytest.mark.parametrize(
    ("expected", "aspirated", "programmed", "field"),
    [
        ("21", "5", "15", "expected"),
        ("5", "21", "15", "aspirated"),
        ("5", "5", "0", "delivered_programmed"),
        ("8", "8", "12.5", "expected"),
    ],
    ids=[
        "expected-over-reservoir",
        "aspirated-over-reservoir",
        "nothing-programmed",
        "expected-and-programmed-over-the-reservoir",
    ],
)
def test_reconciliation_refuses_impossible_volumes(
    expected: str, aspirated: str, programmed: str, field: str
) -> None:
    with pytest.raises(Refusal) as caught:
        reconcile(SM20, ml(expected), ml(aspirated), ml(programmed))
    assert caught.value.field == field


volumes = st.decimals(min_value=Decimal(0), max_value=Decimal(20), places=3)


@given(volumes, volumes, st.decimals(min_value=Decimal("0.1"), max_value=Decimal(40), places=3))
def test_error_sign_follows_the_aspirate(
    expected: Decimal, aspirated: Decimal, programmed: Decimal
) -> None:
    assume(expected + programmed <= 20)  # what the 20 mL fill held (more is refused)
    r = reconcile(SM20, ml(str(expected)), ml(str(aspirated)), ml(str(programmed)))
    error = delivery_error_percent(expected, aspirated, programmed)
    assert r.delivery_error_percent == error
    if aspirated == 0:
        assert r.finding == "empty"
    elif aspirated < expected:
        assert error > 0 and r.finding in ("none", "overinfusion")
    elif aspirated > expected:
        assert error < 0 and r.finding in ("none", "underinfusion")
    else:
        assert error == 0 and r.finding == "none"
    assert r.actual_delivered.value == programmed + expected - aspirated


@pytest.mark.parametrize(
    ("expected", "programmed"), [("0.5", "19.5"), ("1", "15"), ("8", "12")], ids=str
)
def test_a_reservoir_found_empty_is_its_own_finding_with_the_error_as_a_lower_bound(
    expected: str, programmed: str
) -> None:
    r = reconcile(SM20, ml(expected), ml("0"), ml(programmed))
    assert r.finding == "empty" and not r.within_accuracy
    assert r.message.startswith("the reservoir was found empty")
    assert "only a lower bound" in r.message and "two-needle" in r.message
    assert "kent-2025-two-needle" in r.message


def test_programmed_since_fill_is_the_fill_less_the_expected_residual() -> None:
    from painpump.core.refill import programmed_since_fill

    delivered = programmed_since_fill(Q(Decimal(20), "mL"), Q(Decimal("8"), "mL"))
    assert delivered == Q(Decimal(12), "mL")
    with pytest.raises(Refusal) as caught:
        programmed_since_fill(Q(Decimal(20), "mL"), Q(Decimal(20), "mL"))
    assert caught.value.field == "expected"
    assert "20 mL (last fill)" in caught.value.limit


def test_hours_between_counts_exact_hours() -> None:
    from datetime import UTC, datetime

    from painpump.core.refill import hours_between

    start = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert hours_between(start, datetime(2026, 1, 2, 20, 30, tzinfo=UTC)) == Decimal("36.5")
