"""Signed-in answers are never kept by a browser or a proxy cache: a shared ward computer's back
button or cache must not show a patient's chart after sign-out (Cache-Control: no-store)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase


class NoStoreWhenSignedInMiddleware:
    """Adds Cache-Control: no-store to every answer to a signed-in session or an API token."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or "Authorization" in request.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
