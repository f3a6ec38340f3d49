"""Quantities typed by people: exact values in canonical units, and refusal of anything that
would let a mg/mcg, per-hour/per-day or decimal-comma slip through."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, json_number, of, parse, side_by_side


@pytest.mark.parametrize(
    ("text", "kind", "canonical", "unit"),
    [
        ("5 mg/day", Kind.DOSE_RATE, Decimal("5000"), "mg/day"),
        ("2.4 mcg/day", Kind.DOSE_RATE, Decimal("2.4"), "mcg/day"),
        ("0.1 mcg/h", Kind.DOSE_RATE, Decimal("2.4"), "mcg/day"),
        ("25 mg/mL", Kind.CONCENTRATION, Decimal("25000"), "mg/mL"),
        ("2000 ug/ml", Kind.CONCENTRATION, Decimal("2000"), "mcg/mL"),
        ("0.5 mL/day", Kind.VOLUME_RATE, Decimal("0.5"), "mL/day"),
        ("20 mL", Kind.VOLUME, Decimal("20"), "mL"),
        ("250 uL", Kind.VOLUME, Decimal("0.25"), "mL"),
        ("2 min", Kind.DURATION, Decimal("120"), "min"),
        ("3 hour", Kind.DURATION, Decimal("10800"), "hour"),
        ("85 cm", Kind.LENGTH, Decimal("85"), "cm"),
    ],
    ids=lambda v: str(v),
)
def test_parse_gives_exact_canonical_value(
    text: str, kind: Kind, canonical: Decimal, unit: str
) -> None:
    quantity = parse(text, kind, "--x")
    assert quantity.canonical == canonical
    assert quantity.unit == unit


@pytest.mark.parametrize(
    ("text", "kind", "problem"),
    [
        ("5", Kind.DOSE_RATE, "has no unit"),
        ("5 mL", Kind.DOSE_RATE, "is not a dose rate"),
        ("5 mg", Kind.DOSE_RATE, "is not a dose rate"),
        ("5 Mg/day", Kind.DOSE_RATE, "has an unknown unit 'Mg'"),
        ("5 units/day", Kind.DOSE_RATE, "has an unknown unit 'units'"),
        ("0,5 mL/day", Kind.VOLUME_RATE, "uses a decimal comma"),
        ("-2 mL", Kind.VOLUME, "is negative"),
        ("mL", Kind.VOLUME, "is not a quantity"),
        ("nan mL", Kind.VOLUME, "is not a quantity"),
    ],
)
def test_parse_refuses_with_field_value_and_limit(text: str, kind: Kind, problem: str) -> None:
    with pytest.raises(Refusal) as caught:
        parse(text, kind, "--dose")
    refusal = caught.value
    assert refusal.field == "--dose"
    assert refusal.problem == problem
    assert repr(text) == refusal.value
    assert kind.label in refusal.limit


def test_zero_is_refused_where_a_positive_quantity_is_required() -> None:
    with pytest.raises(Refusal, match="is zero"):
        parse("0 mL", Kind.VOLUME, "--volume", positive=True)


def test_json_prints_no_float_residue() -> None:
    assert Q(Decimal("0.1") + Decimal("0.2"), "mL").as_json() == {"value": 0.3, "unit": "mL"}
    assert of(Decimal("700.0000000000001"), "mcg/day").as_json() == {
        "value": 700,
        "unit": "mcg/day",
    }
    assert json_number(Decimal("12.000")) == 12


def test_display_conversion_between_mg_and_mcg_is_exact() -> None:
    assert Q(Decimal("0.0024"), "mg/day").to("mcg/day") == Q(Decimal("2.4"), "mcg/day")


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3))
def test_parse_round_trips_any_printed_dose(value: Decimal) -> None:
    quantity = parse(f"{value} mg/day", Kind.DOSE_RATE, "--dose")
    assert quantity.canonical == value * 1000
    assert parse(str(quantity), Kind.DOSE_RATE, "--dose").canonical == quantity.rounded() * 1000


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (["14.372", "14.22"], ["14.372 mL", "14.220 mL"]),
        (["8", "6", "-2"], ["8 mL", "6 mL", "-2 mL"]),
        (["3.2", "7.4", "4.2"], ["3.2 mL", "7.4 mL", "4.2 mL"]),
        (["20.000000", "0.0000004"], ["20 mL", "0 mL"]),
        (["5.0004", "-0.0004"], ["5 mL", "0 mL"]),
    ],
    ids=["three-and-two-places", "whole", "one-place", "below-a-microlitre", "no-minus-zero"],
)
def test_volumes_compared_side_by_side_share_their_decimal_places(
    values: list[str], shown: list[str]
) -> None:
    assert side_by_side([Q(Decimal(v), "mL") for v in values]) == shown


@given(st.lists(st.decimals(min_value=-40, max_value=40, places=6), min_size=1, max_size=4))
def test_side_by_side_changes_no_value_only_the_places_shown(values: list[Decimal]) -> None:
    quantities = [Q(v, "mL") for v in values]
    shown = side_by_side(quantities)
    assert len({len(s.split()[0].partition(".")[2]) for s in shown}) == 1
    for quantity, text in zip(quantities, shown, strict=True):
        number, unit = text.split()
        assert (Decimal(number), unit) == (quantity.rounded(), "mL")
