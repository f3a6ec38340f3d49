"""Bad input for the refill arithmetic (core.refill, core.projection): a refill plan, a
reconciliation, a residual volume and a projected reservoir for any quantities, moments and
margins, or a Refusal naming the field; never a crash, never a fill beyond the reservoir, a
residual above the fill or a reservoir that rises between refills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.catalog import Pump
from painpump.core.errors import Refusal
from painpump.core.projection import ProgramRun, project
from painpump.core.refill import (
    SYRINGE_READING,
    StabilityLimit,
    plan_refill,
    reconcile,
    residual_ml,
    stability_limit,
)
from painpump.core.units import Kind, Q
from strategies import (
    ZONES,
    any_datetimes,
    cases,
    hostile_decimals,
    hostile_names,
    pumps,
    quantities,
    with_wrong_kind,
)

PLAN_FIELDS = ("volume", "alarm_volume", "rate", "margin_days", "fill_at")
FILL = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
stabilities = st.one_of(
    st.none(),
    st.builds(StabilityLimit, st.just("drug"), st.just("rule"), st.integers(0, 400), st.booleans(),
              st.just("source")),
)  # fmt: skip


@cases(100)
@given(
    pumps,
    with_wrong_kind(Kind.VOLUME, high=Decimal(300)),
    with_wrong_kind(Kind.VOLUME_RATE, high=Decimal(300)),
    any_datetimes,
    st.one_of(st.none(), with_wrong_kind(Kind.VOLUME, high=Decimal(50))),
    hostile_decimals,
    stabilities,
)
def test_plan_refill_answers_within_the_device_or_refuses_naming_the_field(
    pump: Pump,
    fill: Q,
    daily: Q,
    at: datetime,
    alarm: Q | None,
    margin: Decimal,
    stability: StabilityLimit | None,
) -> None:
    try:
        plan = plan_refill(
            pump, fill, daily, fill_at=at, alarm_volume=alarm, margin_days=margin,
            stability=stability,
        )  # fmt: skip
    except Refusal as refusal:
        assert refusal.field in PLAN_FIELDS
        return
    # no silent acceptance: the fill fits the reservoir of the device's catalog entry
    assert fill.kind is Kind.VOLUME and daily.kind is Kind.VOLUME_RATE
    assert fill.canonical <= pump.reservoir_volume.value.canonical
    assert plan.alarm_volume.canonical < fill.canonical and daily.canonical > 0 and margin >= 0
    assert plan.fill_at <= plan.alarm_at <= plan.empty_at
    assert plan.fill_at.date() <= plan.refill_by <= plan.alarm_at.date()
    if stability is not None:
        assert plan.refill_by <= (plan.fill_at + timedelta(days=stability.days)).date()


@cases(100)
@given(
    pumps,
    quantities(Kind.VOLUME, Decimal(0), Decimal(40)),
    quantities(Kind.VOLUME, Decimal(0), Decimal(40)),
    quantities(Kind.VOLUME, Decimal("0.001"), Decimal(40)),
)
def test_reconciliation_is_symmetric_in_sign(
    pump: Pump, expected: Q, aspirated: Q, programmed: Q
) -> None:
    try:
        r = reconcile(pump, expected, aspirated, programmed)
    except Refusal as refusal:
        assert refusal.field in ("expected", "aspirated")
        reservoir = pump.reservoir_volume.value.canonical
        held = expected.canonical + programmed.canonical  # the fill they come from
        assert max(expected.canonical, aspirated.canonical, held) > reservoir
        return
    difference = aspirated.canonical - expected.canonical
    assert r.difference.canonical == difference
    assert r.actual_delivered.canonical == programmed.canonical - difference
    assert (r.delivery_error_percent > 0) == (difference < 0)  # less aspirated: overinfusion
    empty = aspirated.canonical == 0
    # within the pump's accuracy, or a difference no larger than a syringe is read to
    within = abs(r.delivery_error_percent) <= r.accuracy_percent
    read = abs(difference) <= SYRINGE_READING.value
    assert r.within_accuracy == ((within or read) and not empty)
    assert r.within_reading == (r.within_accuracy and not within)
    side = "overinfusion" if difference < 0 else "underinfusion"
    if empty:  # found empty: its own finding, the error a lower bound
        assert r.finding == "empty"
    else:
        assert r.finding == ("none" if r.within_accuracy else side)
    # swapping expected and aspirated mirrors the error exactly
    reservoir = pump.reservoir_volume.value.canonical
    if aspirated.canonical + programmed.canonical <= reservoir:
        mirrored = reconcile(pump, aspirated, expected, programmed)
        assert mirrored.delivery_error_percent == -r.delivery_error_percent


@cases(100)
@given(
    st.sampled_from(sorted(catalog.pumps())),
    st.integers(1, 400_000),
    st.integers(0, 20_000),
    st.sampled_from((-1, 1)),
)
def test_reconciliation_at_the_accuracy_boundary_is_within_and_beyond_it_is_not(
    model: str, programmed_ul: int, expected_ul: int, sign: int
) -> None:
    pump = catalog.pump(model)
    programmed = Decimal(programmed_ul) / 10_000  # mL, 0.0001-40
    expected = Decimal(expected_ul) / 1000  # mL, 0-20
    side = pump.accuracy_percent if sign > 0 else (pump.accuracy_under_percent or
                                                   pump.accuracy_percent)  # fmt: skip
    gap = programmed * side.value / 100  # the volume the accuracy allows
    aspirated = expected - sign * gap
    reservoir = pump.reservoir_volume.value.canonical
    assume(0 < aspirated <= reservoir and expected + programmed <= reservoir)
    at = reconcile(pump, Q(expected, "mL"), Q(aspirated, "mL"), Q(programmed, "mL"))
    assert at.within_accuracy and at.finding == "none"
    beyond = aspirated - sign * Decimal("0.000001")
    assume(0 < beyond <= reservoir and abs(beyond - expected) > SYRINGE_READING.value)
    past = reconcile(pump, Q(expected, "mL"), Q(beyond, "mL"), Q(programmed, "mL"))
    assert not past.within_accuracy
    assert past.finding == ("overinfusion" if sign > 0 else "underinfusion")


@cases(70)
@given(
    pumps,
    with_wrong_kind(Kind.VOLUME, high=Decimal(50)),
    with_wrong_kind(Kind.VOLUME, high=Decimal(50)),
    with_wrong_kind(Kind.VOLUME, high=Decimal(50)),
)
def test_reconcile_refuses_anything_but_volumes_in_the_reservoir(
    pump: Pump, expected: Q, aspirated: Q, programmed: Q
) -> None:
    try:
        reconcile(pump, expected, aspirated, programmed)
    except Refusal as refusal:
        assert refusal.field in ("expected", "aspirated", "delivered_programmed")
        return
    assert expected.kind is aspirated.kind is programmed.kind is Kind.VOLUME
    reservoir = pump.reservoir_volume.value.canonical
    assert expected.canonical <= reservoir and aspirated.canonical <= reservoir
    assert programmed.canonical > 0


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[tuple[Decimal, datetime, datetime | None]], datetime]:
    """Programs (rate, start, end) and an instant, all naive or all in one zone (as a clinic's
    records are), anywhere in the calendar."""
    zone = draw(st.sampled_from(ZONES))
    moments = st.datetimes().map(lambda m: m.replace(tzinfo=zone))
    programs = draw(
        st.lists(st.tuples(hostile_decimals, moments, st.one_of(st.none(), moments)), max_size=4)
    )
    return programs, draw(moments)


@cases(70)
@given(hostile_decimals, histories())
@example(  # more digits than the context keeps: the subtraction rounded the residual up
    Decimal("7.03264045584937167538921847999989E-32"),
    ([(Decimal("1E-60"), datetime(2000, 1, 1), None)], datetime(2000, 1, 2)),
)
def test_residual_is_never_negative_nor_above_the_fill(
    fill: Decimal, history: tuple[list[tuple[Decimal, datetime, datetime | None]], datetime]
) -> None:
    programs, at = history
    try:
        left = residual_ml(fill, programs, at)
    except Refusal as refusal:
        assert refusal.field == "fill_volume" or refusal.field.startswith("programs[")
        return
    assert 0 <= left <= fill


@cases(70)
@given(st.lists(st.one_of(hostile_names, st.sampled_from(sorted(catalog.drugs()))), max_size=3),
       st.booleans(), st.booleans())  # fmt: skip
def test_stability_limit_is_the_shortest_rule_of_the_drugs_in_the_pump(
    names: list[str], first_fill: bool, diluted: bool
) -> None:
    try:
        limit, notes = stability_limit(names, first_fill=first_fill, diluted=diluted)
    except Refusal as refusal:
        assert refusal.field == "drug"
        return
    drugs = [catalog.drug(n) for n in names]
    rules = [s for d in drugs for s in d.stability]
    if limit is None:
        assert notes or not names  # a pump with no rule says so
        return
    assert limit.days >= 0 and limit.source
    own = [
        s.days for s in rules if s.rule == limit.rule and limit.subject in (d.name for d in drugs)
    ]
    assert not own or limit.days <= min(own)


@cases(70)
@given(
    st.sampled_from(sorted(catalog.pumps())),
    st.lists(
        st.one_of(
            st.just(Q(Decimal(0), "mL/day")),
            quantities(Kind.VOLUME_RATE, Decimal("0.001"), Decimal(30)),
        ),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.integers(60, 120 * 86400), min_size=4, max_size=4),
    quantities(Kind.VOLUME, Decimal("0.5"), Decimal(40)),
    quantities(Kind.VOLUME, Decimal(0), Decimal(3)),
    st.integers(0, 30),
)
def test_projection_never_negative_and_never_rising(
    model: str, rates: list[Q], gaps: list[int], fill: Q, alarm: Q, margin: int
) -> None:
    starts = [FILL + timedelta(seconds=sum(gaps[:i])) for i in range(len(rates))]
    runs = [ProgramRun(r.canonical, s) for r, s in zip(rates, starts, strict=False)]
    try:
        p = project(
            catalog.pump(model), fill_at=FILL, fill_volume=fill, runs=runs, alarm_volume=alarm,
            margin_days=Decimal(margin), stability=None,
        )  # fmt: skip
    except Refusal as refusal:
        assert refusal.field in PLAN_FIELDS
        assert (
            fill.canonical > catalog.pump(model).reservoir_volume.value.canonical
            or alarm.canonical >= fill.canonical
            or rates[-1].canonical == 0
            or any(r.canonical == 0 for r in rates)
        )
        return
    volumes = [point.volume.canonical for point in p.points]
    assert all(v >= 0 for v in volumes) and volumes[-1] == 0
    assert all(a >= b for a, b in pairwise(volumes))  # monotone between refills
    assert all(a.at <= b.at for a, b in pairwise(p.points))
    assert p.fill_at <= p.alarm_at <= p.empty_at and p.refill_by <= p.alarm_at.date()


def test_a_rate_far_below_an_unverified_minimum_is_refused_not_overflowed() -> None:
    """Defect: a Prometra II rate of 1e-12 mL/day (its 0.048 mL/day minimum is unverified, so
    only a warning) put the alarm 5e13 days ahead and plan_refill crashed with OverflowError."""
    with pytest.raises(Refusal) as caught:
        plan_refill(
            catalog.pump("prometra-ii-20"),
            Q(Decimal(20), "mL"),
            Q(Decimal("0.000000000001"), "mL/day"),
            fill_at=FILL,
        )
    assert caught.value.field == "rate"


def test_a_fill_at_the_calendars_end_in_another_zone_is_refused() -> None:
    """Defect: a fill at 9999-12-31 23:00 -12:00 (10000-01-01 in UTC) crashed plan_refill with
    OverflowError."""
    with pytest.raises(Refusal) as caught:
        plan_refill(
            catalog.pump("synchromed-ii-20"),
            Q(Decimal(20), "mL"),
            Q(Decimal(1), "mL/day"),
            fill_at=datetime(9999, 12, 31, 23, 0, tzinfo=timezone(-timedelta(hours=12))),
        )
    assert caught.value.field == "fill_at"


def test_residual_refuses_a_negative_rate() -> None:
    """Defect: residual_ml took a negative rate as a program adding drug, and answered a
    residual above the fill."""
    with pytest.raises(Refusal) as caught:
        residual_ml(Decimal(10), [(Decimal(-1), FILL, None)], FILL + timedelta(days=2))
    assert caught.value.field == "programs[0].rate"
