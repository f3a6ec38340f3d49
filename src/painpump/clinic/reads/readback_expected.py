"""What a programmer's readback is compared with besides the prescription (rule-readback): the
reservoir the pump's own estimate should show when it is read (the volume just filled, or
between refills the twin's expected residual, as the refill form offers it) within the clinic's
tolerance, and the bridge or priming bolus the refill ran."""

from __future__ import annotations

from datetime import datetime

from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import Program, Refill
from painpump.clinic.reads import pump_history
from painpump.core import readback_tolerance
from painpump.core.catalog import Sourced
from painpump.core.prescription import FluidChange
from painpump.core.prescription_compare import (
    ExpectedReservoir,
    FluidChangeShown,
    filled_reservoir,
)
from painpump.core.units import of


def reservoir_tolerance() -> Sourced:
    """The clinic's readback tolerance as its settings hold it, checked again by core's rule (a
    value written around the settings service is refused, not applied)."""
    stored = clinic_settings().readback_tolerance_ml
    return readback_tolerance.tolerance(of(stored, "mL"))


def fluid_change_run(refill: Refill | None) -> FluidChangeShown | None:
    """The bridge or priming bolus the refill ran, as it recorded them (None: none)."""
    if refill is None:
        return None
    if refill.bridge_volume_ml is not None and refill.bridge_rate_ml_per_day is not None:
        return FluidChangeShown(
            FluidChange.BRIDGE,
            of(refill.bridge_volume_ml, "mL"),
            of(refill.bridge_rate_ml_per_day, "mL/day"),
        )
    if refill.priming_volume_ml is not None:
        return FluidChangeShown(FluidChange.PRIMING, of(refill.priming_volume_ml, "mL"))
    return None


def expected_reservoir(program: Program, at: datetime) -> ExpectedReservoir:
    """What the pump should hold when `program` is read back at `at`: after its refill, the
    volume filled (less a priming bolus as the pump draws it); between refills, the twin's
    residual then, a range while patient boluses the pump has not reported may have been
    given."""
    tolerance = reservoir_tolerance()
    refill = program.refills.first()
    if refill is not None:
        return filled_reservoir(of(refill.volume_ml, "mL"), fluid_change_run(refill), tolerance)
    expected = pump_history.expected_residual(program.implant, at)
    basis = "the pump's twin at this readback"
    if expected.least.canonical != expected.most.canonical:
        basis += ": every allowed patient bolus given since the fill, to none"
    return ExpectedReservoir(expected.least, expected.most, basis, tolerance)
