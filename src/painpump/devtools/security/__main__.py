"""`python -m painpump.devtools.security` (scripts/security-drills): the security drills of this
package one after the other, each a module with `drill(full) -> Report`: the audit trail tampered
with, slow clients, a login flood, role escalation. Small (the CI size) by default, the full sizes
with --full (figures in docs/benchmarks.md); prints the figures and exits 1 when a drill reports a
problem, stops with an error, or its module is missing."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from typing import Any

DRILLS = ("tamper", "slow_clients", "login_flood", "escalation")


def _drills(text: str) -> list[str]:
    chosen = [name.strip().replace("-", "_") for name in text.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(DRILLS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown drills {', '.join(unknown)}; the drills are {', '.join(DRILLS)}"
        )
    return chosen


def _options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="security-drills", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the full sizes (a run by hand)")
    parser.add_argument(
        "--drills",
        type=_drills,
        default=list(DRILLS),
        help=f"comma-separated, of {', '.join(DRILLS)}; default: all",
    )
    parser.add_argument("--json", help="also write the reports to this file")
    return parser.parse_args(argv)


def run(name: str, full: bool) -> dict[str, Any]:
    """The report of one drill as JSON, with its duration; a missing module or an error that
    stopped the drill is a problem."""
    module_name = f"{__package__}.{name}"
    began = time.monotonic()
    try:
        module = importlib.import_module(module_name)
        report: dict[str, Any] = module.drill(full).as_json()
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        report = _stopped(name, f"the drill module {module_name} is missing")
    except Exception:
        report = _stopped(name, f"the drill stopped: {traceback.format_exc()[-2000:]}")
    report["seconds"] = round(time.monotonic() - began, 1)
    return report


def _stopped(name: str, problem: str) -> dict[str, Any]:
    return {"drill": name, "database": "-", "figures": {}, "problems": [problem], "slow": []}


def _show(report: dict[str, Any]) -> None:
    print(f"== {report['drill']} on {report['database']} ({report['seconds']} s)")
    for name, value in report["figures"].items():
        print(f"   {name}: {json.dumps(value) if isinstance(value, dict | list) else value}")
    for problem in report["problems"]:
        print(f"   PROBLEM: {problem}")
    for finding in report.get("slow", []):
        print(f"   SLOW (a problem): {finding}")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    options = _options(argv)
    size = "full" if options.full else "small"
    print(
        f"security drills ({size}): {', '.join(options.drills)}; {platform.node()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    began = time.monotonic()
    reports = []
    for name in options.drills:
        reports.append(run(name, options.full))
        _show(reports[-1])
    seconds = time.monotonic() - began
    failed = [report for report in reports if report["problems"] or report.get("slow")]
    print(
        f"security drills: {len(reports)} reports in {seconds:.0f} s, {len(failed)} with "
        f"problems; load average {os.getloadavg()[0]:.1f}"
    )
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump(
                {"size": size, "seconds": round(seconds, 1), "reports": reports}, out, indent=1
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
