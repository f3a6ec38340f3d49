"""The therapy pathway of an episode, as stored: each step is checked by painpump.core.pathway
(test phase, responder decision, catheter removal, the wait before implantation, stays, ...),
then the new state, the step and its audit entry are written in one transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import Conflict, UnreadableRow, get_or_not_found
from painpump.clinic.locale import clinic_settings, clinic_today
from painpump.clinic.models import AuditEntry, Episode, PathwayEvent
from painpump.clinic.pathway_state import dump_state, pathway_settings, plain, state_of
from painpump.clinic.roles import require
from painpump.core.decision import Decision
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Facts
from painpump.core.pathway.sources import DESIGN_PATHWAY
from painpump.core.pathway.stages import TERMINAL, Action
from painpump.core.pathway.transitions import transition

CAPABILITY = {Action.RECORD_SCREENING_BOLUS: "assessment.write"}
STEP_ACTIONS = frozenset(f"pathway.{action.value}" for action in Action)
"""The audit actions of the pathway's steps (one entry per step, on the episode)."""
RECORDING_STATE = STEP_ACTIONS | {"episode.open"}
"""The actions whose entry records an episode's pathway state by its digest (its opening and
each step: nothing else writes the state)."""


@dataclass(eq=False)
class ChangedOutside(UnreadableRow):
    """An episode's stored pathway state is not the one its audit trail last recorded: it was
    changed in the database, and no step continues from it (a 409, like any row the
    application never wrote)."""

    def __str__(self) -> str:
        return (
            f"{self.record}: its {self.field} differs from its audit trail (the database holds "
            f"the state of digest {self.value}, not {self.expected}): changed outside painpump, "
            "so no pathway step continues from it; `painpump audit verify` names the change, and "
            "the record is restored as its trail shows it before the pathway goes on"
        )


def state_digest(state: dict[str, Any]) -> str:
    """The SHA-256 of an episode's stored pathway state (its JSON, keys sorted): what the
    episode's entries record of it, for `painpump audit verify` to compare."""
    text = json.dumps(state, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def as_audited(row: Episode) -> str:
    """The digest of the pathway state `row` stores, refused (ChangedOutside) when it is not the
    digest the episode's newest entry recording one holds: a state edited in the database is
    never continued from, so no step's entry carries the edit into the trail. An episode whose
    entries predate the digest leaves it uncompared. Inside the step's transaction, the row
    locked."""
    found = state_digest(row.pathway_state)
    entries = AuditEntry.objects.filter(
        object_type="episode", object_id=str(row.id), action__in=RECORDING_STATE
    ).order_by("-seq")
    # by the patient's index; every entry, should the row name another patient than its entries
    newest = (
        entries.filter(patient_id=row.patient_id).values_list("seq", "after").first()
        or entries.values_list("seq", "after").first()
    )
    if newest is None:
        return found
    seq, after = newest
    recorded = after.get("state_digest") if isinstance(after, dict) else None
    if recorded is None or recorded == found:
        return found
    raise ChangedOutside(
        f"episode {row.id}",
        "pathway state",
        found,
        f"{recorded}, the state its audit entry {seq} records",
    )


def apply_step(
    user: User,
    row: Episode,
    action: Action | str,
    *,
    expected_version: int,
    now: datetime,
    acknowledge: dict[str, str] | None = None,
    **facts: Unpack[Facts],
) -> Decision:
    """Apply one pathway step to a locked episode row (inside the caller's transaction)."""
    try:
        act = Action(action) if isinstance(action, str) else action
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise Refusal(
            "action", str(action), f"one of {choices}", DESIGN_PATHWAY, "is unknown"
        ) from None
    actor = require(user, CAPABILITY.get(act, "pathway.decide"))
    if row.version != expected_version:
        raise Conflict("episode", str(row.id), expected_version, row.version)
    found = as_audited(row)
    before = state_of(row)
    if act is Action.IMPLANT:  # from the patient's record, never typed at the step
        facts = {**facts, "life_expectancy_months": row.patient.life_expectancy_months}
    step = transition(
        before,
        act,
        now=clinic_today(now),
        settings=pathway_settings(clinic_settings()),
        acknowledge=acknowledge,
        **facts,
    )
    row.pathway_state = dump_state(step.episode)
    row.stage = step.episode.stage.value
    row.version += 1
    if step.episode.stage in TERMINAL:
        row.closed_at = now
        row.closed_reason = step.episode.close_reason or step.episode.stage.value
    row.save()
    PathwayEvent.objects.create(
        episode=row,
        action=act.value,
        facts=plain(dict(facts)),
        acknowledged=dict(acknowledge or {}),
        stage_before=before.stage.value,
        stage_after=row.stage,
        recorded_at=now,
        recorded_by=actor,
    )
    audit.record(
        actor,
        f"pathway.{act.value}",
        "episode",
        row.id,
        patient_id=row.patient_id,
        before={"stage": before.stage.value, "state_digest": found},
        after={
            "stage": row.stage,
            "facts": plain(dict(facts)),
            "acknowledged": dict(acknowledge or {}),
            "recorded_at": now.isoformat(),
            "state_digest": state_digest(row.pathway_state),
            **(
                {"closed_at": now.isoformat(), "closed_reason": row.closed_reason}
                if step.episode.stage in TERMINAL
                else {}
            ),
        },
    )
    return step.decision


def locked_episode(episode_id: UUID) -> Episode:
    return get_or_not_found(Episode.objects.select_for_update(), episode_id)


@transaction.atomic
def step(
    user: User,
    episode_id: UUID,
    action: Action | str,
    *,
    expected_version: int,
    now: datetime,
    acknowledge: dict[str, str] | None = None,
    **facts: Unpack[Facts],
) -> tuple[Episode, Decision]:
    """One pathway step of an episode, as a transaction with its audit entry."""
    row = locked_episode(episode_id)
    decision = apply_step(
        user,
        row,
        action,
        expected_version=expected_version,
        now=now,
        acknowledge=acknowledge,
        **facts,
    )
    return row, decision
