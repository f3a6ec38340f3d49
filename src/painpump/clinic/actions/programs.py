"""Programming the pump between refills with the prescription ready for it (a titration the
physician prescribed and, if high-alert, a second clinician double-checked): checked against the
drug library, the titration rules and the device like a refill's program, then the running
program ends, the new one starts and the pump's dates (alarm, empty, refill-by) come from its
twin over the recorded history (pump_dates). One transaction with its audit entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.actions import pump_dates, refill_visits
from painpump.clinic.actions.refills import (
    overrides_json,
    program_snapshot,
    put_in_force,
    version_conflict,
)
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.models import Implant, Program
from painpump.clinic.reads import prescriptions
from painpump.clinic.reads.incident_warnings import with_open_incidents
from painpump.clinic.reads.pump_state import dosing_rules, running_program
from painpump.clinic.reads.refill_preview import refill_state
from painpump.clinic.roles import Forbidden, require
from painpump.core.dose_history import Phase
from painpump.core.overrides import GivenAt, overrides_for
from painpump.core.refill_decision import BOLUS_CUT, decide_program_change
from painpump.core.units import of, round_places


@transaction.atomic
def program_pump(
    user: User,
    implant_id: UUID,
    *,
    expected_version: int,
    now: datetime,
    overrides: Mapping[str, str] | None = None,
) -> Program:
    """The pump programmed from `now` with its ready prescription, as core decides it
    (core.refill_decision.decide_program_change). A soft warning passes with the prescriber's
    reason for it; a warning the prescriber did not see needs a physician's reason in
    `overrides`, but for a readback incident open on the pump, which whoever programs it
    acknowledges (the incident stays for a physician to close); a hard limit stops whatever is
    given."""
    actor = require(user, "refill.perform")
    conflict = version_conflict(implant_id, expected_version)
    if conflict is not None:
        raise conflict
    implant = get_or_not_found(
        Implant.objects.select_for_update().select_related("episode"), implant_id
    )
    prescription = prescriptions.ready_to_program(implant)
    prescriptions.check_ready_by(prescription, now, "now")
    state = refill_state(implant)
    dose = of(prescription.daily_dose_mcg_per_day, "mcg/day")
    phase = Phase(prescription.phase) if prescription.phase else None
    basal = prescription.bolus_dose_mcg is None  # else a single bolus's day
    decision = decide_program_change(
        state,
        dose,
        now,
        None,
        dosing_rules(),
        phase,
        basal,
        prescription=prescriptions.as_core(prescription),
    )
    if decision.stop is not None:
        raise decision.stop
    decision = with_open_incidents(decision, implant)
    projection, rate = decision.projection, decision.rate_ml_per_day
    assert projection is not None and rate is not None and state.last_fill is not None
    reasons = prescriptions.reasons_for_physician(user, overrides or {})
    if reasons:
        who = "a physician gives it (program.prescribe)"
        if BOLUS_CUT in reasons:
            who += ", or the pump is programmed once the single bolus has ended"
        raise Forbidden(
            actor,
            "program.prescribe",
            who,
            doing=f"give the reason for {', '.join(reasons)} at programming",
        )
    passed = overrides_for(
        decision.warnings,
        overrides or {},
        GivenAt.PROGRAMMING,
        prescriptions.carried_overrides(decision, prescription),
    )
    previous = running_program(implant)
    assert previous is not None
    previous.ended_at = now
    previous.save(update_fields=["ended_at"])
    program = Program.objects.create(
        implant=implant,
        prescription=prescription,
        dose_mcg_per_day=dose.canonical,
        rate_ml_per_day=round_places(rate, 6),
        started_at=now,
        prescribed_by=prescription.prescribed_by,
        programmed_by=actor,
        alarm_at=projection.alarm_at,
        empty_at=projection.empty_at or implant.empty_at,
        refill_by=projection.refill_by,
        limited_by=projection.limited_by,
        warnings=[w.as_json() for w in decision.warnings],
        overrides=overrides_json(passed),
        phase=decision.phase.value,
        awaiting_readback=True,
    )
    put_in_force(actor, prescription)
    dated = pump_dates.store(implant, program, None, now)
    implant.version += 1  # a form opened before this change is stale (409), never replayed
    implant.save(update_fields=["alarm_at", "empty_at", "refill_by", "version", "updated_at"])
    note = refill_visits.limited_note(dated.limited_by, prescriptions.stops_basal(program))
    moved = refill_visits.reschedule_refill(actor, implant, note, "moved by a dose change")
    drugs = state.last_fill.drugs
    audit.record(
        actor,
        "program.change",
        "program",
        program.id,
        patient_id=implant.episode.patient_id,
        before=program_snapshot(previous, drugs),
        after={
            **program_snapshot(program, drugs),
            "prescription": prescription.number,
            "implant": str(implant.id),
            "reservoir_left": str(of(dated.residual_ml, "mL")),
            **pump_dates.dates_of(implant),
            "started_at": now.isoformat(),
            "programmed_by": actor,
            "ends": str(previous.id),
            "limited_by": program.limited_by,
            "warnings": program.warnings,
            "overrides": overrides_json(passed),
            "appointments_moved": moved,
        },
    )
    return program
