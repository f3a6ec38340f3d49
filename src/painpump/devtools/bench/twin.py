"""Benchmarks of the pump twin: one pump over ten years, a population of pumps over a year on all
cores, memory against the horizon, and the speed-up over the fixed-step reference simulator of the
test suite at equal answers. Prints figures with the machine they ran on; asserts nothing."""

from __future__ import annotations

import gc
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from painpump.core.twin import Twin, load_scenario
from painpump.core.twin.quantum import ml
from painpump.core.twin.scenario import Event, Rate, Scenario

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
FLEX_STEPS = [
    ("00:00", "4 mg/day"),
    ("07:00", "6 mg/day"),
    ("13:00", "5 mg/day"),
    ("22:00", "4 mg/day"),
]


def scenario_document(years: int, refill_days: int = 60) -> dict[str, Any]:
    """The benchmark pump: SynchroMed II 20 mL, morphine 20 mg/mL on a four-step flex program,
    three PTM requests a day and a refill every `refill_days` days."""
    until = START + timedelta(days=365 * years)
    refills = [
        {
            "at": (START + timedelta(days=d, hours=1)).isoformat(),
            "kind": "refill",
            "volume": "20 mL",
        }
        for d in range(refill_days, 365 * years, refill_days)
    ]
    return {
        "start": START.isoformat(),
        "until": until.isoformat(),
        "pump": {"model": "synchromed-ii-20", "dead_volume": "0.25 mL", "primed": True},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "20 mg/mL"},
        "program": {"kind": "flex", "steps": [{"start": s, "dose": d} for s, d in FLEX_STEPS]},
        "ptm": {
            "bolus": "0.2 mg",
            "duration": "2 min",
            "lockout": "3 hour",
            "max_per_day": 4,
            "daily": ["08:00", "14:00", "20:00"],
        },
        "event": refills,
    }


def variant(template: Scenario, index: int) -> Scenario:
    """Pump `index` of the population: its own dose scale, accuracy, alarm volume and refill days
    (a few over-infusing pumps among them), derived from the index alone."""
    rng = random.Random(index)
    scale = Decimal(rng.randrange(50, 151)) / 100
    days = tuple(
        tuple(
            (start, Rate(dose_mcg_per_day=(rate.dose_mcg_per_day or Decimal(0)) * scale))
            for start, rate in day
        )
        for day in template.program.days
    )
    accuracy = Decimal(rng.choice([100] * 18 + [120, 85])) / 100
    every = rng.randrange(50, 71) * 86_400
    refills = tuple(
        Event(at, "refill", i, volume_ml=template.fill_volume_ml, fluid=template.fill)
        for i, at in enumerate(range(template.start + every + 3600, template.until, every))
    )
    return replace(
        template,
        program=replace(template.program, days=days),
        accuracy=accuracy,
        alarm_volume_ml=Decimal(rng.choice([2, 2, 2, 3, 4])),
        events=refills,
    )


@dataclass(frozen=True)
class Chunk:
    template: Scenario
    first: int
    count: int


def run_chunk(chunk: Chunk) -> tuple[int, int, int, int, float]:
    """Simulate pumps [first, first+count): (PTM granted, alarms, true-empty runs, peak RSS kB,
    CPU seconds)."""
    began = time.process_time()
    granted = alarms = dry = 0
    for index in range(chunk.first, chunk.first + chunk.count):
        result = Twin(variant(chunk.template, index), keep_log=False).run()
        granted += result.ptm_granted
        alarms += sum(result.alarm_counts.values())
        dry += result.reservoir_true == 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return granted, alarms, dry, rss, time.process_time() - began


def population(template: Scenario, pumps: int, workers: int) -> tuple[float, list[Any]]:
    size = max(1, pumps // (workers * 8))
    chunks = [Chunk(template, first, min(size, pumps - first)) for first in range(0, pumps, size)]
    began = time.perf_counter()
    # Workers start with everything the parent imported already frozen out of the collector's
    # reach, so that garbage collection does not keep traversing it.
    with ProcessPoolExecutor(max_workers=workers, initializer=gc.freeze) as pool:
        results = list(pool.map(run_chunk, chunks))
    return time.perf_counter() - began, results


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _agree(twin: Any, ref: Any) -> bool:
    """Equal answers: final reservoirs within a nanolitre, the same PTM decisions and alarms."""
    tolerance = Fraction(1, 10**6)
    return (
        abs(Fraction(ml(twin.reservoir_model)) - ref.reservoir_model) <= tolerance
        and abs(Fraction(ml(twin.reservoir_true)) - ref.reservoir_true) <= tolerance
        and [(r.at, r.granted, r.reason) for r in twin.ptm] == ref.ptm
        and [a.kind for a in twin.alarms] == [kind for kind, _ in ref.alarms]
    )


def reference_speedup(out: Callable[[str], None], days: int) -> None:
    """Twin vs the test suite's fixed-step reference on the benchmark pump over `days` days."""
    tests = Path(__file__).resolve().parents[4] / "tests"
    if not (tests / "reference.py").exists():
        out("speed-up vs reference: skipped (tests/reference.py is only in a source checkout)")
        return
    sys.path.insert(0, str(tests))
    import reference

    document = scenario_document(1)
    document["until"] = (START + timedelta(days=days)).isoformat()
    document["event"] = [e for e in document["event"] if e["at"] <= document["until"]]
    scenario = load_scenario(document)
    twin_time, twin = timed(lambda: Twin(scenario).run(), 5)
    ref_time, ref = timed(lambda: reference.simulate(scenario), 1)
    same = _agree(twin, ref)
    out(
        f"speed-up vs fixed-step reference ({days} days, 60 s steps): twin {twin_time * 1e3:.1f} "
        f"ms, reference {ref_time:.2f} s, x{ref_time / twin_time:,.0f}; answers equal: {same}"
    )


def main(
    pumps: int = 10_000,
    workers: int | None = None,
    reference_days: int = 30,
    out: Callable[[str], None] = print,
) -> None:
    workers = workers or os.cpu_count() or 1
    out(f"machine: {machine()}")
    ten = load_scenario(scenario_document(10))
    median, result = timed(lambda: Twin(ten, keep_log=False).run(), 7)
    out(
        f"one pump, 10 years (flex 4 steps, 3 PTM requests/day, refill every 60 days): "
        f"{median * 1e3:.1f} ms median of 7 ({result.ptm_granted} boluses granted, "
        f"{len(ten.events)} refills)"
    )
    one_year = load_scenario(scenario_document(1))
    elapsed, chunks = population(one_year, pumps, workers)
    granted = sum(c[0] for c in chunks)
    alarms = sum(c[1] for c in chunks)
    dry = sum(c[2] for c in chunks)
    out(
        f"population: {pumps:,} pumps x 1 year on {workers} processes: {elapsed:.2f} s "
        f"({pumps / elapsed:,.0f} pump-years/s; {granted:,} boluses, {alarms:,} alarms, "
        f"{dry} pumps ending dry); CPU {sum(c[4] for c in chunks):.2f} s in all; peak worker "
        f"RSS {max(c[3] for c in chunks) / 1024:.0f} MB"
    )
    sample = max(workers, pumps // 20)
    for years in (1, 10):
        template = load_scenario(scenario_document(years))
        _, chunks = population(template, sample, workers)
        out(
            f"memory vs horizon: {sample:,} pumps x {years:>2} years: peak worker RSS "
            f"{max(c[3] for c in chunks) / 1024:.0f} MB"
        )
    reference_speedup(out, reference_days)
