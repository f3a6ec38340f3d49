"""The drills of one database in this process (Django is configured once per process):
`python -m painpump.devtools.faults.drill sqlite|postgres --drills sigkill,... --rounds N --seed S`.
It makes the database (SQLite: a file on a small tmpfs of its own, which the disk drills fill up and
remount read-only; PostgreSQL: a database in the drills' own cluster), migrates it, seeds the clinic
through the clinic services, starts `painpump serve`, runs the drills in turn on that server and
prints their reports as one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any

from painpump.devtools.faults import postgres
from painpump.devtools.faults.report import Report

# Each drill's function by database, imported once Django is set up (they use its models).
DRILLS = {
    "sqlite": {
        "sigkill": "sigkill.run",
        "disk-full": "disk.disk_full",
        "read-only": "disk.read_only_sqlite",
    },
    "postgres": {
        "sigkill": "sigkill.run",
        "postgres-restart": "restart.run",
        "read-only": "disk.read_only_postgres",
    },
}
DISK_SIZE = "256m"  # the SQLite drills' tmpfs: room for long runs, filled up by disk-full
DATABASE_NAME = "painpump_faults"


@contextmanager
def database(kind: str, work: Path) -> Iterator[tuple[str, Path | None]]:
    """Point this process's environment at a new database; yield its PostgreSQL name ("" for
    SQLite) and the tmpfs holding the SQLite file (None on PostgreSQL). The audit checkpoints
    of the new database go to a file of its own, beside the logs."""
    os.environ.pop("DATABASE_URL", None)
    os.environ["PAINPUMP_AUDIT_CHECKPOINTS"] = str(work / "audit-checkpoints.log")
    if kind == "postgres":
        os.environ["DATABASE_URL"] = postgres.database(DATABASE_NAME)
        try:
            yield DATABASE_NAME, None
        finally:
            _close_connections()
            postgres.drop_database(DATABASE_NAME)
        return
    data = work / "data"
    data.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(data)],
        check=True,
    )
    os.environ["PAINPUMP_DATA_DIR"] = str(data)
    try:
        yield "", data
    finally:
        _close_connections()
        subprocess.run(["umount", str(data)], check=True)


def _close_connections() -> None:
    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()


def run(kind: str, drills: list[str], options: argparse.Namespace, work: Path) -> list[Report]:
    with database(kind, work) as (database_name, disk):
        from painpump.runtime import setup_django

        setup_django()
        from django.core.management import call_command

        from painpump.devtools.faults.common import Setting
        from painpump.devtools.faults.seed import seed
        from painpump.devtools.faults.server import Server
        from painpump.devtools.faults.workload import Refiller, Tally

        call_command("migrate", interactive=False, verbosity=0)
        clinic = seed(options.patients)
        # The drills' sessions are made, not signed in: no second factor to verify them.
        server = Server(dict(os.environ) | {"PAINPUMP_REQUIRE_2FA": "0"}, work / "serve.log")
        nurses = [
            Refiller(server.port, clinic.token, implant, clinic.first_fill, Tally())
            for implant in clinic.implants
        ]
        setting = Setting(
            kind,
            work,
            clinic,
            server,
            nurses,
            options.rounds,
            options.restarts,
            random.Random(options.seed),
            database_name,
            disk,
        )
        reports = []
        try:
            server.start()
            setting.ready()
            for name in drills:
                module, function = DRILLS[kind][name].split(".")
                began = time.monotonic()
                try:
                    drill = getattr(import_module(f"painpump.devtools.faults.{module}"), function)
                    report = drill(setting)
                except Exception as error:  # a drill that cannot finish has failed, and the
                    report = Report(name, kind)  # server's state is unknown: stop here
                    report.problems.append(f"the drill stopped: {type(error).__name__}: {error}")
                    reports.append(report)
                    break
                report.figures["drill_seconds"] = round(time.monotonic() - began, 1)
                reports.append(report)
        finally:
            server.stop()
        return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database", choices=sorted(DRILLS))
    parser.add_argument("--drills", default="", help="comma-separated; default: all")
    parser.add_argument("--rounds", type=int, default=10, help="kills of the SIGKILL drill")
    parser.add_argument("--restarts", type=int, default=3, help="PostgreSQL restarts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patients", type=int, default=3, help="nurses, one pump each")
    options = parser.parse_args()
    drills = [d for d in options.drills.split(",") if d] or list(DRILLS[options.database])
    work = Path(tempfile.mkdtemp(prefix=f"painpump-faults-{options.database}-"))
    outcome: list[dict[str, Any]]
    try:
        outcome = [r.as_json() for r in run(options.database, drills, options, work)]
    except Exception as error:
        outcome = [Report("setup", options.database, problems=[f"{error}"]).as_json()]
    if any(report["problems"] for report in outcome):
        outcome.append({"work": str(work)})  # the server's log is kept for a look
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
