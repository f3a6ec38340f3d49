"""What a twin run produced: alarms the pump announced, physical events, the PTM log, the drug
delivered at the catheter tip and the final reservoir volumes, with units for printing."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from painpump.core import catalog
from painpump.core.twin.quantum import QUANTA_PER_ML, instant, ml
from painpump.core.twin.scenario import Fluid
from painpump.core.units import Q, of


@dataclass(frozen=True)
class Announcement:
    """An alarm or an event: its kind, when (epoch seconds) and details (quantities in mL)."""

    kind: str
    at: int
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "at": instant(self.at)}
        out.update(self.details)
        return out


@dataclass(frozen=True)
class PtmRecord:
    at: int
    granted: bool
    reason: str | None


@dataclass
class Result:
    """The outcome of a run. Volumes are kept in quanta (exact); properties give display values."""

    alarms: list[Announcement]
    events: list[Announcement]
    ptm: list[PtmRecord]
    ptm_granted: int
    ptm_denied: int
    alarm_counts: dict[str, int]
    fluids: list[Fluid]
    delivered_by_fluid: dict[int, int]
    reservoir_model: int
    reservoir_true: int
    filled: int
    aspirated: int
    delivered: int
    tubing: list[tuple[int, int]]
    warnings: tuple[str, ...]

    def delivered_amounts(self) -> dict[str, Q]:
        """Drug delivered at the catheter tip, per drug, in the drug's dose unit (mg or mcg)."""
        totals: dict[str, Decimal] = {}
        for fluid_id, quanta in self.delivered_by_fluid.items():
            for name, conc in self.fluids[fluid_id].drugs:
                totals[name] = totals.get(name, Decimal(0)) + Decimal(quanta) * conc / QUANTA_PER_ML
        return {name: of(mcg, catalog.drug(name).dose_unit) for name, mcg in sorted(totals.items())}

    def delivered_volume_without_drug(self) -> Q:
        """Volume delivered at the tip that held no drug (an unprimed catheter's saline or CSF)."""
        quanta = sum(q for f, q in self.delivered_by_fluid.items() if not self.fluids[f].drugs)
        return of(ml(quanta), "mL")

    @property
    def final(self) -> dict[str, Q]:
        return {
            "reservoir_model": of(ml(self.reservoir_model), "mL"),
            "reservoir_true": of(ml(self.reservoir_true), "mL"),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "alarms": [a.as_json() for a in self.alarms],
            "events": [e.as_json() for e in self.events],
            "ptm": [
                {"at": instant(r.at), "granted": r.granted, "reason": r.reason} for r in self.ptm
            ],
            "delivered": self.delivered_amounts(),
            "final": self.final,
            "balance": {
                "filled": of(ml(self.filled), "mL"),
                "aspirated": of(ml(self.aspirated), "mL"),
                "delivered": of(ml(self.delivered), "mL"),
                "delivered_without_drug": self.delivered_volume_without_drug(),
            },
            "warnings": list(self.warnings),
        }
