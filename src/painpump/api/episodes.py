"""Episodes of care and their assessments: read an episode, record and list its assessments.
The oral morphine-equivalent dose arrives as a quantity with its unit and is converted by core to
the mg/day the clinic stores; scores are plain numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Status

from painpump.api import present
from painpump.api.auth import AUTH, current_user
from painpump.api.schemas import (
    ERRORS,
    AssessmentIn,
    AssessmentOut,
    EpisodeOut,
    OriginOverrideIn,
    Quantity,
)
from painpump.clinic.actions import patient_facts, patients
from painpump.clinic.reads import queries
from painpump.core.errors import Refusal
from painpump.core.units import INPUT_RULES, Kind, format_decimal, parse

router = Router(tags=["episodes"], auth=AUTH)


def _assessment_value(kind: str, value: Quantity | Decimal) -> Decimal:
    """The number the clinic stores for `kind`: a dose rate in mg/day, or a plain score."""
    unit = present.ASSESSMENT_UNITS.get(kind)
    if unit is None:
        if isinstance(value, Quantity):
            raise Refusal(
                "value",
                f"{format_decimal(value.value)} {value.unit}",
                "a plain score without unit (pain_nrs 0-10, ashworth 0-4)",
                INPUT_RULES,
                "carries a unit",
            )
        return Decimal(format_decimal(value))
    if not isinstance(value, Quantity):
        raise Refusal(
            "value",
            format_decimal(value),
            f'a {Kind.DOSE_RATE.label} with its unit, e.g. {{"value": 120, "unit": "{unit}"}}',
            INPUT_RULES,
            "has no unit",
        )
    quantity = parse(f"{format_decimal(value.value)} {value.unit}", Kind.DOSE_RATE, "value")
    # Plain notation (200000, not 2E+5): the service prints the value into refusals and audit.
    return Decimal(format_decimal(quantity.to(unit).value))


@router.get("/{episode_id}", response={200: EpisodeOut, **ERRORS})
def read_episode(request: HttpRequest, episode_id: UUID) -> dict[str, Any]:
    return present.episode(queries.read_episode(current_user(request), episode_id))


@router.put("/{episode_id}/origin", response={200: EpisodeOut, **ERRORS})
def set_origin(request: HttpRequest, episode_id: UUID, payload: OriginOverrideIn) -> dict[str, Any]:
    """Override the episode's origin of spasticity with a reason (physicians), or clear the
    override with origin ""; a stale `version` is a 409."""
    episode = patient_facts.set_origin_override(
        current_user(request),
        episode_id,
        expected_version=payload.version,
        origin=payload.origin,
        reason=payload.reason,
    )
    return present.episode(episode)


@router.get("/{episode_id}/assessments", response={200: list[AssessmentOut], **ERRORS})
def list_assessments(request: HttpRequest, episode_id: UUID) -> list[dict[str, Any]]:
    found = queries.assessments_of(current_user(request), episode_id)
    return [present.assessment(a) for a in found]


@router.post("/{episode_id}/assessments", response={201: AssessmentOut, **ERRORS})
def record_assessment(
    request: HttpRequest, episode_id: UUID, payload: AssessmentIn
) -> Status[dict[str, Any]]:
    recorded = patients.record_assessment(
        current_user(request),
        episode_id,
        kind=payload.kind,
        value=_assessment_value(payload.kind, payload.value),
        taken_at=payload.taken_at,
        limb=payload.limb,
        note=payload.note,
    )
    return Status(201, present.assessment(recorded))
