"""Quantities typed by hand in other locales and scripts: a comma is never read as a thousands
separator or a decimal point (either reading could be a thousand-fold error), digits other than
0-9 and invisible characters are refused, and unambiguous white space is accepted exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse


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
