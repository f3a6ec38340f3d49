"""When an implanted pump should be replaced: its maximum service life less the lead time the
manufacturer advises (SynchroMed II: 7 years, replacement about 6 months before the automatic
shut-off). Pumps without sourced figures have no date (never a guessed one)."""

from __future__ import annotations

from datetime import date, timedelta

from painpump.core.catalog import Pump
from painpump.core.errors import Refusal

CALENDAR = "the calendar: years 1 to 9999"


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day (31 Jan + 1 month
    is 28 or 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"no date for {day} + {months} months")


def replacement_due(pump: Pump, implanted_on: date) -> date | None:
    """The date to have replaced the pump by, or None when the catalog has no sourced life."""
    if pump.service_life_years is None or pump.replace_months_before_end is None:
        return None
    months = int(pump.service_life_years.value * 12 - pump.replace_months_before_end.value)
    try:
        return add_months(implanted_on, months)
    except ValueError:
        raise Refusal(
            "implanted_on",
            implanted_on.isoformat(),
            f"a date whose replacement, {months} months later, lies within the calendar",
            CALENDAR,
            "is out of range",
        ) from None


def implanted_on_or_before(pump: Pump, due_by: date) -> date | None:
    """The latest implant date whose replacement is due by `due_by` (so a database can select
    the pumps to replace with an indexed date comparison), or None without a sourced life."""
    if pump.service_life_years is None or pump.replace_months_before_end is None:
        return None
    months = int(pump.service_life_years.value * 12 - pump.replace_months_before_end.value)
    try:
        cutoff = add_months(due_by, -months)
        if (due_by + timedelta(days=1)).day == 1:
            # due_by ends its month: later days of the earlier month are clamped onto it too
            cutoff = add_months(cutoff.replace(day=1), 1) - timedelta(days=1)
    except (ValueError, OverflowError):
        raise Refusal(
            "due_by",
            due_by.isoformat(),
            f"a date whose implant date, {months} months earlier, lies within the calendar",
            CALENDAR,
            "is out of range",
        ) from None
    return cutoff
