"""`painpump bench`: prints the twin's benchmark figures (see docs/benchmarks.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from painpump import benchmarks, clinic_benchmarks, web_benchmarks


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

    @app.command("bench-clinic")
    def bench_clinic(
        patients: Annotated[int, typer.Option(min=1, help="Patients in the data set.")] = 10_000,
        seconds: Annotated[float, typer.Option(min=1, help="Load per endpoint, s.")] = 20,
        clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients.")] = 8,
    ) -> None:
        """Benchmark the clinic service over HTTP (dashboard, patient, search) on the configured
        database (DATABASE_URL, default SQLite in PAINPUMP_DATA_DIR)."""
        clinic_benchmarks.main(patients, seconds, clients, typer.echo)

    @app.command("bench-web")
    def bench_web(
        patients: Annotated[int, typer.Option(min=1, help="Patients in the data set.")] = 10_000,
        rounds: Annotated[int, typer.Option(min=1, help="Page loads of each page.")] = 20,
    ) -> None:
        """Benchmark the web app's render time in Chromium: the dashboard and the patient
        charts with the longest histories (needs the test extras and Chromium)."""
        web_benchmarks.main(patients, rounds, typer.echo)
