"""A database that cannot serve (PostgreSQL away or restarting, a full disk, a read-only
database): the API answers 503 with a plain reason and Retry-After, never a 500, a stack trace or
the database's own message; the request's changes are rolled back; the worker drops its
connection and the next request works again. Other database errors (a missing table, a
serialization failure) are not disguised as an outage. The errors are the drivers' real ones:
SQLite's from a real full and a real read-only database, psycopg's by their SQLSTATE classes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors as pg
import pytest
from django.contrib.auth.models import User
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    connections,
)
from django.test import Client, RequestFactory
from therapy_setup import baclofen_implant, post, refill_body

from painpump.clinic import audit
from painpump.clinic.models import AuditEntry, Implant, Patient, Refill
from painpump.clinic.roles import Role
from painpump.plumbing.unavailable import MESSAGES, DatabaseUnavailableMiddleware, classify

DJANGO_CLASSES: tuple[type[Exception], ...] = (
    InterfaceError,
    InternalError,
    IntegrityError,
    OperationalError,
    DatabaseError,
)


def as_django(cause: Exception) -> Exception:
    """The error Django raises for a driver's error: the class of the same name, caused by it."""
    for django_class in DJANGO_CLASSES:
        for driver in (sqlite3, psycopg):
            if isinstance(cause, getattr(driver, django_class.__name__)):
                error = django_class(*cause.args)
                error.__cause__ = cause
                return error
    raise AssertionError(f"not a driver error: {cause!r}")


def sqlite_error(tmp_path: Path, action: Callable[[sqlite3.Connection], Any]) -> Exception:
    """The error SQLite really raises for `action` on a small database in tmp_path."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS t (x TEXT)")
    try:
        action(sqlite3.connect(path))
    except sqlite3.Error as error:
        return error
    raise AssertionError("SQLite raised nothing")


def fill_up(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA max_page_count = 3")  # a full disk, as SQLite reports it
    for _ in range(100):
        db.execute("INSERT INTO t VALUES (?)", ("x" * 1000,))
        db.commit()


def write_read_only(db: sqlite3.Connection) -> None:
    path = db.execute("PRAGMA database_list").fetchone()[2]
    db.close()
    sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("INSERT INTO t VALUES ('x')")


def test_a_full_sqlite_database_is_named_full(tmp_path: Path) -> None:
    found = classify(as_django(sqlite_error(tmp_path, fill_up)))
    assert found is not None and found.reason == "database_full"
    assert "nothing was changed" in found.message


def test_a_read_only_sqlite_database_is_named_read_only(tmp_path: Path) -> None:
    found = classify(as_django(sqlite_error(tmp_path, write_read_only)))
    assert found is not None and found.reason == "database_read_only"
    assert "nothing was changed" in found.message


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (psycopg.OperationalError("connection refused"), "database_unavailable"),
        (pg.AdminShutdown("terminating connection"), "database_unavailable"),
        (pg.CannotConnectNow("the database system is starting up"), "database_unavailable"),
        (psycopg.InterfaceError("the connection is closed"), "database_unavailable"),
        (pg.DiskFull("could not extend file"), "database_full"),
        (pg.ReadOnlySqlTransaction("cannot execute INSERT"), "database_read_only"),
    ],
    ids=["refused", "shutdown", "starting", "closed", "disk-full", "read-only"],
)
def test_postgresql_away_full_or_read_only_is_named_so(cause: Exception, reason: str) -> None:
    found = classify(as_django(cause))
    assert found is not None and found.reason == reason


@pytest.mark.parametrize(
    "cause",
    [
        pg.SerializationFailure("could not serialize access"),
        pg.DeadlockDetected("deadlock detected"),
        pg.InFailedSqlTransaction("current transaction is aborted"),
        pg.UniqueViolation("duplicate key"),
    ],
    ids=["serialization", "deadlock", "aborted", "unique"],
)
def test_other_postgresql_errors_are_not_disguised_as_an_outage(cause: Exception) -> None:
    assert classify(as_django(cause)) is None


def test_a_missing_sqlite_table_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    missing = sqlite_error(tmp_path, lambda db: db.execute("SELECT * FROM nowhere"))
    assert classify(as_django(missing)) is None
    assert classify(ValueError("not a database error")) is None


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


@pytest.fixture
def audit_fails(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Exception], None]]:
    """Make the refill's audit entry (its last write, after the refill rows) fail with `cause`."""

    def arm(cause: Exception) -> None:
        monkeypatch.setattr(audit, "record", _raises(cause))

    yield arm


def assert_clean_503(response: Any, reason: str) -> dict[str, Any]:
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"].isdigit()
    body = response.content.decode()
    assert "Traceback" not in body and "MRN-0001" not in body and "Muster" not in body
    error: dict[str, Any] = json.loads(body)["error"]
    assert error == {"message": MESSAGES[reason], "reason": reason}
    return error


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (pg.AdminShutdown("terminating connection due to administrator command"), "unavailable"),
        (pg.DiskFull("could not extend file"), "full"),
        (pg.ReadOnlySqlTransaction("cannot execute INSERT"), "read_only"),
    ],
    ids=["postgresql-restarting", "disk-full", "read-only"],
)
def test_a_refill_the_database_fails_midway_is_a_503_and_stores_nothing(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    audit_fails: Callable[[Exception], None],
    cause: Exception,
    reason: str,
) -> None:
    entries = AuditEntry.objects.count()
    audit_fails(cause)
    response = post(
        client_as(Role.NURSE),
        f"/api/implants/{implant.id}/refills",
        refill_body(idempotency_key="in-the-outage", version=implant.version),
    )
    assert_clean_503(response, f"database_{reason}")
    assert not Refill.objects.filter(idempotency_key="in-the-outage").exists()
    assert Refill.objects.filter(implant=implant).count() == 1  # the first fill only
    assert Implant.objects.get(id=implant.id).version == implant.version
    assert AuditEntry.objects.count() == entries


def test_an_unclassified_database_error_in_the_api_is_not_turned_into_a_503(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    audit_fails: Callable[[Exception], None],
) -> None:
    audit_fails(pg.SerializationFailure("could not serialize access"))
    with pytest.raises(OperationalError):
        post(
            client_as(Role.NURSE),
            f"/api/implants/{implant.id}/refills",
            refill_body(idempotency_key="k", version=implant.version),
        )


def test_an_outage_outside_the_api_view_is_a_503_json_error_for_api_paths() -> None:
    """A failure the API's handlers never see (opening the request's transaction, committing
    it) reaches the middleware, which answers an API path in JSON."""
    middleware = DatabaseUnavailableMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    request = RequestFactory().post("/api/implants/x/refills")
    response = middleware.process_exception(
        request, as_django(psycopg.OperationalError("connection refused"))
    )
    assert response is not None
    assert_clean_503(response, "database_unavailable")


@pytest.mark.django_db(transaction=True)
def test_after_a_database_failure_the_worker_drops_its_connection_and_serves_again(
    client_as: Callable[[Role | None], Client],
    implant: Implant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nurse = client_as(Role.NURSE)
    url = f"/api/implants/{implant.id}/refills"
    wrapper = connections[DEFAULT_DB_ALIAS]
    closed: list[bool] = []
    close = wrapper.close

    def spy() -> None:
        closed.append(True)
        close()

    monkeypatch.setattr(wrapper, "close", spy)
    with monkeypatch.context() as patched:
        patched.setattr(audit, "record", _raises(pg.AdminShutdown("terminating connection")))
        assert (
            post(nurse, url, refill_body(idempotency_key="k", version=implant.version)).status_code
            == 503
        )
    assert closed, "the failed connection was kept"
    again = post(nurse, url, refill_body(idempotency_key="k", version=implant.version))
    assert again.status_code == 201, again.content
    assert Refill.objects.filter(idempotency_key="k").count() == 1


def _raises(cause: Exception) -> Callable[..., None]:
    def record(*args: Any, **kwargs: Any) -> None:
        raise as_django(cause)

    return record


def test_a_read_whose_audit_entry_cannot_be_written_sends_none_of_the_record(
    users: dict[Role, User], patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GET's audit entry is written after its read: when that fails, the read is not sent.
    (It fails outside the view, where the served request's outer middleware answers.)"""
    monkeypatch.setattr(audit, "_append", _raises(pg.DiskFull("could not extend file")))
    entries = AuditEntry.objects.count()
    client = Client(raise_request_exception=False)
    client.force_login(users[Role.NURSE])
    response = client.get(f"/api/patients/{patient.id}")
    assert_clean_503(response, "database_full")
    assert AuditEntry.objects.count() == entries
