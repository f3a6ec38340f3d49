"""Dose, rate and concentration: daily dose = rate x concentration, in canonical units
(mcg/day = mL/day x mcg/mL). The only place these three are converted into one another."""

from __future__ import annotations

from decimal import Decimal, Overflow

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.units import MAX_MAGNITUDE, Kind, Q, check_number, expect, mass_unit, of

RULE = "dose = rate x concentration"


def _not_negative(value: Decimal, field: str, unit: str) -> None:
    """A number of this arithmetic (canonical), finite, in range and not negative; refused in
    `unit`."""
    check_number(value, field)
    if value < 0:
        raise Refusal(field, str(of(value, unit)), f">= 0 {unit}", RULE, "is negative")


def rate_ml_per_day(
    dose_mcg_per_day: Decimal,
    concentration_mcg_per_ml: Decimal,
    field: str = "concentration",
    unit: str = "mcg",
) -> Decimal:
    """The flow rate (mL/day) that delivers a daily dose at a concentration; a refusal shows
    them in the mass `unit` per day and per mL (the drug's: mg for morphine)."""
    per_day, per_ml = f"{unit}/day", f"{unit}/mL"
    _not_negative(dose_mcg_per_day, "dose", per_day)
    check_number(concentration_mcg_per_ml, field)
    concentration = of(concentration_mcg_per_ml, per_ml)
    if concentration_mcg_per_ml <= 0:
        raise Refusal(
            field, concentration.typed, f"above 0 {per_ml}", RULE, "cannot deliver a dose"
        )
    try:
        rate_ = dose_mcg_per_day / concentration_mcg_per_ml
    except Overflow:
        rate_ = MAX_MAGNITUDE
    if rate_ >= MAX_MAGNITUDE:
        raise Refusal(
            field,
            concentration.typed,
            f"a concentration that gives {of(dose_mcg_per_day, per_day)} below {MAX_MAGNITUDE} "
            "mL/day",
            RULE,
            "is too small for the dose",
        )
    return rate_


def dose_mcg_per_day(
    rate_ml_per_day_: Decimal, concentration_mcg_per_ml: Decimal, unit: str = "mcg"
) -> Decimal:
    """The daily dose (mcg/day) that a flow rate delivers at a concentration; a refusal shows
    the concentration in the mass `unit` per mL."""
    _not_negative(rate_ml_per_day_, "rate", "mL/day")
    _not_negative(concentration_mcg_per_ml, "concentration", f"{unit}/mL")
    return rate_ml_per_day_ * concentration_mcg_per_ml


def rate(dose: Q, concentration: Q) -> Q:
    """Rate for a dose at a concentration, as a display quantity in mL/day."""
    expect(dose, Kind.DOSE_RATE, "dose")
    expect(concentration, Kind.CONCENTRATION, "concentration")
    rate_ = rate_ml_per_day(
        dose.canonical, concentration.canonical, "concentration", mass_unit(concentration)
    )
    return of(rate_, "mL/day")


def dose(rate_: Q, concentration: Q) -> Q:
    """Daily dose for a rate at a concentration, in the concentration's mass unit per day."""
    expect(rate_, Kind.VOLUME_RATE, "rate")
    expect(concentration, Kind.CONCENTRATION, "concentration")
    unit = mass_unit(concentration)
    return of(dose_mcg_per_day(rate_.canonical, concentration.canonical, unit), f"{unit}/day")


def concentration_in_drug_unit(name: str, mcg_per_ml: Decimal) -> Q:
    """A stored concentration in the drug's own unit (25 mg/mL rather than 25000 mcg/mL)."""
    return of(mcg_per_ml, catalog.drug(name).concentration_unit)


def dose_in_drug_unit(name: str, mcg_per_day: Decimal) -> Q:
    """A stored daily dose in the drug's own unit (10 mg/day rather than 10000 mcg/day)."""
    return of(mcg_per_day, catalog.drug(name).dose_rate_unit)
