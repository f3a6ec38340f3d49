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
    WEEKDAYS,
    PatientBolus,
    PrescribedProgram,
    Prescription,
    Step,
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
DOUBLE_CHECK = "rule-double-check"
READBACK = "rule-readback"


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


@dataclass(frozen=True)
class Mismatch:
    """A value entered independently (by the second clinician, or read back from the
    programmer) that differs from the prescription."""

    field: str
    entered: str
    prescribed: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "entered": self.entered, "prescribed": self.prescribed}

    @property
    def message(self) -> str:
        return f"{self.field}: entered {self.entered}, prescribed {self.prescribed}"


@dataclass(frozen=True)
class CheckEntries:
    """What the second clinician reads from the syringe label and the order, without seeing the
    prescription's numbers: each drug's concentration and the daily dose of the principal (for a
    flex program, the day that gives most)."""

    concentrations: tuple[tuple[str, Q], ...]
    daily_dose: Q


def _same(a: Q, b: Q) -> bool:
    return a.canonical == b.canonical


def compare_check(prescription: Prescription, entries: CheckEntries) -> tuple[Mismatch, ...]:
    """Every difference between the independent entries and the prescription."""
    found = _compare_drugs(prescription.drugs, entries.concentrations, "concentrations")
    if not _same(entries.daily_dose, prescription.daily_dose):
        found.append(Mismatch("daily_dose", str(entries.daily_dose), str(prescription.daily_dose)))
    return tuple(found)


def _compare_drugs(
    prescribed: Sequence[tuple[str, Q]], entered: Sequence[tuple[str, Q]], field: str
) -> list[Mismatch]:
    wanted = {name: conc for name, conc in named_drugs(prescribed)}
    given = dict(named_drugs(entered)) if entered else {}
    found = []
    for name in sorted(set(wanted) | set(given)):
        a, b = given.get(name), wanted.get(name)
        if a is None or b is None or not _same(a, b):
            found.append(
                Mismatch(
                    f"{field}.{name}",
                    str(a) if a is not None else "not entered",
                    str(b) if b is not None else "not prescribed",
                )
            )
    return found


@dataclass(frozen=True)
class Readback:
    """What the clinician programmer shows after programming: the reservoir volume, the drugs and
    concentrations, the program's steps and the PTM settings."""

    reservoir: Q
    drugs: tuple[tuple[str, Q], ...]
    program: PrescribedProgram
    ptm: PatientBolus | None


def compare_readback(
    prescription: Prescription, filled: Q | None, readback: Readback
) -> tuple[Mismatch, ...]:
    """Every difference between the programmer's readback and the prescription (and the volume
    filled, when the session filled the pump)."""
    found = _compare_drugs(prescription.drugs, readback.drugs, "drugs")
    if filled is not None and not _same(readback.reservoir, filled):
        found.append(Mismatch("reservoir", str(readback.reservoir), f"{filled} filled"))
    prescribed, read = prescription.program, readback.program
    if read.kind is not prescribed.kind:
        found.append(Mismatch("program.kind", read.kind.value, prescribed.kind.value))
    for weekday, mine, theirs in zip(WEEKDAYS, prescribed.days, read.days, strict=True):
        if [(s.start_s, s.dose.canonical) for s in mine] != [
            (s.start_s, s.dose.canonical) for s in theirs
        ]:
            found.append(
                Mismatch(
                    f"program.days.{weekday}",
                    _day_text(theirs),
                    _day_text(mine),
                )
            )
    found += _compare_ptm(prescription.ptm, readback.ptm)
    return tuple(found)


def _day_text(day: Sequence[Step]) -> str:
    return ", ".join(f"{s.start} {s.dose}" for s in day)


def _compare_ptm(prescribed: PatientBolus | None, read: PatientBolus | None) -> list[Mismatch]:
    if prescribed is None and read is None:
        return []
    if prescribed is None or read is None:
        return [
            Mismatch(
                "ptm",
                "set" if read is not None else "off",
                "set" if prescribed is not None else "off",
            )
        ]
    pairs = (
        ("ptm.dose", str(read.dose), str(prescribed.dose), _same(read.dose, prescribed.dose)),
        (
            "ptm.duration",
            f"{read.duration_s} s",
            f"{prescribed.duration_s} s",
            read.duration_s == prescribed.duration_s,
        ),
        (
            "ptm.lockout",
            f"{read.lockout_s} s",
            f"{prescribed.lockout_s} s",
            read.lockout_s == prescribed.lockout_s,
        ),
        (
            "ptm.max_per_day",
            str(read.max_per_day),
            str(prescribed.max_per_day),
            read.max_per_day == prescribed.max_per_day,
        ),
    )
    return [Mismatch(field, a, b) for field, a, b, same in pairs if not same]
