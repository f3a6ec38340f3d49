"""Quantities typed by hand in other locales and scripts: a comma is never read as a thousands
separator or a decimal point (either reading could be a thousand-fold error), digits other than
0-9 and invisible characters are refused, and unambiguous white space is accepted exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.core.errors import Refusal
from painpump.core.units import Kind, format_decimal, parse


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1,5 mL", "uses a decimal comma"),
        ("1 234,5 mL", "uses a decimal comma"),
        ("1,000 mL", "uses a decimal comma"),
        ("2.000,5 mL", "uses a comma (a decimal comma or a thousands separator)"),
        ("1,000.5 mL", "uses a comma (a decimal comma or a thousands separator)"),
    ],
)
def test_a_comma_in_a_quantity_is_refused_naming_the_decimal_point(text: str, problem: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse(text, Kind.VOLUME, "volume")
    assert refused.value.field == "volume"
    assert refused.value.problem == problem
    assert "decimal point" in refused.value.limit


@pytest.mark.parametrize(
    "text",
    ["৪ mL", "১২ mL", "٥ mL", "５ mL", "2² mL"],
    ids=["bengali-four-looks-like-eight", "bengali", "arabic-indic", "fullwidth", "superscript"],
)
def test_digits_of_other_scripts_are_refused_not_read_as_their_value(text: str) -> None:
    """Regression: '৪ mL' (the Bengali four, which looks like an 8) was read as 4 mL."""
    with pytest.raises(Refusal) as refused:
        parse(text, Kind.VOLUME, "volume")
    assert refused.value.problem.startswith("uses the digit")
    assert "0-9" in refused.value.limit


@pytest.mark.parametrize("text", ["12 mL\x00", "1\u200b2 mL", "12 m\u200bL", "12\u202emL"])
def test_a_control_or_invisible_character_in_a_quantity_is_refused(text: str) -> None:
    """Regression: '12 mL' followed by a NUL was accepted as 12 mL."""
    with pytest.raises(Refusal) as refused:
        parse(text, Kind.VOLUME, "volume")
    assert refused.value.problem.startswith("contains the control character")


@pytest.mark.parametrize("text", [" 12 mL ", "12\u00a0mL", "12\u2009mL", "\t12 mL\n"])
def test_white_space_around_and_between_is_accepted_exactly(text: str) -> None:
    quantity = parse(text, Kind.VOLUME, "volume")
    assert (quantity.value, quantity.unit) == (Decimal(12), "mL")


@pytest.mark.parametrize(
    "text",
    [
        "1e1000000 mL",
        "-1e1000000 mL",
        "9e999999999 mL",
        "1e-1000000 mL",
        "1e9999999999999999999 mL",
        "1e-9999999999999999999 mL",
    ],
    ids=[
        "ten-to-the-million",
        "negative",
        "beyond-the-exponent-range",
        "tiny",
        "exponent-of-19-digits",
        "negative-exponent-of-19-digits",
    ],
)
def test_a_number_beyond_decimal_s_exponent_range_is_refused_not_an_overflow(text: str) -> None:
    """Regression: '1e1000000 mcg/day' raised decimal.Overflow (a 500 in the web app and the
    API, `internal error: Overflow` in the CLI) instead of a refusal naming the field."""
    with pytest.raises(Refusal) as refused:
        parse(text, Kind.VOLUME, "volume")
    assert refused.value.field == "volume" and refused.value.problem == "is out of range"


def test_a_huge_number_is_written_in_scientific_notation_not_in_a_million_digits() -> None:
    """Regression: {"value": "1e999999"} was written out in plain notation, a million digits,
    and echoed twice in a 2 MB refusal."""
    assert format_decimal(Decimal("1e999999")) == "1E+999999"
    assert format_decimal(Decimal("1e-999999")) == "1E-999999"
    assert format_decimal(Decimal("1200.50")) == "1200.5"
    assert format_decimal(Decimal("0E-1000000")) == "0"
