"""`painpump simulate SCENARIO.toml`: runs the pump twin on a scenario file and prints what the
pump announced, what physically happened, the PTM log, the drug delivered and the final volumes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from painpump.cli.output import emit, table, to_json
from painpump.core.errors import Refusal
from painpump.core.twin import Twin
from painpump.core.twin.quantum import instant
from painpump.core.twin.result import Announcement, Result
from painpump.core.twin.scenario import load_scenario_text


def read_scenario(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise Refusal(
            "SCENARIO",
            str(path),
            "a readable TOML file",
            "painpump scenario format",
            f"cannot be read ({error.strerror})",
        ) from None


def simulate_file(path: Path) -> Result:
    return Twin(load_scenario_text(read_scenario(path))).run()


def _when(seconds: int) -> str:
    return instant(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _details(a: Announcement) -> str:
    return ", ".join(
        f"{k}={to_json(v)['value'] if isinstance(to_json(v), dict) else v}"
        f"{' ' + to_json(v)['unit'] if isinstance(to_json(v), dict) else ''}"
        for k, v in a.details.items()
    )


def render(result: Result) -> str:
    """A readable report of a run, section by section."""
    out: list[str] = []
    out.append("ALARMS (what the pump announced)")
    out += [f"  {_when(a.at)}  {a.kind:<15} {_details(a)}" for a in result.alarms] or ["  none"]
    out.append("EVENTS (what physically happened)")
    out += [f"  {_when(e.at)}  {e.kind:<22} {_details(e)}" for e in result.events] or ["  none"]
    if result.ptm:
        denied: dict[str, int] = {}
        for r in result.ptm:
            if not r.granted:
                denied[r.reason or "?"] = denied.get(r.reason or "?", 0) + 1
        out.append(
            f"PTM  {result.ptm_granted} granted, {result.ptm_denied} denied"
            + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(denied.items()))})" if denied else "")
        )
        refused = [r for r in result.ptm if not r.granted]
        out += [f"  {_when(r.at)}  denied: {r.reason}" for r in refused[:5]]
        if len(refused) > 5:
            out.append(f"  ... {len(refused) - 5} more denials (--json lists every request)")
    out.append("DELIVERED at the catheter tip")
    amounts = result.delivered_amounts()
    rows: list[tuple[str, Any]] = [(f"  {name}", q) for name, q in amounts.items()]
    without = result.delivered_volume_without_drug()
    if without.value:
        rows.append(("  fluid without drug", without))
    out.append(table(rows) if rows else "  nothing")
    out.append("FINAL")
    out.append(table([(f"  {k}", v) for k, v in result.final.items()]))
    for warning in result.warnings:
        out.append(f"note: {warning}")
    return "\n".join(out)


def register(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        scenario: Annotated[
            Path, typer.Argument(help="Scenario file (TOML), see docs/scenarios.md")
        ],
        json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Run the pump twin over a scenario."""
        result = simulate_file(scenario)
        emit(result.as_json(), json, render(result))
