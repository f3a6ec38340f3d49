"""Load test of the clinic service on PostgreSQL (`painpump bench-load`, scripts/bench-load): the
10,000-patient data set of the clinic benchmark, copied fresh for each run from a template database
seeded once a day; `painpump serve`'s gunicorn with worker recycling off; locust clients
(painpump.devtools.load.users) stepping the offered rate of the dashboard, the patient chart and the
refill visit until p95 passes 100 ms; then a long run of a clinic's mix while the RSS of every
worker is sampled. Prints each step's p50/p95/p99 and errors, the highest rate that held, and the
workers' memory (start, end, max, slope)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from painpump.devtools.load import plan as load_plan
from painpump.devtools.load.proc import memory_gib, rss_mb, worker_pids

TARGET_MS = 100.0
REFILL_MARGIN_DAYS = 14
"""Refills go to pumps not due within two weeks, so the dashboard's refill lists (due this
week, overdue) stay the same during a run."""
DEFAULT_STEPS = (2, 5, 10, 15, 20, 25, 30, 40, 50, 60)
DEFAULT_REFILL_STEPS = (1, 2, 4, 6, 8, 10, 12, 15)
PROFILES = tuple(load_plan.PROFILES)


@dataclass(frozen=True)
class Options:
    """What to run: the rates of each profile's steps (visits/s), how long, how many clients and
    workers, and the memory run."""

    patients: int = 10_000
    profiles: Sequence[str] = PROFILES
    steps: Sequence[float] = DEFAULT_STEPS
    refill_steps: Sequence[float] = DEFAULT_REFILL_STEPS
    seconds: float = 30
    warmup: float = 10
    settle: float = 5
    users: int = 20
    workers: int = 2
    memory_minutes: float = 15
    memory_rate: float = 10
    sample_every: float = 5
    reseed: bool = False


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "painpump bench-load runs on PostgreSQL: set DATABASE_URL (scripts/bench-load does)"
        )
    return url


def _with_name(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def _admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(_with_name(url, "postgres"), autocommit=True)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"database name {name!r}: letters, digits and _ only")
    return f'"{name}"'


def _schema() -> str:
    """The newest migration of each app: a data set written under another schema is reseeded."""
    root = resources.files("painpump")
    heads = []
    for app in ("clinic", "plumbing", "api"):
        names = sorted(
            entry.name
            for entry in root.joinpath(app, "migrations").iterdir()
            if entry.name[:4].isdigit()
        )
        heads.append(names[-1].removesuffix(".py") if names else f"{app}: none")
    return ", ".join(heads)


def prepare_database(url: str, patients: int, reseed: bool, out: Callable[[str], None]) -> None:
    """The load database made afresh as a copy of `<name>_seed`, which is seeded (in a process
    of its own) when missing, of another size, from another day or `reseed`: the data set's
    refill dates are relative to the day it was written."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    seed = f"{name}_seed"
    stamp = (
        f"painpump load data set: {patients} patients, seeded {date.today().isoformat()}, "
        f"schema {_schema()}"
    )
    with _admin(url) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (seed,),
        ).fetchone()
        if reseed or row is None or row[0] != stamp:
            admin.execute(f"DROP DATABASE IF EXISTS {_ident(seed)}")
            admin.execute(f"CREATE DATABASE {_ident(seed)}")
            subprocess.run(
                [sys.executable, "-m", "painpump.devtools.load.run", "seed", str(patients)],
                env={**os.environ, "DATABASE_URL": _with_name(url, seed)},
                check=True,
            )
            admin.execute(f"COMMENT ON DATABASE {_ident(seed)} IS '{stamp}'")
        else:
            out(f"data set: reusing {seed} ({row[0]})")
        admin.execute(f"DROP DATABASE IF EXISTS {_ident(name)}")
        admin.execute(f"CREATE DATABASE {_ident(name)} TEMPLATE {_ident(seed)}")


def seed(patients: int) -> None:
    """Write the clinic benchmark's data set into the configured (template) database."""
    from painpump.runtime import setup_django

    setup_django()
    from django.core.management import call_command

    from painpump.devtools.bench.clinic import generate

    call_command("migrate", interactive=False, verbosity=0)
    generate(patients, 1, datetime.now(UTC).replace(microsecond=0), print)


@dataclass(frozen=True)
class Clinic:
    """Who the clients are and what they open: a physician's password (the web pages) and
    read-write API token, the patients whose charts are opened, the pumps refilled."""

    username: str
    password: str
    token: str
    patients: list[str]
    implants: list[str]
    searches: list[str]


def clinic_for_load(
    username: str, *, limit: int = 3000, seed: int = 1, due_after: date | None = None
) -> Clinic:
    """Sign-in and token for `username`, and (in a fixed shuffled order) patients with a pump
    and the pumps in place that have been filled, those due for a refill by `due_after` left
    out (by default REFILL_MARGIN_DAYS from today; date.min: none)."""
    import secrets

    from django.contrib.auth.models import User
    from django.db.models import Max

    from painpump.api import tokens
    from painpump.clinic.models import Implant, Patient

    password = secrets.token_urlsafe(24)
    user = User.objects.get(username=username)
    user.set_password(password)
    user.save(update_fields=["password"])
    token = tokens.create(username, read_only=False, name="load test").secret
    rng = random.Random(seed)
    patients = [
        str(p)
        for p in Patient.objects.filter(episodes__implants__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    ]
    due = due_after or date.today() + timedelta(days=REFILL_MARGIN_DAYS)
    implants = [
        str(i)
        for i in Implant.objects.filter(explanted_on__isnull=True, refill_by__gt=due)
        .annotate(filled=Max("refills__performed_at"))
        .filter(filled__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    ]
    names = sorted(set(Patient.objects.values_list("family_name", flat=True)[:5000]))
    for found in (patients, implants, names):
        rng.shuffle(found)
    return Clinic(username, password, token, patients[:limit], implants[:limit], names[:200])


@dataclass
class Sampler:
    """The RSS of every worker of a gunicorn master every `every` seconds, in a thread."""

    master: int
    every: float
    samples: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        began = time.monotonic()

        def sample() -> None:
            while not self._stop.is_set():
                at = time.monotonic() - began
                for pid in worker_pids(self.master):
                    size = rss_mb(pid)
                    if size is not None:
                        self.samples.setdefault(pid, []).append((at, size))
                self._stop.wait(self.every)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def slope_mb_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of RSS against time."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var * 3600


def memory_report(
    samples: dict[int, list[tuple[float, float]]], skip: float = 0
) -> list[dict[str, Any]]:
    """Per worker: RSS at the start (the first sample after `skip` seconds of sign-in and
    warm-up), at the end and its max, and the slope over the run and over its second half."""
    report = []
    for pid, taken in sorted(samples.items()):
        points = [p for p in taken if p[0] >= skip] or taken
        half = points[len(points) // 2 :]
        report.append(
            {
                "pid": pid,
                "samples": len(points),
                "minutes": round((points[-1][0] - points[0][0]) / 60, 1),
                "start_mb": round(points[0][1], 1),
                "end_mb": round(points[-1][1], 1),
                "max_mb": round(max(m for _, m in points), 1),
                "slope_mb_per_hour": round(slope_mb_per_hour(points), 2),
                "second_half_slope_mb_per_hour": round(slope_mb_per_hour(half), 2),
            }
        )
    return report


def run_clients(config: dict[str, Any]) -> dict[str, Any]:
    """The locust clients (painpump.devtools.load.users), in a process of their own; their
    results."""
    with tempfile.TemporaryDirectory() as work:
        given, taken = Path(work) / "config.json", Path(work) / "results.json"
        given.write_text(json.dumps(config))
        subprocess.run(
            [sys.executable, "-m", "painpump.devtools.load.users", str(given), str(taken)],
            check=True,
        )
        results: dict[str, Any] = json.loads(taken.read_text())
        return results


def client_config(
    clinic: Clinic,
    host: str,
    users: int,
    phases: list[dict[str, Any]],
    *,
    retry_every: int = 10,
    server: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """What painpump.devtools.load.users is told: where, who, what to open and the phases; every
    `retry_every`th refill of a user is sent twice with the same idempotency key; `server` (the
    gunicorn master's pid, the database's name) has each step's CPU time measured."""
    measured = {} if server is None else {"server_pid": server[0], "database": server[1]}
    return measured | {
        "host": host,
        "users": users,
        "username": clinic.username,
        "password": clinic.password,
        "token": clinic.token,
        "patients": clinic.patients,
        "implants": clinic.implants,
        "searches": clinic.searches,
        "target_ms": TARGET_MS,
        "retry_every": retry_every,
        "phases": phases,
    }


def step_phases(options: Options) -> list[dict[str, Any]]:
    return [
        {
            "profile": profile,
            "rates": list(options.refill_steps if profile == "refill" else options.steps),
            "warmup": options.warmup,
            "settle": options.settle,
            "seconds": options.seconds,
            "stop_on_fail": True,
        }
        for profile in options.profiles
    ]


def format_step(step: dict[str, Any]) -> list[str]:
    verdict = "held" if step["held"] else "NOT held"
    lines = [
        f"{step['profile']} at {step['rate']:g} visits/s offered: "
        f"{step['visits_per_second']:g} visits/s made, {verdict}"
    ]
    for name, r in step["requests"].items():
        lines.append(
            f"    {name}: {r['requests']} requests ({r['per_second']:g}/s), p50 {r['p50_ms']} "
            f"/ p95 {r['p95_ms']} / p99 {r['p99_ms']} ms, max {r['max_ms']} ms, "
            f"errors {r['errors']}" + (f" {r['first_errors']}" if r["errors"] else "")
        )
    cpu = step.get("cpu")
    if cpu is not None:
        shares = ", ".join(f"{k} {v:g} %" for k, v in cpu["percent_of_cores"].items())
        lines.append(
            f"    CPU (% of {cpu['cores']} cores): {shares}; per request: workers "
            f"{cpu['workers_ms_per_request']} ms, PostgreSQL {cpu['database_ms_per_request']} ms"
        )
    return lines


def highest_held(steps: list[dict[str, Any]], profile: str) -> dict[str, Any] | None:
    """The highest step of the profile that held, when every step below it held too."""
    best = None
    for step in steps:
        if step["profile"] != profile:
            continue
        if not step["held"]:
            break
        best = step
    return best


def main(options: Options, out: Callable[[str], None], json_out: Path | None = None) -> None:
    from painpump.devtools.bench.twin import machine
    from painpump.runtime import free_port, gunicorn_argv, setup_django, wait_for_port

    url = database_url()
    name = url.rsplit("/", 1)[1].split("?")[0]
    out(f"machine: {machine()}, {memory_gib():.0f} GiB")
    out(f"started: {datetime.now(UTC).isoformat(timespec='seconds')}")
    prepare_database(url, options.patients, options.reseed, out)
    setup_django()
    from django.db import connection, connections

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    out(f"database: PostgreSQL {version} ({connection.settings_dict['NAME']})")
    clinic = clinic_for_load("bench.physician")
    connections.close_all()
    out(
        f"clients: {options.users} locust users (one process), {len(clinic.patients)} charts, "
        f"{len(clinic.implants)} pumps to refill"
    )
    port = free_port()
    argv = gunicorn_argv("127.0.0.1", port, options.workers, 60, max_requests=0)
    out(f"server: gunicorn, {options.workers} buffered workers, worker recycling off")
    # The clients sign in with a password alone (no authenticator app to ask for a code).
    server = subprocess.Popen(argv, env=os.environ | {"PAINPUMP_REQUIRE_2FA": "0"})
    results: dict[str, Any] = {"options": options.__dict__ | {"profiles": list(options.profiles)}}
    try:
        wait_for_port(port)
        host = f"http://127.0.0.1:{port}"
        phases = step_phases(options)
        if phases:
            stepped = run_clients(
                client_config(clinic, host, options.users, phases, server=(server.pid, name))
            )
            results["steps"] = stepped["steps"]
            for step in stepped["steps"]:
                for line in format_step(step):
                    out(line)
            for profile in options.profiles:
                best = highest_held(stepped["steps"], profile)
                out(
                    f"highest rate held ({profile}): "
                    + (
                        "none"
                        if best is None
                        else f"{best['rate']:g} visits/s "
                        + ", ".join(
                            f"{n} p50 {r['p50_ms']} / p95 {r['p95_ms']} / p99 {r['p99_ms']} ms"
                            for n, r in best["requests"].items()
                        )
                    )
                )
        if options.memory_minutes > 0:
            out(
                f"memory run: mixed profile at {options.memory_rate:g} visits/s for "
                f"{options.memory_minutes:g} min, RSS of each worker every "
                f"{options.sample_every:g} s"
            )
            sampler = Sampler(server.pid, options.sample_every)
            phase = {
                "profile": "mixed",
                "rates": [options.memory_rate],
                "warmup": options.warmup,
                "settle": 0,
                "seconds": options.memory_minutes * 60,
                "stop_on_fail": False,
            }
            sampler.start()
            try:
                long_run = run_clients(
                    client_config(clinic, host, options.users, [phase], server=(server.pid, name))
                )
            finally:
                sampler.stop()
            results["memory_run"] = long_run["steps"]
            for line in format_step(long_run["steps"][0]):
                out(line)
            results["memory"] = memory_report(sampler.samples, skip=options.warmup + 20)
            for worker in results["memory"]:
                out(
                    f"worker {worker['pid']}: RSS {worker['start_mb']} MB at the start, "
                    f"{worker['end_mb']} MB at the end ({worker['minutes']} min), max "
                    f"{worker['max_mb']} MB; slope {worker['slope_mb_per_hour']} MB/h, "
                    f"second half {worker['second_half_slope_mb_per_hour']} MB/h"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed(int(sys.argv[2]))
