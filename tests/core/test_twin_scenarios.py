"""Worked examples of the pump twin, computed by hand from docs/scenarios.md: each asserts the
numbers and the kinds or reasons the twin reports."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from painpump.core.twin import Result, Twin, load_scenario
from painpump.core.twin.quantum import QUANTA_PER_ML

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday
HOUR, DAY = 3600, 86_400


def at(seconds: int = 0, *, days: float = 0, hours: float = 0) -> str:
    """An ISO instant this long after START."""
    moment = START + timedelta(days=days, hours=hours, seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


def base(days: float = 30, **changes: Any) -> dict[str, Any]:
    """SynchroMed II 20 mL, morphine 10 mg/mL filled to 20 mL, 0.5 mL/day, alarm 2 mL."""
    data: dict[str, Any] = {
        "start": at(),
        "until": at(days=days),
        "pump": {"model": "synchromed-ii-20", "alarm_volume": "2 mL"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "10 mg/mL"},
        "program": {"kind": "continuous", "rate": "0.5 mL/day"},
    }
    for key, value in changes.items():
        data[key] = value
    return data


def run(data: dict[str, Any]) -> Result:
    return Twin(load_scenario(copy.deepcopy(data))).run()


def ml(quanta: int) -> Fraction:
    return Fraction(quanta, QUANTA_PER_ML)


def after(result: Result, kinds: str = "alarms") -> list[tuple[str, float]]:
    """(kind, hours after START) of the alarms or the events."""
    start = int(START.timestamp())
    return [(a.kind, (a.at - start) / HOUR) for a in getattr(result, kinds)]


def drug(result: Result, name: str) -> Decimal:
    """The amount of a drug delivered at the catheter tip, in mcg."""
    return result.delivered_amounts()[name].canonical


# -- regressions (one per defect found, named after it) ---------------------------------------


def test_regression_program_event_was_always_refused_as_not_a_program_kind() -> None:
    """An [[event]] of kind "program" used to be parsed with its own kind ("program") as the
    program's kind, so every program change was refused. It takes `program = {...}` as a refill
    does, or the bare fields of a continuous program."""
    inline = base(4, event=[{"at": at(days=1), "kind": "program", "program": {"kind": "stopped"}}])
    bare = base(4, event=[{"at": at(days=1), "kind": "program", "rate": "1 mL/day"}])
    assert ml(run(inline).reservoir_model) == Fraction(20) - Fraction(1, 2)
    assert ml(run(bare).reservoir_model) == Fraction(20) - Fraction(1, 2) - 3


def test_regression_ptm_was_granted_after_a_single_bolus_program_had_stopped_the_pump() -> None:
    """A PTM request after a single-bolus program had ended was granted (the lazy request did not
    advance, so the pump still looked busy with the bolus) and the stop was logged late."""
    data = base(
        1,
        program={"kind": "bolus", "volume": "0.5 mL", "duration": "1 hour"},
        ptm={
            "bolus": "0.01 mL",
            "duration": "2 min",
            "lockout": "1 hour",
            "max_per_day": 4,
            "requests": [at(hours=0.5), at(hours=4)],
        },
    )
    result = run(data)
    assert [(r.granted, r.reason) for r in result.ptm] == [(True, None), (False, "stopped")]
    assert ("program", 1.0) in after(result, "events")
    assert ml(result.reservoir_model) == Fraction(20) - Fraction(1, 2) - Fraction(1, 100)


def test_regression_stopped_program_during_a_bridge_was_restarted_by_the_bridge_end() -> None:
    """A program that stopped the pump during a bridge was undone when the bridge's timer fired
    (the pump restarted the bridged program)."""
    data = base(
        3,
        pump={"model": "synchromed-ii-20", "dead_volume": "0.2 mL", "primed": True},
        program={"kind": "continuous", "dose": "5 mg/day"},
        event=[
            {
                "at": at(days=1),
                "kind": "refill",
                "volume": "20 mL",
                "drug": "morphine",
                "concentration": "20 mg/mL",
                "program": {"kind": "continuous", "dose": "5 mg/day", "bridge": True},
            },
            {"at": at(days=1, hours=1), "kind": "program", "program": {"kind": "stopped"}},
        ],
    )
    result = run(data)
    # one hour at the bridge rate (0.5 mL/day), then nothing
    assert ml(result.reservoir_model) == Fraction(20) - Fraction(1, 2) / 24
    assert "bridge_end" not in [e.kind for e in result.events]


def _bridged_refill(days: float, *extra: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Morphine 10 mg/mL at 5 mg/day (0.5 mL/day), primed dead volume 0.2 mL; at day 1 a refill
    to 20 mg/mL keeps 5 mg/day (0.25 mL/day) with a bridge: 0.2 mL at 0.5 mL/day = 9.6 hours."""
    event = {
        "at": at(days=1),
        "kind": "refill",
        "volume": "20 mL",
        "drug": "morphine",
        "concentration": "20 mg/mL",
        "program": {"kind": "continuous", "dose": "5 mg/day", "bridge": True},
    }
    return base(
        days,
        pump={"model": "synchromed-ii-20", "dead_volume": "0.2 mL", "primed": True},
        program={"kind": "continuous", "dose": "5 mg/day"},
        event=[event, *extra],
        **changes,
    )


def test_regression_bridge_ended_on_the_clock_during_an_mri_stall_and_under_dosed() -> None:
    """The bridge used to end at a fixed time (9.6 h after the refill) even when an MRI had
    stalled the pump meanwhile, so old fluid left at the new (half) rate: 0.625 mg missing. It
    ends when the dead volume has passed: 9.6 h of delivery, 3 h later."""
    mri = {"at": at(days=1, hours=1), "kind": "mri", "duration": "1 hour", "resume_delay": "2 hour"}
    result = run(_bridged_refill(4, mri))
    assert ("bridge_end", 24 + 9.6 + 3) in after(result, "events")
    # 4 days at 5 mg/day less the 3 hours of stall
    assert drug(result, "morphine") == Decimal(20_000) - Decimal(5000) * 3 / 24


def test_regression_bridge_overran_the_dead_volume_when_ptm_boluses_pushed_it() -> None:
    """PTM boluses during a bridge push the old fluid out too; the bridge used to run on by the
    clock and deliver the new fluid at the bridge rate (an overdose). 2 boluses of 0.02 mL during
    the bridge leave 0.16 mL for the basal: the bridge ends after 0.16 / 0.5 day = 7.68 hours."""
    ptm = {
        "bolus": "0.02 mL",
        "duration": "1 min",
        "lockout": "1 hour",
        "max_per_day": 4,
        "requests": [at(days=1, hours=1), at(days=1, hours=3)],
    }
    result = run(_bridged_refill(3, ptm=ptm))
    assert [r.granted for r in result.ptm] == [True, True]
    assert ("bridge_end", 24 + 7.68) in after(result, "events")
    # 3 days at 5 mg/day; the boluses: 0.02 mL at 10 mg/mL (old fluid at the tip) twice = 0.4 mg
    assert drug(result, "morphine") == Decimal(15_000) + 400
