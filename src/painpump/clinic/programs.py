"""A change of the prescribed program between refills (titration): checked against the drug
library, the titration rules and the device like a refill's program, then the running program
ends, the new one starts and the pump's projection (alarm, empty, refill-by) is recomputed from
the volume the pump computes as left. One transaction with its audit entry."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit, refill_visits
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Implant, Program
from painpump.clinic.refills import Fill, checked_fill, program_snapshot, require_acknowledged
from painpump.clinic.roles import require
from painpump.clinic.services import NotFound
from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.refill import plan_refill, residual_ml
from painpump.core.units import Q, of, round_places

RULES = "painpump program rules"


@transaction.atomic
def change_program(
    user: User,
    implant_id: UUID,
    *,
    dose: Q,
    now: datetime,
    acknowledge: frozenset[str] = frozenset(),
    origin: str | None = None,
) -> Program:
    """A new daily dose for the drug in the pump, from `now`."""
    actor = require(user, "program.prescribe")
    try:
        implant = Implant.objects.select_for_update().select_related("episode").get(id=implant_id)
    except Implant.DoesNotExist:
        raise NotFound(f"implant {implant_id}") from None
    last = implant.refills.order_by("-performed_at").first()
    previous = implant.programs.filter(ended_at__isnull=True).first()
    if last is None or previous is None:
        raise Refusal(
            "implant",
            str(implant.id),
            "a filled pump with a running program",
            RULES,
            "has no program to change",
        )
    if now <= previous.started_at:
        raise Refusal(
            "now",
            now.isoformat(),
            f"after the running program's start ({previous.started_at.isoformat()})",
            RULES,
            "is out of order",
        )
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
    pump = catalog.pump(implant.pump_model, "pump_model")
    settings = clinic_settings()
    locale = locale_of(settings)
    fill = Fill(
        tuple((name, of(conc, "mcg/mL")) for name, conc in drugs),
        of(last.volume_ml, "mL"),
        last.lot,
    )
    rate, warnings = checked_fill(pump, fill, dose, previous, now, origin, settings.dosing_region)
    require_acknowledged(warnings, acknowledge)
    history = [
        (p.rate_ml_per_day, p.started_at, p.ended_at)
        for p in implant.programs.filter(started_at__gte=last.performed_at)
    ]
    left = residual_ml(last.volume_ml, history, now)
    previous.ended_at = now
    previous.save(update_fields=["ended_at"])
    program = Program.objects.create(
        implant=implant,
        dose_mcg_per_day=dose.canonical,
        rate_ml_per_day=round_places(rate, 6),
        started_at=now,
        prescribed_by=actor,
    )
    if left > implant.alarm_volume_ml:
        plan = plan_refill(
            pump,
            of(left, "mL"),
            of(rate, "mL/day"),
            fill_at=now,
            alarm_volume=of(implant.alarm_volume_ml, "mL"),
            margin_days=Decimal(settings.refill_margin_days),
            tz=locale.zone,
        )
        implant.alarm_at, implant.empty_at = plan.alarm_at, plan.empty_at
        by = plan.refill_by
        if last.limited_by == "stability" and last.refill_by < by:
            by = last.refill_by  # the drug's stability still counts from the fill
        implant.refill_by = by
    else:
        implant.alarm_at, implant.refill_by = now, locale.today(now)
    implant.version += 1  # a form opened before this change is stale (409), never replayed
    implant.save(update_fields=["alarm_at", "empty_at", "refill_by", "version", "updated_at"])
    moved = _reschedule_refill(actor, implant)
    audit.record(
        actor,
        "program.change",
        "program",
        program.id,
        patient_id=implant.episode.patient_id,
        before=program_snapshot(previous, drugs),
        after={
            **program_snapshot(program, drugs),
            "reservoir_left": str(of(left, "mL")),
            "refill_by": implant.refill_by.isoformat(),
            "acknowledged": sorted(acknowledge),
            "appointments_moved": moved,
        },
    )
    return program


def _reschedule_refill(actor: str, implant: Implant) -> list[str]:
    """The patient's open refill appointments follow the new refill-by date: each is due by it,
    and one that now falls after it (or was urgent) moves to the visit core proposes (a higher
    dose must not leave the refill booked after the pump's alarm). Returns what moved."""
    assert implant.refill_by is not None
    moved = []
    open_refills = Appointment.objects.select_for_update().filter(
        patient_id=implant.episode.patient_id, kind="refill", status__in=("proposed", "booked")
    )
    for appointment in open_refills:
        before = appointment.on
        appointment.due_by = implant.refill_by
        if appointment.on > implant.refill_by or appointment.overdue:
            refill_visits.move_to_proposal(actor, appointment, "moved by a dose change")
            moved.append(f"{appointment.id}: {before} -> {appointment.on}")
        else:
            appointment.version += 1
            appointment.save(update_fields=["due_by", "version"])
    return moved
