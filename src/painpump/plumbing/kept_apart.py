"""Each request runs within painpump.clinic.audit_apart.kept_apart: the audit entry of an attempt
refused during it (an accept whose entries differ at the double-check) is written once the
request's transaction (ATOMIC_REQUESTS) has ended, so the rollback of the refusal keeps it."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from painpump.clinic.audit_apart import kept_apart


class KeptApartMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with kept_apart():
            return self.get_response(request)
