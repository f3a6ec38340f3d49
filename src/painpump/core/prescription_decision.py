"""A prescription judged whole, before any pump is programmed with it: the shape the pump can
run, every step's rate within the device's range, the day that gives most through every
drug-library, clinic, titration and patient check (as a refill's program is), every step and
the worst day with all patient boluses against the library's maxima; then the second
clinician's independent entries and the programmer's readback compared with it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from painpump.core import catalog, checks
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.device_limits import check_rate
from painpump.core.dose_history import Phase
from painpump.core.dosing import dose_mcg_per_day
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus
from painpump.core.prescription import (
    Prescription,
    check_shape,
)
from painpump.core.refill_decision import (
    DosingRules,
    PumpState,
    check_drugs,
    named_drugs,
    next_phase,
)
from painpump.core.units import Q, of

PTM_OPIOID_NAIVE_SOURCE = (
    "medtronic-cancer-pain-patient-selection: Medtronic lists the use of the personal therapy "
    "manager (PTM) to give an opioid to opioid-naive patients as a contraindication"
)


@dataclass(frozen=True)
class PrescriptionDecision:
    """A prescription's verdict: `stop` is the hard limit that forbids it; `warnings` each need
    a typed reason; `rate_ml_per_day` the rate of its largest day."""

    prescription: Prescription
    warnings: tuple[Finding, ...]
    stop: Refusal | None
    phase: Phase
    rate_ml_per_day: Decimal | None


def decide_prescription(
    state: PumpState, prescription: Prescription, at: datetime, rules: DosingRules
) -> PrescriptionDecision:
    """`prescription` for the pump of `state`, judged as if programmed at `at` (titration steps
    from the program the pump runs, start doses for a drug new to it)."""
    phase = Phase.TITRATION
    try:
        prescription = replace(prescription, drugs=named_drugs(prescription.drugs))
        # judged as the stricter titration unless prescribed as maintenance: it may be
        # programmed between refills
        phase = next_phase(prescription.phase, state, None)
        check_shape(state.pump, prescription.program, prescription.ptm)
        last = state.last_fill
        rate, warnings = check_drugs(
            state.pump,
            prescription.drugs,
            prescription.daily_dose,
            state.running,
            at,
            None,
            rules.region,
            rules.clinic_limits,
            therapy=state.therapy,
            previous_drugs=last.drugs if last is not None else None,
            phase=phase,
            on=at.astimezone(rules.tz).date(),
        )
        # after the drug library, so a mg/mcg slip is named as such, not as a rate
        for weekday, index, step in prescription.program.steps():
            check_rate(
                state.pump,
                of(prescription.rate_ml_per_day(step.dose), "mL/day"),
                f"program.days.{weekday}[{index}].dose",
                str(step.dose),
            )
        warnings += _beyond_the_day(prescription, state, rules)
        warnings += _ptm_findings(prescription, state)
    except Refusal as stop:
        return PrescriptionDecision(prescription, (), stop, phase, None)
    return PrescriptionDecision(prescription, _unique(warnings), None, phase, rate)


def _beyond_the_day(
    prescription: Prescription, state: PumpState, rules: DosingRules
) -> list[Finding]:
    """The highest step (a rate held for part of a day) and the worst day with every patient
    bolus, each judged as a day's dose against the drug library's limits for every drug."""
    daily = prescription.daily_dose.canonical
    judged: list[tuple[str, Q]] = []
    highest = prescription.program.highest_step
    if highest.canonical > daily:
        judged.append(("program.highest_step", highest))
    if prescription.ptm is not None:
        judged.append(("ptm.max_per_day", prescription.worst_day))
    found: list[Finding] = []
    admixture = len(prescription.drugs) > 1
    for field, dose in judged:
        rate = prescription.rate_ml_per_day(dose)
        for name, conc in prescription.drugs:
            drug_dose = of(dose_mcg_per_day(rate, conc.canonical), "mcg/day")
            decision = checks.check(
                name,
                conc,
                drug_dose,
                origin=state.therapy.origin,
                region=rules.region,
                extra_limits=rules.clinic_limits,
            )
            for finding in decision.findings:
                if finding.verdict is Verdict.STOP:
                    raise Refusal(
                        field,
                        f"{name} {drug_dose}",
                        f"{finding.limit} (hard limit: no override)",
                        finding.source,
                        f"is stopped by {finding.rule}: {finding.message}",
                    )
                if finding.verdict is Verdict.WARN and finding.subject is not Subject.CONCENTRATION:
                    found.append(finding.in_admixture() if admixture else finding)
    return found


def _ptm_findings(prescription: Prescription, state: PumpState) -> list[Finding]:
    """Patient boluses of an opioid: contraindicated for an opioid-naive patient (hard), a
    warning while the patient's opioid exposure is not recorded."""
    if prescription.ptm is None:
        return []
    opioids = [n for n, _ in prescription.drugs if catalog.drug(n).drug_class == "opioid"]
    if not opioids:
        return []
    patient = state.therapy.patient
    status = patient.opioid_status if patient is not None else OpioidStatus.UNKNOWN
    if status is OpioidStatus.NAIVE:
        raise Refusal(
            "ptm",
            f"patient boluses of {opioids[0]}",
            "none for an opioid-naive patient (hard: a label contraindication)",
            PTM_OPIOID_NAIVE_SOURCE,
            "is contraindicated",
        )
    if status is OpioidStatus.TOLERANT:
        return []
    return [
        Finding(
            "ptm_opioid_status_unknown",
            Verdict.WARN,
            f"patient boluses of {opioids[0]} are contraindicated for an opioid-naive patient, "
            "and this patient's opioid exposure is not recorded",
            "opioid status recorded as tolerant",
            PTM_OPIOID_NAIVE_SOURCE,
            verified=False,
            subject=Subject.DOSE,
            drug=opioids[0],
            tier=Tier.SOFT,
        )
    ]


def _unique(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for finding in findings:
        if (finding.rule, finding.message) not in seen:
            seen.add((finding.rule, finding.message))
            kept.append(finding)
    return tuple(kept)
