"""`painpump simulate`: every bundled example runs and reports quantities with their units; a bad
scenario is refused with exit status 2, naming the field, the value and the limit, never with a
traceback. The real entry point is run through a subprocess; the rest calls it in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from painpump.cli.main import run
from painpump.cli.output import to_json
from painpump.core.twin import Twin
from painpump.core.twin.scenario import load_scenario_text

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "scenarios").glob("*.toml"))
PAINPUMP = Path(sys.executable).parent / "painpump"
QUANTITY_KEYS = {
    "expected",
    "aspirated",
    "difference",
    "volume",
    "reservoir_model",
    "duration",
    "resume_delay",
    "bridge_rate",
    "bridge_duration",
}


def invoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run the `painpump` entry point in-process: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["painpump", *args])
    try:
        run()
        status = 0
    except SystemExit as exited:
        status = exited.code if isinstance(exited.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def is_quantity(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"value", "unit"}


def test_bundled_examples_exist() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_bundled_example_simulates_to_json_with_units(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = invoke(monkeypatch, capsys, "simulate", str(example), "--json")
    assert (status, err) == (0, "")
    report = json.loads(out)
    assert {"alarms", "events", "ptm", "delivered", "final", "balance"} <= set(report)
    assert report["delivered"] and all(is_quantity(q) for q in report["delivered"].values())
    assert {q["unit"] for q in report["delivered"].values()} <= {"mg", "mcg"}
    assert set(report["final"]) == {"reservoir_model", "reservoir_true"}
    assert all(is_quantity(q) and q["unit"] == "mL" for q in report["final"].values())
    assert all(is_quantity(q) and q["unit"] == "mL" for q in report["balance"].values())
    for announcement in report["alarms"] + report["events"]:
        assert isinstance(announcement["kind"], str) and announcement["at"].endswith("Z")
        for key in QUANTITY_KEYS & set(announcement):
            assert is_quantity(announcement[key]), (announcement["kind"], key)
    for request in report["ptm"]:
        assert request["granted"] == (request["reason"] is None)
        assert request["reason"] in (None, "stopped", "empty", "lockout", "max_per_day")
    # the printed balance holds to the rounding of its four values (a microlitre each)
    b = {k: Decimal(str(v["value"])) for k, v in report["balance"].items()}
    true = Decimal(str(report["final"]["reservoir_true"]["value"]))
    assert abs(b["filled"] - b["aspirated"] - b["delivered"] - true) <= Decimal("0.002")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_bundled_example_reports_what_the_twin_computes(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = invoke(monkeypatch, capsys, "simulate", str(example), "--json")
    result = Twin(load_scenario_text(example.read_text(encoding="utf-8"))).run()
    assert json.loads(out) == json.loads(json.dumps(to_json(result.as_json())))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_bundled_example_prints_a_readable_report(
    example: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = invoke(monkeypatch, capsys, "simulate", str(example))
    assert (status, err) == (0, "")
    for section in ("ALARMS", "EVENTS", "DELIVERED at the catheter tip", "FINAL"):
        assert section in out
    assert "reservoir_true" in out and " mL" in out


def test_real_entry_point_simulates_an_example_through_a_subprocess() -> None:
    assert PAINPUMP.exists(), (
        f"the painpump console script is not installed next to {sys.executable}"
    )
    example = next(e for e in EXAMPLES if e.stem == "morphine-synchromed")
    done = subprocess.run(
        [str(PAINPUMP), "simulate", str(example), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["delivered"]["morphine"]["unit"] == "mg"
    assert [e["kind"] for e in report["events"] if e["kind"] in ("refill", "bridge_end")] == [
        "refill",
        "bridge_end",
    ]


def test_real_entry_point_refuses_a_bad_scenario_with_exit_2_and_no_traceback(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "overfill.toml"
    scenario.write_text(BAD["overfill"][0], encoding="utf-8")
    done = subprocess.run(
        [str(PAINPUMP), "simulate", str(scenario)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("refused: fill.volume: 21 mL would overfill the reservoir")
    assert "Traceback" not in done.stderr


GOOD = """
start = "2026-01-05T08:00:00Z"
until = "2026-02-05T08:00:00Z"

[pump]
model = "synchromed-ii-20"

[fill]
volume = "20 mL"
drug = "morphine"
concentration = "10 mg/mL"

[program]
kind = "continuous"
rate = "0.5 mL/day"
"""

BAD: dict[str, tuple[str, str, str]] = {
    # name: (scenario text, field, limit)
    "overfill": (
        GOOD.replace('volume = "20 mL"', 'volume = "21 mL"'),
        "fill.volume",
        "at most 20 mL (reservoir of synchromed-ii-20)",
    ),
    "rate-below-minimum": (
        GOOD.replace('"0.5 mL/day"', '"0.04 mL/day"'),
        "program.rate",
        "at least 0.048 mL/day for synchromed-ii-20",
    ),
    "bare-number": (
        GOOD.replace('"0.5 mL/day"', "0.5"),
        "program.rate",
        "a volume rate with its unit, e.g. 0.5 mL/day",
    ),
    "unknown-drug": (
        GOOD.replace('"morphine"', '"morfine"'),
        "fill.drug",
        "one of baclofen, bupivacaine, clonidine, fentanyl, hydromorphone, morphine, "
        "sufentanil, ziconotide",
    ),
    "until-before-start": (
        GOOD.replace('until = "2026-02-05T08:00:00Z"', 'until = "2026-01-01T08:00:00Z"'),
        "until",
        "after start (2026-01-05T08:00:00Z)",
    ),
    "not-toml": ("start = \n", "scenario", "valid TOML"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_scenario_exits_2_with_field_value_and_limit_in_json(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, field, limit = BAD[name]
    scenario = tmp_path / f"{name}.toml"
    scenario.write_text(text, encoding="utf-8")
    status, out, _ = invoke(monkeypatch, capsys, "simulate", str(scenario), "--json")
    assert status == 2
    error = json.loads(out)["error"]
    assert set(error) == {"field", "value", "limit", "source", "message"}
    assert (error["field"], error["limit"]) == (field, limit)
    assert error["value"] and error["source"]


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_scenario_exits_2_with_a_message_and_no_traceback(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text, field, limit = BAD[name]
    scenario = tmp_path / f"{name}.toml"
    scenario.write_text(text, encoding="utf-8")
    status, out, err = invoke(monkeypatch, capsys, "simulate", str(scenario))
    assert (status, out) == (2, "")
    assert err.startswith(f"refused: {field}: ") and limit in err
    assert "Traceback" not in err


def test_missing_scenario_file_exits_2_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.toml"
    status, out, _ = invoke(monkeypatch, capsys, "simulate", str(missing), "--json")
    assert status == 2
    error = json.loads(out)["error"]
    assert (error["field"], error["value"]) == ("SCENARIO", str(missing))
    assert "cannot be read" in error["message"]
    status, out, err = invoke(monkeypatch, capsys, "simulate", str(missing))
    assert (status, out) == (2, "")
    assert err.startswith("refused: SCENARIO: ") and "Traceback" not in err


def test_simulate_without_a_file_is_a_usage_error_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = invoke(monkeypatch, capsys, "simulate")
    assert status == 2
    assert err == "refused: Missing argument 'scenario'.\n"
