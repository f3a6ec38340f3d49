"""A refill looked at before it is committed: core's decision on the pump as it is (the
reconciliation verdict, the findings, the bridge, the projection, whether a second clinician must
verify) shown as the pump before and after, with the proposed appointment. confirm_refill commits
only if nobody refilled or reprogrammed the pump since the form was shown (the implant's
version), through perform_refill, which decides again on the locked pump."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant, Prescription
from painpump.clinic.reads import prescriptions, pump_history, refill_slots
from painpump.clinic.reads.incident_warnings import with_open_incidents
from painpump.clinic.reads.pump_state import dosing_rules, pump_state, running_program
from painpump.clinic.roles import require
from painpump.core import catalog
from painpump.core.booking import Visit
from painpump.core.decision import Finding
from painpump.core.dose_history import Phase
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.fluid_change import Priming
from painpump.core.prescription import STOPPING, FluidChange
from painpump.core.refill import Reconciliation
from painpump.core.refill_decision import (
    Fill,
    FillOutcome,
    PtmCounts,
    PumpState,
    RefillDecision,
    RefillEntries,
    decide_refill,
)
from painpump.core.units import Q, of
from painpump.core.volumes import Bridge


@dataclass(frozen=True)
class Setting:
    """One side of a before/after review: what is in the pump and how it runs. Concentrations
    and doses are in the drug's own units (mg for morphine, mcg for baclofen)."""

    drugs: tuple[tuple[str, Q], ...] = ()
    reservoir: Q | None = None
    dose: Q | None = None
    rate: Q | None = None
    alarm_at: datetime | None = None
    empty_at: datetime | None = None
    refill_by: date | None = None
    limited_by: str = ""


@dataclass(frozen=True)
class RefillPreview:
    """What a refill would do, or why it cannot be done (`stop`: a hard limit, not overridable).
    `after` is None until the fill and dose are given, and when a hard limit stops it."""

    implant: Implant
    version: int
    first_fill: bool
    before: Setting
    after: Setting | None
    programmed: Q | None
    reconciliation: Reconciliation | None
    stop: Refusal | None
    warnings: tuple[Finding, ...]
    notes: tuple[Finding, ...]
    bridge: Bridge | None
    priming: Priming | None
    appointment: Visit | None
    needs_verification: bool
    dose_changed: bool
    prescription: Prescription | None = None
    """What the refill executes (the prescription ready to program, else the one in force)."""
    prescribers_reasons: Mapping[str, str] = field(default_factory=dict)
    """The prescriber's reasons for warnings shown here (rule -> reason): those need none typed."""
    ptm_since_fill: bool = False
    """Patient boluses were prescribed since the fill: the refill records the pump's counts."""
    twin_expects: pump_history.Expected | None = None
    """What the pump's twin says it holds at the refill (None before the first fill), offered
    beside the volume the pump itself reports and judged against it (core.twin_residual)."""
    prescription_stop: Refusal | None = None
    """Before anything is entered: the hard limit that stops any refill executing the
    prescription now (a limit hardened since signing, a single bolus or a stop in force), so
    nothing is aspirated for a fill that cannot be given (None: none, or entries given)."""
    physician_primes: tuple[str, ...] = ()
    """Before anything is entered: the priming warnings of the prescription that a physician
    passes at the refill (fluid_change.physician_at_fill), where the one looking is none."""


def refill_state(implant: Implant) -> PumpState:
    """The pump as a refill is decided on (pump_state) with its recorded history, so that the
    residual is judged against the pump's twin as well as against the pump's own figure."""
    return replace(pump_state(implant), history=pump_history.history_of(implant))


def warning_key(finding: Finding) -> str:
    """The identity of a warning as it was shown: its rule and a digest of its words, so a reason
    typed for it counts only for the very warning the clinician read."""
    text = "\x1f".join((finding.rule, finding.message, finding.limit, finding.source))
    return f"{finding.rule}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def override_reasons(warnings: Iterable[Finding], typed: Mapping[str, str]) -> dict[str, str]:
    """The reason typed for each rule (rule -> reason, as the services take them), from the
    reasons typed per warning shown (keyed by its warning_key). A rule with a warning left
    without a reason, or typed for a warning no longer shown, is left out: the service then
    refuses it, naming the rule. Several warnings of one rule give their reasons together."""
    by_rule: dict[str, list[str]] = {}
    for warning in warnings:
        by_rule.setdefault(warning.rule, []).append(
            " ".join(str(typed.get(warning_key(warning), "")).split())
        )
    return {
        rule: "; ".join(dict.fromkeys(reasons)) for rule, reasons in by_rule.items() if all(reasons)
    }


def record_preview(
    actor: str, action: str, implant: Implant, stop: Refusal | None, warnings: Iterable[Finding]
) -> None:
    """The audit entry of a look at a change not made: what stopped it and which rules warned."""
    audit.record(
        actor,
        action,
        "implant",
        implant.id,
        patient_id=implant.episode.patient_id,
        after={
            "stop": stop.message if stop else None,
            "warnings": sorted({w.rule for w in warnings}),
        },
    )


def current_setting(
    implant: Implant, state: PumpState, at: datetime, reservoir: Q | None = None
) -> Setting:
    """The pump as it runs now: the last fill's drugs, the running program (a stopped pump:
    nothing), the projection the last refill or titration stored; the reservoir as given
    (interrogated) or as computed."""
    last, running = state.last_fill, state.running
    if last is None:
        return Setting()
    principal = last.drugs[0][0]
    given = None
    if state.stopped_at(at) is not None:  # `running` is the program before the stop
        given = (Decimal(0), Decimal(0))
    elif running is not None:
        given = (running.dose_mcg_per_day, running.rate_ml_per_day)
    return Setting(
        drugs=tuple((name, concentration_in_drug_unit(name, conc)) for name, conc in last.drugs),
        reservoir=reservoir or pump_history.expected_residual(implant, at).least,
        dose=dose_in_drug_unit(principal, given[0]) if given else None,
        rate=of(given[1], "mL/day") if given else None,
        alarm_at=implant.alarm_at,
        empty_at=implant.empty_at,
        refill_by=implant.refill_by,
        limited_by=_limited_by(implant) or last.limited_by,
    )


def _limited_by(implant: Implant) -> str:
    """What sets the pump's stored refill-by date, as its twin last dated it (on the program in
    force: a change between refills moves it from the last refill's)."""
    program = running_program(implant)
    return program.limited_by if program is not None else ""


def _after(fill: Fill, dose: Q, outcome: FillOutcome) -> Setting:
    """The pump after the fill, its dates from its twin with the fill and the prescription's
    program added (the decision's run), as perform_refill stores them."""
    plan = outcome.twin
    assert plan is not None  # a preview's decision runs the pump's twin
    return Setting(
        drugs=tuple((n, c.to(catalog.drug(n).concentration_unit)) for n, c in fill.drugs),
        reservoir=fill.volume,
        dose=dose.to(catalog.drug(fill.names[0]).dose_rate_unit),
        rate=of(outcome.rate_ml_per_day, "mL/day"),
        alarm_at=plan.alarm_at,
        empty_at=plan.empty_at,
        refill_by=plan.refill_by,
        limited_by=plan.limited_by,
    )


def _visit(after: Setting, fill: Fill) -> Visit:
    settings = clinic_settings()
    assert after.refill_by is not None
    return refill_slots.visit_for(
        after.refill_by,
        clock.now(),
        locale_of(settings),
        refill_slots.booking_rules(settings),
        high_risk="baclofen" in fill.names,
    )


@transaction.atomic
def preview_refill(
    user: User,
    implant_id: UUID,
    *,
    at: datetime,
    expected: Q | None = None,
    aspirated: Q | None = None,
    fill: Fill | None = None,
    dose: Q | None = None,
    phase: Phase | None = None,
    partial: bool = False,
    ptm: PtmCounts | None = None,
) -> RefillPreview:
    """What a refill at `at` would record, without recording it: core's decision on the pump as
    it is (see core.refill_decision.decide_refill; `partial`: a form being filled in). Bad
    entries are refused (Refusal), a fill or dose other than the prescription's too, as in
    perform_refill; a hard limit of the fill is returned as `stop`. The look is audited."""
    actor = require(user, "refill.perform")
    implant = get_or_not_found(Implant.objects.select_related("episode__patient"), implant_id)
    state = refill_state(implant)
    fill = fill.named() if fill is not None and fill.drugs else fill
    prescription = prescriptions.to_execute(implant)
    if fill is not None:
        prescription = prescriptions.executed_prescription(implant, fill, dose)
        prescriptions.check_ready_by(prescription, at, "performed_at")
        dose = of(prescription.daily_dose_mcg_per_day, "mcg/day")
        if prescription.status == Prescription.Status.READY and prescription.phase:
            phase = Phase(prescription.phase)
    change = FluidChange(prescription.fluid_change) if prescription else FluidChange.NONE
    basal = prescription is None or prescription.bolus_dose_mcg is None
    entries = RefillEntries(
        at,
        expected,
        aspirated,
        fill,
        dose,
        phase=phase,
        ptm=ptm,
        fluid_change=change,
        basal=basal,
        prescription=prescriptions.as_core(prescription) if prescription else None,
    )
    decision = decide_refill(state, entries, dosing_rules(), now=clock.now(), complete=not partial)
    decision = with_open_incidents(decision, implant)
    twin = decision.twin
    before = current_setting(implant, state, at, expected or (twin.least if twin else None))
    preview = _preview(implant, decision, before, fill, dose, prescription)
    if state.last_fill is not None:
        expected_now = None if twin is None else pump_history.Expected(twin.least, twin.most)
        ptm_since = bool(state.last_fill.ptm)
        preview = replace(preview, twin_expects=expected_now, ptm_since_fill=ptm_since)
    if fill is None and prescription is not None:
        stopped, warnings = _judged_now(state, prescription, at)
        primes = tuple(prescriptions.priming_for_physician(user, warnings))
        preview = replace(preview, prescription_stop=stopped, physician_primes=primes)
    record_preview(actor, "refill.preview", implant, preview.stop, preview.warnings)
    return preview


def _judged_now(
    state: PumpState, prescription: Prescription, at: datetime
) -> tuple[Refusal | None, tuple[Finding, ...]]:
    """The hard limit that stops a refill of `prescription` at `at` (None when such a refill
    passes) and its warnings, judged as the refill will judge it (a fill of the prescription's
    own drugs, as much as the last fill, or the reservoir for a first one), by the limits in
    force now."""
    if prescription.program_kind in STOPPING:
        return prescriptions.not_for_refill(prescription, "prescription"), ()
    prescribed = prescriptions.as_core(prescription)
    last = state.last_fill
    volume = last.volume if last is not None else state.pump.reservoir_volume.value
    entries = RefillEntries(
        at,
        fill=Fill(prescribed.drugs, volume, "judged before the refill"),
        dose=of(prescription.daily_dose_mcg_per_day, "mcg/day"),
        phase=Phase(prescription.phase) if prescription.phase else None,
        fluid_change=FluidChange(prescription.fluid_change),
        prescription=prescribed,
    )
    try:
        decided = decide_refill(state, entries, dosing_rules(), now=clock.now(), complete=False)
    except Refusal:  # not about the prescription (the moment): the refill's own entries say it
        return None, ()
    return decided.stop, decided.warnings


def _preview(
    implant: Implant,
    decision: RefillDecision,
    before: Setting,
    fill: Fill | None,
    dose: Q | None,
    prescription: Prescription | None,
) -> RefillPreview:
    outcome = decision.outcome
    after = visit = None
    if outcome is not None and fill is not None and dose is not None:
        assert prescription is not None  # a fill is judged only against its prescription
        after = _after(fill, dose, outcome)
        visit = _visit(after, fill)
    reasons = {}
    if prescription is not None:
        reasons = prescriptions.prescribers_reasons(decision, prescription)

    return RefillPreview(
        implant=implant,
        version=implant.version,
        first_fill=decision.first_fill,
        before=before,
        after=after,
        programmed=decision.programmed,
        reconciliation=decision.reconciliation,
        stop=decision.stop,
        warnings=decision.warnings,
        notes=outcome.notes if outcome else (),
        bridge=outcome.bridge if outcome else None,
        priming=outcome.priming if outcome else None,
        appointment=visit,
        needs_verification=prescription is not None
        and prescriptions.needs_verification(decision, prescription),
        dose_changed=decision.dose_changed,
        prescription=prescription,
        prescribers_reasons=reasons,
    )
