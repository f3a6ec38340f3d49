"""`painpump bench`: prints the twin's benchmark figures (see docs/benchmarks.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from painpump import benchmarks


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        pumps: Annotated[int, typer.Option(min=1, help="Pumps in the population run.")] = 10_000,
        workers: Annotated[int, typer.Option(min=0, help="Processes (0: all cores).")] = 0,
        reference_days: Annotated[
            int, typer.Option(min=1, help="Horizon of the reference comparison, days.")
        ] = 30,
    ) -> None:
        """Benchmark the twin: one pump over 10 years, a population over a year, memory."""
        benchmarks.main(pumps, workers or None, reference_days, typer.echo)
