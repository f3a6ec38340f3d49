"""The modified Ashworth scale: its six grades as the scale writes them (1+ stored as 1.5), and
nothing else taken for a grade."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.core.outcomes import ashworth_label, is_ashworth_grade


@pytest.mark.parametrize(
    ("stored", "label"),
    [("0", "0"), ("1", "1"), ("1.5", "1+"), ("1.500", "1+"), ("2", "2"), ("3.0", "3"), ("4", "4")],
)
def test_each_grade_reads_as_the_scale_writes_it(stored: str, label: str) -> None:
    assert is_ashworth_grade(Decimal(stored))
    assert ashworth_label(Decimal(stored)) == label


@pytest.mark.parametrize("value", ["-1", "0.5", "1.4", "2.5", "5", "NaN"])
def test_values_between_or_beyond_the_grades_are_no_grade(value: str) -> None:
    assert not is_ashworth_grade(Decimal(value))


def test_a_value_that_is_no_grade_is_shown_as_the_number_it_is() -> None:
    assert ashworth_label(Decimal("2.500")) == "2.5"
