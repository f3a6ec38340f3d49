"""How far the reservoir volume read back from the clinician programmer may lie from the volume
expected then (rule-readback): a clinic setting, since no source gives the programmer's display
resolution. It may not reach the smallest reservoir discrepancy the pump catalog calls
potentially consequential (a pocket-fill threshold), or it would pass one."""

from __future__ import annotations

from decimal import Decimal

from painpump.core import catalog
from painpump.core.catalog import Sourced
from painpump.core.errors import Refusal
from painpump.core.units import INPUT_RULES, Kind, Q, format_decimal, of, round_places

FIELD = "readback_tolerance"
DEFAULT = Decimal("0.1")
"""mL: painpump's default, a guess at a programmer that shows the reservoir to 0.1 mL."""
PLACES = 3
"""Decimal places of a mL a tolerance may have: painpump prints and stores volumes to 0.001 mL,
so a finer tolerance would be applied other than shown."""
SOURCE = (
    "rule-clinic-setting: a clinic choice, no source gives the clinician programmer's display "
    "resolution of the reservoir volume; painpump's default 0.1 mL, set by the clinic's admin "
    "in the clinic settings"
)


def ceiling() -> Sourced:
    """The smallest reservoir discrepancy the pump catalog calls potentially consequential (a
    pocket-fill threshold): a tolerance must stay below it."""
    return min(
        (
            threshold
            for pump in catalog.pumps().values()
            if (threshold := pump.extras.get("pocket_fill_threshold")) is not None
        ),
        key=lambda threshold: threshold.value.canonical,
    )


def tolerance(value: Q | None = None, field: str = FIELD) -> Sourced:
    """The tolerance in mL (None: painpump's default), never verified; refused unless it is a
    volume from 0 mL, below the ceiling, to 0.001 mL."""
    if value is None:
        return Sourced(of(DEFAULT, "mL"), SOURCE, verified=False)
    exact = f"{format_decimal(value.value)} {value.unit}"
    if value.kind is not Kind.VOLUME:
        raise Refusal(
            field, exact, "a volume, e.g. 0.1 mL", INPUT_RULES, f"is a {value.kind.label}"
        )
    if value.canonical < 0:
        raise Refusal(field, exact, ">= 0 mL", INPUT_RULES, "is negative")
    smallest = ceiling()
    if value.canonical >= smallest.value.canonical:
        raise Refusal(
            field,
            exact,
            f"< {smallest.value} (the smallest reservoir discrepancy the pump catalog calls "
            "potentially consequential)",
            smallest.source,
            "would pass a discrepancy that matters",
        )
    if value.canonical != round_places(value.canonical, PLACES):
        raise Refusal(
            field,
            exact,
            f"whole steps of 0.001 mL (painpump shows a volume to {PLACES} places)",
            INPUT_RULES,
            "is finer than painpump shows a volume",
        )
    return Sourced(of(value.canonical, "mL"), SOURCE, verified=False)
