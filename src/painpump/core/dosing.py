"""Dose, rate and concentration: daily dose = rate x concentration, in canonical units
(mcg/day = mL/day x mcg/mL). The only place these three are converted into one another."""

from __future__ import annotations

from decimal import Decimal

from painpump.core.errors import Refusal
from painpump.core.units import Q, of

RULE = "dose = rate x concentration"


def rate_ml_per_day(
    dose_mcg_per_day: Decimal, concentration_mcg_per_ml: Decimal, field: str = "concentration"
) -> Decimal:
    """The flow rate (mL/day) that delivers a daily dose at a concentration."""
    if concentration_mcg_per_ml <= 0:
        raise Refusal(
            field,
            f"{concentration_mcg_per_ml} mcg/mL",
            "above 0 mcg/mL",
            RULE,
            "cannot deliver a dose",
        )
    return dose_mcg_per_day / concentration_mcg_per_ml


def dose_mcg_per_day(rate_ml_per_day_: Decimal, concentration_mcg_per_ml: Decimal) -> Decimal:
    """The daily dose (mcg/day) that a flow rate delivers at a concentration."""
    return rate_ml_per_day_ * concentration_mcg_per_ml


def rate(dose: Q, concentration: Q) -> Q:
    """Rate for a dose at a concentration, as a display quantity in mL/day."""
    return of(rate_ml_per_day(dose.canonical, concentration.canonical), "mL/day")


def dose(rate_: Q, concentration: Q) -> Q:
    """Daily dose for a rate at a concentration, in the concentration's mass unit per day."""
    unit = concentration.unit.split("/")[0] + "/day"
    return of(dose_mcg_per_day(rate_.canonical, concentration.canonical), unit)
