"""Records as the API shows them (quantities with their units, as core prints them)."""

from __future__ import annotations

from typing import Any

from painpump.clinic.models import Assessment, Episode, Patient
from painpump.core.units import Q, json_number

# The unit each assessment kind's value is stored in; scores have none.
ASSESSMENT_UNITS = {"omed_mg_per_day": "mg/day"}


def patient(record: Patient) -> dict[str, Any]:
    return {
        "id": record.id,
        "mrn": record.mrn,
        "family_name": record.family_name,
        "given_name": record.given_name,
        "birth_date": record.birth_date,
        "archived": record.archived_at is not None,
        "version": record.version,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def episode(record: Episode) -> dict[str, Any]:
    return {
        "id": record.id,
        "patient_id": record.patient_id,
        "indication": record.indication,
        "stage": record.stage,
        "referred_on": record.referred_on,
        "injury_date": record.injury_date,
        "closed_at": record.closed_at,
        "closed_reason": record.closed_reason,
        "version": record.version,
    }


def assessment(record: Assessment) -> dict[str, Any]:
    unit = ASSESSMENT_UNITS.get(record.kind)
    value: Any = Q(record.value, unit).as_json() if unit else json_number(record.value)
    return {
        "id": record.id,
        "episode_id": record.episode_id,
        "kind": record.kind,
        "limb": record.limb,
        "value": value,
        "taken_at": record.taken_at,
        "recorded_at": record.recorded_at,
        "recorded_by": record.recorded_by.get_username(),
        "note": record.note,
    }
