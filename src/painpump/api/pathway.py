"""The therapy pathway of an episode: apply one step (test phase, screening bolus, decision,
catheter removal, implantation, discharge, rehabilitation, maintenance, explant, close) under
optimistic concurrency (a stale `version` is a 409), list the steps applied, and preview the
findings a step would give (the warnings to acknowledge). Every rule is painpump.core.pathway's."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field, StrictStr

from painpump import clock
from painpump.api import present
from painpump.api.auth import AUTH, current_user
from painpump.api.quantities import quantity
from painpump.api.schemas import (
    ERRORS,
    DecisionOut,
    FactsIn,
    PathwayEventOut,
    Request,
    StepIn,
    StepOut,
)
from painpump.clinic.actions import pathway
from painpump.clinic.reads import therapy_queries
from painpump.core.baclofen import ScreeningBolus
from painpump.core.pathway.episode import Facts
from painpump.core.units import Kind

router = Router(tags=["pathway"], auth=AUTH)


def facts_of(sent: FactsIn) -> Facts:
    """The facts sent (those left out or null are not facts of the step)."""
    facts: Facts = {}
    if sent.on is not None:
        facts["on"] = sent.on
    if sent.protocol is not None:
        facts["protocol"] = sent.protocol
    if sent.outcome is not None:
        facts["outcome"] = sent.outcome
    if sent.reason is not None:
        facts["reason"] = sent.reason
    if sent.small_patient is not None:
        facts["small_patient"] = sent.small_patient
    if sent.rehabilitation is not None:
        facts["rehabilitation"] = sent.rehabilitation
    if sent.severity is not None:
        facts["severity"] = sent.severity
    if sent.bolus is not None:
        facts["bolus"] = ScreeningBolus(
            quantity(sent.bolus.dose, Kind.MASS, "facts.bolus.dose"),
            positive=sent.bolus.positive,
            given_at=sent.bolus.given_at,
        )
    return facts


@router.post("/{episode_id}/steps", response={200: StepOut, **ERRORS})
def apply_step(request: HttpRequest, episode_id: UUID, payload: StepIn) -> dict[str, Any]:
    """One pathway step; refused with the rule, limit and source when the pathway does not allow
    it, and when a warning of the step is not acknowledged (acknowledge: rule -> note)."""
    episode, decision = pathway.step(
        current_user(request),
        episode_id,
        payload.action,
        expected_version=payload.version,
        now=clock.now(),
        acknowledge=dict(payload.acknowledge),
        **facts_of(payload.facts),
    )
    return present.step(episode, decision)


@router.get("/{episode_id}/steps", response={200: list[PathwayEventOut], **ERRORS})
def list_steps(request: HttpRequest, episode_id: UUID) -> list[dict[str, Any]]:
    found = therapy_queries.pathway_history(current_user(request), episode_id)
    return [present.pathway_event(e) for e in found]


class PreviewQuery(Request):
    action: StrictStr
    on: date | None = None
    protocol: StrictStr | None = None
    outcome: StrictStr | None = None
    reason: StrictStr | None = Field(default=None, max_length=500)
    small_patient: bool | None = None
    rehabilitation: bool | None = None
    severity: StrictStr | None = None


@router.get("/{episode_id}/preview", response={200: DecisionOut, **ERRORS})
def preview_step(
    request: HttpRequest, episode_id: UUID, query: Query[PreviewQuery]
) -> dict[str, Any]:
    """The findings the step would give now, without applying it (a screening bolus is not
    previewed: it carries a dose)."""
    facts = facts_of(FactsIn(**query.model_dump(exclude={"action"})))
    decision = therapy_queries.preview_step(
        current_user(request), episode_id, query.action, now=clock.now(), **facts
    )
    return present.decision(decision)
