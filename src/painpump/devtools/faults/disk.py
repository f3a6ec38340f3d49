"""Drills: the database's disk full (SQLite on a small tmpfs filled up) and the database
read-only (that tmpfs remounted read-only; on PostgreSQL `default_transaction_read_only`). A
refill answers a clean 503 naming the cause ("nothing was changed") and no patient, reads that
write nothing still work, the same refill goes through once the disk has room or the database is
writable again, and afterwards every refill is whole, the audit chain intact and SQLite's file
sound."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable
from pathlib import Path

from django.db import connections

from painpump.devtools.faults import checks, postgres
from painpump.devtools.faults.calls import Answer, call
from painpump.devtools.faults.common import Setting, check_whole
from painpump.devtools.faults.report import Report
from painpump.devtools.faults.server import Server
from painpump.devtools.faults.workload import Refiller

BEFORE = 3  # refills done before the fault
TRIES = 3  # refills tried during the fault (all refused)
AFTER_TRIES = 5  # tries of the same refill once the fault is gone (workers reconnect)


def fill_disk(path: Path) -> int:
    """Write `path` until the file system is full; the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as filler:
        for chunk in (1 << 20, 4096, 512):
            block = b"\0" * chunk
            while True:
                try:
                    written += filler.write(block) or 0
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return written


def remount(disk: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True)


def _reads(setting: Setting, port: int) -> dict[str, int]:
    """What reads answer during the fault: those that write nothing work; a patient's chart
    needs its access entry in the audit log, so it is refused like a write."""
    clinic = setting.clinic
    implant, patient = clinic.implants[0], clinic.patients[0]
    return {
        "GET /api/settings": call(port, "GET", "/api/settings", token=clinic.token).status,
        "GET /sign-in/": call(port, "GET", "/sign-in/").status,
        "GET /api/implants/{id}/refills": call(
            port, "GET", f"/api/implants/{implant}/refills", token=clinic.token
        ).status,
        "GET /patients/{id}/ (web)": call(
            port, "GET", f"/patients/{patient}/", session=clinic.session
        ).status,
    }


def _refused(report: Report, answer: Answer, reason: str) -> None:
    """A write during the fault: a clean 503 with this reason, naming no patient."""
    if answer.status != 503:
        report.problems.append(f"a refill during the fault answered {answer.status}")
        return
    error = answer.json()["error"]
    if error.get("reason") != reason or "nothing was changed" not in error.get("message", ""):
        report.problems.append(f"a refill during the fault answered {error}")
    if "Drill" in answer.text or "DRILL-" in answer.text:
        report.problems.append("the 503 names a patient or a pump")


def _recovered(nurse: Refiller) -> int:
    """Tries until the refill refused during the fault is recorded, now the fault is gone (0 if
    it never is)."""
    number = nurse.next
    for attempt in range(1, AFTER_TRIES + 1):
        answer = nurse.send(number)
        nurse.tally.answer("refill after", answer)
        if answer.status == 201:
            nurse.recorded[nurse.key(number)] = answer.json()["id"]
            nurse.next, nurse.pending = number + 1, None
            return attempt
    return 0


def _refill(report: Report, nurse: Refiller) -> None:
    """One refill in normal service: it must be recorded."""
    number = nurse.next
    answer = nurse.send(number)
    nurse.tally.answer("refill", answer)
    if answer.status != 201:
        report.problems.append(f"a refill before the fault answered {answer.status}")
        return
    nurse.recorded[nurse.key(number)] = answer.json()["id"]
    nurse.next += 1


Step = Callable[[Server], None]


def drill(setting: Setting, name: str, reason: str, begin: Step, end: Step) -> Report:
    """Refills, then the fault (`begin`), refills refused and reads tried, then the fault gone
    (`end`) and the refused refill retried on the same server until it is recorded."""
    report = Report(name, setting.database)
    clinic, server = setting.clinic, setting.server
    start = checks.baseline(clinic.implants)
    tally, starts = setting.tally(), server.starts
    nurse = setting.nurses[0]
    for _ in range(BEFORE):
        _refill(report, nurse)
    connections.close_all()
    begin(server)
    setting.ready()
    nurse.pending = nurse.next
    for _ in range(TRIES):
        answer = nurse.send(nurse.next)
        tally.answer("refill", answer)
        _refused(report, answer, reason)
    reads = _reads(setting, server.port)
    if nurse.key(nurse.next) in checks.keys_recorded(clinic.implants):
        report.problems.append("a refill refused during the fault was stored")
    connections.close_all()
    end(server)
    tries = _recovered(nurse)
    if not tries:
        report.problems.append(f"the refill was still refused after {AFTER_TRIES} tries")
    check_whole(report, setting, start)
    report.problems += tally.problems
    report.figures.update(
        refills_before=BEFORE,
        refills_refused_during=TRIES,
        reads_during=reads,
        tries_until_recorded_after=tries,
        server_restarts=server.starts - starts,
    )
    report.count("answers", tally.statuses)
    report.count("reasons_of_503", tally.reasons)
    return report


def disk_full(setting: Setting) -> Report:
    """SQLite on a small tmpfs: filled up while the server runs, then freed."""
    assert setting.disk is not None
    filler = setting.disk / "filler"
    written: list[int] = []

    def begin(server: Server) -> None:
        written.append(fill_disk(filler))

    def end(server: Server) -> None:
        filler.unlink()

    report = drill(setting, "disk-full", "database_full", begin, end)
    report.figures["filler_bytes"] = written[0] if written else 0
    return report


def read_only_sqlite(setting: Setting) -> Report:
    """The tmpfs holding the SQLite file remounted read-only (with the server stopped: a mounted
    file system with files open for writing cannot be), then writable again under the running
    server."""
    assert setting.disk is not None
    disk = setting.disk

    def begin(server: Server) -> None:
        server.stop()
        remount(disk, "ro")
        server.start()

    def end(server: Server) -> None:
        remount(disk, "rw")

    return drill(setting, "read-only", "database_read_only", begin, end)


def read_only_postgres(setting: Setting) -> Report:
    """`ALTER DATABASE ... SET default_transaction_read_only` (its sessions ended so that they
    take it up) under the running server, then off again."""
    name = setting.database_name
    return drill(
        setting,
        "read-only",
        "database_read_only",
        lambda server: postgres.read_only(name, True),
        lambda server: postgres.read_only(name, False),
    )
