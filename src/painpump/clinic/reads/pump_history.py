"""A pump's recorded history as its twin runs it (core.pump_twin): the fills, each program with
the prescription it executed (a program recorded before prescriptions, as the continuous dose it
gave) and the patient-bolus counts reported at refills; and the dates the twin gives, the one
source of the alarm, empty and refill-by dates every page, report and API answer shows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from decimal import Decimal

from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant, Program, Refill
from painpump.clinic.reads import prescriptions
from painpump.core import catalog, refill
from painpump.core import prescription as rx
from painpump.core.pump_twin import (
    BolusCount,
    PumpHistory,
    RecordedFill,
    RecordedProgram,
    TwinDates,
    forecast,
    stored_dates,
)
from painpump.core.refill import StabilityLimit
from painpump.core.units import Q, of

RULES = "painpump forecast rules (core.pump_twin)"


def recorded(
    implant: Implant, refills: Sequence[Refill], programs: Sequence[Program], tz: tzinfo
) -> PumpHistory:
    """The history of `implant` from its refills and programs (oldest first, their drugs and
    prescriptions prefetched); flex steps on the clinic's clock in `tz`."""
    fills = tuple(
        RecordedFill(
            r.performed_at,
            r.volume_ml,
            tuple((d.drug, d.concentration_mcg_per_ml) for d in r.drugs.all()),
            r.bridge_rate_ml_per_day,
            (r.priming_volume_ml, r.priming_duration_s)
            if r.priming_volume_ml is not None and r.priming_duration_s is not None
            else None,
        )
        for r in refills
    )
    runs = []
    for program in programs:
        in_pump = [f for f in fills if f.at <= program.started_at]
        if not in_pump:
            continue
        if program.prescription is not None:
            prescribed = prescriptions.as_core(program.prescription)
            drugs = tuple((name, conc.canonical) for name, conc in prescribed.drugs)
            runs.append(
                RecordedProgram(program.started_at, drugs, prescribed.program, prescribed.ptm)
            )
        else:
            dose = rx.PrescribedProgram.continuous(of(program.dose_mcg_per_day, "mcg/day"))
            runs.append(RecordedProgram(program.started_at, in_pump[-1].drugs, dose, None))
    counts = tuple(
        BolusCount(before.performed_at, after.performed_at, after.ptm_given)
        for before, after in itertools.pairwise(refills)
        if after.ptm_given is not None
    )
    return PumpHistory(
        pump=catalog.pump(implant.pump_model, "pump_model"),
        alarm_volume_ml=implant.alarm_volume_ml,
        dead_volume_ml=implant.dead_volume_ml,
        tz=tz,
        fills=fills,
        programs=tuple(runs),
        boluses=counts,
    )


def history_of(implant: Implant) -> PumpHistory:
    refills = list(implant.refills.order_by("performed_at").prefetch_related("drugs"))
    programs = list(
        implant.programs.order_by("started_at")
        .select_related("prescription")
        .prefetch_related("prescription__drugs", "prescription__steps")
    )
    return recorded(implant, refills, programs, locale_of(clinic_settings()).zone)


def fill_stability(
    drugs: Sequence[tuple[str, Decimal]], *, first_fill: bool
) -> tuple[StabilityLimit | None, list[str]]:
    """The stability rule of a fill, as perform_refill applies it (core.refill.fill_stability),
    and the library's notes where it has none."""
    stability, notes = refill.fill_stability(drugs, first_fill=first_fill)
    return stability, [n.message for n in notes]


def twin_dates(history: PumpHistory, at: datetime) -> TwinDates:
    """The twin's dates for the pump at `at` (at or after its last fill), with the clinic's
    refill margin (core.pump_twin.stored_dates)."""
    return stored_dates(history, at, margin_days=Decimal(clinic_settings().refill_margin_days))


@dataclass(frozen=True)
class Expected:
    """What the pump's twin says it holds at a refill: `least` if every allowed patient bolus
    was given since the fill, `most` if none was (equal when no boluses were prescribed, or
    when the count the pump reports is known)."""

    least: Q
    most: Q


def residual_at(implant: Implant, at: datetime) -> Q:
    """What the pump's twin holds at `at` (after a fill): its fills, programs, bridges, priming
    boluses and patient boluses (those not counted assumed at the maximum) as recorded."""
    return of(forecast(history_of(implant), at).residual_ml, "mL")


def expected_residual(implant: Implant, at: datetime, given: int | None = None) -> Expected:
    """The twin's residual at `at`, offered beside the volume the pump itself reports; with the
    boluses the pump reports given since the fill, exactly."""
    history = history_of(implant)
    at = max(at, history.fills[-1].at)
    since = history.fills[-1].at

    def left(count: int | None) -> Q:
        counted = history
        if count is not None:
            counted = replace(history, boluses=(*history.boluses, BolusCount(since, at, count)))
        return of(forecast(counted, at).residual_ml, "mL")

    boluses = any(p.ptm is not None for p in history.programs if p.at <= at)
    if not boluses or at <= since:
        exact = left(None)
        return Expected(exact, exact)
    if given is not None:
        exact = left(given)
        return Expected(exact, exact)
    return Expected(left(None), left(0))
