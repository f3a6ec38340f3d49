"""Bad input for the pump's replacement date, the patient's age and the Ashworth grade
(core.device_life, core.age, core.outcomes): any day of the calendar gives a date, an age or a
label, or a Refusal naming the date; the replacement is due the catalog's sourced months after
the implant, never a guessed date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given

from painpump.core import catalog
from painpump.core.age import age_on
from painpump.core.catalog import Pump
from painpump.core.device_life import add_months, implanted_on_or_before, replacement_due
from painpump.core.errors import Refusal
from painpump.core.outcomes import ASHWORTH_GRADES, ashworth_label, is_ashworth_grade
from strategies import any_dates, cases, hostile_decimals, pumps


@cases(150)
@given(pumps, any_dates)
def test_the_replacement_is_due_the_sourced_months_after_the_implant_or_refused(
    pump: Pump, implanted: date
) -> None:
    try:
        due = replacement_due(pump, implanted)
    except Refusal as refusal:
        assert refusal.field == "implanted_on"
        return
    if pump.service_life_years is None or pump.replace_months_before_end is None:
        assert due is None  # no sourced life: no date at all
        return
    months = int(pump.service_life_years.value * 12 - pump.replace_months_before_end.value)
    assert due == add_months(implanted, months) and due > implanted
    try:
        cutoff = implanted_on_or_before(pump, due)
    except Refusal as refusal:
        assert refusal.field == "due_by"
        return
    assert cutoff is not None and implanted <= cutoff  # selected by the indexed comparison


@cases(150)
@given(any_dates, any_dates)
def test_an_age_is_never_negative_and_never_more_than_the_years_between(
    born: date, day: date
) -> None:
    years = age_on(born, day)
    assert 0 <= years <= max(day.year - born.year, 0)


@cases(100)
@given(hostile_decimals)
def test_only_the_six_grades_are_ashworth_grades_and_every_value_prints(value: Decimal) -> None:
    assert is_ashworth_grade(value) == (value.is_finite() and value in ASHWORTH_GRADES)
    assert ashworth_label(value)


@pytest.mark.parametrize("day", [date(9999, 1, 1), date.max])
def test_an_implant_date_whose_replacement_leaves_the_calendar_is_refused(day: date) -> None:
    """Defect: replacement_due for an implant in year 9999 raised ValueError ('no date for
    9999-01-01 + 78 months') instead of refusing the date."""
    with pytest.raises(Refusal) as caught:
        replacement_due(catalog.pump("synchromed-ii-20"), day)
    assert caught.value.field == "implanted_on"
