"""Benchmark of each pump's forecast from its history (core.pump_twin) over a clinic: synthetic
histories (continuous and flex programs, with and without PTM, one to three program changes since
the last fill), timed in one process and on several. Prints figures; asserts nothing."""

from __future__ import annotations

import gc
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from painpump.core import catalog
from painpump.core.prescription import PatientBolus, PrescribedProgram, Step
from painpump.core.pump_twin import (
    BolusCount,
    PumpHistory,
    RecordedFill,
    RecordedProgram,
    forecast,
)
from painpump.core.units import of
from painpump.devtools.bench.twin import machine

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLINIC = ZoneInfo("Europe/Berlin")
MODELS = ("synchromed-ii-20", "synchromed-ii-40", "prometra-ii-20", "prometra-ii-40")


def synthetic(index: int) -> tuple[PumpHistory, str]:
    """Pump `index`: morphine 20 mg/mL, a previous fill whose bolus count was read at the last
    fill, the last fill 5-60 days ago under the program set before the previous one, and 1-3
    program changes since (derived from the index)."""
    rng = random.Random(index)
    pump = catalog.pump(rng.choice(MODELS))
    capacity = pump.reservoir_volume.value.canonical
    drugs = (("morphine", Decimal(20_000)),)
    flex, with_ptm = rng.random() < 0.4, rng.random() < 0.5
    last = NOW - timedelta(days=rng.randrange(5, 60), hours=rng.randrange(24))
    previous = last - timedelta(days=rng.randrange(40, 90))
    fills = (
        RecordedFill(previous, capacity, drugs),
        RecordedFill(last, capacity, drugs),
    )
    hours_since = int((NOW - last).total_seconds() // 3600)
    changes = sorted(
        last + timedelta(hours=rng.randrange(1, hours_since)) for _ in range(rng.randrange(1, 4))
    )
    starts = [previous - timedelta(days=30), *changes]
    programs = tuple(
        RecordedProgram(at, drugs, _program(rng, capacity, flex), _ptm(rng) if with_ptm else None)
        for at in starts
    )
    counts = (BolusCount(previous, last, rng.randrange(0, 150)),) if with_ptm else ()
    history = PumpHistory(pump, Decimal(2), Decimal("0.25"), CLINIC, fills, programs, counts)
    kind = f"{'flex' if flex else 'continuous'}, {'PTM' if with_ptm else 'no PTM'}"
    return history, kind


def _program(rng: random.Random, capacity: Decimal, flex: bool) -> PrescribedProgram:
    """A dose that empties the reservoir in 30-150 days (at 20 mg/mL)."""
    mcg_per_day = capacity * 20_000 / rng.randrange(30, 150)
    if not flex:
        return PrescribedProgram.continuous(of(mcg_per_day, "mcg/day"))
    day = (
        Step(0, of(mcg_per_day * Decimal("0.8"), "mcg/day")),
        Step(7 * 3600, of(mcg_per_day * Decimal("1.3"), "mcg/day")),
        Step(13 * 3600, of(mcg_per_day, "mcg/day")),
        Step(22 * 3600, of(mcg_per_day * Decimal("0.8"), "mcg/day")),
    )
    weekend = (Step(0, of(mcg_per_day * Decimal("0.7"), "mcg/day")),)
    return PrescribedProgram.flex((day,) * 5 + (weekend,) * 2)


def _ptm(rng: random.Random) -> PatientBolus:
    return PatientBolus(
        of(Decimal(rng.choice((100, 200, 300))), "mcg"),
        rng.choice((60, 120)),
        rng.choice((2, 3, 4)) * 3600,
        rng.choice((3, 4, 6)),
    )


def run_chunk(bounds: tuple[int, int]) -> list[float]:
    """Build pumps [first, end) and forecast each: the seconds of each forecast."""
    histories = [synthetic(index)[0] for index in range(*bounds)]
    times = []
    for history in histories:
        began = time.perf_counter()
        forecast(history, NOW)
        times.append(time.perf_counter() - began)
    return times


def main(
    pumps: int = 10_000, workers: int | None = None, out: Callable[[str], None] = print
) -> None:
    workers = workers or os.cpu_count() or 1
    out(f"machine: {machine()}")
    began = time.perf_counter()
    built = [synthetic(index) for index in range(pumps)]
    building = time.perf_counter() - began
    mix = Counter(kind for _, kind in built)
    out(
        f"{pumps:,} synthetic histories built in {building:.2f} s: "
        + ", ".join(f"{count:,} {kind}" for kind, count in sorted(mix.items()))
    )
    times = []
    assumed = alarms = 0
    for history, _ in built:
        began = time.perf_counter()
        result = forecast(history, NOW)
        times.append(time.perf_counter() - began)
        assumed += result.boluses_assumed
        alarms += result.alarm_at is not None
    total = sum(times)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    out(
        f"1 process: {pumps:,} pumps in {total:.2f} s, {total / pumps * 1e3:.2f} ms a pump, "
        f"p95 {p95 * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms ({alarms:,} alarm dates, "
        f"{assumed:,} boluses assumed)"
    )
    size = max(1, pumps // (workers * 8))
    chunks = [(first, min(first + size, pumps)) for first in range(0, pumps, size)]
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, initializer=gc.freeze) as pool:
        per_chunk = list(pool.map(run_chunk, chunks))
    wall = time.perf_counter() - began
    spent = [t for chunk in per_chunk for t in chunk]
    out(
        f"{workers} processes: {pumps:,} pumps in {wall:.2f} s wall (histories built in the "
        f"workers included), {wall / pumps * 1e3:.2f} ms a pump; forecasts alone "
        f"{sum(spent):.2f} s of CPU, p95 {statistics.quantiles(spent, n=20)[-1] * 1e3:.2f} ms"
        if len(spent) > 1
        else f"{workers} processes: {wall:.2f} s"
    )
