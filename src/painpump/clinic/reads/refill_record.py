"""A recorded refill as the clinician who did it and the second clinician who verifies it read
it: the pump before and after (drugs, concentrations, reservoir, program, projection), the
reconciliation with its thresholds, the warnings as they were shown and the soft limits passed with
their reasons (overrides), the bridge,
the refill appointment proposed and the days skipped, and whether this reader may verify it.
The numbers are the stored ones, or recomputed by painpump.core from the stored inputs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.models import Appointment, Implant, Refill
from painpump.clinic.reads.overrides_given import refill_overrides
from painpump.clinic.reads.pump_history import Expected
from painpump.clinic.reads.pump_state import dosing_rules, last_fill, pump_state
from painpump.clinic.reads.refill_preview import Setting
from painpump.clinic.roles import CAPABILITIES, require, roles_of
from painpump.core.decision import Finding
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit
from painpump.core.fluid_change import Priming, recorded_priming
from painpump.core.overrides import GivenOverride
from painpump.core.refill import Reconciliation
from painpump.core.refill_decision import reconciled, titrated
from painpump.core.units import Q, of
from painpump.core.volumes import Bridge, bridge


@dataclass(frozen=True)
class RefillRecord:
    refill: Refill
    implant: Implant
    first_fill: bool
    before: Setting
    after: Setting
    aspirated: Q | None
    twin_expected: Expected | None
    """What the pump's twin expected at the refill, as stored with it (None: no history)."""
    programmed: Q | None
    reconciliation: Reconciliation | None
    warnings: tuple[Finding, ...]
    overrides: tuple[GivenOverride, ...]
    bridge: Bridge | None
    priming: Priming | None
    appointment: Appointment | None
    """The refill visit this refill proposed, as stored (booked, moved or still proposed)."""
    verification: str
    """What verification needs now: "not required", "verified", or why this reader cannot
    verify (empty when they can)."""


def verification_state(user: User, refill: Refill) -> str:
    """Whether the refill waits for this reader's verification: empty when the reader may verify
    it now, otherwise why not (the same rules verify_refill enforces)."""
    if not refill.needs_verification:
        return "not required"
    if refill.verified_by:
        return "verified"
    allowed = CAPABILITIES["change.verify"]
    if not roles_of(user) & allowed:
        roles = " or ".join(sorted(role.value for role in allowed))
        return f"waiting for a {roles}: your roles may not verify it"
    if user.get_username() == refill.performed_by:
        return "waiting for a second clinician: you performed this refill, so you cannot verify it"
    return ""


@transaction.atomic
def refill_record(user: User, refill_id: UUID) -> RefillRecord:
    actor = require(user, "patient.read")
    refill = get_or_not_found(
        Refill.objects.select_related("implant__episode__patient", "program__prescription"),
        refill_id,
    )
    implant = refill.implant
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in refill.drugs.all()]
    principal = drugs[0][0]
    after = Setting(
        drugs=tuple((name, concentration_in_drug_unit(name, conc)) for name, conc in drugs),
        reservoir=of(refill.volume_ml, "mL"),
        dose=dose_in_drug_unit(principal, refill.program.dose_mcg_per_day),
        rate=of(refill.program.rate_ml_per_day, "mL/day"),
        alarm_at=refill.alarm_at,
        empty_at=refill.empty_at,
        refill_by=refill.refill_by,
        limited_by=refill.limited_by,
    )
    last = (
        implant.refills.filter(performed_at__lt=refill.performed_at)
        .order_by("-performed_at")
        .first()
    )
    before, programmed, check, bridged = Setting(), None, None, None
    if last is not None:
        before, programmed, check = _before(implant, refill, last)
        if refill.bridge_volume_ml is not None and before.drugs and after.dose is not None:
            bridged = bridge(
                before.drugs[0][1], after.drugs[0][1], after.dose, of(refill.bridge_volume_ml, "mL")
            )
    appointment = (
        Appointment.objects.filter(
            patient_id=implant.episode.patient_id, kind="refill", due_by=refill.refill_by
        )
        .order_by("-on")
        .first()
    )
    audit.record(actor, "refill.read", "refill", refill.id, patient_id=implant.episode.patient_id)
    return RefillRecord(
        refill=refill,
        implant=implant,
        first_fill=last is None,
        before=before,
        after=after,
        aspirated=of(refill.aspirated_ml, "mL") if refill.aspirated_ml is not None else None,
        twin_expected=twin_expected(refill),
        programmed=programmed,
        reconciliation=check,
        warnings=tuple(Finding.from_json(w) for w in refill.warnings),
        overrides=refill_overrides(refill, refill.program.prescription),
        bridge=bridged,
        priming=priming_of(refill),
        appointment=appointment,
        verification=verification_state(user, refill),
    )


def _before(
    implant: Implant, refill: Refill, last: Refill
) -> tuple[Setting, Q | None, Reconciliation | None]:
    """The pump as it ran up to the refill (the program it ended, the projection then in force)
    and the reconciliation recomputed from the stored volumes."""
    fill = last_fill(last)
    principal = fill.drugs[0][0]
    previous = (
        implant.programs.filter(started_at__lt=refill.performed_at).order_by("-started_at").first()
    )
    before = Setting(
        drugs=tuple((name, concentration_in_drug_unit(name, conc)) for name, conc in fill.drugs),
        reservoir=of(refill.expected_ml, "mL") if refill.expected_ml is not None else None,
        alarm_at=last.alarm_at,
        empty_at=last.empty_at,
        refill_by=last.refill_by,
        limited_by=last.limited_by,
    )
    state = replace(pump_state(implant), last_fill=fill)
    if previous is not None:
        before = replace(
            before,
            dose=dose_in_drug_unit(principal, previous.dose_mcg_per_day),
            rate=of(previous.rate_ml_per_day, "mL/day"),
        )
        if previous.refill_by is not None:  # the projection the running program started with
            before = replace(
                before,
                alarm_at=previous.alarm_at,
                empty_at=previous.empty_at,
                refill_by=previous.refill_by,
                limited_by=previous.limited_by,
            )
        elif previous.started_at > last.performed_at:  # titrated, recorded before it was kept
            history = [run for run in fill.programs if run[1] < previous.started_at]
            projection = titrated(
                state, history, previous.rate_ml_per_day, previous.started_at, dosing_rules()
            )
            before = replace(
                before,
                alarm_at=projection.alarm_at,
                empty_at=projection.empty_at or last.empty_at,
                refill_by=projection.refill_by,
                limited_by=projection.limited_by,
            )
    if refill.expected_ml is None or refill.aspirated_ml is None:
        return before, None, None
    programmed, check = reconciled(
        state.pump, fill.volume, of(refill.expected_ml, "mL"), of(refill.aspirated_ml, "mL")
    )
    return before, programmed, check


def twin_expected(refill: Refill) -> Expected | None:
    """What the pump's twin expected at the refill, as stored with it."""
    if refill.twin_least_ml is None or refill.twin_most_ml is None:
        return None
    return Expected(of(refill.twin_least_ml, "mL"), of(refill.twin_most_ml, "mL"))


def priming_of(refill: Refill) -> Priming | None:
    """The priming bolus the refill ran, as recorded, with what it pushed of each drug of the
    fill before (the fluid then in the path)."""
    if refill.priming_volume_ml is None or refill.priming_duration_s is None:
        return None
    before = (
        refill.implant.refills.filter(performed_at__lt=refill.performed_at)
        .order_by("-performed_at")
        .first()
    )
    path = (
        tuple((d.drug, d.concentration_mcg_per_ml) for d in before.drugs.all())
        if before is not None
        else None
    )
    return recorded_priming(refill.priming_volume_ml, refill.priming_duration_s, path)
