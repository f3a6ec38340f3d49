"""A prescription judged whole, before any pump is programmed with it: the shape the pump can
run, every step's rate within the device's range, the day that gives most through every
drug-library, clinic, titration and patient check (as a refill's program is), every step and
the worst day with all patient boluses against the library's maxima, each patient bolus against
the per-bolus limits a single bolus meets, the bolus before and the basal day (a whole day, or a
share so small it looks like a slip of units); then the second clinician's independent entries
and the programmer's readback compared with it. A rule's findings are answered by one reason."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from painpump.core import catalog, fluid_change
from painpump.core.catalog import SourcedNumber
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.device_limits import check_rate
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.overrides import one_per_rule
from painpump.core.patient_facts import OpioidStatus
from painpump.core.prescription import RULES as PRESCRIPTION_RULES
from painpump.core.prescription import (
    SECONDS_PER_DAY,
    FluidChange,
    PrescribedProgram,
    Prescription,
    ProgramKind,
    SingleBolus,
    check_shape,
    duration_words,
)
from painpump.core.refill_decision import (
    DosingRules,
    ProgramJudge,
    PumpState,
    check_bolus_day,
    highest_step_of,
    named_drugs,
    next_phase,
    restart_findings,
    restarted,
    running_of,
)
from painpump.core.units import format_decimal, in_unit, of
from painpump.core.withdrawal import stopped_pump_findings, stops_after_bolus

PTM_OPIOID_NAIVE_SOURCE = (
    "medtronic-tdd-cancer-pain: Medtronic lists the use of the personal therapy manager (PTM) to "
    "administer opioid to opioid-naive patients as a contraindication"
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
    from the program the pump runs, stretch by stretch of the week; start doses for a drug new to
    it; the worst day with every allowed patient bolus as a step from the running worst day)."""
    phase = Phase.TITRATION
    try:
        prescription = replace(prescription, drugs=named_drugs(prescription.drugs))
        # judged as the stricter titration unless prescribed as maintenance: it may be
        # programmed between refills
        phase = next_phase(prescription.phase, state, None)
        check_shape(state.pump, prescription.program, prescription.ptm)
        if prescription.program.kind is ProgramKind.STOPPED:
            _check_held_fluid(state, prescription)
            if prescription.fluid_change is not FluidChange.NONE:
                raise Refusal(
                    "fluid_change",
                    prescription.fluid_change.value,
                    "none: a stopped pump keeps the fluid it holds, so no fluid changes",
                    PRESCRIPTION_RULES,
                    "has nothing to deliver",
                )
            found = stopped_pump_findings(
                state.pump, prescription, state.stopped_at(at) is not None
            )
            return PrescriptionDecision(prescription, one_per_rule(found), None, phase, Decimal(0))
        bolus = prescription.program.bolus
        # a restart after a stop (or a bolus on a stopped pump): never a cut from the dose
        # before it, a step from it where it gives more (core.refill_decision.restarted)
        judged = restarted(state, prescription, prescription.daily_dose, at)
        judge = ProgramJudge(judged, prescription, at, rules, phase)
        flex = prescription.program.kind is ProgramKind.FLEX
        where = "the largest day's total" if flex else None
        try:
            rate, warnings = judge.dose(prescription.daily_dose, judged.running, None, where=where)
        except Refusal as stop:
            raise _at_step(stop, prescription.program) if flex else stop from None
        warnings += restart_findings(
            state, at, rules, prescription.principal[0], prescription.worst_day, bolus is not None
        )
        # after the drug library, so a mg/mcg slip is named as such, not as a rate
        if bolus is not None:
            _check_held_fluid(state, prescription)
            _check_bolus_rate(state, prescription, bolus)
            check_bolus_day(state, prescription, at, rules.region)
            warnings += _single_bolus_findings(prescription, state, at)
        for weekday, index, step in prescription.program.steps():
            if bolus is not None:
                break
            check_rate(
                state.pump,
                of(prescription.rate_ml_per_day(step.dose), "mL/day"),
                f"program.days.{weekday}[{index}].dose",
                str(step.dose),
            )
        # judged again by the refill or programming that executes it (the limits then in force)
        warnings += judge.beyond_day_totals()
        warnings += _bolus_size(prescription, state)
        warnings += _bolus_too_small(prescription)
        warnings += _ptm_findings(prescription, state)
        warnings += _approval(prescription, state)
        path = state.last_fill.drugs if state.last_fill is not None else None
        warnings += fluid_change.judge(
            state.pump,
            state.dead_volume,
            path,
            prescription,
            state.running.rate_ml_per_day if state.running is not None else None,
            region=rules.region,
            clinic_limits=rules.clinic_limits,
        )
    except Refusal as stop:
        return PrescriptionDecision(prescription, (), stop, phase, None)
    return PrescriptionDecision(prescription, one_per_rule(warnings), None, phase, rate)


def _at_step(stop: Refusal, program: PrescribedProgram) -> Refusal:
    """A flex program's largest day refused for its dose: quoted at its highest step (the row
    the form marks, the entry a slip most likely is), that step's dose as typed, then the day's."""
    if stop.field != "dose":
        return stop
    weekday, _, step = highest_step_of(program)
    shown = f"a step of {step.dose} ({weekday} from {step.start}); the largest day: {stop.value}"
    return replace(stop, value=shown)


HELD_FLUID = {
    ProgramKind.SINGLE_BOLUS: (
        "a basal program for a first fill or a new fluid: a single bolus is programmed between "
        "refills with the fluid the pump holds"
    ),
    ProgramKind.STOPPED: (
        "the fluid the pump holds: a stopped pump keeps its fluid, and is programmed between "
        "refills of a filled pump"
    ),
}


def _check_held_fluid(state: PumpState, prescription: Prescription) -> None:
    """A single bolus or a stop is programmed between refills, so it names the fluid the pump
    holds: a first fill or another fluid would need a refill, which runs a basal program."""
    held = state.last_fill.drugs if state.last_fill is not None else None
    given = tuple((name, conc.canonical) for name, conc in prescription.drugs)
    if held == given:
        return
    shown = ", ".join(
        f"{name} {in_unit(of(conc, 'mcg/mL'), catalog.drug(name).concentration_unit)}"
        for name, conc in held or ()
    )
    kind = prescription.program.kind
    raise Refusal(
        "program.kind",
        kind.value,
        HELD_FLUID[kind] + (f" ({shown})" if shown else ""),
        PRESCRIPTION_RULES,
        "cannot be given with this fluid",
    )


def _check_bolus_rate(state: PumpState, prescription: Prescription, bolus: SingleBolus) -> None:
    """A single bolus runs at its volume over its duration: within the pump's rate range (hard:
    the device)."""
    volume = bolus.dose.canonical / prescription.principal[1].canonical
    rate = volume * SECONDS_PER_DAY / bolus.duration_s
    check_rate(
        state.pump,
        of(rate, "mL/day"),
        "program.bolus.duration",
        f"{in_unit(bolus.dose, catalog.drug(prescription.principal[0]).dose_unit)} over "
        f"{duration_words(bolus.duration_s)} ({of(rate, 'mL/day')})",
    )


SINGLE_BOLUS_SOURCE = (
    "rule-clinic-setting: no source gives a largest therapeutic single bolus; one as big as the "
    "running program's whole day is taken as a possible slip"
)
OPIOID_BOLUS_SOURCE = (
    "pacc-2017-trialing: single-shot intrathecal opioid dosing is followed by observation for at "
    "least 6 hours, with a responsible adult after discharge"
)


def _single_bolus_findings(
    prescription: Prescription, state: PumpState, at: datetime
) -> list[Finding]:
    """A single bolus as big as the running program's day (a slip of units or of size?); an
    opioid bolus for a patient not recorded opioid-tolerant (observe for at least 6 h); each
    drug the running program gives stops after it."""
    bolus = prescription.program.bolus
    assert bolus is not None
    running = state.running
    name = prescription.principal[0]
    found = []
    drug = catalog.drug(name)
    if running is not None and bolus.dose.canonical >= running.dose_mcg_per_day:
        day = in_unit(of(running.dose_mcg_per_day, "mcg/day"), drug.dose_rate_unit)
        when = (
            "gave in a whole day before it stopped"
            if state.stopped_at(at)
            else "gives in a whole day now"
        )
        found.append(
            Finding(
                "single_bolus_size",
                Verdict.WARN,
                f"a single bolus of {in_unit(bolus.dose, drug.dose_unit)} is as much as the {day} "
                f"of {name} the pump {when}: a slip of units or of the bolus size?",
                f"< {day} a bolus",
                SINGLE_BOLUS_SOURCE,
                verified=False,
                subject=Subject.DOSE,
                drug=name,
                tier=Tier.SOFT,
            )
        )
    patient = state.therapy.patient
    status = patient.opioid_status if patient is not None else OpioidStatus.UNKNOWN
    opioids = [n for n, _ in prescription.drugs if catalog.drug(n).drug_class == "opioid"]
    if opioids and status is not OpioidStatus.TOLERANT:
        found.append(
            Finding(
                "single_bolus_observation",
                Verdict.WARN,
                f"a single bolus of {opioids[0]} for a patient recorded opioid-{status.value}: "
                "respiratory depression; observe for at least 6 hours where resuscitation is at "
                "hand",
                "observation for at least 6 h, or the patient recorded opioid-tolerant",
                OPIOID_BOLUS_SOURCE,
                subject=Subject.DOSE,
                drug=opioids[0],
                tier=Tier.SOFT,
            )
        )
    # on a pump already stopped, nothing stops after the bolus
    stops = running is not None and state.stopped_at(at) is None
    return found + (stops_after_bolus(prescription) if stops else [])


BOLUS_SIZE_SOURCE = (
    "rule-clinic-setting: no source gives a largest patient bolus; one as big as a whole day's "
    "basal dose is taken as a possible slip"
)


def _bolus_size(prescription: Prescription, state: PumpState) -> list[Finding]:
    """A single patient bolus as big as the basal dose of the day that gives most, or as the
    basal day the pump gives now: a slip of units or of the bolus size?"""
    ptm = prescription.ptm
    if ptm is None:
        return []
    name = prescription.principal[0]
    drug = catalog.drug(name)
    running = running_of(state, name)
    if ptm.dose.canonical >= prescription.daily_dose.canonical:
        day = in_unit(prescription.daily_dose, drug.dose_rate_unit)
        whole = f"a whole day's basal dose of {name} ({day})"
    elif running is not None and ptm.dose.canonical >= running.dose_mcg_per_day:
        day = in_unit(of(running.dose_mcg_per_day, "mcg/day"), drug.dose_rate_unit)
        whole = f"the {day} of {name} the pump gives in a whole day now"
    else:
        return []
    return [
        _bolus_finding(
            "ptm_bolus_size",
            f"one patient bolus of {in_unit(ptm.dose, drug.dose_unit)} is as much as {whole}: "
            "a slip of units or of the "
            "bolus size?",
            f"< {day} a bolus",
            name,
        )
    ]


PTM_BOLUS_SMALL = SourcedNumber(
    Decimal("0.001"),
    "rule-clinic-setting: no source gives a smallest patient bolus; one below a thousandth of the "
    "basal day (a bolus of a few percent of the day entered a thousand times too small, mcg for "
    "mg) is taken as a possible slip; painpump's placeholder, not yet a setting of the clinic",
    verified=False,
)
"""The share of the largest day's basal dose below which one patient bolus warns (soft)."""


def _bolus_too_small(prescription: Prescription) -> list[Finding]:
    """A single patient bolus below PTM_BOLUS_SMALL of the basal day: a slip of units? The
    running patient bolus cannot always tell (the pump may run none)."""
    ptm = prescription.ptm
    day = prescription.daily_dose
    if ptm is None or ptm.dose.canonical >= day.canonical * PTM_BOLUS_SMALL.value:
        return []
    name = prescription.principal[0]
    drug = catalog.drug(name)
    shown = day.to(drug.dose_rate_unit)
    share = f"{format_decimal(PTM_BOLUS_SMALL.value * 100)} %"
    floor = in_unit(of(day.canonical * PTM_BOLUS_SMALL.value, "mcg"), drug.dose_unit)
    return [
        _bolus_finding(
            "ptm_bolus_small",
            f"one patient bolus of {in_unit(ptm.dose, drug.dose_unit)} is less than {share} of the "
            f"basal day of {name} "
            f"({shown}): a slip of units or of the bolus size?",
            f">= {floor} a bolus ({share} of {shown})",
            name,
            PTM_BOLUS_SMALL.source,
        )
    ]


def _bolus_finding(
    rule: str, message: str, limit: str, drug: str, source: str = BOLUS_SIZE_SOURCE
) -> Finding:
    return Finding(
        rule,
        Verdict.WARN,
        message,
        limit,
        source,
        verified=False,
        subject=Subject.DOSE,
        drug=drug,
        tier=Tier.SOFT,
    )


def _approval(prescription: Prescription, state: PumpState) -> list[Finding]:
    """Each drug the pump's labeling does not list: off-label in this pump, a reason each."""
    pump = state.pump
    return [
        Finding(
            "pump_approval",
            Verdict.WARN,
            f"{name} is not approved for the {pump.name} (approved: "
            f"{', '.join(pump.approved_for) or 'none listed'}): off-label use in this pump",
            f"one of {', '.join(pump.approved_for) or 'none listed'}",
            pump.approved_for_source,
            subject=Subject.DOSE,
            drug=name,
            tier=Tier.SOFT,
        )
        for name, _ in prescription.drugs
        if name not in pump.approved_for
    ]


def _ptm_findings(prescription: Prescription, state: PumpState) -> list[Finding]:
    """Patient boluses of an opioid: contraindicated for an opioid-naive patient, so refused
    (hard) unless the patient is recorded opioid-tolerant (unknown is taken as naive, as the
    start doses take it)."""
    if prescription.ptm is None:
        return []
    opioids = [n for n, _ in prescription.drugs if catalog.drug(n).drug_class == "opioid"]
    patient = state.therapy.patient
    status = patient.opioid_status if patient is not None else OpioidStatus.UNKNOWN
    if not opioids or status is OpioidStatus.TOLERANT:
        return []
    last = state.last_fill
    exposed = [n for n, _ in last.drugs if catalog.drug(n).drug_class == "opioid"] if last else []
    if exposed:  # the pump gives an opioid now: the recorded status is out of date
        return [
            Finding(
                "ptm_opioid_status",
                Verdict.WARN,
                f"the patient is recorded opioid-{status.value} but receives intrathecal "
                f"{exposed[0]} now: record the patient as opioid-tolerant",
                "opioid status recorded as tolerant",
                PTM_OPIOID_NAIVE_SOURCE,
                verified=False,
                subject=Subject.DOSE,
                drug=opioids[0],
                tier=Tier.SOFT,
            )
        ]
    raise Refusal(
        "ptm",
        f"patient boluses of {opioids[0]} (opioid status {status.value})",
        "none unless the patient is recorded opioid-tolerant (hard: a contraindication; "
        "an unrecorded status is taken as naive)",
        PTM_OPIOID_NAIVE_SOURCE,
        "is contraindicated",
    )
