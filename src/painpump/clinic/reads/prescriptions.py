"""A pump's prescriptions as core reads them: the one a refill or a programming session executes
(the newest ready one, else the one in force), the one in force, and each as core's value."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from django.contrib.auth.models import User

from painpump.clinic.errors import UnreadableRow
from painpump.clinic.models import Implant, Prescription, PrescriptionStep, Program, Refill
from painpump.clinic.reads.incident_warnings import RULE as OPEN_INCIDENT
from painpump.clinic.roles import may, who_may
from painpump.core import catalog, fluid_change
from painpump.core import prescription as rx
from painpump.core.decision import Finding
from painpump.core.dose_history import Phase
from painpump.core.dosing import concentration_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenAt, Override
from painpump.core.refill_decision import Fill, ProgramDecision, RefillDecision
from painpump.core.units import Q, in_unit, of

RULES = "rule-prescription"
PRESCRIBE = "program.prescribe"
SLIP = 1000
"""How far apart the same number is in mg and in mcg: a concentration this many times off the
prescribed one may be a unit slip."""
OPEN = (Prescription.Status.AWAITING_CHECK, Prescription.Status.READY)


def as_core(record: Prescription) -> rx.Prescription:
    """`record` as core's value; UnreadableRow names the first field no audited action would
    have stored (a step on weekday 9, a patient bolus without its lockout)."""
    drugs = tuple((d.drug, of(d.concentration_mcg_per_ml, "mcg/mL")) for d in record.drugs.all())
    days: list[list[rx.Step]] = [[] for _ in range(7)]
    for step in record.steps.all():
        _check_step(record, step)
        days[step.weekday].append(rx.Step(step.start_s, of(step.dose_mcg_per_day, "mcg/day")))
    program = rx.PrescribedProgram(
        _choice(record, "program_kind", rx.ProgramKind), tuple(tuple(day) for day in days)
    )
    if record.bolus_dose_mcg is not None and record.bolus_duration_s is not None:
        bolus = rx.SingleBolus(of(record.bolus_dose_mcg, "mcg"), record.bolus_duration_s)
        program = rx.PrescribedProgram.single_bolus(bolus)
    return rx.Prescription(
        drugs,
        program,
        _patient_bolus(record),
        _choice(record, "phase", Phase) if record.phase else None,
        _choice(record, "fluid_change", rx.FluidChange),
    )


def _unreadable(record: Prescription, field: str, value: object, expected: str) -> UnreadableRow:
    return UnreadableRow(f"prescription {record.id}", field, value, expected)


def _check_step(record: Prescription, step: PrescriptionStep) -> None:
    if step.weekday not in range(len(rx.WEEKDAYS)):
        raise _unreadable(
            record, "a step's weekday", step.weekday, "a day of the week (0 Monday to 6 Sunday)"
        )
    if step.start_s not in range(rx.SECONDS_PER_DAY):
        raise _unreadable(
            record,
            "a step's start_s",
            step.start_s,
            f"a time of day (0 to {rx.SECONDS_PER_DAY - 1} seconds after midnight)",
        )


E = TypeVar("E", bound=StrEnum)


def _choice(record: Prescription, field: str, choices: type[E]) -> E:
    value = getattr(record, field)
    try:
        return choices(value)
    except ValueError:
        raise _unreadable(
            record, field, value, f"one of {', '.join(c.value for c in choices)}"
        ) from None


PTM_SETTINGS = ("ptm_duration_s", "ptm_lockout_s", "ptm_max_per_day")


def _patient_bolus(record: Prescription) -> rx.PatientBolus | None:
    if record.ptm_dose_mcg is None:
        return None
    for field in PTM_SETTINGS:
        if not getattr(record, field):
            raise _unreadable(
                record,
                field,
                getattr(record, field),
                "a positive number (the patient bolus's dose is set)",
            )
    assert record.ptm_duration_s and record.ptm_lockout_s and record.ptm_max_per_day
    return rx.PatientBolus(
        of(record.ptm_dose_mcg, "mcg"),
        record.ptm_duration_s,
        record.ptm_lockout_s,
        record.ptm_max_per_day,
    )


def stops_basal(program: Program) -> bool:
    """True when `program` runs no basal program: a single bolus (the pump stops after it) or a
    stopped pump."""
    prescribed = program.prescription
    return prescribed is not None and prescribed.program_kind in rx.STOPPING


def stops_pump(program: Program) -> bool:
    """True for a program of a stopped-pump prescription (it gives nothing from its start)."""
    prescribed = program.prescription
    return prescribed is not None and prescribed.program_kind == rx.ProgramKind.STOPPED


def single_bolus_of(program: Program) -> rx.SingleBolus | None:
    """The single bolus `program` gives (None: it runs a basal program)."""
    prescribed = program.prescription
    if prescribed is None or prescribed.bolus_dose_mcg is None:
        return None
    assert prescribed.bolus_duration_s is not None
    return rx.SingleBolus(of(prescribed.bolus_dose_mcg, "mcg"), prescribed.bolus_duration_s)


def overrides_of(record: Prescription) -> dict[str, str]:
    """The reasons the prescriber typed for its warnings (rule -> reason)."""
    return {Override.from_json(o).rule: Override.from_json(o).reason for o in record.overrides}


def in_force(implant: Implant) -> Prescription | None:
    return implant.prescriptions.filter(status=Prescription.Status.ACTIVE).first()


def newest_open(implant: Implant) -> Prescription | None:
    """The newest prescription not yet programmed (awaiting its double-check or ready)."""
    return implant.prescriptions.filter(status__in=OPEN).order_by("-number").first()


def to_execute(implant: Implant) -> Prescription | None:
    """What a refill fills and programs: the prescription ready to program, else the one in
    force (a refill that changes nothing)."""
    ready = implant.prescriptions.filter(status=Prescription.Status.READY).first()
    return ready or in_force(implant)


def next_number(implant: Implant) -> int:
    last = implant.prescriptions.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def not_for_refill(record: Prescription, field: str) -> Refusal:
    """A single bolus or a stopped pump in force: a refill fills the pump and runs a basal
    program, which a physician prescribes first."""
    kind = rx.ProgramKind(record.program_kind)
    return Refusal(
        field,
        f"#{record.number} by {record.prescribed_by} (a {kind.label})",
        f"a basal program: a fill runs one; a {kind.label} is programmed between refills "
        f"(program pump), and {who_may(PRESCRIBE)} prescribes the program a refill fills for",
        RULES,
        "cannot be executed by a refill",
    )


def executed_prescription(implant: Implant, fill: Fill, dose: Q | None) -> Prescription:
    """The prescription a refill of `fill` executes, or the refusal naming what differs from it
    and who may change it (rule-prescription)."""
    prescription = to_execute(implant)
    waiting = newest_open(implant)
    # a fill of the change that awaits its double-check (not of the prescription in force)
    awaited = (
        waiting is not None
        and waiting.status == Prescription.Status.AWAITING_CHECK
        and (prescription is None or (_fills(waiting, fill) and not _fills(prescription, fill)))
    )
    if waiting is not None and awaited:
        raise Refusal(
            "prescription",
            f"#{waiting.number} by {waiting.prescribed_by} ({waiting.get_status_display()})",
            f"a prescription double-checked by {who_may('prescription.check')} other than the "
            "prescriber",
            "rule-double-check",
            "is not ready to program",
        )
    if prescription is None:
        raise Refusal(
            "prescription",
            "none",
            f"a prescription for this pump, signed by {who_may(PRESCRIBE)}",
            RULES,
            "is missing: a pump is filled and programmed only as prescribed",
        )
    if prescription.program_kind in rx.STOPPING:
        raise not_for_refill(prescription, "prescription")
    prescribed = stored_drugs(prescription)
    shown = drugs_text(prescribed)
    who = f"prescription #{prescription.number} by {prescription.prescribed_by}: {shown}"
    given = fill.canonical_drugs
    for index in range(max(len(given), len(prescribed))):
        mine = given[index] if index < len(given) else None
        if mine is None or index >= len(prescribed) or mine != prescribed[index]:
            theirs = prescribed[index] if index < len(prescribed) else None
            raise Refusal(
                f"drugs[{index}]",
                typed_drug(*fill.drugs[index]) if mine else "missing",
                f"as prescribed ({who}); a change of drug or concentration is a new "
                f"prescription, signed by {who_may(PRESCRIBE)}",
                RULES,
                "differs from the prescription" + _slipped(mine, theirs),
            )
    if dose is not None and dose.canonical != prescription.daily_dose_mcg_per_day:
        daily_unit = catalog.drug(prescribed[0][0]).dose_rate_unit
        kind = _choice(prescription, "program_kind", rx.ProgramKind)
        as_prescribed = (
            f"{in_unit(of(prescription.daily_dose_mcg_per_day, 'mcg/day'), daily_unit)} as "
            f"prescribed ({who})"
            if kind is rx.ProgramKind.CONTINUOUS
            else f"none: leave it empty, the refill programs the {kind.label} program as "
            f"prescribed ({who})"
        )
        raise Refusal(
            "dose",
            dose.typed,  # unrounded: 8149.999992 mcg/day is not the 8150 prescribed
            f"{as_prescribed}; a new dose is a new prescription, signed by {who_may(PRESCRIBE)}",
            RULES,
            "differs from the prescription"
            + _slipped_by(dose.canonical, prescription.daily_dose_mcg_per_day, "the order"),
        )
    return prescription


def priming_for_physician(user: User, warnings: Sequence[Finding]) -> list[str]:
    """The priming warnings a physician must pass at the refill (fluid_change.physician_at_fill)
    that `user`, not a physician, may not: empty when there are none or `user` may."""
    if may(user, PRESCRIBE):
        return []
    return sorted({w.rule for w in warnings if fluid_change.physician_at_fill(w.rule)})


def reasons_for_physician(user: User, rules: Iterable[str]) -> list[str]:
    """The warnings among `rules` whose reason at programming `user`, no physician, may not
    give: all but an open readback incident's, which whoever programs acknowledges."""
    if may(user, PRESCRIBE):
        return []
    return sorted(set(rules) - {OPEN_INCIDENT})


def carried_overrides(
    decision: RefillDecision | ProgramDecision, prescription: Prescription
) -> tuple[Override, ...]:
    """The prescriber's overrides of the warnings shown, given at prescribing: they travel with
    the prescription to the refill or programming that executes it, but for the priming bolus's
    warnings, which the clinician who fills acknowledges again (acknowledged_at_fill)."""
    shown = {w.rule for w in decision.warnings if not fluid_change.acknowledged_at_fill(w.rule)}
    stored = (Override.from_json(o) for o in prescription.overrides)
    return tuple(Override(o.rule, o.reason, GivenAt.PRESCRIBING) for o in stored if o.rule in shown)


def prescribers_reasons(
    decision: RefillDecision | ProgramDecision, prescription: Prescription
) -> dict[str, str]:
    """The reasons the prescriber gave for the warnings shown (rule -> reason)."""
    return {o.rule: o.reason for o in carried_overrides(decision, prescription)}


def ready_to_program(implant: Implant) -> Prescription:
    """The prescription ready to program between refills: same drugs and concentrations as the
    fill in the pump (a new drug or concentration is filled at a refill)."""
    ready = implant.prescriptions.filter(status=Prescription.Status.READY).first()
    if ready is None:
        waiting = newest_open(implant)
        raise Refusal(
            "prescription",
            f"#{waiting.number} ({waiting.get_status_display()})" if waiting else "none ready",
            "a new prescription, double-checked where it is high-alert (rule-double-check)",
            RULES,
            "is not ready to program",
        )
    in_pump = implant.refills.order_by("-performed_at").first()
    drugs = stored_drugs(ready)
    filled = stored_drugs(in_pump) if in_pump else []
    if drugs != filled:
        raise Refusal(
            "prescription",
            f"#{ready.number}: " + drugs_text(drugs),
            "the drugs and concentrations in the pump ("
            + (drugs_text(filled) or "not filled")
            + "); a new drug or concentration is programmed at a refill",
            RULES,
            "needs a refill",
        )
    return ready


def _fills(prescription: Prescription, fill: Fill) -> bool:
    """True when `fill` holds the prescription's drugs at its concentrations."""
    prescribed = stored_drugs(prescription)
    return fill.canonical_drugs == prescribed


def needs_verification(decision: RefillDecision, prescription: Prescription) -> bool:
    """A second clinician verifies afterwards what nobody checked before: a change of drug or
    concentration without a double-check, and a warning the prescriber gave no reason for (its
    reason typed at the refill)."""
    covered = prescribers_reasons(decision, prescription)
    unchecked = decision.drug_changed and not prescription.checked_by
    return unchecked or any(w.rule not in covered for w in decision.warnings)


def typed_drug(name: str, concentration: Q) -> str:
    """A drug with its concentration as typed, and in the drug's own unit where that differs
    ("morphine 20 mcg/mL (= 0.02 mg/mL)")."""
    own = concentration_in_drug_unit(name, concentration.canonical)
    typed = f"{name} {concentration.typed}"
    return typed if own.unit == concentration.unit else f"{typed} (= {own})"


def _slipped(given: tuple[str, Decimal] | None, prescribed: tuple[str, Decimal] | None) -> str:
    """What a concentration a thousand times off the prescribed one of the same drug may be."""
    if given is None or prescribed is None or given[0] != prescribed[0]:
        return ""
    return _slipped_by(given[1], prescribed[1], "the syringe label")


def _slipped_by(mine: Decimal, theirs: Decimal, where: str) -> str:
    """What a value a thousand times off the prescribed one may be, and where to read it again."""
    if mine * SLIP != theirs and theirs * SLIP != mine:
        return ""
    return (
        f" by a factor of {SLIP}: it may be a unit slip (mg vs mcg); read the unit on {where} again"
    )


def drugs_text(drugs: list[tuple[str, Decimal]]) -> str:
    """Drugs with their concentrations in each drug's own unit ("morphine 10 mg/mL")."""
    return ", ".join(f"{name} {concentration_in_drug_unit(name, conc)}" for name, conc in drugs)


def check_ready_by(prescription: Prescription, at: datetime, field: str) -> None:
    """A ready prescription is programmed only after it was signed and, if it needed one, its
    double-check (rule-out-of-order: events are recorded when they have happened)."""
    if prescription.status != Prescription.Status.READY:
        return
    ready_at = prescription.checked_at or prescription.prescribed_at
    if at < ready_at:
        step = "double-checked" if prescription.checked_at else "signed"
        raise Refusal(
            field,
            at.isoformat(),
            f"after prescription #{prescription.number} was {step} ({ready_at.isoformat()})",
            "rule-out-of-order",
            "is out of order",
        )


def order_json(
    drugs_key: str,
    drugs: tuple[tuple[str, Q], ...],
    program: rx.PrescribedProgram,
    ptm: rx.PatientBolus | None,
) -> dict[str, Any]:
    """An order entered independently (a double-check, a readback) as recorded: each value with
    its unit as typed, the program day by day (a single bolus: its bolus, no days; a stopped
    pump: no days)."""
    return {
        drugs_key: [f"{name} {conc.typed}" for name, conc in drugs],
        "program": program.kind.label,
        "days": []
        if program.kind in (rx.ProgramKind.SINGLE_BOLUS, rx.ProgramKind.STOPPED)
        else [[f"{s.start} {s.dose.typed}" for s in day] for day in program.days],
        "bolus": None
        if program.bolus is None
        else {"dose": program.bolus.dose.typed, "duration_s": program.bolus.duration_s},
        "ptm": None
        if ptm is None
        else {
            "dose": ptm.dose.typed,
            "duration_s": ptm.duration_s,
            "lockout_s": ptm.lockout_s,
            "max_per_day": ptm.max_per_day,
        },
    }


def stored_drugs(record: Prescription | Refill) -> list[tuple[str, Decimal]]:
    """A prescription's or a fill's drugs with their concentrations in mcg/mL, principal first."""
    return [(d.drug, d.concentration_mcg_per_ml) for d in record.drugs.all()]
