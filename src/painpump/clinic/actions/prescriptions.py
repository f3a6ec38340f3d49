"""Prescriptions, each change one transaction with its audit entry: a physician signs a new one
(judged whole by core.prescription_decision; each soft warning passes only with a typed reason);
a high-alert one waits for a second clinician's independent double-check, who enters the
concentrations, the whole program (every flex step) and the PTM settings from the syringe label
and the order and accepts (only when they match) or rejects with a comment (rule-double-check).
An accept refused because entries differ changes nothing but leaves its audit entry, written
apart (clinic.audit_apart), so retried numbers show: what differed, as entered and shortened;
after REFUSED_ACCEPTS_MAX of them, that checker's accepts of that prescription are stopped
before comparing, audited once, so that retries can neither guess the numbers nor flood the
trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.actions.refills import overrides_json, set_status, version_conflict
from painpump.clinic.audit_apart import record_apart
from painpump.clinic.audit_entered import refuse_unentered
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.models import (
    Implant,
    Prescription,
    PrescriptionCheck,
    PrescriptionDrug,
    PrescriptionStep,
)
from painpump.clinic.reads import prescriptions as reads
from painpump.clinic.reads.prescription_history import (
    ACCEPT_REFUSED,
    ACCEPTS_STOPPED,
    refused_by,
    settings_of,
)
from painpump.clinic.reads.pump_state import dosing_rules, judged_state
from painpump.clinic.roles import require
from painpump.core import prescription as rx
from painpump.core.errors import Refusal, shortened
from painpump.core.overrides import GivenAt, checked_reason, overrides_for
from painpump.core.prescription_compare import (
    DOUBLE_CHECK,
    CheckEntries,
    Mismatch,
    compare_check,
)
from painpump.core.prescription_decision import decide_prescription


@transaction.atomic
def prescribe(
    user: User,
    implant_id: UUID,
    prescription: rx.Prescription,
    *,
    reason: str,
    now: datetime,
    expected_version: int,
    overrides: Mapping[str, str] | None = None,
) -> Prescription:
    """A new prescription for the pump, signed by the physician `user`. It replaces any not yet
    programmed; it is ready to program at once unless it is high-alert (then it waits for its
    double-check). The pump's version moves: a refill form opened before it is stale."""
    actor = require(user, "program.prescribe")
    conflict = version_conflict(implant_id, expected_version)
    if conflict is not None:
        raise conflict
    implant = get_or_not_found(
        Implant.objects.select_for_update().select_related("episode"), implant_id
    )
    if implant.explanted_on is not None:
        raise Refusal(
            "implant", str(implant.id), "a pump in place", reads.RULES, "has been explanted"
        )
    why = checked_reason("reason", reason)
    decision = decide_prescription(
        judged_state(implant, prescription.program), prescription, now, dosing_rules()
    )
    if decision.stop is not None:
        raise decision.stop
    passed = overrides_for(decision.warnings, overrides or {}, GivenAt.PRESCRIBING)
    prescription = decision.prescription
    bolus = prescription.program.bolus
    previous = reads.newest_open(implant) or reads.in_force(implant)
    withdrawn = list(implant.prescriptions.filter(status__in=reads.OPEN))
    for old in withdrawn:
        set_status(
            actor,
            old,
            Prescription.Status.WITHDRAWN,
            "prescription.withdraw",
            implant.episode.patient_id,
        )
    record = Prescription.objects.create(
        implant=implant,
        number=reads.next_number(implant),
        status=Prescription.Status.AWAITING_CHECK
        if prescription.high_alert or (previous is not None and previous.high_alert)
        else Prescription.Status.READY,
        program_kind=prescription.program.kind.value,
        daily_dose_mcg_per_day=prescription.daily_dose.canonical,
        ptm_dose_mcg=prescription.ptm.dose.canonical if prescription.ptm else None,
        ptm_duration_s=prescription.ptm.duration_s if prescription.ptm else None,
        ptm_lockout_s=prescription.ptm.lockout_s if prescription.ptm else None,
        ptm_max_per_day=prescription.ptm.max_per_day if prescription.ptm else None,
        bolus_dose_mcg=bolus.dose.canonical if bolus else None,
        bolus_duration_s=bolus.duration_s if bolus else None,
        phase=prescription.phase.value if prescription.phase else "",
        fluid_change=prescription.fluid_change.value,
        reason=why,
        high_alert=prescription.high_alert or (previous is not None and previous.high_alert),
        prescribed_by=actor,
        prescribed_at=now,
        supersedes=previous,
        warnings=[w.as_json() for w in decision.warnings],
        overrides=overrides_json(passed),
    )
    PrescriptionDrug.objects.bulk_create(
        PrescriptionDrug(
            prescription=record, position=i, drug=name, concentration_mcg_per_ml=conc.canonical
        )
        for i, (name, conc) in enumerate(prescription.drugs)
    )
    PrescriptionStep.objects.bulk_create(
        PrescriptionStep(
            prescription=record,
            weekday=weekday,
            start_s=step.start_s,
            dose_mcg_per_day=step.dose.canonical,
        )
        for weekday, day in enumerate(prescription.program.days)
        for step in day
    )
    implant.version += 1
    implant.save(update_fields=["version", "updated_at"])
    audit.record(
        actor,
        "prescription.create",
        "prescription",
        record.id,
        patient_id=implant.episode.patient_id,
        before=settings_of(reads.as_core(previous)) if previous is not None else None,
        after={
            **settings_of(prescription),
            "number": record.number,
            "status": record.status,
            "high_alert": record.high_alert,
            "reason": why,
            "overrides": overrides_json(passed),
            "warnings": record.warnings,
            "withdrawn": [old.number for old in withdrawn],
            "implant": str(implant.id),
            "fluid_change": record.fluid_change,
            "supersedes": str(previous.id) if previous is not None else None,
            "prescribed_at": record.prescribed_at.isoformat(),
        },
    )
    return record


REFUSED_ACCEPTS_MAX = 3
"""The clinic's choice: the accepts one checker may have refused at one prescription's
double-check; their next accepts are refused before comparing (reject it with a comment, or let
another clinician check it)."""
ENTERED_MAX = 80
"""Characters kept of each value entered that differed (a flex day's steps run to kilobytes)."""
DIFFERED_MAX = 24
"""Differing entries kept of a refused accept (8 drug names, the principal, the kind, 7 days,
4 PTM settings and the fluid change make 22 at most); any more are counted, not listed."""


@dataclass(frozen=True)
class _RefusedAccept:
    """An accept refused (entries differ, or accepts stopped): the refusal to raise and what the
    trail keeps of it (None: nothing more, the stop is audited already)."""

    refusal: Refusal
    actor: str
    patient_id: UUID
    action: str
    after: dict[str, Any] | None


def double_check(
    user: User,
    prescription_id: UUID,
    *,
    entries: CheckEntries | None,
    accept: bool,
    comment: str,
    now: datetime,
) -> PrescriptionCheck:
    """The second clinician's independent double-check of a prescription awaiting it. Accepting
    needs entries that match the prescription (a difference is refused, naming it: reject, or
    read the label again; the refused accept is audited apart, with who, when and each entry
    that differed as entered); after REFUSED_ACCEPTS_MAX refused, the checker's accepts are
    stopped (audited once); rejecting needs a comment, the entries (None: none typed) recorded
    when given. Never the prescriber."""
    decided = _decide_check(user, prescription_id, entries, accept, comment, now)
    if isinstance(decided, PrescriptionCheck):
        return decided
    if decided.after is not None:
        record_apart(
            decided.actor,
            decided.action,
            "prescription",
            prescription_id,
            patient_id=decided.patient_id,
            after=decided.after,
        )
    raise decided.refusal


def _stopped(record: Prescription, actor: str, now: datetime) -> _RefusedAccept | None:
    """The accept refused before comparing once `actor` has had REFUSED_ACCEPTS_MAX refused
    here; None while fewer were."""
    patient_id = record.implant.episode.patient_id
    count, audited = refused_by(patient_id, record.id, actor)
    if count < REFUSED_ACCEPTS_MAX:
        return None
    refusal = Refusal(
        "accept",
        f"{count} refused accepts by {actor} of prescription #{record.number}",
        f"at most {REFUSED_ACCEPTS_MAX} accepts refused per checker and prescription (the "
        "clinic's choice)",
        DOUBLE_CHECK,
        "reached the limit: further accepts by this checker are refused before comparing; reject "
        "the prescription with a comment, or let another clinician double-check it",
    )
    after = None if audited else {"number": record.number, "stopped_at": now.isoformat()}
    return _RefusedAccept(refusal, actor, patient_id, ACCEPTS_STOPPED, after)


def _differed(mismatches: tuple[Mismatch, ...]) -> dict[str, Any]:
    """Each entry that differed as entered (never the prescribed value: the trail is read by
    the checker too), shortened, at most DIFFERED_MAX of them."""
    kept = [
        {"field": shortened(m.field, ENTERED_MAX), "entered": shortened(m.entered, ENTERED_MAX)}
        for m in mismatches[:DIFFERED_MAX]
    ]
    more = len(mismatches) - len(kept)
    return {"differed": kept, "more": more} if more else {"differed": kept}


@transaction.atomic
def _decide_check(
    user: User,
    prescription_id: UUID,
    entries: CheckEntries | None,
    accept: bool,
    comment: str,
    now: datetime,
) -> PrescriptionCheck | _RefusedAccept:
    actor = require(user, "prescription.check")
    record = get_or_not_found(
        Prescription.objects.select_for_update().select_related("implant__episode"),
        prescription_id,
    )
    if record.status != Prescription.Status.AWAITING_CHECK:
        raise Refusal(
            "prescription",
            f"#{record.number} ({record.get_status_display()})",
            "a prescription awaiting its double-check",
            DOUBLE_CHECK,
            "is not awaiting a double-check",
        )
    if actor == record.prescribed_by:
        raise Refusal(
            "checked_by",
            actor,
            "a physician or pharmacist other than the prescriber",
            DOUBLE_CHECK,
            "cannot double-check their own prescription",
        )
    if accept:  # a rejection clears a prescription written outside painpump
        refuse_unentered(
            "prescription",
            record.id,
            field="prescription",
            value=f"#{record.number}",
            expected="a prescription a physician signed through painpump, as its "
            "`prescription.create` audit entry records it",
            rule=DOUBLE_CHECK,
            remedy="nothing accepted; reject it with a comment",
            patient_id=record.implant.episode.patient_id,
        )
    text = comment.strip()
    if text:
        text = checked_reason("comment", text)
    stopped = _stopped(record, actor, now) if accept else None
    if stopped is not None:
        return stopped
    if accept and entries is None:
        raise Refusal(
            "concentrations",
            "missing",
            "the whole order typed from the syringe label and the order: the concentrations, "
            "the program and the PTM settings (only a rejection takes the comment alone)",
            DOUBLE_CHECK,
            "is required to accept",
        )
    mismatches = compare_check(reads.as_core(record), entries) if entries is not None else ()
    if accept and mismatches:
        first, *others = mismatches
        also = f" (so do {', '.join(m.field for m in others)})" if others else ""
        refusal = Refusal(
            first.field,
            first.entered,
            f"the value of prescription #{record.number} by {record.prescribed_by} (not shown: "
            "the double-check is independent)",
            DOUBLE_CHECK,
            f"differs from the prescription{also}: reject it with a comment, or read the label "
            "and the order again",
        )
        after = {"number": record.number, "attempted_at": now.isoformat(), **_differed(mismatches)}
        patient_id = record.implant.episode.patient_id
        return _RefusedAccept(refusal, actor, patient_id, ACCEPT_REFUSED, after)
    if not accept and not text:
        raise Refusal(
            "comment", "empty", "what is wrong, for the prescriber", DOUBLE_CHECK, "is required"
        )
    entered: dict[str, Any] = {}  # a rejection with the comment only
    if entries is not None:
        entered = {
            **reads.order_json(
                "concentrations", entries.concentrations, entries.program, entries.ptm
            ),
            "fluid_change": entries.fluid_change.value,
        }
    check = PrescriptionCheck.objects.create(
        prescription=record,
        checked_by=actor,
        checked_at=now,
        accepted=accept,
        comment=text,
        entered=entered,
        mismatches=[m.as_json() for m in mismatches],
    )
    before = record.status
    if accept:
        record.status = Prescription.Status.READY
        record.checked_by, record.checked_at = actor, now
    else:
        record.status = Prescription.Status.REJECTED
    record.save(update_fields=["status", "checked_by", "checked_at"])
    implant = record.implant
    implant.version += 1
    implant.save(update_fields=["version", "updated_at"])
    audit.record(
        actor,
        "prescription.accept" if accept else "prescription.reject",
        "prescription",
        record.id,
        patient_id=implant.episode.patient_id,
        before={"status": before},
        after={
            "status": record.status,
            "number": record.number,
            "checked_at": record.checked_at.isoformat() if record.checked_at else None,
            "entered": check.entered,
            "mismatches": check.mismatches,
            "comment": text,
        },
    )
    return check
