"""The demo on a moved clock and its data kept alive: PAINPUMP_CLOCK_AT moves painpump.clock
(the moment it names is now, and the clock runs on from there); `painpump demo --at` takes an
ISO 8601 moment with its offset and refuses anything else naming the option; `painpump serve`
refuses to start on a moved clock; the demo reuses data seeded at most MAX_AGE_DAYS clinic days
ago, reseeds older ones (or with --reseed) into a fresh SQLite file, keeping the old one aside
under its seeding date, and prints the moved time."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from frozen import NOW
from painpump import clock, runtime
from painpump.cli import demo as cli_demo
from painpump.cli import serve as cli_serve
from painpump.cli.main import _register, app
from painpump.clinic.demo.plan import DEMO_LOCALE
from painpump.clinic.demo.seed import MAX_AGE_DAYS

_register()

PAINPUMP = Path(sys.executable).parent / "painpump"
TODAY = DEMO_LOCALE.today(NOW)
"""The demo clinic's day (Berlin) at the frozen clock."""
SUNDAY = "2027-03-28T10:00+02:00"
"""The daylight-saving Sunday of the demo clinic's zone, mid-morning."""


@pytest.fixture(autouse=True)
def real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """No moved clock unless a test moves it (and whatever a test sets is undone after it)."""
    for name in (clock.CLOCK_AT, clock.CLOCK_FROM):
        # set first, so that monkeypatch records the variable and removes what move_clock sets
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def close(one: datetime, other: datetime) -> bool:
    return abs(one - other) < timedelta(seconds=5)


# -- the clock ---------------------------------------------------------------------------------


def test_the_clock_reads_the_moved_moment_and_runs_on_from_it(
    monkeypatch: pytest.MonkeyPatch, frozen_clock: time_machine.Traveller
) -> None:
    assert close(clock.now(), NOW) and not clock.moved()
    monkeypatch.setenv(clock.CLOCK_AT, SUNDAY)
    moved = datetime.fromisoformat(SUNDAY)
    assert clock.moved()
    assert close(clock.now(), moved) and clock.now().tzinfo == UTC
    frozen_clock.shift(timedelta(hours=2))
    assert close(clock.now(), moved + timedelta(hours=2))  # it runs on
    assert DEMO_LOCALE.format_moment(clock.now()) == "28.03.2027 12:00 CEST"
    monkeypatch.delenv(clock.CLOCK_AT)
    assert close(clock.now(), NOW + timedelta(hours=2))  # back on the real clock


def test_the_moved_clock_counts_from_the_real_moment_it_was_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With PAINPUMP_CLOCK_FROM every process (a gunicorn worker started later, or replaced)
    reads the same moved time, not the moment at its own first reading."""
    monkeypatch.setenv(clock.CLOCK_AT, SUNDAY)
    monkeypatch.setenv(clock.CLOCK_FROM, (NOW - timedelta(minutes=30)).isoformat())
    assert close(clock.now(), datetime.fromisoformat(SUNDAY) + timedelta(minutes=30))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2027-03-28T10:00", "has no UTC offset"),
        ("2027-03-28", "has no UTC offset"),
        ("next sunday", "is not an ISO 8601 date and time"),
    ],
)
def test_a_moment_without_an_offset_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv(clock.CLOCK_AT, value)
    with pytest.raises(ValueError, match=clock.CLOCK_AT) as error:
        clock.now()
    assert problem in str(error.value)


# -- painpump demo --at and painpump serve -----------------------------------------------------


@pytest.mark.parametrize("value", ["2027-03-28T10:00", "2027-03-28", "sunday", ""])
def test_demo_refuses_an_at_without_an_offset_naming_the_option(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never() -> None:
        raise AssertionError("the demo went on with a refused --at")

    monkeypatch.setattr(runtime, "setup_django", never)
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--at", value])
    assert result.exit_code == 2, result.output
    assert "refused: --at" in result.output and "2027-03-28T10:00+02:00" in result.output
    assert clock.CLOCK_AT not in os.environ


def test_demo_at_moves_the_clock_of_its_own_and_of_the_processes_it_starts() -> None:
    moment = cli_demo.move_clock(SUNDAY)
    assert moment == datetime.fromisoformat(SUNDAY)
    assert datetime.fromisoformat(os.environ[clock.CLOCK_AT]) == moment
    assert datetime.fromisoformat(os.environ[clock.CLOCK_FROM]).tzinfo is not None
    assert close(clock.now(), moment)
    assert cli_demo.move_clock(None) == moment  # the variable, already set, is kept


def test_serve_refuses_to_start_on_a_moved_clock_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("painpump serve started on a moved clock")

    monkeypatch.setattr(runtime, "setup_django", never)
    monkeypatch.setattr(cli_serve, "run_gunicorn", never)
    monkeypatch.setenv(clock.CLOCK_AT, SUNDAY)
    result = CliRunner().invoke(app, ["serve", "--no-migrate"])
    assert result.exit_code == 2, result.output
    assert clock.CLOCK_AT in result.output and "demo" in result.output


# -- the demo's data kept alive, end to end --------------------------------------------------


@pytest.mark.skipif(not PAINPUMP.exists(), reason="the painpump console script is not installed")
def test_demo_reuses_recent_data_and_reseeds_old_data_into_a_fresh_file(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", clock.CLOCK_AT, clock.CLOCK_FROM)
    }  # a fresh SQLite database in the temporary data dir, never a real one
    env["PAINPUMP_DATA_DIR"] = str(tmp_path)

    def demo(day: int, *extra: str) -> str:
        moment = DEMO_LOCALE.at(TODAY + timedelta(days=day), time(10, 0)).isoformat()
        command = [str(PAINPUMP), "demo", "--no-serve", "--patients", "4", "--at", moment]
        done = subprocess.run(
            [*command, *extra], env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def aside() -> list[str]:
        return sorted(p.name for p in tmp_path.glob("painpump-seeded-*.sqlite3"))

    seeded = demo(0)
    assert "seeding 4 patients" in seeded and "Europe/Berlin" in seeded
    moved = f"now is {DEMO_LOCALE.local(DEMO_LOCALE.at(TODAY, time(10))):%A}"
    assert f"clock moved (demo only): {moved} {DEMO_LOCALE.format_date(TODAY)} 10:00" in seeded

    kept = demo(MAX_AGE_DAYS)
    assert "reusing the demo clinic" in kept and f"{MAX_AGE_DAYS} days ago" in kept
    assert "reseeding" not in kept and aside() == []

    stale = demo(MAX_AGE_DAYS + 1)
    line = next(x for x in stale.splitlines() if "reseeding" in x)
    assert f"seeded on {DEMO_LOCALE.format_date(TODAY)}" in line
    assert f"more than {MAX_AGE_DAYS}" in line and "seeding 4 patients" in stale
    assert aside() == [f"painpump-seeded-{TODAY.isoformat()}.sqlite3"]

    forced = demo(MAX_AGE_DAYS + 1, "--reseed")
    assert "--reseed: reseeding into a fresh database" in forced
    later = TODAY + timedelta(days=MAX_AGE_DAYS + 1)
    assert aside() == [
        f"painpump-seeded-{TODAY.isoformat()}.sqlite3",
        f"painpump-seeded-{later.isoformat()}.sqlite3",
    ]


def test_the_demo_requires_two_factor_sign_in_only_when_asked(tmp_path: Path) -> None:
    """The printed logins sign in with their password alone, unless --require-2fa."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "PAINPUMP_REQUIRE_2FA", clock.CLOCK_AT, clock.CLOCK_FROM)
    }
    env["PAINPUMP_DATA_DIR"] = str(tmp_path)

    def demo(*extra: str) -> str:
        command = [str(PAINPUMP), "demo", "--no-serve", "--patients", "1", *extra]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "two-factor sign-in: optional here (painpump demo --require-2fa" in demo()
    assert "two-factor sign-in required: each login but the auditor sets up" in demo(
        "--require-2fa"
    )
