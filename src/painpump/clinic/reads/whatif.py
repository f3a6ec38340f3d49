"""What-if: a proposed refill (volume, concentrations, dose or rate, now) or a proposed change of
the program alone, projected by the pump's twin as the refill and titration services would
project it and checked as they would check it (drug library, the clinic's limits, device),
without saving anything. The dose as prescribed (or none given) runs the prescription in force:
its flex steps, single bolus and patient boluses, as a refill executing it would record them;
another dose runs continuously at that dose, and says so. A hard limit is returned as `stop`, the
warnings with their reason and source. Each look is an audited read of the patient's record."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch

from painpump.clinic import audit
from painpump.clinic.errors import NotFound
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant, Prescription, Program, Refill, RefillDrug
from painpump.clinic.reads import drug_units, prescriptions, pump_history
from painpump.clinic.reads.chart import (
    Dose,
    fill_doses,
    fill_projection,
    program_words,
)
from painpump.clinic.reads.pump_history import fill_stability
from painpump.clinic.reads.pump_state import dosing_rules, pump_state, running_program
from painpump.clinic.reads.stable_read import stable
from painpump.clinic.roles import require
from painpump.core import catalog, pump_twin
from painpump.core import prescription as rx
from painpump.core.decision import Finding, Verdict
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit, dose_mcg_per_day
from painpump.core.errors import Refusal
from painpump.core.projection import Projection
from painpump.core.refill import first_of_drug
from painpump.core.refill_decision import (
    Fill,
    bridge_for,
    check_fill,
    restart_findings,
    restarted,
)
from painpump.core.units import Kind, Q, of
from painpump.core.volumes import Bridge

RULES = "painpump what-if rules"
Mode = Literal["refill", "program"]


@dataclass(frozen=True)
class Current:
    """The pump as it runs now: the last fill, the running program and their projection."""

    implant_id: UUID
    patient_id: UUID
    patient: str
    pump: str
    reservoir: Q
    alarm_volume: Q
    dead_volume: Q
    fill_at: datetime
    fill_volume: Q
    left_now: Q
    drugs: tuple[tuple[str, Q], ...]
    doses: tuple[Dose, ...]
    dose: Q
    rate: Q
    words: str
    projection: Projection
    notes: tuple[str, ...]
    steps: str = ""
    """A flex program's day patterns in words, as the chart's program card shows them."""
    patient_bolus: str = ""
    """The PTM settings in words ("" when none are prescribed)."""
    prescription: int | None = None
    """The number of the prescription it executes (None: recorded before prescriptions)."""

    @property
    def needs_refill_now(self) -> bool:
        """True when the pump computes no more than its low-reservoir alarm volume left."""
        return self.left_now.canonical <= self.alarm_volume.canonical


@dataclass(frozen=True)
class Proposal:
    """What the user proposes: a refill now (`volume` and the concentrations of the drugs in the
    pump) or a program change alone, each with a daily dose or a rate (a quantity of either
    kind; the other follows from the concentration), None: as prescribed."""

    mode: Mode
    dose_or_rate: Q | None
    volume: Q | None = None
    concentrations: tuple[Q, ...] = ()


@dataclass(frozen=True)
class WhatIf:
    """The outcome: the program proposed in words and numbers, its projection (None when a hard
    limit stops it), the stop, the warnings and notes, and the bridge a concentration change
    would need."""

    current: Current
    proposal: Proposal
    doses: tuple[Dose, ...]
    rate: Q | None
    words: str
    projection: Projection | None
    stop: Refusal | None
    warnings: tuple[Finding, ...]
    notes: tuple[str, ...]
    bridge: Bridge | None
    steps: str = ""
    """The flex steps projected, in words ("" unless the prescription's flex program runs)."""
    patient_bolus: str = ""
    """The PTM settings projected, assumed given at their maximum ("" when none)."""
    as_prescribed: int | None = None
    """The number of the prescription in force whose own program is projected (None: a
    continuous program at the dose proposed)."""
    program_note: str = ""
    """Why the projection differs from the prescription's program, in words ("" when not)."""
    prompt: str = ""
    """What the what-if needs before it can project anything (a stopped pump in force: a dose
    to try a restart); "" when it projected or was refused."""


def _implant(implant_id: UUID) -> Implant:
    query = Implant.objects.select_related("episode__patient").prefetch_related(
        Prefetch("programs", queryset=Program.objects.order_by("started_at")),
        Prefetch(
            "refills",
            queryset=Refill.objects.order_by("performed_at").prefetch_related(
                Prefetch("drugs", queryset=RefillDrug.objects.order_by("position"))
            ),
        ),
    )
    try:  # its refills and programs in one state
        return stable(lambda: query.get(id=implant_id), lambda found: [found])
    except Implant.DoesNotExist:
        raise NotFound(f"implant {implant_id}") from None


def _words(
    doses: tuple[Dose, ...], rate: Q, program: rx.PrescribedProgram, ptm: rx.PatientBolus | None
) -> tuple[str, str, str]:
    """A program in words as the chart's program card gives them: the drugs, rate and dose with
    its kind (a single bolus as its bolus), the flex steps and the patient-bolus settings."""
    principal = doses[0].drug
    words = program_words(doses, rate, program.kind.label)
    if program.bolus is not None:
        delivery = program.bolus.delivery(principal, doses[0].concentration.canonical)
        drugs = " + ".join(f"{d.drug} {d.concentration}" for d in doses)
        words = f"{drugs}: {drug_units.bolus_delivery(principal, delivery)}"
    steps = drug_units.program(principal, program) if program.kind is rx.ProgramKind.FLEX else ""
    bolus = drug_units.patient_bolus(principal, ptm) if ptm is not None else ""
    return words, steps, bolus


def _current(implant: Implant, now: datetime) -> tuple[Current, list[Refill], list[Program]]:
    refills = list(implant.refills.all())
    programs = list(implant.programs.all())
    running = next((p for p in reversed(programs) if p.ended_at is None), None)
    if not refills or running is None or implant.explanted_on is not None:
        raise Refusal(
            "implant",
            str(implant.id),
            "an implanted, filled pump with a running program",
            RULES,
            "has nothing to project (the first fill is planned in the refill workflow)",
        )
    last = refills[-1]
    stored = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
    settings = clinic_settings()
    projected = fill_projection(
        implant,
        refills,
        programs,
        Decimal(settings.refill_margin_days),
        locale_of(settings).zone,
        now,
    )
    assert projected is not None
    projection, notes = projected
    doses = fill_doses(stored, running.rate_ml_per_day, running.dose_mcg_per_day)
    rate = of(running.rate_ml_per_day, "mL/day")
    prescribed = prescriptions.as_core(running.prescription) if running.prescription else None
    words, steps, bolus = _words(
        doses,
        rate,
        prescribed.program
        if prescribed
        else rx.PrescribedProgram.continuous(of(running.dose_mcg_per_day, "mcg/day")),
        prescribed.ptm if prescribed else None,
    )
    patient = implant.episode.patient
    current = Current(
        implant_id=implant.id,
        patient_id=patient.id,
        patient=f"{patient.family_name}, {patient.given_name}",
        pump=f"{catalog.pump(implant.pump_model).name} {implant.pump_serial}",
        reservoir=catalog.pump(implant.pump_model).reservoir_volume.value,
        alarm_volume=of(implant.alarm_volume_ml, "mL"),
        dead_volume=of(implant.dead_volume_ml, "mL"),
        fill_at=last.performed_at,
        fill_volume=of(last.volume_ml, "mL"),
        left_now=pump_history.residual_at(implant, now),
        drugs=tuple((name, concentration_in_drug_unit(name, conc)) for name, conc in stored),
        doses=doses,
        dose=dose_in_drug_unit(stored[0][0], running.dose_mcg_per_day),
        rate=rate,
        words=words,
        projection=projection,
        notes=tuple(notes),
        steps=steps,
        patient_bolus=bolus,
        prescription=running.prescription.number if running.prescription else None,
    )
    return current, refills, programs


@transaction.atomic
def current_pump(user: User, implant_id: UUID, now: datetime) -> Current:
    """The pump as it runs now, the starting point of a what-if (an audited read)."""
    actor = require(user, "patient.read")
    implant = _implant(implant_id)
    current, _, _ = _current(implant, now)
    audit.record(
        actor, "implant.what_if.open", "implant", implant.id, patient_id=current.patient_id
    )
    return current


def _dose(proposal: Proposal, drugs: tuple[tuple[str, Q], ...]) -> Q | None:
    """The principal drug's daily dose proposed: as given, or what the given rate delivers at
    the principal drug's concentration (dose = rate x concentration); None: as prescribed."""
    name, concentration = drugs[0]
    given = proposal.dose_or_rate
    if given is None or given.kind is Kind.DOSE_RATE:
        return given
    return dose_in_drug_unit(name, dose_mcg_per_day(given.canonical, concentration.canonical))


def _drugs(proposal: Proposal, current: Current) -> tuple[tuple[str, Q], ...]:
    if proposal.mode == "program":
        return current.drugs
    if len(proposal.concentrations) != len(current.drugs):
        raise Refusal(
            "concentrations",
            str(len(proposal.concentrations)),
            f"one concentration for each drug in the pump ({len(current.drugs)})",
            RULES,
            "does not match the drugs",
        )
    return tuple(
        (name, conc) for (name, _), conc in zip(current.drugs, proposal.concentrations, strict=True)
    )


def _prescribed_program(
    proposal: Proposal,
    drugs: tuple[tuple[str, Q], ...],
    current: Current,
    in_force: rx.Prescription | None,
) -> tuple[rx.Prescription, bool]:
    """What the proposal runs, and whether it is the prescription in force's own program: that
    program (flex steps, single bolus, patient boluses) when no dose is given or the dose given
    is its dose, else a continuous program at the dose given (with the patient boluses in
    force)."""
    given = _dose(proposal, drugs)
    if in_force is None:
        dose = given or current.dose
        return rx.Prescription(drugs, rx.PrescribedProgram.continuous(dose)), False
    if given is None or given.canonical == in_force.daily_dose.canonical:
        return replace(in_force, drugs=drugs), True
    program = rx.PrescribedProgram.continuous(given)
    return replace(in_force, drugs=drugs, program=program), False


def _nothing_to_project(
    proposal: Proposal, record: Prescription | None, own: bool, implant: Implant, now: datetime
) -> str:
    """The stop or single bolus in force tried as it is: no refill executes either, a stop gives
    nothing to project and a single bolus that has ended has run; a dose typed tries a restart
    ("" for anything else)."""
    if not own or record is None or record.program_kind not in rx.STOPPING:
        return ""
    restart = "type a daily dose to try a restart"
    if proposal.mode == "refill":
        return (
            f"no refill can execute prescription #{record.number} "
            f"({record.get_program_kind_display()}): a physician prescribes a running program "
            f"first; {restart} with this fill"
        )
    if record.program_kind == rx.ProgramKind.STOPPED:
        stops = f"prescription #{record.number} stops the pump"
        return f"{stops}, so it gives nothing to project: {restart}"
    running = running_program(implant)
    bolus = prescriptions.single_bolus_of(running) if running is not None else None
    if running is None or bolus is None or bolus.ends_at(running.started_at) > now:
        return ""
    return (
        f"the single bolus of prescription #{record.number} has run and the pump is stopped, so "
        f"nothing is left to project: {restart}"
    )


def _not_applied(
    prescribed: rx.Prescription,
    in_force: rx.Prescription | None,
    mode: str,
    record: Prescription | None,
) -> str:
    """The plain words for a continuous projection of a prescription that runs more than that;
    a refill tried on a pump the prescription in force stops projects a fill no refill executes
    until a physician prescribes it."""
    if in_force is None or in_force.program.kind is rx.ProgramKind.CONTINUOUS:
        return ""
    dose = drug_units.shown(prescribed.principal[0], prescribed.daily_dose)
    stops = in_force.program.kind is rx.ProgramKind.STOPPED or in_force.program.bolus is not None
    if mode == "refill" and stops and record is not None:
        return (
            f"a refill restarting the pump, continuous at {dose}: no refill can execute "
            f"prescription #{record.number} ({record.get_program_kind_display()}), so a "
            "physician prescribes this first"
        )
    if in_force.program.kind is rx.ProgramKind.STOPPED:
        return f"a restart of the stopped pump, continuous at {dose}; prescribe it to run it"
    what = "single bolus is" if in_force.program.bolus is not None else "flex steps are"
    kind = "single bolus" if in_force.program.bolus is not None else "flex program"
    return (
        f"continuous at {dose}: the prescription's {what} not applied; to try another {kind}, "
        "review it on the prescription form, which shows its twin's dates before it is signed"
    )


@transaction.atomic
def what_if(user: User, implant_id: UUID, proposal: Proposal, now: datetime) -> WhatIf:
    """The proposal checked and projected from `now`; nothing is saved but the audit entry."""
    actor = require(user, "patient.read")
    implant = _implant(implant_id)
    current, refills, programs = _current(implant, now)
    pump = catalog.pump(implant.pump_model, "pump_model")
    settings = clinic_settings()
    zone = locale_of(settings).zone
    drugs = _drugs(proposal, current)
    volume = proposal.volume if proposal.mode == "refill" else current.fill_volume
    if volume is None:
        raise Refusal("volume", "missing", "the volume to fill", RULES, "is required for a refill")
    record = prescriptions.to_execute(implant)  # a refill or programming executes it
    in_force = prescriptions.as_core(record) if record is not None else None
    prescribed, own = _prescribed_program(proposal, drugs, current, in_force)
    prompt = _nothing_to_project(proposal, record, own, implant, now)
    if prompt:
        assert record is not None
        outcome = WhatIf(current, proposal, (), None, "", None, None, (), (), None, prompt=prompt)
        _record(actor, implant, outcome, f"prescription #{record.number}", volume, drugs)
        return outcome
    dose = prescribed.daily_dose
    state = pump_state(implant)
    judged = restarted(state, prescribed, dose, now)  # after a stop: never a cut from before it
    stop: Refusal | None = None
    projection: Projection | None = None
    rate: Q | None = None
    doses: tuple[Dose, ...] = ()
    warnings: list[Finding] = []
    notes: list[str] = []
    bridged: Bridge | None = None
    try:
        rules = dosing_rules()
        fill = Fill(drugs, volume, "what-if")
        rate_ml, found = check_fill(
            pump,
            fill,
            dose,
            judged.running,
            now,
            None,
            rules.region,
            rules.clinic_limits,
            therapy=state.therapy,
            previous_drugs=[(name, conc.canonical) for name, conc in current.drugs],
            on=now.astimezone(zone).date(),
            basal=prescribed.program.bolus is None,
        )
        single = prescribed.program.bolus is not None
        warnings += found + restart_findings(
            state, now, rules, prescribed.principal[0], prescribed.worst_day, single
        )
        rate = of(rate_ml, "mL/day")
        doses = fill_doses([(n, c.canonical) for n, c in drugs], rate_ml)
        margin = Decimal(settings.refill_margin_days)
        canonical = tuple((n, c.canonical) for n, c in drugs)
        history = pump_history.recorded(implant, refills, programs, zone)
        if proposal.mode == "refill":
            previous = refills[-1].drugs.all() if refills else None
            stability, notes = fill_stability(
                list(canonical),
                first_fill=first_of_drug(
                    [(d.drug, d.concentration_mcg_per_ml) for d in previous] if previous else None,
                    canonical,
                ),
            )
            history = pump_twin.with_fill(history, now, volume.canonical, prescribed)
            old_drugs = [(name, conc.canonical) for name, conc in current.drugs]
            bridged = bridge_for(old_drugs, fill, dose, current.dead_volume)
        else:
            last = refills[-1]
            before = refills[-2].drugs.all() if len(refills) > 1 else None
            drugs_now = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
            stability, notes = fill_stability(
                drugs_now,
                first_fill=first_of_drug(
                    [(d.drug, d.concentration_mcg_per_ml) for d in before] if before else None,
                    drugs_now,
                ),
            )
            history = pump_twin.with_program(history, now, prescribed)
        projection = pump_twin.projection(
            history,
            now,
            margin_days=margin,
            stability=stability,
            tz=zone,
            horizon_days=pump_twin.HORIZON_DAYS,
        )
        warnings += [w for w in projection.warnings if w.verdict is Verdict.WARN]
    except Refusal as refused:
        stop, projection = refused, None
    words, steps, bolus = (
        _words(doses, rate, prescribed.program, prescribed.ptm)
        if rate is not None and doses
        else ("", "", "")
    )
    outcome = WhatIf(
        current=current,
        proposal=proposal,
        doses=doses,
        rate=rate,
        words=words,
        projection=projection,
        stop=stop,
        warnings=tuple(warnings),
        notes=tuple(notes),
        bridge=bridged,
        steps=steps,
        patient_bolus=bolus,
        as_prescribed=record.number if own and record is not None else None,
        program_note="" if own else _not_applied(prescribed, in_force, proposal.mode, record),
    )
    program = (
        f"prescription #{record.number}" if own and record is not None else f"continuous at {dose}"
    )
    _record(actor, implant, outcome, program, volume, drugs)
    return outcome


def _record(
    actor: str,
    implant: Implant,
    outcome: WhatIf,
    program: str,
    volume: Q,
    drugs: tuple[tuple[str, Q], ...],
) -> None:
    """The audit entry of a what-if: what was tried, its stop and the rules it warned of."""
    proposal, stop = outcome.proposal, outcome.stop
    audit.record(
        actor,
        "implant.what_if",
        "implant",
        implant.id,
        patient_id=outcome.current.patient_id,
        after={
            "mode": proposal.mode,
            "dose_or_rate": str(proposal.dose_or_rate or "as prescribed"),
            "program": program,
            "volume": str(volume),
            "concentrations": [str(c) for _, c in drugs],
            "stop": stop.message if stop else None,
            "warnings": sorted({w.rule for w in outcome.warnings}),
        },
    )
