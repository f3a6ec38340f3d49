"""A PostgreSQL cluster of the drills' own (Debian's pg_createcluster, by default 'faults' on
port 5440), which they stop, restart and make read-only: the main cluster, which others use, is
never touched. Needs root and Debian's postgresql package (scripts/postgres --install)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CLUSTER = os.environ.get("PAINPUMP_FAULT_PG_CLUSTER", "faults")
PORT = int(os.environ.get("PAINPUMP_FAULT_PG_PORT", "5440"))
ROLE = "painpump_faults"
PASSWORD = "painpump_faults"  # a throwaway cluster on loopback, dropped after the drills


def available() -> bool:
    return shutil.which("pg_ctlcluster") is not None and os.geteuid() == 0


def version() -> str:
    return sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))[-1].name


def _run(*argv: str) -> str:
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return done.stdout


def psql(sql: str, database: str = "postgres") -> str:
    """Run SQL as the postgres superuser in the drills' cluster."""
    return _run(
        "runuser", "-u", "postgres", "--", "psql", "-p", str(PORT), "-d", database,
        "-v", "ON_ERROR_STOP=1", "-qtAc", sql,
    )  # fmt: skip


def exists() -> bool:
    return any(
        line.split()[:2] == [version(), CLUSTER]
        for line in _run("pg_lsclusters", "-h").splitlines()
    )


def create() -> None:
    """Create and start the cluster (if missing) with the drills' role."""
    if not exists():
        _run("pg_createcluster", version(), CLUSTER, "--port", str(PORT), "--start-conf", "manual")
    start()
    if psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'").strip() != "1":
        psql(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'")


def start() -> None:
    """Start the cluster and wait until it accepts connections (pg_ctl -w)."""
    subprocess.run(["pg_ctlcluster", version(), CLUSTER, "start"], check=False, capture_output=True)
    _run("pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PORT), "-t", "30")


def stop() -> None:
    """Stop it the quick way: sessions are ended, their open transactions rolled back."""
    _run("pg_ctlcluster", version(), CLUSTER, "stop", "-m", "fast")


def drop() -> None:
    _run("pg_dropcluster", "--stop", version(), CLUSTER)


def database(name: str) -> str:
    """A new, empty database owned by the drills' role; its DATABASE_URL."""
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name} OWNER {ROLE}")
    return f"postgres://{ROLE}:{PASSWORD}@127.0.0.1:{PORT}/{name}"


def drop_database(name: str) -> None:
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def read_only(name: str, on: bool) -> None:
    """Make a database read-only (or writable again) for new sessions, and end its current
    sessions so that they reconnect under the new setting, as an administrator would."""
    psql(f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}")
    psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
