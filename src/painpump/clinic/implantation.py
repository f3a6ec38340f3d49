"""The implantation as the team records it after the operation: the pathway's implant step with
the pump and catheter placed (clinic.refills.register_implant) and, when the patient has already
gone home, the discharge that ends the stay, in one transaction. The stay's length is checked by
core (a warning to acknowledge outside the clinic's usual days)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import admissions, refills, therapy_queries
from painpump.clinic.locale import clinic_settings, clinic_today
from painpump.clinic.models import Implant
from painpump.clinic.pathway import apply_step, locked_episode, pathway_settings
from painpump.core import pathway as core
from painpump.core.decision import Decision, Finding
from painpump.core.errors import Refusal
from painpump.core.units import Q

STAY_RULE = "hospital_stay"


def _stay(implanted_on: date, discharged_on: date) -> Finding:
    try:
        return core.check_stay(
            "implantation", implanted_on, discharged_on, pathway_settings(clinic_settings())
        )
    except Refusal as refusal:
        raise Refusal(
            "discharged_on", refusal.value, refusal.limit, refusal.source, refusal.problem
        ) from None


def preview_implantation(
    user: User,
    episode_id: UUID,
    *,
    implanted_on: date,
    discharged_on: date | None,
    now: datetime,
) -> Decision:
    """The findings of the implant step and of its stay (the warnings to acknowledge); a hard
    rule refuses, e.g. a date before the earliest implantation day."""
    decision = therapy_queries.preview_step(user, episode_id, "implant", now=now, on=implanted_on)
    if discharged_on is None:
        return decision
    today = clinic_today(now)
    if discharged_on > today:
        raise Refusal(
            "discharged_on",
            discharged_on.isoformat(),
            f"on or before today {today.isoformat()} (record the discharge when it happens)",
            core.ORDER_SOURCE,
            "is in the future",
        )
    return Decision((*decision.findings, _stay(implanted_on, discharged_on)))


@transaction.atomic
def register_implantation(
    user: User,
    episode_id: UUID,
    *,
    expected_version: int,
    now: datetime,
    pump_model: str,
    pump_serial: str,
    catheter_model: str,
    catheter_length_cm: Decimal,
    dead_volume: Q,
    alarm_volume: Q | None,
    implanted_on: date,
    discharged_on: date | None = None,
    acknowledge: dict[str, str] | None = None,
) -> Implant:
    """The implant step and the pump and catheter placed, the episode's booked admission done,
    and the discharge when given (its warning acknowledged under `hospital_stay`)."""
    acks = dict(acknowledge or {})
    stay_ack = {STAY_RULE: acks.pop(STAY_RULE)} if STAY_RULE in acks else {}
    if stay_ack and discharged_on is None:
        raise Refusal(
            "acknowledge",
            STAY_RULE,
            "a discharge date whose stay the acknowledgement is for",
            core.DESIGN_PATHWAY,
            "acknowledges no warning of this step",
        )
    implant = refills.register_implant(
        user,
        episode_id,
        expected_version=expected_version,
        now=now,
        pump_model=pump_model,
        pump_serial=pump_serial,
        catheter_model=catheter_model,
        catheter_length_cm=catheter_length_cm,
        dead_volume=dead_volume,
        alarm_volume=alarm_volume,
        implanted_on=implanted_on,
        acknowledge=acks,
    )
    episode = locked_episode(episode_id)
    admissions.admitted(user, episode)
    if discharged_on is not None:
        _stay(implanted_on, discharged_on)
        apply_step(
            user,
            episode,
            core.Action.DISCHARGE,
            expected_version=episode.version,
            now=now,
            acknowledge=stay_ack,
            on=discharged_on,
        )
    return implant
