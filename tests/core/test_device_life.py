"""Pump replacement dates from the sourced service life."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.device_life import add_months, implanted_on_or_before, replacement_due


@pytest.mark.parametrize(
    ("implanted", "due"),
    [(date(2020, 3, 15), date(2026, 9, 15)), (date(2019, 8, 31), date(2026, 2, 28))],
    ids=["mid-month", "end-of-month-clamped"],
)
def test_synchromed_ii_is_replaced_six_months_before_seven_years(
    implanted: date, due: date
) -> None:
    assert replacement_due(catalog.pump("synchromed-ii-20"), implanted) == due


def test_a_pump_without_a_sourced_service_life_has_no_replacement_date() -> None:
    assert replacement_due(catalog.pump("prometra-ii-20"), date(2020, 1, 1)) is None


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)), st.integers(-240, 240))
def test_add_months_lands_in_the_right_month_never_after_the_same_day(
    day: date, months: int
) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day <= day.day


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 1, 1)))
def test_pumps_implanted_by_the_cutoff_are_exactly_those_due_by_the_date(due_by: date) -> None:
    pump = catalog.pump("synchromed-ii-40")
    cutoff = implanted_on_or_before(pump, due_by)
    assert cutoff is not None
    assert (replacement_due(pump, cutoff) or date.max) <= due_by
    assert (replacement_due(pump, cutoff + timedelta(days=1)) or date.min) > due_by
