"""The clinic's locale: its IANA time zone, its calendar of working days, its opening hours and
how it writes dates and times. Every rule counted in days counts the clinic's local calendar
days; the database keeps UTC and this turns one into the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from painpump.core.errors import Refusal
from painpump.core.scheduling import ClinicCalendar

SOURCE = "clinic setting: the clinic's IANA time zone, opening hours and formats"


class DateFormat(Enum):
    """How the clinic writes a day: the example is 25 November 2026."""

    ISO = "iso"
    DAY_MONTH_YEAR_DOTS = "dmy_dots"
    DAY_MONTH_YEAR_SLASHES = "dmy_slashes"
    MONTH_DAY_YEAR = "mdy"

    @property
    def pattern(self) -> str:
        return _DATE_PATTERNS[self]

    @property
    def label(self) -> str:
        return date(2026, 11, 25).strftime(self.pattern)


class TimeFormat(Enum):
    H24 = "24h"
    H12 = "12h"

    @property
    def pattern(self) -> str:
        return "%H:%M" if self is TimeFormat.H24 else "%I:%M %p"

    @property
    def label(self) -> str:
        return time(14, 30).strftime(self.pattern)


_DATE_PATTERNS = {
    DateFormat.ISO: "%Y-%m-%d",
    DateFormat.DAY_MONTH_YEAR_DOTS: "%d.%m.%Y",
    DateFormat.DAY_MONTH_YEAR_SLASHES: "%d/%m/%Y",
    DateFormat.MONTH_DAY_YEAR: "%m/%d/%Y",
}


def zone(name: str, field_name: str = "time_zone") -> ZoneInfo:
    """An IANA time zone by name ("Europe/Berlin"); refused when tzdata does not know it."""
    if name not in _zone_names():
        raise Refusal(
            field_name,
            repr(name),
            "an IANA time zone name such as Europe/Berlin",
            SOURCE,
            "is not a known time zone",
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refusal(
            field_name, repr(name), "an IANA time zone name", SOURCE, "cannot be loaded"
        ) from None


def zone_names() -> list[str]:
    """Every IANA zone name tzdata knows, sorted (the settings form's choices)."""
    return sorted(_zone_names())


_ZONES: frozenset[str] | None = None
NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        # tzdata also ships files that are no place's zone: the host's link and a placeholder
        _ZONES = frozenset(available_timezones()) - NOT_ZONES
    return _ZONES


@dataclass(frozen=True)
class ClinicLocale:
    """Where and when the clinic works. `opens_at` and `closes_at` are wall-clock times."""

    zone: ZoneInfo
    calendar: ClinicCalendar
    opens_at: time = time(8, 0)
    closes_at: time = time(17, 0)
    date_format: DateFormat = DateFormat.ISO
    time_format: TimeFormat = TimeFormat.H24

    def __post_init__(self) -> None:
        if not self.opens_at < self.closes_at:
            raise Refusal(
                "closes_at",
                self.closes_at.isoformat("minutes"),
                f"after the opening time {self.opens_at.isoformat('minutes')}",
                SOURCE,
                "does not leave the clinic open",
            )

    def local(self, moment: datetime) -> datetime:
        """`moment` (aware) on the clinic's wall clock."""
        return aware(moment).astimezone(self.zone)

    def today(self, now: datetime) -> date:
        """The clinic's calendar day at `now`."""
        return self.local(now).date()

    def day_start(self, day: date) -> datetime:
        """The first moment of the clinic's `day`, in UTC (23, 24 or 25 hours before the next)."""
        return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

    def at(self, day: date, wall: time) -> datetime:
        """The moment the clinic's clock shows `wall` on `day`, in UTC. A wall time skipped by a
        daylight-saving change is read after it (fold 0, as the clock moves on)."""
        return datetime.combine(day, wall, tzinfo=self.zone).astimezone(UTC)

    def format_date(self, day: date) -> str:
        return day.strftime(self.date_format.pattern)

    def format_time(self, moment: datetime) -> str:
        return self.local(moment).strftime(self.time_format.pattern)

    def format_moment(self, moment: datetime) -> str:
        """A moment as the clinic reads it: day, wall-clock time and the zone's abbreviation."""
        local = self.local(moment)
        return f"{self.format_date(local.date())} {self.format_time(local)} {local.tzname()}"


def aware(moment: datetime) -> datetime:
    """A naive datetime is refused: a moment without its offset could be any of 26 hours."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Refusal(
            "moment",
            moment.isoformat(),
            "a date and time with its UTC offset (e.g. 2026-11-25T10:00+01:00)",
            SOURCE,
            "has no offset",
        )
    return moment
