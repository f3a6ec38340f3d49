"""A titration between refills looked at before it is committed, and afterwards: the new dose
checked like a refill's program (label step, hours since the last increase, device range; a stop
or warnings to acknowledge), the rate that follows, and the projection recomputed from the volume
the pump computes as left, exactly as change_program computes it. confirm_program_change commits
only if nobody refilled or reprogrammed the pump since the form was shown (the implant's
version)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant, Program, Refill
from painpump.clinic.programs import change_program
from painpump.clinic.refill_preview import Setting, current_setting, dose_in_drug_units
from painpump.clinic.refills import Fill, checked_fill
from painpump.clinic.roles import require
from painpump.clinic.services import Conflict, NotFound
from painpump.core import catalog
from painpump.core.decision import Finding
from painpump.core.errors import Refusal
from painpump.core.refill import plan_refill, residual_ml
from painpump.core.units import Q, of

RULES = "painpump program rules"


@dataclass(frozen=True)
class Projection:
    """Where a program started between refills leaves the pump: the volume left, the alarm and
    empty times and the refill-by date (None: unchanged, the reservoir is already at the
    alarm)."""

    left: Q
    alarm_at: datetime
    empty_at: datetime | None
    refill_by: date
    limited_by: str


@dataclass(frozen=True)
class ProgramPreview:
    """What a new dose would do, or why it cannot be given (`stop`, a hard limit)."""

    implant: Implant
    version: int
    before: Setting
    after: Setting | None
    stop: Refusal | None
    warnings: tuple[Finding, ...]


def titrated_projection(
    implant: Implant,
    last: Refill,
    history: list[tuple[Decimal, datetime, datetime | None]],
    rate_ml_per_day: Decimal,
    at: datetime,
) -> Projection:
    """The projection after a program change at `at` (change_program's arithmetic): from the
    volume left by `history` (rate, start, end of each program since the fill), at the new rate;
    the drug's stability still counts from the fill."""
    pump = catalog.pump(implant.pump_model, "pump_model")
    settings = clinic_settings()
    locale = locale_of(settings)
    left = residual_ml(last.volume_ml, history, at)
    if left <= implant.alarm_volume_ml:
        return Projection(of(left, "mL"), at, None, locale.today(at), "reservoir")
    plan = plan_refill(
        pump,
        of(left, "mL"),
        of(rate_ml_per_day, "mL/day"),
        fill_at=at,
        alarm_volume=of(implant.alarm_volume_ml, "mL"),
        margin_days=Decimal(settings.refill_margin_days),
        tz=locale.zone,
    )
    by, limited_by = plan.refill_by, plan.limited_by
    if last.limited_by == "stability" and last.refill_by < by:
        by, limited_by = last.refill_by, "stability"
    return Projection(of(left, "mL"), plan.alarm_at, plan.empty_at, by, limited_by)


def _implant(implant_id: UUID) -> Implant:
    try:
        return Implant.objects.select_related("episode__patient").get(id=implant_id)
    except Implant.DoesNotExist:
        raise NotFound(f"implant {implant_id}") from None


def _history(implant: Implant, since: datetime) -> list[tuple[Decimal, datetime, datetime | None]]:
    return [
        (p.rate_ml_per_day, p.started_at, p.ended_at)
        for p in implant.programs.filter(started_at__gte=since)
    ]


@transaction.atomic
def preview_program_change(
    user: User,
    implant_id: UUID,
    *,
    at: datetime,
    dose: Q | None = None,
    origin: str | None = None,
) -> ProgramPreview:
    """What a new daily dose from `at` would do, without doing it (physicians only, as
    change_program). Without a dose, the pump as it runs. The look is audited."""
    actor = require(user, "program.prescribe")
    implant = _implant(implant_id)
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
    before = current_setting(implant, at)
    preview = ProgramPreview(implant, implant.version, before, None, None, ())
    if dose is not None:
        drugs = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
        fill = Fill(
            tuple((name, of(conc, "mcg/mL")) for name, conc in drugs),
            of(last.volume_ml, "mL"),
            last.lot,
        )
        pump = catalog.pump(implant.pump_model, "pump_model")
        try:
            rate, warnings = checked_fill(
                pump, fill, dose, previous, at, origin, clinic_settings().dosing_region
            )
            projection = titrated_projection(
                implant, last, _history(implant, last.performed_at), rate, at
            )
        except Refusal as stop:
            preview = replace(preview, stop=stop)
        else:
            after = replace(
                before,
                reservoir=projection.left,
                dose=dose_in_drug_units(drugs[0][0], dose.canonical),
                rate=of(rate, "mL/day"),
                alarm_at=projection.alarm_at,
                empty_at=projection.empty_at or before.empty_at,
                refill_by=projection.refill_by,
                limited_by=projection.limited_by,
            )
            preview = replace(preview, after=after, warnings=tuple(warnings))
    audit.record(
        actor,
        "program.preview",
        "implant",
        implant.id,
        patient_id=implant.episode.patient_id,
        after={
            "stop": preview.stop.message if preview.stop else None,
            "warnings": sorted({w.rule for w in preview.warnings}),
        },
    )
    return preview


@transaction.atomic
def confirm_program_change(
    user: User,
    implant_id: UUID,
    *,
    expected_version: int,
    dose: Q,
    now: datetime,
    acknowledge: frozenset[str],
    origin: str | None = None,
) -> Program:
    """change_program, if the pump is still as the physician reviewed it (its version)."""
    require(user, "program.prescribe")
    implant = Implant.objects.select_for_update().filter(id=implant_id).first()
    if implant is None:
        raise NotFound(f"implant {implant_id}")
    if implant.version != expected_version:
        raise Conflict("implant", str(implant.id), expected_version, implant.version)
    return change_program(
        user, implant_id, dose=dose, now=now, acknowledge=acknowledge, origin=origin
    )


@dataclass(frozen=True)
class ProgramRecord:
    """A program change as recorded: the program before and after, and the projection it gave."""

    program: Program
    implant: Implant
    before: Setting
    after: Setting


@transaction.atomic
def program_record(user: User, program_id: UUID) -> ProgramRecord:
    """A recorded program with the one it replaced and the projection at its start."""
    actor = require(user, "patient.read")
    try:
        program = Program.objects.select_related("implant__episode__patient").get(id=program_id)
    except Program.DoesNotExist:
        raise NotFound(f"program {program_id}") from None
    implant = program.implant
    last = (
        implant.refills.filter(performed_at__lte=program.started_at)
        .order_by("-performed_at")
        .first()
    )
    if last is None:
        raise NotFound(f"program {program_id} of a filled pump")
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
    principal = drugs[0][0]
    shown = tuple((name, of(conc, catalog.drug(name).concentration_unit)) for name, conc in drugs)
    previous = (
        implant.programs.filter(started_at__lt=program.started_at).order_by("-started_at").first()
    )
    history = [
        (rate, start, end)
        for rate, start, end in _history(implant, last.performed_at)
        if start < program.started_at
    ]
    left = of(residual_ml(last.volume_ml, history, program.started_at), "mL")
    before = Setting(drugs=shown, reservoir=left)
    if previous is not None:
        before = replace(
            before,
            dose=dose_in_drug_units(principal, previous.dose_mcg_per_day),
            rate=of(previous.rate_ml_per_day, "mL/day"),
        )
    after = replace(
        before,
        dose=dose_in_drug_units(principal, program.dose_mcg_per_day),
        rate=of(program.rate_ml_per_day, "mL/day"),
    )
    if last.performed_at == program.started_at:
        after = replace(
            after,
            alarm_at=last.alarm_at,
            empty_at=last.empty_at,
            refill_by=last.refill_by,
            limited_by=last.limited_by,
        )
    else:
        projection = titrated_projection(
            implant, last, history, program.rate_ml_per_day, program.started_at
        )
        after = replace(
            after,
            alarm_at=projection.alarm_at,
            empty_at=projection.empty_at,
            refill_by=projection.refill_by,
            limited_by=projection.limited_by,
        )
    audit.record(
        actor, "program.read", "program", program.id, patient_id=implant.episode.patient_id
    )
    return ProgramRecord(program, implant, before, after)
