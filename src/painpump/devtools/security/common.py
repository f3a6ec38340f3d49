"""What the security drills share: latency figures, and a drill run in a process of its own on a
throwaway SQLite clinic (its own data directory and audit key), its report read from the last
line it prints."""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from painpump.devtools.faults.report import Report


def percentile(seconds: list[float], share: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def latencies(seconds: list[float]) -> dict[str, float | int]:
    """How many requests, and their p50, p95 and largest time in milliseconds."""
    if not seconds:
        return {"requests": 0}
    return {
        "requests": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


def run_apart(name: str, args: list[str], settings: dict[str, str] | None = None) -> Report:
    """`python -m painpump.devtools.security.<name> args` on a clinic of its own (no
    DATABASE_URL, a fresh audit key): its report, or a problem when it stopped without one."""
    work = Path(tempfile.mkdtemp(prefix=f"painpump-{name}-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PAINPUMP_AUDIT") and k != "DATABASE_URL"
    }
    env |= {
        "PAINPUMP_DATA_DIR": str(work),
        "PAINPUMP_SECRET_KEY": env.get("PAINPUMP_SECRET_KEY") or secrets.token_urlsafe(48),
        "PAINPUMP_AUDIT_KEY": secrets.token_urlsafe(48),
        "PAINPUMP_AUDIT_CHECKPOINTS": str(work / "checkpoints.log"),
        **(settings or {}),
    }
    argv = [sys.executable, "-m", f"painpump.devtools.security.{name}", *args]
    try:
        done = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = Report(name, "sqlite")
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        report.problems.append(f"the drill stopped: {done.stderr[-2000:]}")
        return report
    report.figures, report.problems = found["figures"], found["problems"]
    report.slow = found.get("slow", [])
    return report
