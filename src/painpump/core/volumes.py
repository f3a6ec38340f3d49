"""Volumes of the fluid path: implanted catheter volume, priming volume (pump-outlet dead volume
plus catheter) and the bridge that delivers the old-concentration drug left in that path at the
prescribed dose before the new concentration arrives (rule-explicit-dead-volumes in
docs/design-rules.md; medtronic-priming-bolus-labeling-update in docs/sources.md).

Dead volumes are explicit inputs: the SynchroMed II tubing volume and Medtronic catheter volumes
per cm are not confirmed by any source, and one catheter's figure is never reused for another."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from painpump.core.catalog import Catheter
from painpump.core.decision import Finding, Tier, Verdict
from painpump.core.dosing import rate_ml_per_day
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, expect, mass_unit, of

PRIMING_WARNING_SOURCE = (
    "medtronic-priming-bolus-labeling-update: Medtronic, Important Labeling Updates Related to "
    "Priming Bolus with the SynchroMed II Infusion System"
)
BRIDGE_SOURCE = (
    "rule-explicit-dead-volumes, medtronic-synchromed-ii-implant-manual: bridge volume = pump "
    "tubing + catheter volume, delivered at the rate "
    "that gives the prescribed dose at the OLD concentration (concept UNCONFIRMED: no source text)"
)
INPUT_RULES = "painpump input rules"


def implanted_length_cm(
    catheter: Catheter, implanted_length: Q | None = None, trimmed_length: Q | None = None
) -> Decimal:
    """The implanted catheter length (cm), given directly or as the catalog full length minus the
    trimmed length (Prometra II IFU p.33: implanted = 110 cm - trimmed)."""
    if (implanted_length is None) == (trimmed_length is None):
        given = "both" if implanted_length is not None else "neither"
        raise Refusal(
            "implanted_length",
            f"{given} of --implanted-length and --trimmed-length",
            "exactly one of --implanted-length or --trimmed-length",
            INPUT_RULES,
            "is ambiguous" if given == "both" else "is missing",
        )
    full = catheter.full_length
    length, field = (
        (implanted_length, "implanted_length")
        if implanted_length is not None
        else (trimmed_length, "trimmed_length")
    )
    assert length is not None
    expect(length, Kind.LENGTH, field)
    if length.canonical > full.value.canonical:
        raise Refusal(
            field,
            str(length),
            f"<= {full.value} (full length of {catheter.model})",
            full.source,
            "is longer than the catheter",
        )
    if implanted_length is not None:
        return implanted_length.canonical
    return full.value.canonical - length.canonical


def catheter_volume_ml(catheter: Catheter, implanted_cm: Decimal) -> Decimal:
    """Volume (mL) held by the implanted catheter: length x the model's own volume per cm."""
    return implanted_cm * catheter.volume_per_cm


def priming_volume_ml(dead_volume_ml: Decimal, catheter_ml: Decimal) -> Decimal:
    """Volume to prime: pump-outlet dead volume plus the implanted catheter volume."""
    return dead_volume_ml + catheter_ml


def priming_warning() -> Finding:
    """The labeled warning that a priming bolus mixes drug and non-drug fluid (CONFIRMED)."""
    return Finding(
        "priming_bolus_mixing",
        Verdict.WARN,
        "drug and non-drug fluid (sterile water/CSF) mix at priming-bolus flow rates: the patient "
        "can receive drug before the end of the priming bolus and a period of reduced "
        "concentration follows; prime under medical supervision",
        "plug flow is not guaranteed",
        PRIMING_WARNING_SOURCE,
        verified=True,
        tier=Tier.SOFT,
    )


@dataclass(frozen=True)
class Bridge:
    """The bridge after a concentration change and the program that follows it."""

    bridge_volume: Q
    bridge_rate: Q
    bridge_duration: Q
    new_rate: Q


def bridge(old_concentration: Q, new_concentration: Q, dose: Q, dead_volume: Q) -> Bridge:
    """The rate that keeps the prescribed dose while the old drug in the dead volume is
    delivered, how long that takes, and the rate for the new concentration afterwards."""
    expect(old_concentration, Kind.CONCENTRATION, "old_concentration")
    expect(new_concentration, Kind.CONCENTRATION, "new_concentration")
    expect(dose, Kind.DOSE_RATE, "dose")
    expect(dead_volume, Kind.VOLUME, "dead_volume")
    if dead_volume.canonical <= 0:
        raise Refusal(
            "dead_volume",
            str(dead_volume),
            "> 0 mL (pump tubing + catheter volume)",
            INPUT_RULES,
            "leaves nothing to bridge",
        )
    if dose.canonical <= 0:
        raise Refusal("dose", str(dose), f"> 0 {dose.unit}", INPUT_RULES, "gives no bridge rate")
    old_rate, new_rate = (
        rate_ml_per_day(dose.canonical, given.canonical, field, mass_unit(given))
        for given, field in (
            (old_concentration, "old_concentration"),
            (new_concentration, "new_concentration"),
        )
    )
    days = dead_volume.canonical / old_rate
    return Bridge(
        bridge_volume=of(dead_volume.canonical, "mL"),
        bridge_rate=of(old_rate, "mL/day"),
        bridge_duration=Q(days * 24, "hour"),
        new_rate=of(new_rate, "mL/day"),
    )
