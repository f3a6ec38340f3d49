"""A pump's own limits applied to a program or a fill: its programmable rate range and its
reservoir. Both are the device's physical range, so both are hard whatever their verification
(rule-two-tiers): a value outside refuses, and an unverified bound says so in its source."""

from __future__ import annotations

from painpump.core.catalog import VERIFY_NOTE, Pump, Sourced
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, expect


def _source(limit: Sourced) -> str:
    """The limit's source, with the verification note when no source confirms it."""
    return limit.source if limit.verified else f"{limit.source} (unverified: {VERIFY_NOTE})"


def check_rate(pump: Pump, rate: Q, field: str = "rate", given: str | None = None) -> None:
    """Refuse a flow rate outside the pump's rate range (a hard limit, verified or not)."""
    expect(rate, Kind.VOLUME_RATE, field)
    shown = given if given is not None else str(rate)
    bounds = (
        ("min_rate", pump.min_rate, rate.canonical < pump.min_rate.value.canonical, ">=", "below"),
        ("max_rate", pump.max_rate, rate.canonical > pump.max_rate.value.canonical, "<=", "above"),
    )
    for rule, limit, broken, sign, side in bounds:
        if broken:
            raise Refusal(
                field,
                shown,
                f"{sign} {limit.value} ({rule} of {pump.model}, hard: the device's range)",
                _source(limit),
                f"gives a rate {side} the pump's range",
            )


def check_volume_fits(pump: Pump, volume: Q, field: str = "volume") -> None:
    """Refuse a volume larger than the pump's reservoir: overfilling is a cause of overinfusion
    (HSA 2016) and would overstate the time to the next refill."""
    expect(volume, Kind.VOLUME, field)
    reservoir = pump.reservoir_volume
    if volume.canonical > reservoir.value.canonical:
        raise Refusal(
            field,
            str(volume),
            f"<= {reservoir.value} (pump reservoir of {pump.model})",
            _source(reservoir),
            "overfills the pump",
        )
