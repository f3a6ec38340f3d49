"""Regression (issue 14, the last outside attack): each request to a Host not allowed wrote
Django's traceback to the log (django.security.DisallowedHost), a page of log per request. The
service's log handler (settings.LOGGING, painpump.plumbing.bad_request.OneLine) writes one line
naming the request and the reason, escaped and shortened, as both come from the client."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from painpump.plumbing.bad_request import OneLine


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """What the service's own log handler (the root's, with the OneLine filter) writes."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and any(isinstance(f, OneLine) for f in h.filters)
    )
    written = io.StringIO()
    before, handler.stream = handler.stream, written  # not setStream: it flushes the stream
    try:  # before, which another test's captured stderr may have been and is closed now
        yield written
    finally:
        handler.stream = before


@pytest.mark.parametrize("path", ["/api/auth/me", "/sign-in/"])
def test_regression_a_host_not_allowed_is_logged_as_one_line_without_a_traceback(
    client: Client, service_log: io.StringIO, path: str
) -> None:
    assert client.get(path, HTTP_HOST="evil.example").status_code == 400
    lines = service_log.getvalue().splitlines()
    assert len(lines) == 1, service_log.getvalue()
    assert lines[0].startswith(f"refused with 400: GET {path}: Invalid HTTP_HOST header: ")
    assert "'evil.example'" in lines[0]
    assert "Traceback" not in service_log.getvalue()


def test_a_logged_bad_request_escapes_and_shortens_what_the_client_sent(
    client: Client, service_log: io.StringIO
) -> None:
    """A newline in the path cannot forge a second log line; a long Host is not written in
    full."""
    host = "a" * 5000 + ".example"
    assert client.get("/api/x%0Aforged", HTTP_HOST=host).status_code == 400
    lines = service_log.getvalue().splitlines()
    assert len(lines) == 1
    assert "GET /api/x\\u000aforged: " in lines[0]
    assert len(lines[0]) < 400 and "characters)" in lines[0]


@pytest.mark.django_db
def test_regression_a_long_unknown_path_is_logged_shortened(
    client: Client, service_log: io.StringIO
) -> None:
    """The sixth outside attack: `Not Found: /api/AAAA...` repeated a 4 KB path in every line."""
    assert client.get("/api/" + "A" * 4000).status_code == 404
    logged = service_log.getvalue()
    assert "Not Found: /api/AAAA" in logged
    assert len(logged) < 400, len(logged)
