"""The clinic service's answer when its database cannot serve (unreachable, restarting, full or
read-only): a 503 with a plain reason, a page for the web app and a JSON error for the API, never
a 500, a stack trace or the database's own message (it can quote patient data). The request's
transaction is rolled back, and the worker drops its connection so that the next request opens a
fresh one and sees the database as it is by then (back up, writable).

An outage can strike outside any view too: a middleware that reads the session before the view
(painpump.web.session_limits) or saves it after (Django's SessionMiddleware). Django turns such an
error into its 500 before DatabaseUnavailableMiddleware, the outermost, sees it; so the error is
noted on the request when Django signals it, and the 500 is replaced here. Django's log record of
that 500 (with its stack trace) is dropped: the outage is logged once, as a warning naming its
kind. The API's own handler (painpump.api.errors) answers an outage inside an API operation."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.signals import got_request_exception
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    InternalError,
    OperationalError,
    connections,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string

from painpump.db import read_only
from painpump.plumbing.status import UNAVAILABLE

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGES = {
    "database_unavailable": (
        "the database is unavailable, so this request could not be completed; try again in a "
        "moment (a change retried with the same idempotency key is recorded only once)"
    ),
    "database_full": (
        "the database is full: nothing was changed; the clinic's administrator must free disk "
        "space before changes can be saved"
    ),
    "database_read_only": (
        "the database is read-only: nothing was changed; the clinic's administrator must make it "
        "writable before changes can be saved"
    ),
}
# PostgreSQL error classes of a server that is away or short of resources: connection
# exception, insufficient resources, operator intervention (shutdown, restart), system error.
POSTGRES_AWAY = ("08", "53", "57", "58")
# SQLite result codes of a database file that cannot be used just now.
SQLITE_AWAY = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN")
MARK = "_painpump_database_failed"


@dataclass(frozen=True)
class Unavailable:
    """Why the database could not serve the request, as the client is told."""

    reason: str

    @property
    def message(self) -> str:
        return MESSAGES[self.reason]

    def as_error(self) -> dict[str, Any]:
        return {"message": self.message, "reason": self.reason}


def classify(error: BaseException) -> Unavailable | None:
    """The reason a database error means "the database cannot serve now", or None for an error
    of another kind (a bug or a conflict, left to its own handler)."""
    if not isinstance(error, OperationalError | InterfaceError | InternalError):
        return None
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    sqlite = str(getattr(cause, "sqlite_errorname", ""))
    if sqlite.startswith("SQLITE_READONLY") and read_only.active():
        return None  # a request that only reads tried to write: a bug, not an outage
    if sqlstate == "25006" or sqlite.startswith("SQLITE_READONLY"):
        return Unavailable("database_read_only")
    if sqlstate == "53100" or sqlite == "SQLITE_FULL":
        return Unavailable("database_full")
    if isinstance(error, InternalError):
        return None
    if isinstance(error, InterfaceError) or sqlite.startswith(SQLITE_AWAY):
        return Unavailable("database_unavailable")
    if sqlite:
        return None  # e.g. a missing table: a bug, not an outage
    if sqlstate is None or str(sqlstate)[:2] in POSTGRES_AWAY:
        return Unavailable("database_unavailable")
    return None


def noted(request: HttpRequest, error: BaseException, found: Unavailable) -> None:
    """Log the failure (its kind, not the database's message) and mark the request so that the
    connection is dropped once the request's transaction is over."""
    log.warning(
        "%s (%s) on %s %s", found.reason, type(error).__name__, request.method, request.path
    )
    setattr(request, MARK, True)


def drop_connection_if_failed(request: HttpRequest) -> None:
    """After a request the database failed: close the connection (outside any transaction)."""
    if not getattr(request, MARK, False):
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        return  # still inside an outer transaction (a test's): its owner ends it
    try:
        connection.close()
    except DatabaseError:
        log.warning("closing the failed database connection failed too")


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
        response = JsonResponse({"error": found.as_error()}, status=UNAVAILABLE)
    else:
        # Rendered without the request: the page must not need the database (no session).
        page = render_to_string(
            "web/unavailable.html", {"title": TITLES[found.reason], "message": found.message}
        )
        response = HttpResponse(page, status=UNAVAILABLE)
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
