"""`python -m painpump.devtools.faults` (scripts/fault-drills): the drills on SQLite, then on
PostgreSQL in a cluster of their own (created for the run, dropped after it), each database's drills
in a process of its own; prints the figures and exits 1 when a drill found a problem. Counts:
--rounds (PAINPUMP_FAULT_ROUNDS, default 10 kills a database) and --restarts
(PAINPUMP_FAULT_RESTARTS, default 3 PostgreSQL restarts). Needs root (tmpfs mounts, the PostgreSQL
cluster)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from typing import Any

from painpump.devtools.faults import postgres


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fault-drills", description=__doc__)
    parser.add_argument(
        "--rounds", type=int, default=int(os.environ.get("PAINPUMP_FAULT_ROUNDS", "10"))
    )
    parser.add_argument(
        "--restarts", type=int, default=int(os.environ.get("PAINPUMP_FAULT_RESTARTS", "3"))
    )
    parser.add_argument("--patients", type=int, default=3, help="nurses, each refilling a pump")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    parser.add_argument("--database", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--drills", default="", help="comma-separated; default: all")
    parser.add_argument("--json", help="also write the reports to this file")
    return parser.parse_args()


def _suite(database: str, options: argparse.Namespace) -> list[dict[str, Any]]:
    argv = [
        sys.executable, "-m", "painpump.devtools.faults.drill", database,
        "--rounds", str(options.rounds), "--restarts", str(options.restarts),
        "--patients", str(options.patients), "--seed", str(options.seed),
    ]  # fmt: skip
    if options.drills:
        known = {"sigkill", "disk-full", "read-only"} if database == "sqlite" else set()
        known |= {"sigkill", "postgres-restart", "read-only"} if database == "postgres" else set()
        argv += ["--drills", ",".join(d for d in options.drills.split(",") if d in known)]
    done = subprocess.run(argv, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    try:
        reports: list[dict[str, Any]] = json.loads(lines[-1])
    except (IndexError, ValueError):
        return [
            {"drill": "all", "database": database, "figures": {}, "problems": [done.stderr[-2000:]]}
        ]
    return reports


def _show(report: dict[str, Any]) -> None:
    if "work" in report:
        print(f"   logs kept in {report['work']}")
        return
    print(f"== {report['drill']} on {report['database']}")
    for name, value in report["figures"].items():
        print(f"   {name}: {json.dumps(value) if isinstance(value, dict) else value}")
    for problem in report["problems"]:
        print(f"   PROBLEM: {problem}")


def main() -> None:
    options = _options()
    if os.geteuid() != 0:
        sys.exit("fault-drills: needs root (tmpfs mounts, a PostgreSQL cluster of its own)")
    databases = options.database or ["sqlite", "postgres"]
    print(
        f"fault drills: seed {options.seed}, {options.rounds} kills, {options.restarts} "
        f"PostgreSQL restarts, {options.patients} nurses; {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    began = time.monotonic()
    reports: list[dict[str, Any]] = []
    for database in databases:
        if database == "postgres" and not postgres.available():
            print("== PostgreSQL drills skipped: pg_ctlcluster is not installed")
            continue
        if database == "postgres":
            postgres.create()
        try:
            found = _suite(database, options)
        finally:
            if database == "postgres":
                postgres.drop()
        for report in found:
            _show(report)
        reports += found
    seconds = time.monotonic() - began
    failed = [r for r in reports if r.get("problems")]
    print(
        f"fault drills: {len(reports)} reports in {seconds:.0f} s, {len(failed)} with problems; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(
                {"seed": options.seed, "seconds": round(seconds, 1), "reports": reports},
                out,
                indent=1,
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
