"""Hospital stays of an episode booked ahead: the test phase's or the implantation's admission
and planned discharge, checked by painpump.core.stay_plan (the stage allows it, the wait before
an implantation, the usual length of a stay) and kept as an admission in the calendar. One open
admission per episode, so a form sent twice books once; it is done when the stay begins."""

from __future__ import annotations

from datetime import date, datetime
from typing import Unpack
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.actions import pathway
from painpump.clinic.actions.pathway import locked_episode
from painpump.clinic.errors import Conflict, get_or_not_found
from painpump.clinic.locale import clinic_settings, clinic_today, locale_of
from painpump.clinic.models import Appointment, Episode
from painpump.clinic.pathway_state import pathway_settings, state_of
from painpump.clinic.roles import require
from painpump.core.decision import Decision
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Facts
from painpump.core.pathway.indications import Protocol
from painpump.core.pathway.sources import DESIGN_PATHWAY
from painpump.core.pathway.stages import Action
from painpump.core.stay_plan import STAYS, StayPlan, check_acknowledged, plan_stay

RULES = "painpump admission rules (one open admission per episode, on a working day)"
OPEN = ("proposed", "booked")


def _purpose(value: Action | str) -> Action:
    if isinstance(value, Action):
        return value
    try:
        return Action(value)
    except ValueError:
        raise Refusal(
            "purpose", repr(value), "start_test_phase or implant", RULES, "is unknown"
        ) from None


def _plan(
    row: Episode, purpose: Action | str, admit_on: date, discharge_on: date, today: date
) -> StayPlan:
    return plan_stay(
        state_of(row),
        _purpose(purpose),
        admit_on,
        discharge_on,
        today=today,
        settings=pathway_settings(clinic_settings()),
    )


@transaction.atomic
def preview_admission(
    user: User,
    episode_id: UUID,
    *,
    purpose: Action | str,
    admit_on: date,
    discharge_on: date,
    now: datetime,
) -> StayPlan:
    """The findings a planned stay would give (the warnings to acknowledge), booking nothing."""
    actor = require(user, "patient.read")
    row = get_or_not_found(Episode.objects.all(), episode_id)
    plan = _plan(row, purpose, admit_on, discharge_on, clinic_today(now))
    audit.record(
        actor,
        "admission.preview",
        "episode",
        row.id,
        patient_id=row.patient_id,
        after={"purpose": plan.purpose.value},
    )
    return plan


def _note(plan: StayPlan, protocol: Protocol | None) -> str:
    detail = f", {protocol.value} protocol" if protocol is not None else ""
    return f"{plan.kind.capitalize()}{detail}"


@transaction.atomic
def plan_admission(
    user: User,
    episode_id: UUID,
    *,
    expected_version: int,
    purpose: Action | str,
    admit_on: date,
    discharge_on: date,
    now: datetime,
    protocol: str | None = None,
    acknowledge: dict[str, str] | None = None,
) -> Appointment:
    """Book the stay that begins a test phase (with its protocol) or an implantation, after the
    checks of core.stay_plan, on a working day of the clinic; audited with the warnings
    acknowledged."""
    actor = require(user, "pathway.decide")
    row = locked_episode(episode_id)
    if row.version != expected_version:
        raise Conflict("episode", str(row.id), expected_version, row.version)
    plan = _plan(row, purpose, admit_on, discharge_on, clinic_today(now))
    acks = dict(acknowledge or {})
    check_acknowledged(plan.decision, acks)
    chosen = _protocol(plan, protocol)
    locale = locale_of(clinic_settings())
    closed = locale.calendar.closed_because(admit_on)
    if closed:
        raise Refusal(
            "admit_on",
            admit_on.isoformat(),
            "a working day of the clinic",
            RULES,
            f"is not a working day ({closed})",
        )
    booked = Appointment.objects.filter(episode=row, kind="admission", status__in=OPEN).first()
    if booked is not None:
        raise Refusal(
            "admit_on",
            admit_on.isoformat(),
            f"one open admission per episode (booked on {booked.on.isoformat()}: move or cancel "
            "it in the calendar)",
            RULES,
            "would be a second admission",
        )
    appointment = Appointment.objects.create(
        patient_id=row.patient_id,
        episode=row,
        kind="admission",
        on=admit_on,
        starts_at=locale.at(admit_on, locale.opens_at),  # admitted when the clinic opens
        ends_on=discharge_on,
        not_before=plan.not_before,
        status="booked",
        note=_note(plan, chosen),
        stay=plan.purpose.value,
    )
    audit.record(
        actor,
        "admission.plan",
        "appointment",
        appointment.id,
        patient_id=row.patient_id,
        after={
            "episode": str(row.id),
            "purpose": plan.purpose.value,
            "admit_on": admit_on.isoformat(),
            "discharge_on": discharge_on.isoformat(),
            "protocol": chosen.value if chosen else None,
            "acknowledged": acks,
        },
    )
    return appointment


def _protocol(plan: StayPlan, protocol: str | None) -> Protocol | None:
    """A test phase's protocol (required); an implantation takes none."""
    if plan.purpose is Action.START_TEST_PHASE:
        choices = ", ".join(p.value for p in Protocol)
        try:
            return Protocol(protocol)
        except ValueError:
            raise Refusal(
                "protocol", repr(protocol), f"one of {choices}", DESIGN_PATHWAY, "is unknown"
            ) from None
    if protocol:
        raise Refusal(
            "protocol", protocol, "no protocol for an implantation", RULES, "is not a fact of it"
        )
    return None


def admitted(user: User, episode: Episode) -> int:
    """The episode's open admissions are done once its stay has begun (the test phase started
    or the pump implanted); call inside the step's transaction. Returns how many."""
    actor = require(user, "pathway.decide")
    done = list(
        Appointment.objects.filter(episode=episode, kind="admission", status__in=OPEN).order_by(
            "on"
        )
    )
    for appointment in done:
        before = {"status": appointment.status}
        appointment.status = "done"
        appointment.version += 1
        appointment.save(update_fields=["status", "version"])
        audit.record(
            actor,
            "appointment.update",
            "appointment",
            appointment.id,
            patient_id=appointment.patient_id,
            before=before,
            after={"status": "done"},
        )
    return len(done)


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
    """One pathway step (clinic.actions.pathway.step); a step that begins a stay closes the
    episode's booked admission."""
    row, decision = pathway.step(
        user,
        episode_id,
        action,
        expected_version=expected_version,
        now=now,
        acknowledge=acknowledge,
        **facts,
    )
    if _purpose(action) in STAYS:
        admitted(user, row)
    return row, decision
