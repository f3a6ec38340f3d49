"""A pump as core decides on it, loaded from its records once (core.refill_decision.PumpState),
and the clinic's settings a decision depends on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant, Program, Refill
from painpump.clinic.reads import clinic_limits, prescriptions, pump_history
from painpump.clinic.reads.patient_facts import dose_history, facts_of, origin_choice
from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
)
from painpump.core.units import of


def running_program(implant: Implant) -> Program | None:
    return implant.programs.filter(ended_at__isnull=True).select_related("prescription").first()


def basal_program(implant: Implant) -> Program | None:
    """The program changes are judged from: the one running, or, after a single bolus or a stop
    stopped the pump, the basal program it ran last (neither is ever the reference)."""
    return (
        implant.programs.exclude(prescription__program_kind__in=rx.STOPPING)
        .select_related("prescription")
        .order_by("-started_at")
        .first()
    )


def last_refill(implant: Implant) -> Refill | None:
    return implant.refills.order_by("-performed_at").first()


def last_fill(refill: Refill) -> LastFill:
    """A recorded refill as the fill later decisions start from."""
    programs = list(
        refill.implant.programs.filter(started_at__gte=refill.performed_at).select_related(
            "prescription"
        )
    )
    return LastFill(
        at=refill.performed_at,
        volume=of(refill.volume_ml, "mL"),
        drugs=tuple((d.drug, d.concentration_mcg_per_ml) for d in refill.drugs.all()),
        refill_by=refill.refill_by,
        limited_by=LimitedBy(refill.limited_by),
        programs=tuple((p.rate_ml_per_day, p.started_at, p.ended_at) for p in programs),
        ptm=tuple(
            (p.prescription.ptm_max_per_day, p.started_at, p.ended_at)
            for p in programs
            if p.prescription is not None and p.prescription.ptm_max_per_day
        ),
    )


def therapy_of(implant: Implant, program: Program | None) -> Therapy:
    """The patient's facts, the pump's dose history, the running program's phase and the origin
    of spasticity in force, as the checks take them."""
    episode = implant.episode
    origin = origin_choice(episode).origin
    return Therapy(
        patient=facts_of(episode.patient),
        history=dose_history(implant),
        phase=Phase(program.phase) if program is not None else None,
        origin=origin.value if origin is not None else None,
    )


def pump_state(implant: Implant) -> PumpState:
    refill = last_refill(implant)
    program = basal_program(implant)
    now = running_program(implant)
    bolus = prescriptions.single_bolus_of(now) if now is not None else None
    return PumpState(
        pump=catalog.pump(implant.pump_model, "pump_model"),
        dead_volume=of(implant.dead_volume_ml, "mL"),
        alarm_volume=of(implant.alarm_volume_ml, "mL"),
        last_fill=last_fill(refill) if refill is not None else None,
        running=_running(program) if program is not None else None,
        therapy=therapy_of(implant, program),
        stopped_since=basal_stopped_at(implant, now, program),
        single_bolus=(now.started_at, bolus) if now is not None and bolus is not None else None,
    )


def judged_state(implant: Implant, program: rx.PrescribedProgram) -> PumpState:
    """The pump as a prescription of `program` is judged on: for a single bolus with its recorded
    history, so that every basal program and bolus of the day before it counts
    (core.refill_decision.given_in_day_before)."""
    state = pump_state(implant)
    if program.bolus is None:
        return state
    return replace(state, history=pump_history.history_of(implant))


def basal_stopped_at(
    implant: Implant, now: Program | None, basal: Program | None
) -> datetime | None:
    """When the pump stopped giving its basal program: the first stop or single bolus programmed
    after it, while one is in force (a bolus on a stopped pump keeps the stop's time); None while
    a basal program runs."""
    if now is None or not prescriptions.stops_basal(now):
        return None
    stops = implant.programs.filter(prescription__program_kind__in=rx.STOPPING)
    if basal is not None:
        stops = stops.filter(started_at__gt=basal.started_at)
    first = stops.order_by("started_at").values_list("started_at", flat=True).first()
    return first or now.started_at


def dosing_rules() -> DosingRules:
    """The dosing region, the clinic's limits in force, the refill margin and the clinic's locale;
    read inside a refill's or a titration's transaction, whose service has checked the role."""
    settings = clinic_settings()
    locale = locale_of(settings)
    return DosingRules(
        region=settings.dosing_region,
        clinic_limits=clinic_limits.active_limits(),
        margin_days=Decimal(settings.refill_margin_days),
        tz=locale.zone,
        locale=locale,
    )


def _running(program: Program) -> RunningProgram:
    """The program the pump runs, with its prescription's steps and patient boluses, and its
    start as an increase when it gave more than the program before it at some moment."""
    now, before = _programmed(program), None
    previous = (
        program.implant.programs.filter(started_at__lt=program.started_at)
        .select_related("prescription")
        .order_by("-started_at")
        .first()
    )
    if previous is not None:
        before = _programmed(previous)
    raised = before is not None and rx.raises(before[0], before[1], now[0], now[1])
    return RunningProgram(
        program.dose_mcg_per_day,
        program.rate_ml_per_day,
        program.started_at,
        now[0] if program.prescription else None,
        now[1],
        program.started_at if raised else None,
    )


def _programmed(program: Program) -> tuple[rx.PrescribedProgram, rx.PatientBolus | None]:
    """A program's steps and patient boluses (one recorded before prescriptions: its dose)."""
    if program.prescription is None:
        return rx.PrescribedProgram.continuous(of(program.dose_mcg_per_day, "mcg/day")), None
    prescribed = prescriptions.as_core(program.prescription)
    return prescribed.program, prescribed.ptm
