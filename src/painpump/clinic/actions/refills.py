"""Refills, each one transaction: the pump locked, the refill decided by core
(core.refill_decision: reconciliation, checks, bridge, projection, four-eyes), each soft warning
passed only with a reason typed for it (core.overrides, rule-two-tiers; a readback incident open
on the pump among them: clinic.reads.incident_warnings), the program and refill
recorded with those overrides, the pump's dates and its refill visit updated, the audit entry
written; and the second clinician's verification."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import pump_dates, refill_visits
from painpump.clinic.audit_entered import refuse_unentered
from painpump.clinic.errors import Conflict, get_or_not_found
from painpump.clinic.locale import clinic_today
from painpump.clinic.models import (
    Appointment,
    Implant,
    Prescription,
    Program,
    Refill,
    RefillDrug,
)
from painpump.clinic.reads import prescriptions
from painpump.clinic.reads.incident_warnings import with_open_incidents
from painpump.clinic.reads.pump_state import dosing_rules, running_program
from painpump.clinic.reads.refill_preview import refill_state
from painpump.clinic.reads.therapy_queries import refill_recorded
from painpump.clinic.roles import Forbidden, require
from painpump.core import fluid_change
from painpump.core.decision import Finding
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, Override, overrides_for
from painpump.core.prescription import FluidChange
from painpump.core.refill_decision import (
    Fill,
    PtmCounts,
    RefillDecision,
    RefillEntries,
    decide_refill,
)
from painpump.core.text import plain_text
from painpump.core.units import Q, of, round_places

RULES = "painpump refill rules"
LOT_MAX = 60
"""Refill.lot's length."""


def _physician_runs_priming(user: User, actor: str, warnings: Sequence[Finding]) -> None:
    """A priming bolus whose push breaks a limit is run by a physician
    (fluid_change.physician_at_fill); nothing is written before this refusal."""
    broken = prescriptions.priming_for_physician(user, warnings)
    if broken:
        raise Forbidden(
            actor,
            "program.prescribe",
            f"a physician runs it and gives the reason at the refill "
            f"({fluid_change.PHYSICIAN_PUSH}); or the physician prescribes a bridge or an "
            "emptied path instead",
            doing=f"run a priming bolus that breaks {', '.join(broken)}",
        )


def overrides_json(overrides: Sequence[Override]) -> list[dict[str, str]]:
    """The overrides as stored and audited: each rule with its reason and where it was given
    (at prescribing, for a reason that travelled with the prescription)."""
    return [o.as_json() for o in overrides]


def program_snapshot(
    program: Program | None, drugs: Sequence[tuple[str, Decimal]]
) -> dict[str, Any]:
    if program is None:
        return {}
    return {
        "dose": str(of(program.dose_mcg_per_day, "mcg/day")),
        "rate": str(of(program.rate_ml_per_day, "mL/day")),
        "drugs": [f"{name} {of(conc, 'mcg/mL')}" for name, conc in drugs],
        "phase": program.phase,
    }


def version_conflict(implant_id: UUID, expected_version: int) -> Conflict | None:
    """Locks the pump; the conflict when someone refilled or reprogrammed it since the version
    the form was shown at."""
    implant = get_or_not_found(Implant.objects.select_for_update(), implant_id)
    if implant.version == expected_version:
        return None
    return Conflict("implant", str(implant.id), expected_version, implant.version)


def _same_fill(refill: Refill, fill: Fill, dose: Q | None) -> bool:
    """True when `fill` and `dose` (if given) are those `refill` recorded (a retry of it)."""
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in refill.drugs.all()]
    return (
        drugs == fill.canonical_drugs
        and refill.volume_ml == fill.volume.canonical
        and refill.lot == fill.lot.strip()
        and (dose is None or refill.program.dose_mcg_per_day == dose.canonical)
    )


@transaction.atomic
def perform_refill(
    user: User,
    implant_id: UUID,
    *,
    idempotency_key: str,
    performed_at: datetime,
    expected: Q | None,
    aspirated: Q | None,
    fill: Fill,
    dose: Q | None = None,
    overrides: Mapping[str, str] | None = None,
    phase: Phase | None = None,
    ptm: PtmCounts | None = None,
) -> Refill:
    """Record a refill (or, with no expected/aspirated volumes, the first fill of an implant)
    that executes the pump's prescription: the one ready to program, else the one in force. The
    fill's drugs and concentrations (and `dose`, when given) must be the prescription's; a change
    is a new prescription first. Each soft warning passes only with a reason in `overrides`
    (rule -> reason) or the prescriber's for it; a hard limit stops whatever is given. Retrying
    with the same idempotency key returns the refill already recorded."""
    actor = require(user, "refill.perform")
    fill = replace(fill.named(), lot=plain_text(fill.lot, "lot", LOT_MAX, RULES))
    implant = get_or_not_found(
        Implant.objects.select_for_update().select_related("episode"), implant_id
    )
    # Looked up once the pump is locked: a concurrent retry with this key waited for the first
    # and gets its refill, rather than a refusal as a second refill.
    existing = Refill.objects.filter(performed_by=actor, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, implant_id, idempotency_key, fill, dose)
    prescription = prescriptions.executed_prescription(implant, fill, dose)
    prescriptions.check_ready_by(prescription, performed_at, "performed_at")
    dose = of(prescription.daily_dose_mcg_per_day, "mcg/day")
    if prescription.status == Prescription.Status.READY and prescription.phase:
        phase = Phase(prescription.phase)
    state = refill_state(implant)
    entries = RefillEntries(
        performed_at,
        expected,
        aspirated,
        fill,
        dose,
        phase=phase,
        ptm=ptm,
        fluid_change=FluidChange(prescription.fluid_change),
        basal=prescription.bolus_dose_mcg is None,
        prescription=prescriptions.as_core(prescription),
    )
    decision = decide_refill(state, entries, dosing_rules(), now=clock.now())
    if decision.stop is not None:
        raise decision.stop
    decision = with_open_incidents(decision, implant)
    outcome = decision.outcome
    assert outcome is not None
    _physician_runs_priming(user, actor, decision.warnings)
    passed = overrides_for(
        decision.warnings,
        overrides or {},
        GivenAt.REFILL,
        prescriptions.carried_overrides(decision, prescription),
    )
    previous = running_program(implant)
    if previous is not None:
        previous.ended_at = performed_at
        previous.save(update_fields=["ended_at"])
    verify = prescriptions.needs_verification(decision, prescription)
    refill = _recorded(
        actor, implant, entries, idempotency_key, decision, passed, prescription, verify
    )
    put_in_force(actor, prescription)
    dated = pump_dates.store(implant, refill.program, refill, performed_at)
    _dated(implant, fill)
    closed = _close_refill_appointments(
        actor, implant.episode.patient_id, performed_at, clinic_today(performed_at)
    )
    refill_visits.propose_refill(actor, implant, refill_visits.limited_note(dated.limited_by))
    bridged = outcome.bridge
    old_drugs = state.last_fill.drugs if state.last_fill else ()
    audit.record(
        actor,
        "refill.perform",
        "refill",
        refill.id,
        patient_id=implant.episode.patient_id,
        before=program_snapshot(previous, old_drugs),
        after={
            **program_snapshot(refill.program, fill.canonical_drugs),
            "prescription": prescription.number,
            "performed_at": performed_at.isoformat(),
            "ptm_counts": {"requests": ptm.requests, "given": ptm.given} if ptm else None,
            "volume": str(fill.volume),
            "lot": refill.lot,
            "expected": str(expected) if expected else None,
            "aspirated": str(aspirated) if aspirated else None,
            "twin_least": _millilitres(refill.twin_least_ml),
            "twin_most": _millilitres(refill.twin_most_ml),
            "finding": refill.finding or None,
            "bridge": str(bridged.bridge_rate) if bridged else None,
            "priming": str(outcome.priming.volume) if outcome.priming else None,
            "priming_duration_s": refill.priming_duration_s,
            "bridge_volume": _millilitres(refill.bridge_volume_ml),
            "difference": _millilitres(refill.difference_ml),
            "delivery_error_percent": _plain(refill.delivery_error_percent),
            "implant": str(implant.id),
            "program": str(refill.program.id),
            "ends": str(previous.id) if previous else None,
            "refill_by": dated.refill_by.isoformat(),
            "alarm_at": refill.alarm_at.isoformat(),
            "empty_at": refill.empty_at.isoformat(),
            "limited_by": refill.limited_by,
            "needs_verification": verify,
            "appointments_done": closed,
            "overrides": overrides_json(passed),
            "warnings": refill.warnings,
            "idempotency_key": idempotency_key,
            "notes": [n.message for n in outcome.stability_notes],
        },
    )
    return refill


def _micro(volume: Q) -> Decimal:
    """A volume to the field's resolution, 1 nL (the twin's figure has more places)."""
    return round_places(volume.canonical, 6)


def _millilitres(canonical: Decimal | None) -> str | None:
    return None if canonical is None else str(of(canonical, "mL"))


def _plain(number: Decimal | None) -> str | None:
    return None if number is None else str(number)


def put_in_force(actor: str, prescription: Prescription) -> None:
    """A ready prescription once programmed: in force, and the one before it superseded; each
    change of status audited (`painpump audit verify` compares the status with its trail). A
    prescription painpump did not enter as it stands (a row inserted in the database) is
    refused before anything changes."""
    if prescription.status != Prescription.Status.READY:
        return
    patient_id = prescription.implant.episode.patient_id
    refuse_unentered(
        "prescription",
        prescription.id,
        field="prescription",
        value=f"#{prescription.number}",
        expected="a prescription a physician signed through painpump, as its "
        "`prescription.create` audit entry records it",
        rule="rule-prescription: the pump runs only what a physician signed",
        remedy="nothing programmed; report it to the clinic's admin",
        patient_id=patient_id,
    )
    for old in prescription.implant.prescriptions.filter(status=Prescription.Status.ACTIVE):
        set_status(actor, old, Prescription.Status.SUPERSEDED, "prescription.supersede", patient_id)
    set_status(actor, prescription, Prescription.Status.ACTIVE, "prescription.in_force", patient_id)


def set_status(
    actor: str, record: Prescription, status: str, action: str, patient_id: UUID
) -> None:
    before = record.status
    record.status = status
    record.save(update_fields=["status"])
    audit.record(
        actor,
        action,
        "prescription",
        record.id,
        patient_id=patient_id,
        before={"status": before},
        after={"number": record.number, "status": status},
    )


def _replayed(
    existing: Refill, implant_id: UUID, idempotency_key: str, fill: Fill, dose: Q | None
) -> Refill:
    """The refill a retry with its key gets back; a key used for another refill is refused."""
    if existing.implant_id != implant_id:
        raise Refusal(
            "idempotency_key",
            idempotency_key,
            "a key not used for another pump",
            RULES,
            "was used for another implant",
        )
    if not _same_fill(existing, fill, dose):
        raise Refusal(
            "idempotency_key",
            idempotency_key,
            "a new key for each refill (a retry sends the same drugs, volume, lot and dose)",
            RULES,
            "was used for a different refill",
        )
    return existing


def _recorded(
    actor: str,
    implant: Implant,
    entries: RefillEntries,
    idempotency_key: str,
    decision: RefillDecision,
    passed: Sequence[Override],
    prescription: Prescription,
    verify: bool,
) -> Refill:
    """The new program (executing `prescription`) and the refill with its drugs, as decided."""
    outcome, check = decision.outcome, decision.reconciliation
    fill, dose = entries.fill, entries.dose
    assert outcome is not None and fill is not None and dose is not None
    plan, bridged = outcome.plan, outcome.bridge
    program = Program.objects.create(
        implant=implant,
        dose_mcg_per_day=dose.canonical,
        # the field's resolution, 1 nL/day, explicitly
        rate_ml_per_day=round_places(outcome.rate_ml_per_day, 6),
        started_at=entries.at,
        prescribed_by=prescription.prescribed_by,
        programmed_by=actor,
        prescription=prescription,
        alarm_at=plan.alarm_at,
        empty_at=plan.empty_at,
        refill_by=plan.refill_by,
        limited_by=plan.limited_by,
        phase=decision.phase.value,
        awaiting_readback=True,
    )  # its warnings and overrides are the refill's (a titration keeps its own on the program)
    refill = Refill.objects.create(
        implant=implant,
        idempotency_key=idempotency_key,
        performed_at=entries.at,
        performed_by=actor,
        expected_ml=entries.expected.canonical if entries.expected else None,
        aspirated_ml=entries.aspirated.canonical if entries.aspirated else None,
        twin_least_ml=_micro(decision.twin.least) if decision.twin else None,
        twin_most_ml=_micro(decision.twin.most) if decision.twin else None,
        volume_ml=fill.volume.canonical,
        lot=fill.lot.strip(),
        program=program,
        bridge_volume_ml=bridged.bridge_volume.canonical if bridged else None,
        bridge_rate_ml_per_day=bridged.bridge_rate.canonical if bridged else None,
        priming_volume_ml=outcome.priming.volume.canonical if outcome.priming else None,
        priming_duration_s=outcome.priming.duration_s if outcome.priming else None,
        alarm_at=plan.alarm_at,
        empty_at=plan.empty_at,
        refill_by=plan.refill_by,
        limited_by=plan.limited_by,
        acknowledged=overrides_json(passed),
        warnings=[w.as_json() for w in decision.warnings],
        needs_verification=verify,
        ptm_requests=entries.ptm.requests if entries.ptm else None,
        ptm_given=entries.ptm.given if entries.ptm else None,
        difference_ml=round_places(check.difference.canonical, 6) if check else None,
        delivery_error_percent=round_places(check.delivery_error_percent, 3) if check else None,
        finding=check.finding if check else "",
    )
    RefillDrug.objects.bulk_create(
        RefillDrug(refill=refill, position=i, drug=name, concentration_mcg_per_ml=conc)
        for i, (name, conc) in enumerate(fill.canonical_drugs)
    )
    return refill


def _dated(implant: Implant, fill: Fill) -> None:
    """The pump's stored dates (set by pump_dates.store) and drugs after the fill; its version
    moves, so a form opened before this refill is stale (409), never replayed."""
    implant.high_risk = "baclofen" in fill.names
    implant.drug_names = "+".join(fill.names)
    implant.version += 1
    implant.save(
        update_fields=[
            "alarm_at",
            "empty_at",
            "refill_by",
            "high_risk",
            "drug_names",
            "version",
            "updated_at",
        ]
    )


@transaction.atomic
def confirm_refill(
    user: User,
    implant_id: UUID,
    *,
    expected_version: int,
    idempotency_key: str,
    performed_at: datetime,
    expected: Q | None,
    aspirated: Q | None,
    fill: Fill,
    dose: Q | None,
    overrides: Mapping[str, str],
    phase: Phase | None = None,
    ptm: PtmCounts | None = None,
) -> Refill:
    """perform_refill, if the pump is still as the clinician reviewed it (its version); a retry
    with an idempotency key already recorded returns that refill, as perform_refill does."""
    actor = require(user, "refill.perform")
    if not refill_recorded(actor, idempotency_key):
        conflict = version_conflict(implant_id, expected_version)
        if conflict is not None and not refill_recorded(actor, idempotency_key):
            raise conflict
    return perform_refill(
        user,
        implant_id,
        idempotency_key=idempotency_key,
        performed_at=performed_at,
        expected=expected,
        aspirated=aspirated,
        fill=fill,
        dose=dose,
        overrides=overrides,
        phase=phase,
        ptm=ptm,
    )


def _close_refill_appointments(
    actor: str, patient_id: UUID, done_at: datetime, done_on: date
) -> int:
    """The patient's open refill appointments are done by this refill, when it was done (early
    or late, the calendar shows the visit when it happened; the time planned stays in the
    audit). Returns how many."""
    open_ones = Appointment.objects.select_for_update().filter(
        patient_id=patient_id, kind="refill", status__in=("proposed", "booked")
    )
    closed = 0
    for appointment in open_ones:
        before = {"on": appointment.on.isoformat(), "status": appointment.status}
        if appointment.starts_at is not None:
            before["starts_at"] = appointment.starts_at.isoformat()
            appointment.starts_at = done_at
        appointment.on, appointment.status = done_on, "done"
        # late or not is judged by when the refill was done, not by the booking it replaced
        late = appointment.due_by is not None and done_on > appointment.due_by
        if not late:
            appointment.overdue, appointment.late_reason = False, ""
        appointment.version += 1  # a form opened on the open appointment is stale now
        appointment.save(
            update_fields=["on", "starts_at", "status", "overdue", "late_reason", "version"]
        )
        audit.record(
            actor,
            "appointment.update",
            "appointment",
            appointment.id,
            patient_id=patient_id,
            before=before,
            after={
                "on": done_on.isoformat(),
                "status": "done",
                **({"starts_at": done_at.isoformat()} if appointment.starts_at else {}),
            },
        )
        closed += 1
    return closed


@transaction.atomic
def verify_refill(user: User, refill_id: UUID, now: datetime) -> Refill:
    """The second clinician's verification of a refill that changed drug or concentration or
    passed a soft limit with a reason (an override); the one who performed it cannot verify it."""
    actor = require(user, "change.verify")
    refill = get_or_not_found(
        Refill.objects.select_for_update().select_related("implant__episode"), refill_id
    )
    if not refill.needs_verification or refill.verified_by:
        raise Refusal(
            "refill",
            str(refill.id),
            "a refill waiting for verification",
            RULES,
            "needs no verification",
        )
    if actor == refill.performed_by:
        raise Refusal(
            "verified_by",
            actor,
            "a clinician other than the one who performed it",
            "rule-four-eyes; pharmacologicalsciences-pump-refills (refill procedure, step 6)",
            "cannot verify it",
        )
    refuse_unentered(
        "refill",
        refill.id,
        field="refill",
        value=str(refill.id),
        expected="a refill a clinician performed through painpump, as its `refill.perform` audit "
        "entry records it",
        rule="rule-four-eyes; pharmacologicalsciences-pump-refills (refill procedure, step 6)",
        remedy="nothing verified; report it to the clinic's admin",
        patient_id=refill.implant.episode.patient_id,
    )
    refill.verified_by, refill.verified_at = actor, now
    refill.save(update_fields=["verified_by", "verified_at"])
    audit.record(
        actor,
        "refill.verify",
        "refill",
        refill.id,
        patient_id=refill.implant.episode.patient_id,
        after={"verified_by": actor, "verified_at": now.isoformat()},
    )
    return refill
