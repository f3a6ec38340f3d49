"""`painpump bench`, `bench-clinic`, `bench-web` and `bench-load`: the development tools of
painpump.devtools behind the command line (see docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from painpump.devtools.bench import clinic as clinic_benchmarks
from painpump.devtools.bench import forecast as forecast_benchmarks
from painpump.devtools.bench import redate as redate_benchmarks
from painpump.devtools.bench import twin as benchmarks
from painpump.devtools.bench import web as web_benchmarks
from painpump.devtools.load import run as load_test


def _rates(text: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r}: rates in visits/s separated by commas") from None
    if not rates or any(r <= 0 for r in rates):
        raise typer.BadParameter(f"{text!r}: at least one rate, each above 0")
    return rates


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

    @app.command("bench-forecast")
    def bench_forecast(
        pumps: Annotated[int, typer.Option(min=1, help="Pumps with a history.")] = 10_000,
        workers: Annotated[int, typer.Option(min=0, help="Processes (0: all cores).")] = 0,
    ) -> None:
        """Benchmark each pump's forecast from its history (the twin over it), in one process and
        on several."""
        forecast_benchmarks.main(pumps, workers or None, typer.echo)

    @app.command("bench-clinic")
    def bench_clinic(
        patients: Annotated[int, typer.Option(min=1, help="Patients in the data set.")] = 10_000,
        seconds: Annotated[float, typer.Option(min=1, help="Load per endpoint, s.")] = 20,
        clients: Annotated[int, typer.Option(min=1, help="Concurrent HTTP clients.")] = 8,
    ) -> None:
        """Benchmark the clinic service over HTTP (dashboard, patient, search) on the configured
        database (DATABASE_URL, default SQLite in PAINPUMP_DATA_DIR)."""
        clinic_benchmarks.main(patients, seconds, clients, typer.echo)

    @app.command("bench-redate")
    def bench_redate(
        patients: Annotated[int, typer.Option(min=1, help="Patients in the data set.")] = 10_000,
    ) -> None:
        """Benchmark dating every pump again by its twin (painpump redate) on the configured
        database (DATABASE_URL, default SQLite in PAINPUMP_DATA_DIR)."""
        redate_benchmarks.main(patients, typer.echo)

    @app.command("bench-web")
    def bench_web(
        patients: Annotated[int, typer.Option(min=1, help="Patients in the data set.")] = 10_000,
        rounds: Annotated[int, typer.Option(min=1, help="Page loads of each page.")] = 20,
    ) -> None:
        """Benchmark the web app's render time in Chromium: the dashboard and the patient
        charts with the longest histories (needs the test extras and Chromium)."""
        web_benchmarks.main(patients, rounds, typer.echo)

    @app.command("bench-load")
    def bench_load(
        patients: Annotated[int, typer.Option(min=1, help="Patients in the data set.")] = 10_000,
        profiles: Annotated[
            str, typer.Option(help="Profiles stepped, in order (dashboard,chart,refill,mixed).")
        ] = ",".join(load_test.PROFILES),
        steps: Annotated[
            str, typer.Option(help="Offered rates of each step, visits/s.")
        ] = ",".join(f"{r:g}" for r in load_test.DEFAULT_STEPS),
        refill_steps: Annotated[
            str, typer.Option(help="Offered rates of the refill steps, refill visits/s.")
        ] = ",".join(f"{r:g}" for r in load_test.DEFAULT_REFILL_STEPS),
        seconds: Annotated[float, typer.Option(min=1, help="Measured time of a step, s.")] = 30,
        warmup: Annotated[float, typer.Option(min=0, help="Warm-up of a profile, s.")] = 10,
        settle: Annotated[float, typer.Option(min=0, help="Unmeasured change of rate, s.")] = 5,
        users: Annotated[int, typer.Option(min=1, help="Locust users (fixed).")] = 20,
        workers: Annotated[int, typer.Option(min=1, help="gunicorn workers.")] = 2,
        memory_minutes: Annotated[
            float, typer.Option(min=0, help="Long run of the mixed profile, min (0: none).")
        ] = 15,
        memory_rate: Annotated[
            float, typer.Option(min=0.1, help="Its offered rate, visits/s.")
        ] = 10,
        reseed: Annotated[bool, typer.Option(help="Write the data set anew.")] = False,
        json_out: Annotated[
            Path | None, typer.Option("--json", help="Also write every figure to this file.")
        ] = None,
    ) -> None:
        """Load test on PostgreSQL (DATABASE_URL names its own database, copied afresh from
        <name>_seed): the highest rate at which p95 stays under 100 ms for the dashboard, the
        patient chart, the refill and a clinic's mix, then the workers' memory over a long run
        (needs the test extras: locust)."""
        chosen = [p.strip() for p in profiles.split(",") if p.strip()]
        unknown = sorted(set(chosen) - set(load_test.PROFILES))
        if unknown:
            raise typer.BadParameter(f"unknown profiles {unknown}: {load_test.PROFILES}")
        options = load_test.Options(
            patients=patients,
            profiles=chosen,
            steps=_rates(steps),
            refill_steps=_rates(refill_steps),
            seconds=seconds,
            warmup=warmup,
            settle=settle,
            users=users,
            workers=workers,
            memory_minutes=memory_minutes,
            memory_rate=memory_rate,
            reseed=reseed,
        )
        load_test.main(options, typer.echo, json_out)
