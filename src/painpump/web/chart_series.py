"""The data the chart script draws, as JSON-ready values: instants as milliseconds since the epoch
(UTC) and quantities as plain numbers in the unit named beside them. Nothing is computed here:
every value is one the clinic service got from painpump.core, only re-expressed for Chart.js."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from painpump.clinic.reads.chart import Chart, DoseLine, Outcome, RefillLine
from painpump.core.projection import Projection
from painpump.core.units import Q, json_number


def instant(moment: datetime | date) -> int:
    """An instant (a date: its start in UTC) as milliseconds since the epoch."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(0), tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def number(quantity: Q, unit: str) -> int | float:
    """A quantity's value in `unit`, rounded as painpump prints that unit."""
    return json_number(quantity.to(unit).rounded())


def projection_series(projection: Projection) -> dict[str, Any]:
    """The projected reservoir (mL) from the fill to empty, with its alarm, empty and refill-by."""
    return {
        "points": [
            {"x": instant(p.at), "y": number(p.volume, "mL"), "label": p.label}
            for p in projection.points
        ],
        "alarm_volume": number(projection.alarm_volume, "mL"),
        "alarm_at": instant(projection.alarm_at),
        "empty_at": instant(projection.empty_at),
        "refill_by": instant(projection.refill_by),
        "fill_at": instant(projection.fill_at),
    }


def refill_series(refills: Sequence[RefillLine]) -> list[dict[str, Any]]:
    """Past refills, oldest first: the volume expected and aspirated, its verdict, the fill."""
    return [
        {
            "x": instant(r.performed_at),
            "expected": None if r.expected is None else number(r.expected, "mL"),
            "aspirated": None if r.aspirated is None else number(r.aspirated, "mL"),
            "filled": number(r.volume, "mL"),
            "finding": r.finding,
            "verdict": r.verdict,
        }
        for r in reversed(refills)
    ]


def reservoir_data(chart: Chart) -> dict[str, Any] | None:
    """Everything the reservoir chart draws, None when the pump was never filled."""
    if chart.projection is None or chart.pump is None:
        return None
    return {
        **projection_series(chart.projection),
        "capacity": number(chart.pump.reservoir, "mL"),
        "refills": refill_series(chart.refills),
        "appointment": instant(chart.next_refill.on) if chart.next_refill else None,
        "now": instant(chart.now),
    }


def dose_data(doses: Sequence[DoseLine], now: datetime) -> dict[str, Any] | None:
    """The prescribed daily dose over time, one stepped series per drug in its dose unit."""
    if not doses:
        return None
    series: dict[str, dict[str, Any]] = {}
    for line in doses:
        drug = series.setdefault(
            line.drug, {"label": f"{line.drug} ({line.dose.unit})", "points": []}
        )
        drug["points"].append(
            {"x": instant(line.started_at), "y": number(line.dose, line.dose.unit)}
        )
        end = line.ended_at or now
        drug["points"].append({"x": instant(end), "y": number(line.dose, line.dose.unit)})
    return {"series": list(series.values())}


def outcome_data(outcomes: Sequence[Outcome]) -> dict[str, Any] | None:
    """Pain and Ashworth scores (0-10 and 0-4) and the oral morphine-equivalent dose (mg/day, on
    its own axis) over time."""
    if not outcomes:
        return None
    return {
        "series": [
            {
                "label": o.label + (f", {o.limb}" if o.limb else ""),
                "axis": "dose" if o.kind == "omed_mg_per_day" else "score",
                "points": [
                    {"x": instant(m.taken_at), "y": json_number(m.value), "shown": m.shown}
                    for m in o.history
                ],
            }
            for o in outcomes
        ]
    }
