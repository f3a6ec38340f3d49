"""The clinic service's answer when its database cannot serve (down, restarting, full or
read-only): a 503 page for the web app and a 503 JSON error for the API, never a stack trace or
a 500, with the request's transaction rolled back; the worker then drops its connection so that
it recovers by itself once the database is back (see painpump.api.unavailable)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string

from painpump.api.unavailable import (
    RETRY_AFTER_SECONDS,
    classify,
    drop_connection_if_failed,
    noted,
)

TITLES = {
    "database_unavailable": "The database is unavailable",
    "database_full": "The database is full",
    "database_read_only": "The database is read-only",
}


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised anywhere in a view (its transaction included) into a 503,
    and drops the failed connection once the request is over."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        drop_connection_if_failed(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        found = classify(exception)
        if found is None:
            return None
        noted(request, exception, found)
        response: HttpResponse
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"error": found.as_error()}, status=503)
        else:
            # Rendered without the request: the page must not need the database (no session).
            page = render_to_string(
                "web/unavailable.html", {"title": TITLES[found.reason], "message": found.message}
            )
            response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
