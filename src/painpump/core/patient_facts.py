"""What the labels' dosing depends on about a patient, as recorded on the patient: age (from the
birth date), weight, opioid exposure, a history of psychosis, and life expectancy for tumour
pain. Unknown stays unknown (None) and the checks take the safer reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from painpump.core.age import age_on


class OpioidStatus(StrEnum):
    """Opioid exposure before intrathecal therapy: the Infumorph label's start doses differ."""

    UNKNOWN = "unknown"
    NAIVE = "naive"
    TOLERANT = "tolerant"


@dataclass(frozen=True)
class PatientFacts:
    birth_date: date | None = None
    weight_kg: Decimal | None = None
    opioid_status: OpioidStatus = OpioidStatus.UNKNOWN
    psychosis_history: bool | None = None
    life_expectancy_months: int | None = None

    def age_on(self, day: date) -> int | None:
        return None if self.birth_date is None else age_on(self.birth_date, day)
