"""`painpump tour`: a worked demonstration of the calculators and the pump twin on the bundled
example scenarios, printed as the commands a clinician would type and what they answer."""

from __future__ import annotations

import shlex
from importlib import resources
from pathlib import Path

import typer

from painpump.core.errors import Refusal

CALCULATIONS: list[tuple[str, list[str]]] = [
    (
        "Which rate delivers 5 mg/day of morphine at 25 mg/mL in a SynchroMed II?",
        [
            "calc",
            "rate",
            "--dose",
            "5 mg/day",
            "--concentration",
            "25 mg/mL",
            "--pump",
            "synchromed-ii-20",
        ],
    ),
    (
        "When must a baclofen pump filled today with 20 mL, running 0.25 mL/day, be refilled?",
        [
            "calc",
            "refill",
            "--pump",
            "synchromed-ii-20",
            "--volume",
            "20 mL",
            "--rate",
            "0.25 mL/day",
            "--drug",
            "baclofen",
            "--fill-date",
            "2026-12-01",
            "--margin-days",
            "7",
        ],
    ),
    (
        "The same for a first fill of ziconotide: the label's 14-day rule wins.",
        [
            "calc",
            "refill",
            "--pump",
            "synchromed-ii-20",
            "--volume",
            "20 mL",
            "--dose",
            "2.4 mcg/day",
            "--concentration",
            "25 mcg/mL",
            "--drug",
            "ziconotide",
            "--first-fill",
            "--fill-date",
            "2026-12-01",
        ],
    ),
    (
        "At refill 3.1 mL were aspirated where the pump expected 6.2 mL after 13.8 mL delivered.",
        [
            "calc",
            "discrepancy",
            "--pump",
            "synchromed-ii-20",
            "--expected",
            "6.2 mL",
            "--aspirated",
            "3.1 mL",
            "--delivered-programmed",
            "13.8 mL",
        ],
    ),
    (
        "Volume of a Prometra catheter trimmed by 25 cm.",
        ["calc", "catheter", "--catheter", "prometra-catheter", "--trimmed-length", "25 cm"],
    ),
    (
        "Concentration change 10 -> 20 mg/mL at 5 mg/day with 0.25 mL of dead volume: the bridge.",
        [
            "calc",
            "bridge",
            "--old-concentration",
            "10 mg/mL",
            "--new-concentration",
            "20 mg/mL",
            "--dose",
            "5 mg/day",
            "--dead-volume",
            "0.25 mL",
        ],
    ),
    (
        "300 mg/day of oral morphine, expressed as intrathecal morphine.",
        [
            "calc",
            "convert",
            "--drug",
            "morphine",
            "--dose",
            "300 mg/day",
            "--from",
            "oral",
            "--to",
            "intrathecal",
        ],
    ),
    (
        "Ziconotide 21.6 mcg/day is the EU maximum but above the US one.",
        [
            "calc",
            "check",
            "--drug",
            "ziconotide",
            "--concentration",
            "100 mcg/mL",
            "--dose",
            "21.6 mcg/day",
            "--region",
            "us",
        ],
    ),
    (
        "Baclofen from 400 to 560 mcg/day (+40 %) for spasticity of spinal origin.",
        [
            "calc",
            "check",
            "--drug",
            "baclofen",
            "--concentration",
            "2000 mcg/mL",
            "--dose",
            "560 mcg/day",
            "--previous-dose",
            "400 mcg/day",
            "--hours-since-change",
            "48",
            "--origin",
            "spinal",
        ],
    ),
    (
        "A thousand-fold slip: morphine at 25 mcg/mL typed as 25 g/mL is refused outright.",
        ["calc", "check", "--drug", "morphine", "--concentration", "25 g/mL", "--dose", "5 mg/day"],
    ),
    (
        "Starting dose after a positive 75 mcg baclofen screening bolus that lasted 6 hours.",
        ["calc", "itb-start", "--effective-bolus", "75 mcg", "--effect-hours", "6"],
    ),
]


def examples() -> list[Path]:
    folder = resources.files("painpump").joinpath("examples")
    return sorted(Path(str(folder)).glob("*.toml"))


def _first_comment(path: Path) -> str:
    lines = [
        line[2:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# ")
    ]
    return " ".join(lines)


def register(app: typer.Typer) -> None:
    @app.command()
    def tour() -> None:
        """A worked demonstration of the calculators and the twin on the bundled examples."""

        def show(args: list[str]) -> None:
            typer.echo(f"$ painpump {shlex.join(args)}")
            try:
                app(args, standalone_mode=False)
            except Refusal as error:
                typer.echo(f"refused: {error.message}")
            typer.echo("")

        typer.echo("painpump demonstration: calculators, safety checks and the pump twin.\n")
        for question, args in CALCULATIONS:
            typer.echo(f"# {question}")
            show(args)
        for path in examples():
            typer.echo(f"# Scenario {path.name}: {_first_comment(path)}")
            show(["simulate", str(path)])
        typer.echo("Scenario format: docs/scenarios.md. Every command takes --json.")
