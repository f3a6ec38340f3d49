"""Test set-up: a throwaway secret and audit key so that the fail-closed settings start
(scripts/test sets random ones), each test's own audit checkpoint file, the test clinic's time
zone, two-factor sign-in not required, and the clock held at frozen.NOW for every test.
pytest puts tests/ on the import path (pyproject: pythonpath) for the shared helpers."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings

os.environ.setdefault("PAINPUMP_SECRET_KEY", secrets.token_urlsafe(48))

from frozen import NOW, ZONE_NAME

# The test clinic's zone: for the processes tests start, and for these settings (pytest-django
# may have read them before this file ran).
os.environ["PAINPUMP_TIME_ZONE"] = ZONE_NAME
settings.PAINPUMP_TIME_ZONE = ZONE_NAME
# The audit key: for the processes tests start, and for these settings (read before this
# file, perhaps without one); checkpoints in a directory of this run's, never ./var's.
os.environ.setdefault("PAINPUMP_AUDIT_KEY", secrets.token_urlsafe(48))
if not settings.PAINPUMP_AUDIT_KEY:
    settings.PAINPUMP_AUDIT_KEY = os.environ["PAINPUMP_AUDIT_KEY"]
CHECKPOINTS = Path(tempfile.mkdtemp(prefix="painpump-audit-checkpoints-"))
atexit.register(shutil.rmtree, CHECKPOINTS, ignore_errors=True)
settings.PAINPUMP_AUDIT_CHECKPOINTS = str(CHECKPOINTS / "session.log")
# The fixtures' clinicians sign in with their password alone; the tests of two-factor sign-in
# (tests/*/test_*two_factor*) require it themselves.
os.environ["PAINPUMP_REQUIRE_2FA"] = "0"
settings.PAINPUMP_REQUIRE_2FA = False

pytest_plugins = ["clinic_fixtures"]


@pytest.fixture(autouse=True)
def audit_checkpoints() -> Path:
    """Each test's own checkpoint file (not yet written): the checkpoints of one test's
    database never stand against another's."""
    path = CHECKPOINTS / f"{uuid.uuid4().hex}.log"
    settings.PAINPUMP_AUDIT_CHECKPOINTS = str(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def frozen_session_clock() -> Iterator[None]:
    """The clock at frozen.NOW for the fixtures shared by a module or the session too."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def frozen_clock(frozen_session_clock: None) -> Iterator[time_machine.Traveller]:
    """Every test starts at frozen.NOW; the clock then runs on (sessions, throttles and
    timeouts still see time pass)."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@pytest.fixture(autouse=True)
def reading_requests_write_nothing() -> Iterator[None]:
    """A GET's view writes nothing inside its read-only scope (painpump.db.read_only). Served,
    SQLite refuses such a write (query_only); a test's request runs inside the test's own
    transaction, where that never begins, so here every statement of the scope is looked at."""
    from django.db import connection

    from painpump.db import read_only

    writes: list[str] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if read_only.active() and sql.lstrip().upper().startswith(WRITES):
            writes.append(sql[:120])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        yield
    assert not writes, f"a reading request wrote inside its read-only scope: {writes}"
