"""How far the reservoir volume read back from the clinician programmer may lie from the volume
expected then (rule-readback): a clinic setting, since no source gives the programmer's display
resolution. It may not reach the smallest reservoir discrepancy the pump catalog calls
potentially consequential (a pocket-fill threshold), or it would pass one; one admin may narrow it,
a wider one needs a second admin (rule-second-admin-tolerance)."""

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
SECOND_ADMIN = (
    "rule-second-admin-tolerance: a wider readback tolerance lets larger reservoir discrepancies "
    "pass unnoticed, so one admin may keep or narrow it, and it widens only when a second admin "
    "approves another admin's request"
)


class Wider(Refusal):
    """A tolerance wider than the one in force, refused to a single admin: a second admin's
    approval of a request sets it."""


def not_wider(value: Q, current: Q, field: str = FIELD) -> None:
    """Refused (Wider) when `value` lets a larger discrepancy pass than `current` does."""
    if value.canonical > current.canonical:
        raise Wider(
            field,
            f"{format_decimal(value.value)} {value.unit}",
            f"<= current {current} (a wider one needs a second admin's approval)",
            SECOND_ADMIN,
            "is wider than the tolerance in force",
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
