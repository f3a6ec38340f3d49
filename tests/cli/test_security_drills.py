"""scripts/security-drills (python -m painpump.devtools.security) runs the drills asked for at the
size asked for, prints their figures and problems, and fails when a drill finds a problem, stops
with an error, or is missing: a drill that cannot run is never a quiet pass."""

from __future__ import annotations

import sys
import types

import pytest

from painpump.devtools.faults.report import Report
from painpump.devtools.security import __main__ as runner


def fake_drill(monkeypatch: pytest.MonkeyPatch, name: str, *problems: str) -> None:
    module = types.ModuleType(f"painpump.devtools.security.{name}")

    def drill(full: bool) -> Report:
        if problems == ("crash",):
            raise RuntimeError("the drill's server did not start")
        return Report(name, "sqlite", {"full": full}, list(problems))

    module.drill = drill  # type: ignore[attr-defined]  # a module made here
    monkeypatch.setitem(sys.modules, module.__name__, module)


def test_the_drills_run_at_the_size_asked_and_a_problem_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_drill(monkeypatch, "tamper")
    fake_drill(monkeypatch, "escalation", "the admin read a chart")
    assert runner.main(["--drills", "tamper"]) == 0
    assert "full: False" in capsys.readouterr().out
    assert runner.main(["--drills", "tamper,escalation", "--full"]) == 1
    shown = capsys.readouterr().out
    assert "full: True" in shown and "PROBLEM: the admin read a chart" in shown


def test_a_missing_or_stopped_drill_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "painpump.devtools.security.tamper", None)
    fake_drill(monkeypatch, "login_flood", "crash")
    missing = runner.run("tamper", full=False)
    assert missing["problems"] == ["the drill module painpump.devtools.security.tamper is missing"]
    stopped = runner.run("login_flood", full=False)
    assert "the drill's server did not start" in stopped["problems"][0]


def test_every_drill_is_run_by_default_and_an_unknown_name_is_refused() -> None:
    assert runner._options([]).drills == list(runner.DRILLS)
    assert runner._options(["--drills", "slow-clients"]).drills == ["slow_clients"]
    with pytest.raises(SystemExit):
        runner._options(["--drills", "tamper,nope"])
