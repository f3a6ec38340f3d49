"""The records of care around the pump, each against the last state its trail recorded (the
kinds painpump.clinic.audit_records compares besides its own): episodes, with or without a pump
(indication, stage, referral and injury dates, closing, the origin of spasticity chosen, and
the whole pathway state by its digest), assessments, appointments (day, start, status, lateness
and its reason, refill-by date, an admission's discharge and purpose), patient alarms (the
report and its acknowledgement) and programmer readbacks (what was entered, the differences,
who read it back and when). Each with its owner: the patient its entries name, an assessment's
episode, an alarm's pump, a readback's program."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from painpump.clinic.actions.pathway import STEP_ACTIONS, state_digest
from painpump.clinic.actions.patients import ASSESSMENT_RANGES
from painpump.clinic.audit_records import UNRECORDED, Exact, Kind, Moment, Owner, Stored
from painpump.clinic.models import AlarmReport, Appointment, Assessment, Episode, Readback
from painpump.core.pathway.stages import TERMINAL
from painpump.core.units import format_decimal

TERMINAL_STAGES = frozenset(stage.value for stage in TERMINAL)


def _episode(row: Episode) -> dict[str, Stored]:
    return {
        "indication": Exact(row.indication),
        "stage": Exact(row.stage),
        "referred_on": Exact(row.referred_on.isoformat()),
        "injury_date": Exact(row.injury_date.isoformat() if row.injury_date else None),
        "closed_at": Moment(row.closed_at),
        "closed_reason": Exact(row.closed_reason),
        "state_digest": Exact(state_digest(row.pathway_state)),
        "origin_override": Exact(row.origin_override or None),
        "origin_override_reason": Exact(row.origin_override_reason),
        "patient": Owner((row.patient_id,)),
    }


PLACES = Decimal("0.001")
"""An assessment's value as its column stores it."""


@dataclass(frozen=True)
class Score:
    """An assessment's value, read from the trail's "3" or "40 mg/day" at the column's places."""

    value: Decimal
    unit: str

    def matches(self, audited: object) -> bool:
        try:
            return Decimal(str(audited).split(" ")[0]).quantize(PLACES) == self.value
        except (InvalidOperation, ValueError):
            return False

    def shown(self, audited: object) -> object:
        return f"{format_decimal(self.value)}{self.unit}"


def _assessment(row: Assessment) -> dict[str, Stored]:
    unit = ASSESSMENT_RANGES[row.kind][2] if row.kind in ASSESSMENT_RANGES else ""
    return {
        "kind": Exact(row.kind),
        "value": Score(row.value, unit),
        "limb": Exact(row.limb),
        "taken_at": Moment(row.taken_at),
        "recorded_at": Moment(row.recorded_at),
        "note": Exact(row.note),
        "recorded_by": Exact(row.recorded_by.get_username()),
        "episode": Owner((row.episode_id,)),
        "patient": Owner((row.episode.patient_id,)),
    }


def _recorder(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    return {"recorded_by": actor} if action in ("assessment.record", "alarm.report") else {}


def _appointment(row: Appointment) -> dict[str, Stored]:
    return {
        "kind": Exact(row.kind),
        "on": Exact(row.on.isoformat()),
        "starts_at": Moment(row.starts_at),
        "status": Exact(row.status),
        "overdue": Exact(row.overdue),
        "late_reason": Exact(row.late_reason or None),
        "due_by": Exact(row.due_by.isoformat() if row.due_by else None),
        "ends_on": Exact(row.ends_on.isoformat() if row.ends_on else None),
        "stay": Exact(row.stay),
        "episode": Owner((row.episode_id,)),
        "patient": Owner((row.patient_id,)),
    }


def _appointment_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    """A refill visit proposed (again: its reason for lateness cleared); an admission booked
    (its day, discharge and purpose under the names the booking records them, its start not
    recorded); a visit done by its refill or its stay (lateness judged then, not recorded)."""
    if action == "appointment.propose":
        return {"kind": Appointment.Kind.REFILL.value, "late_reason": None}
    if action == "admission.plan":
        return {
            "kind": Appointment.Kind.ADMISSION.value,
            "status": "booked",
            "on": after.get("admit_on", UNRECORDED),
            "ends_on": after.get("discharge_on", UNRECORDED),
            "stay": after.get("purpose", UNRECORDED),
            "starts_at": UNRECORDED,
            "overdue": False,
            "late_reason": None,
            "due_by": None,
        }
    if after.get("status") == "done" and "overdue" not in after:
        return {"overdue": UNRECORDED, "late_reason": UNRECORDED}
    return {}


def _alarm(row: AlarmReport) -> dict[str, Stored]:
    return {
        "kind": Exact(row.kind),
        "reported_at": Moment(row.reported_at),
        "note": Exact(row.note),
        "recorded_by": Exact(row.recorded_by),
        "acknowledged_at": Moment(row.acknowledged_at),
        "acknowledged_by": Exact(row.acknowledged_by),
        "action_taken": Exact(row.action_taken),
        "implant": Owner((row.implant_id,)),
        "patient": Owner((row.implant.episode.patient_id,)),
    }


def _alarm_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    """Who reported it; who acknowledged it, and when (the acknowledgement's `at`)."""
    if action == "alarm.acknowledge":
        return {"acknowledged_by": actor, "acknowledged_at": after.get("at", UNRECORDED)}
    return _recorder(action, actor, after)


def _readback(row: Readback) -> dict[str, Stored]:
    return {
        "entered": Exact(row.entered),
        "mismatches": Exact(row.mismatches),
        "read_by": Exact(row.read_by),
        "read_at": Moment(row.read_at),
        "program": Owner((row.program_id,)),
        "patient": Owner((row.program.implant.episode.patient_id,)),
    }


def _readback_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    return {"read_by": actor}


def _episode_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    """A step that closed the episode before its entry recorded when and why leaves both
    uncompared (no other step changes them: a closed episode takes no further step)."""
    closing = action in STEP_ACTIONS and after.get("stage") in TERMINAL_STAGES
    return (
        {"closed_at": UNRECORDED, "closed_reason": UNRECORDED}
        if closing and ("closed_at" not in after)
        else {}
    )


KINDS = (
    Kind(
        "episode",
        frozenset(
            {"episode.open", "episode.origin_override", "episode.origin_override_clear"}
            | STEP_ACTIONS
        ),
        lambda: Episode.objects.all(),
        _episode,
        _episode_noted,
        {
            "closed_at": None,
            "closed_reason": "",
            "origin_override": None,
            "origin_override_reason": "",
        },
    ),
    Kind(
        "assessment",
        frozenset({"assessment.record"}),
        lambda: Assessment.objects.select_related("episode", "recorded_by"),
        _assessment,
        _recorder,
        recorded_later=frozenset({"recorded_at"}),
    ),
    Kind(
        "appointment",
        frozenset({"appointment.propose", "appointment.update", "admission.plan"}),
        lambda: Appointment.objects.all(),
        _appointment,
        _appointment_noted,
        {"stay": ""},
    ),
    Kind(
        "alarm",
        frozenset({"alarm.report", "alarm.acknowledge"}),
        lambda: AlarmReport.objects.select_related("implant__episode"),
        _alarm,
        _alarm_noted,
        {"acknowledged_at": None, "acknowledged_by": "", "action_taken": ""},
    ),
    Kind(
        "readback",
        frozenset({"readback.record"}),
        lambda: Readback.objects.select_related("program__implant__episode"),
        _readback,
        _readback_noted,
    ),
)
