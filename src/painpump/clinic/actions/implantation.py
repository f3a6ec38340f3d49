"""The implantation as the team records it after the operation, the one use case the web and the
API call: the pathway's implant step with the pump and catheter placed, the episode's booked
admission done and, when the patient has already gone home, the discharge that ends the stay, in
one transaction. The stay's length and the dead volume against the catheter are checked by core
(warnings to acknowledge: outside the clinic's usual days; a catheter the catalog does not know,
or a dead volume above what the catheter holds), against the catalog's catheter figure or else
the clinic's approved entry for the model (clinic.reads.catheters), recorded in the audit entry.
The pump's first fill is a refill with no expected or aspirated volume."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.actions import admissions
from painpump.clinic.actions.pathway import apply_step, locked_episode
from painpump.clinic.locale import clinic_settings, clinic_today
from painpump.clinic.models import Implant
from painpump.clinic.pathway_state import pathway_settings
from painpump.clinic.reads import catheters, therapy_queries
from painpump.clinic.roles import require
from painpump.core import catalog
from painpump.core.dead_volume import ABOVE_CATHETER, UNCHECKED, figure_for, judge_dead_volume
from painpump.core.decision import Decision, Finding
from painpump.core.errors import Refusal
from painpump.core.pathway.intervals import check_stay
from painpump.core.pathway.sources import DESIGN_PATHWAY, ORDER_SOURCE
from painpump.core.pathway.stages import Action
from painpump.core.pathway.transitions import require_acknowledged
from painpump.core.text import plain_text
from painpump.core.units import Q, format_decimal, of

STAY_RULE = "hospital_stay"
SERIAL_MAX = 60
"""Implant.pump_serial's length."""
DEAD_VOLUME_RULES = (UNCHECKED, ABOVE_CATHETER)


def _stay(implanted_on: date, discharged_on: date, now: datetime) -> Finding:
    """The stay's finding; a discharge in the future or before the implantation is refused."""
    today = clinic_today(now)
    if discharged_on > today:
        raise Refusal(
            "discharged_on",
            discharged_on.isoformat(),
            f"on or before today {today.isoformat()} (record the discharge when it happens)",
            ORDER_SOURCE,
            "is in the future",
        )
    try:
        return check_stay(
            "implantation", implanted_on, discharged_on, pathway_settings(clinic_settings())
        )
    except Refusal as refusal:
        raise replace(refusal, field="discharged_on") from None


def preview_implantation(
    user: User,
    episode_id: UUID,
    *,
    implanted_on: date,
    discharged_on: date | None,
    now: datetime,
    catheter: tuple[str, Q, Q] | None = None,
) -> Decision:
    """The findings of the implant step, of its stay and of the `catheter` (model, implanted
    length, dead volume) given: the warnings to acknowledge; a hard rule refuses, e.g. a date
    before the earliest implantation day or a dead volume less than the catheter holds."""
    decision = therapy_queries.preview_step(user, episode_id, "implant", now=now, on=implanted_on)
    found = list(decision.findings)
    if catheter is not None:
        model, length, dead_volume = catheter
        clinic = catheters.approved_for(model)
        found += judge_dead_volume(model, length, dead_volume, clinic).findings
    if discharged_on is not None:
        found.append(_stay(implanted_on, discharged_on, now))
    return Decision(tuple(found))


def _check_dead_volume(
    catheter_model: str, catheter_length_cm: Decimal, dead_volume: Q, acks: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The dead volume against the catheter's figure (core.dead_volume; a hard limit refuses),
    the acknowledgement of each of its warnings, taken out of `acks` (rule -> reason), and the
    figure as the audit entry records it (None: no figure)."""
    given = {rule: acks.pop(rule) for rule in DEAD_VOLUME_RULES if rule in acks}
    clinic = catheters.approved_for(catheter_model)
    decision = judge_dead_volume(catheter_model, of(catheter_length_cm, "cm"), dead_volume, clinic)
    require_acknowledged(decision.findings, given, "dead volume")
    figure = figure_for(catheter_model, clinic)
    return given, figure.as_record() if figure is not None else None


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
    """The implant step (refused before the test phase's responder decision plus the clinic's
    waiting days, except for tumour pain) and the pump and catheter placed, the episode's booked
    admission done, and the discharge when given (its warning acknowledged under
    `hospital_stay`). The dead volume is judged against the catheter first (core.dead_volume:
    its warnings acknowledged under their rules, the reasons kept in the audit entry)."""
    acks = dict(acknowledge or {})
    stay_ack = {STAY_RULE: acks.pop(STAY_RULE)} if STAY_RULE in acks else {}
    if stay_ack and discharged_on is None:
        raise Refusal(
            "acknowledge",
            STAY_RULE,
            "a discharge date whose stay the acknowledgement is for",
            DESIGN_PATHWAY,
            "acknowledges no warning of this step",
        )
    actor = require(user, "pathway.decide")
    pump_serial = plain_text(pump_serial, "pump_serial", SERIAL_MAX)
    if discharged_on is not None:
        _stay(implanted_on, discharged_on, now)
    dead_volume_acks, figure = _check_dead_volume(
        catheter_model, catheter_length_cm, dead_volume, acks
    )
    episode = locked_episode(episode_id)
    pump = catalog.pump(pump_model, "pump_model")
    alarm = alarm_volume or pump.low_reservoir_alarm.value
    if alarm.canonical >= pump.reservoir_volume.value.canonical:
        raise Refusal(
            "alarm_volume",
            str(alarm),
            f"< {pump.reservoir_volume.value}",
            pump.reservoir_volume.source,
            "is not below the reservoir volume",
        )
    apply_step(
        user,
        episode,
        "implant",
        expected_version=expected_version,
        now=now,
        acknowledge=acks,
        on=implanted_on,
    )
    implant = Implant.objects.create(
        episode=episode,
        pump_model=pump.model,
        pump_serial=pump_serial,
        catheter_model=catheter_model.strip(),
        catheter_length_cm=catheter_length_cm,
        dead_volume_ml=dead_volume.canonical,
        alarm_volume_ml=alarm.canonical,
        implanted_on=implanted_on,
    )
    audit.record(
        actor,
        "implant.register",
        "implant",
        implant.id,
        patient_id=episode.patient_id,
        after={
            "pump": f"{pump.model} {implant.pump_serial}",
            "catheter": f"{implant.catheter_model} {format_decimal(catheter_length_cm)} cm",
            "dead_volume": str(dead_volume),
            catheters.FIGURE: figure,
            "alarm_volume": str(alarm),
            "implanted_on": implanted_on.isoformat(),
            "episode": str(episode.id),
            **({"acknowledged": dead_volume_acks} if dead_volume_acks else {}),
        },
    )
    admissions.admitted(user, episode)
    if discharged_on is not None:
        apply_step(
            user,
            episode,
            Action.DISCHARGE,
            expected_version=episode.version,
            now=now,
            acknowledge=stay_ack,
            on=discharged_on,
        )
    return implant
