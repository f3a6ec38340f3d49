"""Pages show every moment on the clinic's wall clock: each request runs in the clinic's time
zone (ClinicSettings.time_zone), so Django's date filters convert the stored UTC to it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from painpump.clinic.locale import clinic_locale


class ClinicTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(clinic_locale().zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
