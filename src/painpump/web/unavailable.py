"""The clinic service's answer when its database cannot serve (down, restarting, full or
read-only): a 503 page for the web app and a 503 JSON error for the API, never a 500 or a stack
trace, with the request's transaction rolled back; the worker then drops its connection so that
it recovers by itself once the database is back (see painpump.api.unavailable).

An outage can strike outside any view too: a middleware that reads the session before the view
(painpump.web.session_limits) or saves it after (Django's SessionMiddleware). Django turns such an
error into its 500 before this middleware, the outermost, sees it; so the error is noted on the
request when Django signals it, and the 500 is replaced here. Django's log record of that 500
(with its stack trace) is dropped: the outage is logged once, as a warning naming its kind."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string

from painpump.api.unavailable import (
    RETRY_AFTER_SECONDS,
    Unavailable,
    classify,
    drop_connection_if_failed,
    noted,
)

TITLES = {
    "database_unavailable": "The database is unavailable",
    "database_full": "The database is full",
    "database_read_only": "The database is read-only",
}
OUTAGE = "_painpump_database_outage"
KEPT = frozenset({"content-type", "content-length"})  # the 503's own headers


def _note_outage(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """got_request_exception: an outage Django is about to answer with a 500 is noted."""
    error = sys.exc_info()[1]
    if error is None or request is None:
        return
    found = classify(error)
    if found is not None:
        noted(request, error, found)
        setattr(request, OUTAGE, found)


class _NotTheOutage500(logging.Filter):
    """Drops Django's "Internal Server Error" record of a 500 that was an outage."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or classify(error) is None


NOT_THE_OUTAGE_500 = _NotTheOutage500()


def answer(request: HttpRequest, found: Unavailable) -> HttpResponse:
    """The 503: the API's JSON error under /api/, else the page."""
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


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised in a view (its transaction included) or in another
    middleware into a 503, and drops the failed connection once the request is over."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_note_outage, dispatch_uid=__name__)
        logging.getLogger("django.request").addFilter(NOT_THE_OUTAGE_500)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        found: Unavailable | None = getattr(request, OUTAGE, None)
        if found is not None and response.status_code == 500:
            replaced = answer(request, found)
            for header, value in response.items():  # the security headers set on the 500
                if header.lower() not in KEPT:
                    replaced.headers.setdefault(header, value)
            response = replaced
        drop_connection_if_failed(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        found = classify(exception)
        if found is None:
            return None
        noted(request, exception, found)
        return answer(request, found)
