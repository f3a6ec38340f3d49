"""The hazard log (docs/hazards.md) is evidence, not prose: every hazard the safety case must
cover is in it, each names tests, and each named test exists and passes (run here, once, in a
subprocess; a missing, skipped or failing test fails this one with the hazard it leaves open)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "docs" / "hazards.md"
CITED = re.compile(r"`(tests/[\w/]+\.py::[^`]+)`")
REQUIRED = [
    "wrong rate",
    "wrong concentration",
    "mg/mcg",
    "admixture",
    "missed refill",
    "alarm computed from the program",
    "pocket fill",
    "refill discrepancy",
    "concentration change without bridge",
    "priming",
    "ziconotide",
    "mri motor stall",
    "end of battery service",
    "lockout",
    "double-recorded refill",
    "lost or overwritten update",
    "clock or daylight-saving",
    "unauthorised change",
    "unverified change treated as verified",
    "tampered audit log",
]
"""The hazards issue 5 names; each must be the hazard of a row (matched in lower case)."""


@dataclass(frozen=True)
class Hazard:
    id: str
    hazard: str
    tests: tuple[str, ...]


def hazards() -> list[Hazard]:
    rows = []
    for line in LOG.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| H-"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 6, f"{cells[0]}: a row has 6 columns, this one {len(cells)}"
        rows.append(Hazard(cells[0], cells[1], tuple(CITED.findall(cells[5]))))
    return rows


def test_every_hazard_the_safety_case_needs_is_logged_once_with_tests() -> None:
    logged = hazards()
    ids = [h.id for h in logged]
    assert len(ids) == len(set(ids)), "hazard ids repeat"
    for needed in REQUIRED:
        assert any(needed in h.hazard.lower() for h in logged), f"no hazard row for {needed!r}"
    for hazard in logged:
        assert hazard.tests, f"{hazard.id} names no test"
        for test in hazard.tests:
            assert (ROOT / test.split("::")[0]).is_file(), f"{hazard.id}: no file for {test}"


def outcomes(report: Path) -> dict[str, str]:
    """Test id (file::name[case]) -> passed, failed, error or skipped, from a JUnit XML report."""
    found = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        modules = [i for i, p in enumerate(parts) if p.startswith("test_")]
        cut = modules[0] + 1 if modules else len(parts)
        path = "/".join(parts[:cut]) + ".py"
        owner = "::".join(parts[cut:])
        name = "::".join(p for p in (path, owner, case.get("name", "")) if p)
        verdicts = [child.tag for child in case]
        found[name] = next(
            (v for v in ("failure", "error", "skipped") if v in verdicts), "passed"
        ).replace("failure", "failed")
    return found


def covers(cited: str, run: str) -> bool:
    """A citation names one case, or a function (or class) and so all its cases."""
    return run == cited or run.startswith((cited + "[", cited + "::"))


def run_cited(cited: list[str], report: Path) -> None:
    """Runs the cited tests (and only them) in a subprocess that writes a JUnit XML report."""
    env = os.environ | {"PAINPUMP_HAZARD_RUN": "1"}
    env.pop("DATABASE_URL", None)
    options = ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-o", "addopts="]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *options, f"--junitxml={report}", *cited],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    missing = re.findall(r"ERROR: not found: (\S+)", done.stdout + done.stderr)
    assert not missing, f"the hazard log names tests that do not exist: {missing}"
    assert report.is_file(), done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.skipif(
    os.environ.get("PAINPUMP_HAZARD_RUN") == "1", reason="the run of the cited tests itself"
)
def test_every_test_the_hazard_log_names_exists_and_passes(tmp_path: Path) -> None:
    """Against the report of the whole suite's run when scripts/test names it
    (PAINPUMP_HAZARD_REPORT), else by running the cited tests here."""
    logged = hazards()
    report = Path(os.environ.get("PAINPUMP_HAZARD_REPORT", tmp_path / "hazards.xml"))
    if "PAINPUMP_HAZARD_REPORT" not in os.environ:
        run_cited(sorted({t for h in logged for t in h.tests}), report)
    ran = outcomes(report)
    for hazard in logged:
        for test in hazard.tests:
            results = {run: verdict for run, verdict in ran.items() if covers(test, run)}
            assert results, f"{hazard.id}: {test} did not run (is it in the tests?)"
            bad = {run: verdict for run, verdict in results.items() if verdict != "passed"}
            assert not bad, f"{hazard.id} ({hazard.hazard}) is not proven: {bad}"
