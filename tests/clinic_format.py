"""Days and moments as the clinic's pages write them (its date and time formats, on its wall
clock, from its settings now), for tests that find a date on a page. Written by the rule the
pages' filters use (web.templatetags.clinic_time), so a test follows the clinic's formats and
still proves which day or moment is shown."""

from __future__ import annotations

from datetime import date, datetime

from painpump.clinic.locale import clinic_locale
from painpump.web.templatetags.clinic_time import shown_clock, shown_day, shown_moment


def written_day(value: date | datetime) -> str:
    """ "Wed 2026-11-25": a day (or a moment's day) as the clinic's pages write it."""
    return shown_day(value, clinic_locale())


def written_moment(value: datetime) -> str:
    """ "Wed 2026-11-25 10:00 EST": a moment as the clinic's pages write it."""
    return shown_moment(value, clinic_locale())


def written_clock(value: datetime) -> str:
    """ "10:00": a moment's wall-clock time as the clinic's pages write it."""
    return shown_clock(value, clinic_locale())


def read_moment(text: str) -> datetime:
    """The moment a page shows as `written_moment` writes it (weekday, day, time, zone
    abbreviation), on the clinic's clock; the abbreviation tells the two 1 a.m. of a
    daylight-saving night apart."""
    locale = clinic_locale()
    shown, abbreviation = text.strip().rsplit(" ", 1)
    pattern = f"%a {locale.date_format.pattern} {locale.time_format.pattern}"
    wall = datetime.strptime(shown, pattern)
    for fold in (0, 1):
        moment = wall.replace(tzinfo=locale.zone, fold=fold)
        if moment.tzname() == abbreviation:
            return moment
    raise AssertionError(f"{text!r}: {abbreviation} is not a name of {locale.zone.key}")
