"""Pacing of expensive runs a signed-in user may start (the audit page's verification of the whole
trail: seconds of a core on a large clinic's trail): one run of an action at a time across the
clinic, every worker process and server alike, and each user's no more often than `every`. Runs
are recorded in the database as the login throttle's failures are (painpump.plumbing.throttle),
each start and end in a transaction of its own, so that every worker sees a run from its start:
the one unfinished row an action may have (a unique index) is the clinic's turn."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import Enum

from django.db import IntegrityError, transaction

from painpump import clock
from painpump.plumbing.models import PacedRun

STALE = timedelta(minutes=10)
"""The longest a request runs (`painpump serve --timeout` is 600 s at most): an unfinished run
older than this was left by a worker restarted mid-run, and no longer holds the clinic's turn."""
KEPT = timedelta(days=1)
"""Finished runs are kept this long (longer than any `every`)."""
FIRST_WAIT = 5
"""Seconds to wait for a run when no earlier one tells how long a run takes."""


class Why(Enum):
    YOURS_RECENT = "your own run started too recently"
    ANOTHER_RUNNING = "another run is under way"


class Paced(Exception):
    """The run was not started: why, and the seconds until it may be."""

    def __init__(self, why: Why, wait: int) -> None:
        super().__init__(f"{why.value}: try again in {wait} s")
        self.why = why
        self.wait = wait


@contextmanager
def paced(action: str, username: str, every: timedelta) -> Iterator[None]:
    """Run the block as `username`'s run of `action`, or raise Paced without running it."""
    run = _start(action, username, every)
    try:
        yield
    finally:
        with transaction.atomic():
            PacedRun.objects.filter(id=run).update(finished_at=clock.now())


@transaction.atomic
def _start(action: str, username: str, every: timedelta) -> int:
    now = clock.now()
    runs = PacedRun.objects.filter(action=action)
    runs.filter(finished_at=None, started_at__lt=now - STALE).update(finished_at=now)
    runs.filter(started_at__lt=now - KEPT).delete()
    last = runs.filter(username=username).order_by("-started_at").first()
    if last is not None and now < last.started_at + every:
        raise Paced(Why.YOURS_RECENT, _seconds(last.started_at + every - now))
    try:
        with transaction.atomic():
            return PacedRun.objects.create(action=action, username=username, started_at=now).id
    except IntegrityError:  # another worker holds the turn
        running = runs.filter(finished_at=None).first()
        raise Paced(Why.ANOTHER_RUNNING, _until_done(action, running, now)) from None


def _until_done(action: str, running: PacedRun | None, now: datetime) -> int:
    """Seconds until the running run ends, judged by how long the last finished one took."""
    done = (
        PacedRun.objects.filter(action=action, finished_at__isnull=False)
        .order_by("-started_at")
        .first()
    )
    if running is None or done is None or done.finished_at is None:
        return FIRST_WAIT
    return _seconds(running.started_at + (done.finished_at - done.started_at) - now)


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))
