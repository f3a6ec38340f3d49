"""Pages show every moment on the clinic's wall clock: each request runs in the clinic's time
zone (ClinicSettings.time_zone), so Django's date filters convert the stored UTC to it, and
holds the clinic's locale (`current_locale()`) for the clinic_time template filters, which write
days and times in the clinic's own formats."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from painpump.clinic.locale import clinic_locale
from painpump.core.locale import ClinicLocale

_LOCALE: ContextVar[ClinicLocale | None] = ContextVar("clinic_locale", default=None)


def current_locale() -> ClinicLocale:
    """The clinic's locale of the request being served (read once per request); outside a
    request (a test rendering a template, a command), the one in the settings now."""
    return _LOCALE.get() or clinic_locale()


class ClinicTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        locale = clinic_locale()
        token = _LOCALE.set(locale)
        timezone.activate(locale.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
            _LOCALE.reset(token)
