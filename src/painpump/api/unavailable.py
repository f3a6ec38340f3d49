"""A database that cannot serve a request (unreachable, restarting, full or read-only) is a 503
with a plain reason: no stack trace and never the database's own message (it can quote patient
data). The request's transaction is rolled back, and the worker drops its connection so that the
next request opens a fresh one and sees the database as it is by then (back up, writable)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    InternalError,
    OperationalError,
    connections,
)
from django.http import HttpRequest

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
