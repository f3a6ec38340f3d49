"""Bad input for dose = rate x concentration and the volumes of the fluid path (core.dosing,
core.volumes): exact in Decimal for any valid quantity, in mg or mcg; a quantity of another kind,
a zero, negative or non-finite number is refused naming its field, never computed with."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.dosing import dose, dose_mcg_per_day, rate, rate_ml_per_day
from painpump.core.errors import Refusal
from painpump.core.units import MAX_MAGNITUDE, Kind, Q
from painpump.core.volumes import (
    bridge,
    catheter_volume_ml,
    implanted_length_cm,
    priming_volume_ml,
)
from strategies import cases, hostile_decimals, quantities, with_wrong_kind

HIGH = Decimal(10) ** 5
RATES = quantities(Kind.VOLUME_RATE, Decimal("0.001"), Decimal(240))
CONCENTRATIONS = quantities(Kind.CONCENTRATION, Decimal("0.001"), Decimal(30_000))
DOSES = quantities(Kind.DOSE_RATE, Decimal("0.001"), HIGH)
PROMETRA = catalog.catheter("prometra-catheter")


def close(a: Decimal, b: Decimal) -> bool:
    """Equal to Decimal's 28 digits (a quotient's last digit is rounded)."""
    return abs(a - b) <= abs(b) * Decimal("1e-24")


@cases(100)
@given(RATES, CONCENTRATIONS)
def test_dose_is_rate_times_concentration_exactly_and_back(r: Q, c: Q) -> None:
    d = dose(r, c)
    assert d.canonical == r.canonical * c.canonical  # exact: no rounding in Decimal
    assert d.unit == c.unit.split("/")[0] + "/day"  # a dose in the prefix of its concentration
    assert rate(d, c).canonical == r.canonical


@cases(70)
@given(with_wrong_kind(Kind.DOSE_RATE), with_wrong_kind(Kind.CONCENTRATION))
def test_rate_refuses_a_quantity_of_another_kind_naming_it(d: Q, c: Q) -> None:
    try:
        out = rate(d, c)
    except Refusal as refusal:
        assert refusal.field in ("dose", "concentration")
        assert (
            d.kind is not Kind.DOSE_RATE
            or c.kind is not Kind.CONCENTRATION
            or c.canonical == 0
            or d.canonical / c.canonical >= MAX_MAGNITUDE  # a rate beyond any pump
        )
        return
    assert d.kind is Kind.DOSE_RATE and c.kind is Kind.CONCENTRATION
    assert close(out.canonical * c.canonical, d.canonical)


@cases(70)
@given(with_wrong_kind(Kind.VOLUME_RATE), with_wrong_kind(Kind.CONCENTRATION))
def test_dose_refuses_a_quantity_of_another_kind_naming_it(r: Q, c: Q) -> None:
    try:
        out = dose(r, c)
    except Refusal as refusal:
        assert refusal.field in ("rate", "concentration")
        assert r.kind is not Kind.VOLUME_RATE or c.kind is not Kind.CONCENTRATION
        return
    assert out.canonical == r.canonical * c.canonical


@cases(100)
@given(hostile_decimals, hostile_decimals)
def test_raw_arithmetic_refuses_non_finite_negative_or_zero_concentration(
    a: Decimal, b: Decimal
) -> None:
    for compute, fields in (
        (rate_ml_per_day, ("dose", "concentration")),
        (dose_mcg_per_day, ("rate", "concentration")),
    ):
        try:
            out = compute(a, b)
        except Refusal as refusal:
            assert refusal.field in fields
            continue
        assert out.is_finite() and out >= 0 and a >= 0 and b >= 0


@cases(100)
@given(
    quantities(Kind.CONCENTRATION, Decimal("0.001"), Decimal(30_000)),
    quantities(Kind.CONCENTRATION, Decimal("0.001"), Decimal(30_000)),
    quantities(Kind.DOSE_RATE, Decimal("0.001"), HIGH),
    quantities(Kind.VOLUME, Decimal("0.001"), Decimal(5)),
)
def test_bridge_delivers_the_dead_volume_at_the_prescribed_dose(
    old: Q, new: Q, d: Q, dead: Q
) -> None:
    b = bridge(old, new, d, dead)
    assert b.bridge_volume.canonical == dead.canonical
    assert close(b.bridge_rate.canonical * old.canonical, d.canonical)
    assert close(b.new_rate.canonical * new.canonical, d.canonical)
    days = b.bridge_duration.canonical / 86400
    assert close(b.bridge_rate.canonical * days, dead.canonical)


@cases(100)
@given(
    with_wrong_kind(Kind.CONCENTRATION),
    with_wrong_kind(Kind.CONCENTRATION),
    with_wrong_kind(Kind.DOSE_RATE),
    with_wrong_kind(Kind.VOLUME, high=Decimal(50)),
)
def test_bridge_answers_any_quantities_or_refuses_naming_the_field(
    old: Q, new: Q, d: Q, dead: Q
) -> None:
    try:
        b = bridge(old, new, d, dead)
    except Refusal as refusal:
        assert refusal.field in (
            "old_concentration",
            "new_concentration",
            "dose",
            "dead_volume",
        )
        return
    assert (old.kind, new.kind, d.kind, dead.kind) == (
        Kind.CONCENTRATION,
        Kind.CONCENTRATION,
        Kind.DOSE_RATE,
        Kind.VOLUME,
    )
    assert min(old.canonical, new.canonical, d.canonical, dead.canonical) > 0
    assert b.bridge_volume.canonical == dead.canonical


@cases(100)
@given(
    st.one_of(st.none(), with_wrong_kind(Kind.LENGTH, high=Decimal(200))),
    st.one_of(st.none(), with_wrong_kind(Kind.LENGTH, high=Decimal(200))),
    quantities(Kind.VOLUME, Decimal(0), Decimal(1)),
)
def test_priming_volume_is_dead_volume_plus_the_catalog_catheter_volume(
    implanted: Q | None, trimmed: Q | None, dead: Q
) -> None:
    full = PROMETRA.full_length.value.canonical
    try:
        length = implanted_length_cm(PROMETRA, implanted, trimmed)
    except Refusal as refusal:
        assert refusal.field in ("implanted_length", "trimmed_length")
        return
    given_length = implanted if implanted is not None else trimmed
    assert given_length is not None and given_length.kind is Kind.LENGTH
    assert (implanted is None) != (trimmed is None)
    assert 0 <= length <= full  # never a catheter longer than the catalog's
    if trimmed is not None:
        assert length + trimmed.canonical == full
    volume = priming_volume_ml(dead.canonical, catheter_volume_ml(PROMETRA, length))
    assert volume == dead.canonical + length * PROMETRA.volume_per_cm  # 0.0026 mL/cm, IFU p.33


def test_bridge_refuses_a_dose_given_where_the_concentration_belongs() -> None:
    """Defect: bridge() divided the canonical numbers of whatever it was given, so a dose in
    mg/day passed as the old concentration gave a bridge rate in silence."""
    with pytest.raises(Refusal) as caught:
        bridge(
            Q(Decimal(10), "mg/day"),
            Q(Decimal(20), "mg/mL"),
            Q(Decimal(5), "mg/day"),
            Q(Decimal("0.2"), "mL"),
        )
    assert caught.value.field == "old_concentration"


def test_rate_ml_per_day_refuses_a_nan_concentration() -> None:
    """Defect: rate_ml_per_day(5, NaN) raised decimal.InvalidOperation instead of refusing."""
    with pytest.raises(Refusal) as caught:
        rate_ml_per_day(Decimal(5), Decimal("NaN"), "new_concentration")
    assert caught.value.field == "new_concentration"
