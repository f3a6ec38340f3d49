"""The pump and its fills as the chart and the printed reports present them: the implanted pump
with its catheter, the drugs of a fill in their own units, what was in the pump at a moment, and
the stored reconciliation of a refill."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from painpump.clinic.models import Implant, Refill
from painpump.core import catalog
from painpump.core.device_life import replacement_due
from painpump.core.dosing import concentration_in_drug_unit
from painpump.core.mri import MriGuidance, mri_guidance
from painpump.core.units import Q, format_decimal, of, round_places


@dataclass(frozen=True)
class Pump:
    """An implanted pump and its catheter, with the reservoir volume from the device catalog, the
    date to have it replaced by (None when the catalog has no sourced service life) and its MRI
    instructions."""

    implant_id: UUID
    model: str
    name: str
    serial: str
    implanted_on: date
    explanted_on: date | None
    catheter_model: str
    catheter_length: Q
    dead_volume: Q
    alarm_volume: Q
    reservoir: Q
    accuracy: str
    replace_by: date | None
    replace_source: str
    mri: MriGuidance | None = None
    """What to do around an MRI scan with this pump (core.mri; the baclofen withdrawal watch
    when its last fill held baclofen)."""


def implanted_pump(implant: Implant) -> Pump:
    model = catalog.pump(implant.pump_model, "pump_model")
    life = model.service_life_years
    return Pump(
        implant_id=implant.id,
        model=implant.pump_model,
        name=model.name,
        serial=implant.pump_serial,
        implanted_on=implant.implanted_on,
        explanted_on=implant.explanted_on,
        catheter_model=implant.catheter_model,
        catheter_length=of(implant.catheter_length_cm, "cm"),
        dead_volume=of(implant.dead_volume_ml, "mL"),
        alarm_volume=of(implant.alarm_volume_ml, "mL"),
        reservoir=model.reservoir_volume.value,
        accuracy=f"+/-{format_decimal(model.accuracy_percent.value)} %",
        replace_by=replacement_due(model, implant.implanted_on),
        replace_source=life.source if life is not None else "",
        mri=mri_guidance(model, ("baclofen",) if implant.high_risk else ()),
    )


@dataclass(frozen=True)
class DrugLine:
    """A drug of a fill and its concentration, in the drug library's unit for that drug."""

    drug: str
    concentration: Q

    def __str__(self) -> str:
        return f"{self.drug} {self.concentration}"


def fill_drugs(refill: Refill | None) -> tuple[DrugLine, ...]:
    if refill is None:
        return ()
    return tuple(
        DrugLine(d.drug, concentration_in_drug_unit(d.drug, d.concentration_mcg_per_ml))
        for d in refill.drugs.all()
    )


def drugs_at(
    fills: Sequence[tuple[datetime, tuple[DrugLine, ...]]], at: datetime
) -> tuple[DrugLine, ...]:
    """The drugs of the latest fill at or before `at` (what was in the pump then); `fills` are
    oldest first."""
    index = bisect_right([when for when, _ in fills], at)
    return fills[index - 1][1] if index else ()


def delivery_error(refill: Refill) -> str:
    """The stored delivery error to two decimal places ("" at a first fill)."""
    error = refill.delivery_error_percent
    return "" if error is None else f"{format_decimal(round_places(error, 2))} %"


def finding_words(refill: Refill) -> str:
    """The stored reconciliation finding, "first fill" at a first fill."""
    return refill.finding or ("first fill" if refill.expected_ml is None else "")
