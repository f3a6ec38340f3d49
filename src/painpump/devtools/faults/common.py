"""What every drill shares: its setting (database, the server's environment, the seeded clinic),
the request that says the service answers, and the check that after a fault every refill is
whole, one per key, as the clients were answered, with the audit chain and the file intact."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from painpump.devtools.faults import checks
from painpump.devtools.faults.calls import Lost, call
from painpump.devtools.faults.report import Report
from painpump.devtools.faults.seed import Clinic
from painpump.devtools.faults.server import Server
from painpump.devtools.faults.workload import Refiller, Tally

WAIT = 120.0  # seconds a drill waits for something that must happen


@dataclass
class Setting:
    """What the drills of one database share: its server (running when a drill begins, and
    left running when it ends), the seeded clinic and its nurses (each refilling one pump)."""

    database: str  # "sqlite" or "postgres"
    work: Path  # logs
    clinic: Clinic
    server: Server
    nurses: list[Refiller]
    rounds: int  # kills of the SIGKILL drill
    restarts: int  # PostgreSQL restarts
    rng: random.Random
    database_name: str = ""  # on PostgreSQL
    disk: Path | None = None  # the size-limited tmpfs holding the SQLite file, if any

    def ready(self) -> None:
        """Wait until the server answers."""
        self.server.wait_ready(lambda: answers(self.server.port, self.clinic.token))

    def tally(self) -> Tally:
        """A new tally for a drill, counting its nurses' answers."""
        tally = Tally()
        for nurse in self.nurses:
            nurse.tally = tally
        return tally


def answers(port: int, token: str) -> bool:
    """True when the service answers a request that reads the database (the clinic settings)."""
    try:
        return call(port, "GET", "/api/settings", token=token, timeout=5).status == 200
    except Lost:
        return False


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> float:
    """Seconds until `condition` holds (RuntimeError after `timeout`)."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"{what} did not happen in {timeout:.0f} s")
        time.sleep(0.02)
    return time.monotonic() - began


def started(targets: Iterable[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def check_whole(report: Report, setting: Setting, start: checks.Baseline) -> None:
    """Every refill whole or absent, the keys as answered (a refill whose answer was lost may be
    either), the audit chain intact, SQLite's file sound."""
    implants, nurses = setting.clinic.implants, setting.nurses
    report.problems += checks.refill_problems(implants, start)
    stored = checks.keys_recorded(implants)
    answered = {key: refill for nurse in nurses for key, refill in nurse.recorded.items()}
    uncertain = {nurse.key(nurse.pending) for nurse in nurses if nurse.pending is not None}
    for key, refill in answered.items():
        if stored.get(key) != refill:
            report.problems.append(f"refill {key} was answered {refill}, stored {stored.get(key)}")
    for key in set(stored) - set(answered) - uncertain:
        report.problems.append(f"refill {key} is stored but no client was answered it")
    if problem := checks.audit_problem():
        report.problems.append(problem)
    integrity = checks.sqlite_integrity()
    if integrity not in ("ok", "n/a"):
        report.problems.append(f"PRAGMA integrity_check: {integrity}")
    if integrity != "n/a":
        report.figures["integrity_check"] = integrity


def tracebacks(log: str) -> int:
    """Stack traces the server logged (a database outage must cause none)."""
    return log.count("Traceback (most recent call last)")
