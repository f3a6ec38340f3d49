"""Programming a ready prescription between refills looked at before it is committed, and
afterwards: core's decision on its dose (core.refill_decision.decide_program_change: the checks,
the rate, the projection from the volume the pump computes as left), exactly as program_pump
decides it on the locked pump."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import NotFound, get_or_not_found
from painpump.clinic.models import Implant, Prescription, Program, Refill
from painpump.clinic.reads import prescriptions, pump_history
from painpump.clinic.reads.incident_warnings import with_open_incidents
from painpump.clinic.reads.overrides_given import program_overrides
from painpump.clinic.reads.pump_state import dosing_rules, last_fill, pump_state
from painpump.clinic.reads.refill_preview import (
    Setting,
    current_setting,
    record_preview,
    refill_state,
)
from painpump.clinic.roles import require
from painpump.core.decision import Finding
from painpump.core.dose_history import Phase
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenOverride
from painpump.core.refill_decision import Titrated, decide_program_change, titrated
from painpump.core.units import of


@dataclass(frozen=True)
class ProgramPreview:
    """What programming the ready prescription would do, or why it cannot (`stop`, a hard
    limit)."""

    implant: Implant
    version: int
    before: Setting
    after: Setting | None
    stop: Refusal | None
    warnings: tuple[Finding, ...]
    prescription: Prescription
    prescribers_reasons: Mapping[str, str] = field(default_factory=dict)
    """The prescriber's reasons for warnings shown (rule -> reason); others need a physician's."""
    physician_reasons: tuple[str, ...] = ()
    """The warnings whose reason the one looking, no physician, may not give here."""


@transaction.atomic
def preview_program_change(user: User, implant_id: UUID, *, at: datetime) -> ProgramPreview:
    """What programming the pump from `at` with its ready prescription would do, without doing
    it, as program_pump decides it. The look is audited."""
    actor = require(user, "refill.perform")
    implant = get_or_not_found(Implant.objects.select_related("episode__patient"), implant_id)
    state = refill_state(implant)
    if state.last_fill is None or state.running is None:
        raise Refusal(
            "implant",
            str(implant.id),
            "a filled pump with a running program",
            "painpump program rules",
            "has no program to change",
        )
    prescription = prescriptions.ready_to_program(implant)
    prescriptions.check_ready_by(prescription, at, "now")
    dose = of(prescription.daily_dose_mcg_per_day, "mcg/day")
    before = current_setting(implant, state, at)
    preview = ProgramPreview(implant, implant.version, before, None, None, (), prescription)
    decision = decide_program_change(
        state,
        dose,
        at,
        None,
        dosing_rules(),
        Phase(prescription.phase) if prescription.phase else None,
        basal=prescription.bolus_dose_mcg is None,
        prescription=prescriptions.as_core(prescription),
    )
    decision = with_open_incidents(decision, implant)
    projection = decision.projection
    if decision.stop is not None or projection is None or decision.rate_ml_per_day is None:
        preview = replace(preview, stop=decision.stop, warnings=decision.warnings)
    else:
        twin = decision.twin
        assert twin is not None  # the decision ran the pump's twin with the change
        after = replace(
            before,
            reservoir=of(twin.residual_ml, "mL"),
            dose=dose_in_drug_unit(state.last_fill.drugs[0][0], dose.canonical),
            rate=of(decision.rate_ml_per_day, "mL/day"),
            alarm_at=twin.alarm_at,
            empty_at=twin.empty_at,
            refill_by=twin.refill_by,
            limited_by=twin.limited_by,
        )
        reasons = prescriptions.prescribers_reasons(decision, prescription)
        preview = replace(
            preview,
            after=after,
            warnings=decision.warnings,
            prescribers_reasons=reasons,
            physician_reasons=tuple(
                prescriptions.reasons_for_physician(user, (w.rule for w in decision.warnings))
            ),
        )
    record_preview(actor, "program.preview", implant, preview.stop, preview.warnings)
    return preview


@dataclass(frozen=True)
class ProgramRecord:
    """A program change as recorded: the program before and after, and the projection it gave."""

    program: Program
    implant: Implant
    before: Setting
    after: Setting

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """The warnings shown when it was prescribed, as they were shown."""
        return tuple(Finding.from_json(w) for w in self.program.warnings)

    @property
    def overrides(self) -> tuple[GivenOverride, ...]:
        """The soft limits it passed, each with its reason and who gave it, when and where."""
        return program_overrides(self.program)


@transaction.atomic
def program_record(user: User, program_id: UUID) -> ProgramRecord:
    """A recorded program with the one it replaced and the projection at its start."""
    actor = require(user, "patient.read")
    program = get_or_not_found(
        Program.objects.select_related("implant__episode__patient", "prescription"), program_id
    )
    implant = program.implant
    last = (
        implant.refills.filter(performed_at__lte=program.started_at)
        .order_by("-performed_at")
        .first()
    )
    if last is None:
        raise NotFound(f"program {program_id} of a filled pump")
    fill = last_fill(last)
    principal = fill.drugs[0][0]
    shown = tuple((name, concentration_in_drug_unit(name, conc)) for name, conc in fill.drugs)
    previous = (
        implant.programs.filter(started_at__lt=program.started_at).order_by("-started_at").first()
    )
    history = [run for run in fill.programs if run[1] < program.started_at]
    before = Setting(drugs=shown, reservoir=pump_history.residual_at(implant, program.started_at))
    # no basal program ran before it: a stop, or a single bolus (then the pump stopped)
    if previous is not None and prescriptions.stops_basal(previous):
        nothing = Decimal(0)
        before = replace(
            before, dose=dose_in_drug_unit(principal, nothing), rate=of(nothing, "mL/day")
        )
    elif previous is not None:
        before = replace(
            before,
            dose=dose_in_drug_unit(principal, previous.dose_mcg_per_day),
            rate=of(previous.rate_ml_per_day, "mL/day"),
        )
    after = replace(
        before,
        dose=dose_in_drug_unit(principal, program.dose_mcg_per_day),
        rate=of(program.rate_ml_per_day, "mL/day"),
    )
    if previous is not None and previous.refill_by is not None:
        before = replace(before, **_dates(previous))
    if program.refill_by is not None:
        after = replace(after, **_dates(program))
    else:  # recorded before programs kept their projection: computed again
        planned: Refill | Titrated = last
        if last.performed_at != program.started_at:
            state = replace(pump_state(implant), last_fill=fill)
            planned = titrated(
                state, history, program.rate_ml_per_day, program.started_at, dosing_rules()
            )
        after = replace(after, **_dates(planned))
    audit.record(
        actor, "program.read", "program", program.id, patient_id=implant.episode.patient_id
    )
    return ProgramRecord(program, implant, before, after)


def _dates(planned: Program | Refill | Titrated) -> dict[str, Any]:
    """The projection a program, a refill or a titration gives, as a Setting's fields."""
    return {
        "alarm_at": planned.alarm_at,
        "empty_at": planned.empty_at,
        "refill_by": planned.refill_by,
        "limited_by": planned.limited_by,
    }
