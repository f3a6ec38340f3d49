"""Each episode's pathway events (the steps its chart and pathway history show) against its trail:
every step writes its event and its entry in one transaction, so the episode's events, in the
order they were written, pair one to one with its step entries in chain order. An event inserted
or deleted in the database leaves the counts apart; one edited (its step, facts,
acknowledgements, stages, who took it, when) differs from its entry. An entry written before
painpump recorded a step's time leaves the time uncompared."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from painpump.clinic.actions.pathway import STEP_ACTIONS
from painpump.clinic.audit_records import UNREADABLE, UNRECORDED
from painpump.clinic.models import AuditEntry, PathwayEvent

FIELDS = ("action", "facts", "acknowledged", "stage_before", "stage_after", "recorded_by")

Step = tuple[int, dict[str, object]]
"""An entry's seq and the event it records, field by field."""


def _audited() -> dict[str, list[Step]]:
    rows = (
        AuditEntry.objects.filter(action__in=STEP_ACTIONS, object_type="episode")
        .order_by("seq")
        .values_list("seq", "actor", "action", "object_id", "before", "after")
        .iterator(chunk_size=2000)
    )
    steps: dict[str, list[Step]] = {}
    for seq, actor, action, episode, before, after in rows:
        found: Mapping[str, Any] = before if isinstance(before, dict) else {}
        left: Mapping[str, Any] = after if isinstance(after, dict) else {}
        event: dict[str, object] = {
            "action": action.removeprefix("pathway."),
            "facts": left.get("facts", UNRECORDED),
            "acknowledged": left.get("acknowledged", UNRECORDED),
            "stage_before": found.get("stage", UNRECORDED),
            "stage_after": left.get("stage", UNRECORDED),
            "recorded_by": actor,
            "recorded_at": left.get("recorded_at", UNRECORDED),
        }
        steps.setdefault(episode, []).append((seq, event))
    return steps


def _stored() -> Iterator[tuple[str, int, dict[str, object]]]:
    rows = (
        PathwayEvent.objects.order_by("episode_id", "id")
        .values_list("episode_id", "id", *FIELDS, "recorded_at")
        .iterator(chunk_size=2000)
    )
    for episode, event_id, *values, recorded_at in rows:
        yield str(episode), event_id, {**dict(zip(FIELDS, values, strict=True)), "at": recorded_at}


def compare() -> list[str]:
    """Every episode whose events differ from its step entries: in number, or, at the first
    event that differs, field by field."""
    try:
        stored: dict[str, list[tuple[int, dict[str, object]]]] = {}
        for episode, event_id, event in _stored():
            stored.setdefault(episode, []).append((event_id, event))
    except UNREADABLE as error:
        return [
            f"the pathway events were not compared with their trail: a row cannot be read "
            f"({type(error).__name__}: {error}), a value no audited action stores"
        ]
    audited = _audited()
    found: list[str] = []
    for episode in sorted(set(stored) | set(audited)):
        events, steps = stored.get(episode, []), audited.get(episode, [])
        if len(events) != len(steps):
            found.append(
                f"episode {episode}: {len(events)} pathway events in the database, {len(steps)} "
                "steps in its audit trail (an event inserted or deleted outside the application)"
            )
        for (event_id, event), (seq, step) in zip(events, steps, strict=False):
            differences = list(_differences(event, step))
            if differences:
                found.append(
                    f"episode {episode}: pathway event {event_id} differs from its audit entry "
                    f"{seq}: {'; '.join(differences)}"
                )
                break
    return found


def _differences(event: Mapping[str, object], step: Mapping[str, object]) -> Iterator[str]:
    for name in FIELDS:
        audited = step[name]
        if audited is not UNRECORDED and event[name] != audited:
            yield f"{name} is {event[name]!r} in the database, {audited!r} in the trail"
    at, audited_at = event["at"], step["recorded_at"]
    if audited_at is not UNRECORDED and not _same_moment(at, audited_at):
        shown = at.isoformat() if isinstance(at, datetime) else at
        yield f"recorded_at is {shown!r} in the database, {audited_at!r} in the trail"


def _same_moment(at: object, audited: object) -> bool:
    try:
        return isinstance(at, datetime) and datetime.fromisoformat(str(audited)) == at
    except ValueError:
        return False
