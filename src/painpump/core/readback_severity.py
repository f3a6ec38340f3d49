"""How serious a readback's differences are, for the order of open incidents: a dose, a
concentration or a drug that differs (the pump may give the patient another amount of drug)
before the others (the reservoir volume, a patient bolus's timing or count, the bridge or
priming bolus shown)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Severity(StrEnum):
    DOSE = "dose"
    """A drug, a concentration or a dose differs: the drugs, the program (its steps or single
    bolus) or the patient bolus's dose (or patient boluses on or off)."""
    OTHER = "other"


_DOSE_FIELDS = ("drugs", "program", "ptm.dose")
"""The compared fields (core.prescription_compare) that name a drug, a concentration or a dose,
as the start of a mismatch's field ("drugs.morphine", "drugs[0]", "program.days.mon")."""


def severity_of(fields: Iterable[str]) -> Severity:
    """DOSE when any differing field names a drug, a concentration or a dose."""
    for field in fields:
        if field == "ptm" or any(
            field == start or field.startswith((f"{start}.", f"{start}[")) for start in _DOSE_FIELDS
        ):
            return Severity.DOSE
    return Severity.OTHER
