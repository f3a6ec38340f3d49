"""Days and times as the clinic writes them (its date and time formats, on its wall clock, from
the request's locale: web.clinic_zone.current_locale):

- `{{ d|day }}`: a date, or the clinic's day of a moment, with its weekday: "Wed 25.11.2026";
  `{{ d|day:"plain" }}` without the weekday (a birth date);
- `{{ t|moment }}`: the day, the time and the zone's abbreviation: "Wed 25.11.2026 14:30 CET";
  `{{ t|moment:"seconds" }}` with the seconds (the audit log);
- `{{ t|clock }}`: the wall-clock time only: "14:30" (`"seconds"` as above).

An empty value gives "" (so `|default:"—"` still applies); a moment without its offset is refused
(core.locale.aware): it could be any of 26 hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import TypeVar

from django import template

from painpump.core.locale import ClinicLocale, aware
from painpump.core.scheduling import WEEKDAYS
from painpump.web.clinic_zone import current_locale

register = template.Library()
PLAIN = "plain"
SECONDS = "seconds"


def weekday(day: date) -> str:
    """The weekday's abbreviation ("Wed"), the same in every server locale."""
    return WEEKDAYS[day.weekday()][:3]


def local_day(value: date | datetime, locale: ClinicLocale) -> date:
    """A date as it is; a moment's day on the clinic's calendar."""
    return locale.local(value).date() if isinstance(value, datetime) else value


def shown_day(value: date | datetime, locale: ClinicLocale, *, plain: bool = False) -> str:
    """A day in the clinic's date format, after its weekday unless `plain`."""
    day = local_day(value, locale)
    written = locale.format_date(day)
    return written if plain else f"{weekday(day)} {written}"


def shown_clock(value: datetime, locale: ClinicLocale, *, seconds: bool = False) -> str:
    """A moment's wall-clock time in the clinic's time format (with seconds if asked)."""
    pattern = locale.time_format.pattern
    if seconds:
        pattern = pattern.replace("%M", "%M:%S")
    return locale.local(aware(value)).strftime(pattern)


def shown_moment(value: date | datetime, locale: ClinicLocale, *, seconds: bool = False) -> str:
    """A moment as the clinic reads it: weekday, day, time and the zone's abbreviation (a
    date alone is shown as its day)."""
    if not isinstance(value, datetime):
        return shown_day(value, locale)
    local = locale.local(aware(value))
    clock = shown_clock(local, locale, seconds=seconds)
    return f"{shown_day(local, locale)} {clock} {local.tzname()}"


Shown = TypeVar("Shown", bound=date)


def _blank_when_empty(show: Callable[[Shown, str], str]) -> Callable[[Shown | None, str], str]:
    """The filter `show` that gives "" for a missing value (None, or an unknown variable's "")."""

    @wraps(show)
    def filtered(value: Shown | None, option: str = "") -> str:
        return show(value, option) if value else ""

    return filtered


@register.filter
@_blank_when_empty
def day(value: date | datetime, option: str = "") -> str:
    return shown_day(value, current_locale(), plain=option == PLAIN)


@register.filter
@_blank_when_empty
def moment(value: date | datetime, option: str = "") -> str:
    return shown_moment(value, current_locale(), seconds=option == SECONDS)


@register.filter
@_blank_when_empty
def clock(value: datetime, option: str = "") -> str:
    return shown_clock(value, current_locale(), seconds=option == SECONDS)
