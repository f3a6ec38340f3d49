"""What the load test reads about processes from Linux's /proc: a gunicorn master's workers,
their resident memory, the CPU time of the workers and of PostgreSQL's backends for one database,
and the whole machine's busy time (how much the other tenants of a shared machine took)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3, the state, first)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _pids() -> list[int]:
    return [int(e.name) for e in PROC.iterdir() if e.name.isdigit()]


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's child processes (its workers)."""
    found = []
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields is not None and int(fields[1]) == master:
            found.append(pid)
    return sorted(found)


def backend_pids(database: str) -> list[int]:
    """PostgreSQL's backends connected to `database` (their process title names it)."""
    found = []
    for pid in _pids():
        try:
            title = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        words = title.split()
        if title.startswith("postgres: ") and database in words:
            found.append(pid)
    return found


def rss_mb(pid: int) -> float | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each process still alive, s."""
    times = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            times[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return times


def memory_gib() -> float:
    for line in (PROC / "meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (everything but idle and iowait), s."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU times at one instant: the server's workers, the database's backends, this process
    (the load generator) and the machine as a whole."""

    workers: dict[int, float]
    backends: dict[int, float]
    generator: float
    machine: float

    @classmethod
    def take(cls, master: int, database: str) -> CpuSnapshot:
        own = os.times()
        return cls(
            cpu_seconds(worker_pids(master)),
            cpu_seconds(backend_pids(database)),
            own.user + own.system,
            machine_busy_seconds(),
        )


def _spent(seen: list[dict[int, float]]) -> float:
    """CPU seconds used across snapshots of processes that may start and end in between (a
    worker's database connection is replaced every CONN_MAX_AGE): each process's last time seen
    less its first (0 for one that started after the first snapshot)."""
    first, last = seen[0], {}
    for snapshot in seen:
        last.update(snapshot)
    return sum(t - first.get(pid, 0.0) for pid, t in last.items())


def cpu_used(snapshots: list[CpuSnapshot]) -> dict[str, float]:
    """CPU seconds used from the first snapshot to the last (taken every second or so, so that
    short-lived backends are counted) by the workers, the backends, the load generator, and
    everything else on the machine."""
    before, after = snapshots[0], snapshots[-1]
    workers = _spent([s.workers for s in snapshots])
    backends = _spent([s.backends for s in snapshots])
    generator = after.generator - before.generator
    total = after.machine - before.machine
    return {
        "workers": workers,
        "database": backends,
        "generator": generator,
        "others": max(0.0, total - workers - backends - generator),
    }
