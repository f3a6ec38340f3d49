"""Bad input for units.parse and parse_decimal, the door every typed quantity comes through: any
text gives a quantity of the asked kind, finite, not negative and within painpump's numbers, or a
Refusal naming the field; never another exception. Accepted text means what it says: mg is 1000
mcg, a unit of another kind is refused, unicode digits read as the digits they are."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.errors import Refusal
from painpump.core.units import (
    DISPLAY_UNITS,
    MAX_MAGNITUDE,
    Kind,
    Q,
    check_number,
    parse,
    parse_decimal,
)
from strategies import (
    NUMBER_TEXTS,
    UNITS_OF,
    cases,
    hostile_decimals,
    magnitudes,
    quantities,
    quantity_texts,
)


def parse_or_refuse(text: str, kind: Kind, positive: bool = False) -> Q | None:
    """The quantity, or None after checking that the refusal names the field."""
    try:
        return parse(text, kind, "--field", positive=positive)
    except Refusal as refusal:
        assert refusal.field == "--field"
        assert refusal.limit and refusal.source
        return None


@cases(150)
@given(quantity_texts, st.sampled_from(Kind), st.booleans())
def test_any_text_gives_a_quantity_of_its_kind_or_a_refusal_naming_the_field(
    text: str, kind: Kind, positive: bool
) -> None:
    q = parse_or_refuse(text, kind, positive)
    if q is None:
        return
    assert q.kind is kind
    assert q.value.is_finite() and q.canonical >= 0
    assert not positive or q.canonical > 0
    str(q), q.as_json()  # an accepted quantity always prints


@cases(50)
@given(st.sampled_from(NUMBER_TEXTS), st.sampled_from(Kind))
def test_a_number_beyond_painpumps_arithmetic_is_refused_not_overflowed(
    number: str, kind: Kind
) -> None:
    q = parse_or_refuse(f"{number} {kind.canonical}", kind)
    if q is not None:
        assert abs(q.value) < MAX_MAGNITUDE


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


@cases(50)
@given(
    st.integers(0, 10**6),
    st.sampled_from(("0", "\uff10", "\u0660", "\u0966", "\u09e6")),  # zero of five scripts
    st.sampled_from(Kind),
)
def test_unicode_digits_read_as_the_digits_they_are_or_are_refused(
    number: int, zero: str, kind: Kind
) -> None:
    digits = "".join(chr(ord(zero) + int(d)) for d in str(number))
    text = f"{digits} {kind.canonical}"
    q = parse_or_refuse(text, kind)
    if q is not None:
        assert q == parse(_ascii_digits(text), kind, "--field")
        assert q.canonical == number


@cases(50)
@given(st.sampled_from(Kind), st.data())
def test_every_unit_of_a_kind_converts_by_its_exact_factor(kind: Kind, data: st.DataObject) -> None:
    unit = data.draw(st.sampled_from(UNITS_OF[kind]))
    value = data.draw(magnitudes(Decimal(0), Decimal(10) ** 6))
    q = parse(f"{value} {unit}", kind, "--field")
    assert q.canonical == value * DISPLAY_UNITS[unit][1]


@cases(50)
@given(magnitudes(Decimal(0), Decimal(10) ** 6), st.sampled_from(("", "/mL", "/day")))
def test_mg_is_a_thousand_mcg_never_the_same_number(value: Decimal, per: str) -> None:
    kind = {"": Kind.MASS, "/mL": Kind.CONCENTRATION, "/day": Kind.DOSE_RATE}[per]
    mg = parse(f"{value} mg{per}", kind, "--field")
    mcg = parse(f"{value} mcg{per}", kind, "--field")
    assert mg.canonical == 1000 * mcg.canonical
    assert mg.unit == f"mg{per}" and mcg.unit == f"mcg{per}"


@cases(70)
@given(st.sampled_from(Kind), st.sampled_from(Kind), st.data())
def test_a_unit_of_another_kind_is_refused(written: Kind, asked: Kind, data: st.DataObject) -> None:
    if written is asked:
        return
    unit = data.draw(st.sampled_from(UNITS_OF[written]))
    value = data.draw(magnitudes(Decimal("0.001"), Decimal(1000)))
    with pytest.raises(Refusal) as caught:
        parse(f"{value} {unit}", asked, "--field")
    assert caught.value.field == "--field"


@cases(70)
@given(st.sampled_from(Kind).flatmap(lambda k: st.tuples(st.just(k), quantities(k))))
def test_a_printed_quantity_parses_back_to_its_rounded_value(case: tuple[Kind, Q]) -> None:
    kind, q = case
    assert parse(f"{format(q.value, 'f')} {q.unit}", kind, "--field") == q  # as strategies build
    again = parse(str(q), kind, "--field")
    assert again.unit == q.unit and again.value == q.rounded()


@cases(70)
@given(st.one_of(st.sampled_from(NUMBER_TEXTS), st.text(max_size=12)))
def test_a_plain_number_is_finite_and_in_range_or_refused(text: str) -> None:
    try:
        value = parse_decimal(text, "--ratio")
    except Refusal as refusal:
        assert refusal.field == "--ratio"
        return
    assert value.is_finite() and abs(value) < MAX_MAGNITUDE


@cases(70)
@given(hostile_decimals)
def test_check_number_passes_only_what_the_arithmetic_can_carry(value: Decimal) -> None:
    try:
        assert check_number(value, "--n") == value
    except Refusal as refusal:
        assert refusal.field == "--n"
        return
    assert value.is_finite() and abs(value) < MAX_MAGNITUDE
    assert (value * value).is_finite()  # no product of two accepted numbers overflows


@pytest.mark.parametrize("text", ["1e999999 mL", "1e-999999 mL", "0.0000000000000001 mL"])
def test_parse_refuses_a_number_that_would_overflow_the_arithmetic(text: str) -> None:
    """Defect: "1e999999 mL" was accepted and crashed the first calculation with
    decimal.Overflow; numbers beyond 10^12 or with more than 15 places are now refused."""
    with pytest.raises(Refusal) as caught:
        parse(text, Kind.VOLUME, "--volume")
    assert caught.value.field == "--volume"
    assert caught.value.problem == "is out of range"


def test_a_quantity_cannot_hold_a_non_finite_value() -> None:
    """No calculator can be handed NaN or infinity as a quantity: Q refuses to hold one."""
    for value in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with pytest.raises(ValueError):
            Q(Decimal(value), "mL")
