"""A patient's age in whole years on a day (the chart's header; dosing never uses it)."""

from __future__ import annotations

from datetime import date


def age_on(birth_date: date, day: date) -> int:
    """Completed years from `birth_date` to `day` (someone born on 29 February has a birthday on
    1 March in other years); never negative."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return max(years, 0)
