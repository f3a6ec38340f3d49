"""A page asked for while the database cannot serve is a 503 page that says so in words (no
stack trace, no 500, no patient data), rendered without touching the database; a database error
of another kind is not disguised as an outage."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import psycopg.errors as pg
import pytest
from django.contrib.auth.models import User
from django.db import InternalError, OperationalError
from django.test import Client

from painpump.clinic.models import Patient
from painpump.plumbing.unavailable import MESSAGES
from painpump.web.views import dashboard


def failing(error: Exception) -> Any:
    def worklist(*args: Any, **kwargs: Any) -> None:
        raise error

    return worklist


def caused_by(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "title", "reason"),
    [
        (
            caused_by(OperationalError("refused"), psycopg.OperationalError("refused")),
            "The database is unavailable",
            "database_unavailable",
        ),
        (
            caused_by(InternalError("read-only"), pg.ReadOnlySqlTransaction("read-only")),
            "The database is read-only",
            "database_read_only",
        ),
    ],
    ids=["unavailable", "read-only"],
)
def test_a_page_while_the_database_cannot_serve_is_a_503_page(
    client: Client,
    nurse: User,
    patient: Patient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    title: str,
    reason: str,
) -> None:
    client.force_login(nurse)
    monkeypatch.setattr(dashboard, "worklist", failing(error))
    response = client.get("/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"].isdigit()
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    page = response.content.decode()
    assert f"<h1>{title}</h1>" in page and MESSAGES[reason].replace("'", "&#x27;") in page
    assert "Traceback" not in page and patient.family_name not in page
    assert nurse.get_username() not in page  # the page is rendered without the session


def test_another_database_error_on_a_page_is_not_disguised_as_an_outage(
    client: Client, nurse: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(nurse)
    lost_race = caused_by(OperationalError("serialize"), pg.SerializationFailure("serialize"))
    monkeypatch.setattr(dashboard, "worklist", failing(lost_race))
    with pytest.raises(OperationalError):
        client.get("/")


class SessionReadFails:
    """A middleware reading the database before the view (as the session limits do) while the
    database is away."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        raise caused_by(OperationalError("refused"), psycopg.OperationalError("refused"))


@pytest.mark.parametrize(
    ("path", "kind"), [("/", "text/html"), ("/api/settings", "application/json")]
)
def test_an_outage_in_a_middleware_before_the_view_is_a_503_without_a_logged_stack_trace(
    settings: Any, caplog: pytest.LogCaptureFixture, path: str, kind: str
) -> None:
    # before the first of ours that reads the database (the clinic's time zone)
    first_read = settings.MIDDLEWARE.index("painpump.web.clinic_zone.ClinicTimeZoneMiddleware")
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:first_read],
        f"{SessionReadFails.__module__}.{SessionReadFails.__name__}",
        *settings.MIDDLEWARE[first_read:],
    ]
    with caplog.at_level(logging.WARNING):
        response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 503
    assert response["Content-Type"].startswith(kind)
    assert response["Retry-After"].isdigit()
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert response["X-Frame-Options"] == "DENY"
    assert "Traceback" not in response.content.decode()
    assert not [r for r in caplog.records if r.exc_info], "a stack trace was logged"
    assert any("database_unavailable" in r.getMessage() for r in caplog.records)
