"""Alarms patients report (the pump beeping): recorded at once, open until a clinician
acknowledges them with what was done; both steps audited. A baclofen pump's alarm is listed
first on the worklist."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import NotFound, get_or_not_found
from painpump.clinic.models import AlarmReport, Implant
from painpump.clinic.roles import require
from painpump.core.errors import Refusal

RULES = "painpump alarm rules (rule-alarms-persist: alarms persist until acknowledged)"


@transaction.atomic
def report_alarm(
    user: User, implant_id: UUID, *, kind: str, reported_at: datetime, note: str = ""
) -> AlarmReport:
    actor = require(user, "assessment.write")
    if kind not in AlarmReport.Kind.values:
        raise Refusal(
            "kind",
            repr(kind),
            f"one of {', '.join(AlarmReport.Kind.values)}",
            RULES,
            "is not an alarm kind",
        )
    implant = get_or_not_found(Implant.objects.select_related("episode"), implant_id)
    alarm = AlarmReport.objects.create(
        implant=implant, kind=kind, reported_at=reported_at, recorded_by=actor, note=note.strip()
    )
    audit.record(
        actor,
        "alarm.report",
        "alarm",
        alarm.id,
        patient_id=implant.episode.patient_id,
        after={
            "kind": kind,
            "reported_at": reported_at.isoformat(),
            "note": alarm.note,
            "implant": str(implant.id),
        },
    )
    return alarm


@transaction.atomic
def acknowledge_alarm(
    user: User, alarm_id: UUID, *, now: datetime, action_taken: str
) -> AlarmReport:
    """Close an open alarm; what was done must be said (an alarm is never silenced blindly)."""
    actor = require(user, "assessment.write")
    try:
        alarm = (
            AlarmReport.objects.select_for_update()
            .select_related("implant__episode")
            .get(id=alarm_id)
        )
    except AlarmReport.DoesNotExist:
        raise NotFound(f"alarm {alarm_id}") from None
    if alarm.acknowledged_at is not None:
        raise Refusal("alarm", str(alarm.id), "an open alarm", RULES, "is already acknowledged")
    if not action_taken.strip():
        raise Refusal(
            "action_taken", repr(action_taken), "what was done about the alarm", RULES, "is empty"
        )
    alarm.acknowledged_at, alarm.acknowledged_by = now, actor
    alarm.action_taken = action_taken.strip()
    alarm.save(update_fields=["acknowledged_at", "acknowledged_by", "action_taken"])
    audit.record(
        actor,
        "alarm.acknowledge",
        "alarm",
        alarm.id,
        patient_id=alarm.implant.episode.patient_id,
        after={"action_taken": alarm.action_taken, "at": now.isoformat()},
    )
    return alarm
