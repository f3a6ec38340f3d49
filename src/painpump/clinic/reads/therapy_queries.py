"""Read use cases of the therapy records the services do not return: an episode's pathway history
and the findings a step would give, implants with their current program and last refill, refill
histories, appointments of a period and alarms. Each checks the reader's role and audits the
read in the same transaction (every look at a patient's record leaves a trace)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Unpack
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import NotFound, get_or_not_found
from painpump.clinic.locale import clinic_settings, clinic_today
from painpump.clinic.models import (
    AlarmReport,
    Appointment,
    Episode,
    Implant,
    PathwayEvent,
    Patient,
    Program,
    Refill,
)
from painpump.clinic.pathway_state import pathway_settings, state_of
from painpump.clinic.roles import require
from painpump.core.decision import Decision
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Facts
from painpump.core.pathway.stages import Action
from painpump.core.pathway.transitions import preview

RULES = "painpump clinic rules"
ROWS = 500
"""At most this many rows in a list (appointments, alarms): a list is a worklist, not an export."""
MAX_PERIOD = timedelta(days=366)


@dataclass(frozen=True)
class ImplantView:
    """An implant with its current program (None before the first fill) and its last refill."""

    implant: Implant
    program: Program | None
    last_refill: Refill | None


@transaction.atomic
def pathway_history(user: User, episode_id: UUID) -> list[PathwayEvent]:
    """The steps applied to an episode, in the order they were recorded."""
    actor = require(user, "patient.read")
    episode = get_or_not_found(Episode.objects.all(), episode_id)
    found = list(episode.pathway_events.order_by("recorded_at", "id"))
    audit.record(actor, "pathway.history", "episode", episode.id, patient_id=episode.patient_id)
    return found


@transaction.atomic
def preview_step(
    user: User, episode_id: UUID, action: str, *, now: datetime, **facts: Unpack[Facts]
) -> Decision:
    """The findings a pathway step would give now (the warnings to acknowledge), without applying
    it; a hard rule refuses as the step would."""
    actor = require(user, "patient.read")
    episode = get_or_not_found(Episode.objects.select_related("patient"), episode_id)
    if action == Action.IMPLANT.value:  # from the patient's record, never typed at the step
        facts = {**facts, "life_expectancy_months": episode.patient.life_expectancy_months}
    decision = preview(
        state_of(episode),
        action,
        now=clinic_today(now),
        settings=pathway_settings(clinic_settings()),
        **facts,
    )
    audit.record(
        actor,
        "pathway.preview",
        "episode",
        episode.id,
        patient_id=episode.patient_id,
        after={"action": action},
    )
    return decision


def _view(implant: Implant) -> ImplantView:
    program = implant.programs.filter(ended_at__isnull=True).order_by("-started_at").first()
    last = (
        implant.refills.select_related("program")
        .prefetch_related("drugs")
        .order_by("-performed_at")
        .first()
    )
    return ImplantView(implant, program, last)


@transaction.atomic
def read_implant(user: User, implant_id: UUID) -> ImplantView:
    actor = require(user, "patient.read")
    implant = get_or_not_found(Implant.objects.select_related("episode"), implant_id)
    audit.record(
        actor, "implant.read", "implant", implant.id, patient_id=implant.episode.patient_id
    )
    return _view(implant)


@transaction.atomic
def implants_of(user: User, patient_id: UUID) -> list[ImplantView]:
    """A patient's implants (explanted ones too), newest first."""
    actor = require(user, "patient.read")
    if not Patient.objects.filter(id=patient_id).exists():
        raise NotFound(f"patient {patient_id}")
    implants = Implant.objects.filter(episode__patient_id=patient_id).select_related("episode")
    found = [_view(i) for i in implants.order_by("-implanted_on", "-created_at")]
    audit.record(actor, "implant.list", "patient", patient_id, patient_id=patient_id)
    return found


@transaction.atomic
def refills_of(user: User, implant_id: UUID) -> list[Refill]:
    """An implant's refills with their reconciliation and program, oldest first."""
    actor = require(user, "patient.read")
    implant = get_or_not_found(Implant.objects.select_related("episode"), implant_id)
    found = list(
        implant.refills.select_related("program").prefetch_related("drugs").order_by("performed_at")
    )
    audit.record(actor, "refill.list", "implant", implant.id, patient_id=implant.episode.patient_id)
    return found


def refill_recorded(username: str, idempotency_key: str) -> bool:
    """True when this user recorded a refill with this key (a retry gets that refill back; a
    key is the user's own, so another user's refill is never replayed)."""
    return Refill.objects.filter(performed_by=username, idempotency_key=idempotency_key).exists()


def check_period(start: date, end: date, source: str) -> None:
    """A calendar period: `to` on or after `from`, at most a year later."""
    if end < start:
        raise Refusal("to", end.isoformat(), f"on or after from ({start.isoformat()})", source)
    if end - start > MAX_PERIOD:
        raise Refusal(
            "to",
            end.isoformat(),
            f"at most {MAX_PERIOD.days} day after from ({start.isoformat()})",
            source,
            "makes the period too long",
        )


@transaction.atomic
def appointments_between(user: User, start: date, end: date) -> list[Appointment]:
    """The calendar from `start` to `end` (both included, at most a year), by day."""
    actor = require(user, "patient.read")
    check_period(start, end, RULES)
    found = list(
        Appointment.objects.filter(on__gte=start, on__lte=end)
        .select_related("patient")
        .order_by("on", "starts_at", "patient__family_name", "id")[:ROWS]
    )
    audit.record(
        actor,
        "appointment.list",
        "appointment",
        f"{start.isoformat()}/{end.isoformat()}",
        after={"patients": sorted({str(a.patient_id) for a in found})},
    )
    return found


@transaction.atomic
def alarms_list(user: User, *, open_only: bool) -> list[AlarmReport]:
    """Reported alarms, newest first; open ones only when `open_only`, baclofen pumps (high risk)
    first among them, as on the worklist."""
    actor = require(user, "patient.read")
    alarms = AlarmReport.objects.select_related("implant__episode__patient")
    if open_only:
        alarms = alarms.filter(acknowledged_at__isnull=True).order_by(
            "-implant__high_risk", "reported_at"
        )
    else:
        alarms = alarms.order_by("-reported_at")
    found = list(alarms[:ROWS])
    audit.record(
        actor,
        "alarm.list",
        "alarm",
        "open" if open_only else "all",
        after={"patients": sorted({str(a.implant.episode.patient_id) for a in found})},
    )
    return found
