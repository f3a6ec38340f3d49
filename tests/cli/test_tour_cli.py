"""`painpump tour`, the worked demonstration that scripts/demo runs: every step answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PAINPUMP = str(Path(sys.executable).with_name("painpump"))


def test_the_tour_runs_every_calculator_and_every_bundled_scenario() -> None:
    done = subprocess.run(
        [PAINPUMP, "tour"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "$ painpump calc rate" in out
    assert "rate  0.2 mL/day" in out
    assert "verdict  STOP" in out
    assert out.count("$ painpump simulate") == 7
    assert "reservoir_empty" in out
    assert "internal error" not in out and "Traceback" not in out + done.stderr
