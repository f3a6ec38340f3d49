"""A prescription as the pages show it: its record (number, status, who prescribed and who
double-checked it, the reason) and each setting as text with its unit
(clinic.reads.prescription_history.settings_of)."""

from __future__ import annotations

from dataclasses import dataclass

from painpump.clinic.models import Prescription
from painpump.clinic.reads.prescription_history import settings_of
from painpump.clinic.reads.prescriptions import as_core


@dataclass(frozen=True)
class ShownPrescription:
    record: Prescription
    settings: dict[str, str]


def shown(record: Prescription) -> ShownPrescription:
    return ShownPrescription(record, settings_of(as_core(record)))
