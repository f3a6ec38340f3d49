"""The clinic's locale as stored in its settings, and what day it is for the clinic."""

from __future__ import annotations

from datetime import date, datetime

from painpump import clock
from painpump.clinic.models import ClinicSettings
from painpump.core.locale import ClinicLocale, DateFormat, TimeFormat, zone
from painpump.core.scheduling import ClinicCalendar


def clinic_settings() -> ClinicSettings:
    settings, _ = ClinicSettings.objects.get_or_create(id=1)
    return settings


def calendar_of(settings: ClinicSettings) -> ClinicCalendar:
    return ClinicCalendar(
        settings.country,
        settings.subdivision or None,
        open_weekdays=frozenset(settings.open_weekdays),
    )


def locale_of(settings: ClinicSettings) -> ClinicLocale:
    return ClinicLocale(
        zone=zone(settings.time_zone),
        calendar=calendar_of(settings),
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
        date_format=DateFormat(settings.date_format),
        time_format=TimeFormat(settings.time_format),
    )


def clinic_locale() -> ClinicLocale:
    return locale_of(clinic_settings())


def clinic_today(now: datetime | None = None) -> date:
    """The clinic's calendar day at `now` (default: the clock's present)."""
    return clinic_locale().today(now or clock.now())
