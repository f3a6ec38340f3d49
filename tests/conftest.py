"""Test set-up: a throwaway secret so that the fail-closed settings start (scripts/test sets a
random one), the test clinic's time zone, and the clock held at frozen.NOW for every test.
pytest puts tests/ on the import path (pyproject: pythonpath) for the shared helpers."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import time_machine
from django.conf import settings

os.environ.setdefault("PAINPUMP_SECRET_KEY", secrets.token_urlsafe(48))

from frozen import NOW, ZONE_NAME

# The test clinic's zone: for the processes tests start, and for these settings (pytest-django
# may have read them before this file ran).
os.environ["PAINPUMP_TIME_ZONE"] = ZONE_NAME
settings.PAINPUMP_TIME_ZONE = ZONE_NAME

pytest_plugins = ["clinic_fixtures"]


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
