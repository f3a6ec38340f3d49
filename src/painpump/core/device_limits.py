"""A pump's own limits applied to a program or a fill: its programmable rate range and its
reservoir. A verified limit refuses; an unverified one only warns, naming its source and asking
the user to verify it against the device labeling."""

from __future__ import annotations

from painpump.core.catalog import VERIFY_NOTE, Pump, Sourced
from painpump.core.decision import Finding, Subject, Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, expect


def _source(limit: Sourced) -> str:
    """The limit's source, with the verification note when the fact sheets do not confirm it."""
    return limit.source if limit.verified else f"{limit.source} (unverified: {VERIFY_NOTE})"


def check_rate(pump: Pump, rate: Q, field: str = "rate", given: str | None = None) -> list[Finding]:
    """Refuse a flow rate outside the pump's verified rate range; warn outside an unverified one."""
    expect(rate, Kind.VOLUME_RATE, field)
    shown = given if given is not None else str(rate)
    warnings: list[Finding] = []
    bounds = (
        ("min_rate", pump.min_rate, rate.canonical < pump.min_rate.value.canonical, ">=", "below"),
        ("max_rate", pump.max_rate, rate.canonical > pump.max_rate.value.canonical, "<=", "above"),
    )
    for rule, limit, broken, sign, side in bounds:
        if not broken:
            continue
        text = f"{sign} {limit.value} ({rule} of {pump.model})"
        if limit.verified:
            raise Refusal(field, shown, text, limit.source, f"gives a rate {side} the pump's range")
        warnings.append(
            Finding(
                rule=rule,
                verdict=Verdict.WARN,
                message=(
                    f"rate {rate} is {side} the {rule.replace('_', ' ')} {limit.value} of "
                    f"{pump.model}, a value the fact sheets do not confirm: {VERIFY_NOTE}"
                ),
                limit=text,
                source=limit.source,
                verified=False,
                subject=Subject.RATE,
            )
        )
    return warnings


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
