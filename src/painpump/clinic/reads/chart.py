"""The patient chart as one audited read: who the patient is, the pathway of each episode as a
timeline in plain words, the pump and catheter, the running program, the reservoir projection of
the last fill, the refill history with its reconciliation, the dose history, the outcomes before
the pump and now, and the alarms still open. A fixed number of queries whatever the length of
the history (no query per refill); every number comes from painpump.core."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch

from painpump.clinic import audit
from painpump.clinic.errors import UnreadableRow, get_or_not_found
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import (
    AlarmReport,
    Assessment,
    Episode,
    Implant,
    Indication,
    PathwayEvent,
    Patient,
    Prescription,
    Program,
    Refill,
    RefillDrug,
)
from painpump.clinic.pathway_state import pathway_settings
from painpump.clinic.reads import drug_units, prescriptions, pump_history
from painpump.clinic.reads.next_refill import RefillVisit, next_visit
from painpump.clinic.reads.overrides_given import program_overrides, refill_overrides
from painpump.clinic.reads.patient_facts import origin_choice, origin_override
from painpump.clinic.reads.programmed_by import ProgrammedBy
from painpump.clinic.reads.pump_history import fill_stability
from painpump.clinic.reads.pump_record import (
    Pump,
    delivery_error,
    drugs_at,
    fill_drugs,
    finding_words,
    implanted_pump,
)
from painpump.clinic.reads.stable_read import stable
from painpump.clinic.roles import require
from painpump.core import catalog, pump_twin
from painpump.core import prescription as rx
from painpump.core.age import age_on
from painpump.core.dose_history import Phase
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit, dose_mcg_per_day
from painpump.core.dosing import rate_ml_per_day as exact_rate_ml_per_day
from painpump.core.locale import ClinicLocale
from painpump.core.outcomes import ashworth_label
from painpump.core.overrides import GivenOverride
from painpump.core.pathway.episode import PathwaySettings
from painpump.core.pathway.intervals import check_stay
from painpump.core.prescription import BolusDelivery, BolusRun
from painpump.core.projection import Projection
from painpump.core.refill import (
    DeliveryFinding,
    beyond_pocket_fill,
    first_of_drug,
)
from painpump.core.units import Q, format_decimal, of, side_by_side

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Moment:
    """One line of a pathway timeline: when, what happened, and the details in plain words;
    `warning` marks a stay outside the usual length or an acknowledged warning."""

    on: date
    title: str
    details: tuple[str, ...] = ()
    warning: bool = False


@dataclass(frozen=True)
class PatientFacts:
    """Who the patient is (the names of the model's fields, so links built for a Patient work)."""

    id: UUID
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    version: int
    age: int
    weight_kg: Decimal | None = None
    opioid_status: str = "unknown"
    psychosis_history: bool | None = None
    life_expectancy_months: int | None = None

    @property
    def name(self) -> str:
        return f"{self.family_name}, {self.given_name}"

    @property
    def weight(self) -> str:
        """The weight with its unit, "" when not recorded."""
        return "" if self.weight_kg is None else f"{format_decimal(self.weight_kg)} kg"


@dataclass(frozen=True)
class EpisodeChart:
    """An episode of care: `indication` and `stage` are the stored values, with their labels."""

    id: UUID
    version: int
    indication: str
    indication_label: str
    stage: str
    stage_label: str
    referred_on: date
    closed_at: datetime | None
    closed_reason: str
    timeline: tuple[Moment, ...]
    origin: str = ""
    """The origin of spasticity in force (spinal, cerebral; "" for pain indications)."""
    origin_overridden: bool = False
    origin_reason: str = ""
    """Why: "from the indication (…)" or the override's recorded reason."""

    def get_indication_display(self) -> str:
        """The indication's label, named as the model's method (the actions bar calls it)."""
        return self.indication_label


@dataclass(frozen=True)
class Dose:
    """A drug of the fill: its concentration and the daily dose the rate gives of it."""

    drug: str
    concentration: Q
    dose: Q


@dataclass(frozen=True)
class RunningProgram:
    """The program running now, in numbers and in words."""

    doses: tuple[Dose, ...]
    rate: Q
    mode: str
    started_at: datetime
    programmed_by: ProgrammedBy
    bridge: str
    words: str
    steps: str = ""
    """A flex program's day patterns in words ("" for a continuous program)."""
    patient_bolus: str = ""
    """The PTM settings in words ("" when none are prescribed)."""
    prescription: int | None = None
    """The number of the prescription it executes (None: recorded before prescriptions)."""
    bolus: BolusDelivery | None = None
    """A single bolus's dose, volume and rate (None for a basal program)."""
    bolus_run: BolusRun | None = None
    """That single bolus running until its end, or the pump stopped since."""
    stopped: bool = False
    """A stopped-pump program: it gives nothing from its start."""


@dataclass(frozen=True)
class RefillLine:
    """One refill: what the pump expected and what was aspirated (None at the first fill), the
    verdict, what was put in and who did and verified it."""

    performed_at: datetime
    expected: Q | None
    aspirated: Q | None
    difference: Q | None
    error_percent: str
    finding: str
    verdict: str
    put_in: str
    volume: Q
    lot: str
    performed_by: str
    verified_by: str
    verification: str
    overrides: tuple[GivenOverride, ...] = ()
    """The soft limits the refill passed, each with its reason and who gave it, when and
    where (the prescriber's at prescribing, or typed at the refill)."""
    patient_boluses: str = ""
    """The patient boluses the pump reported since the fill before, against the settings."""

    @property
    def residuals_shown(self) -> tuple[str, str]:
        """The expected and the aspirated volume to the same decimal places (core.units), or
        dashes at a first fill."""
        if self.expected is None or self.aspirated is None:
            return ("—", "—")
        expected, aspirated = side_by_side([self.expected, self.aspirated])
        return expected, aspirated


@dataclass(frozen=True)
class DoseLine:
    """One program of the dose history."""

    started_at: datetime
    ended_at: datetime | None
    drug: str
    dose: Q
    rate: Q
    concentration: Q
    programmed_by: ProgrammedBy
    overrides: tuple[GivenOverride, ...] = ()
    """The soft limits a titration passed, each with its reason and who gave it, when and
    where (the prescriber's at prescribing, or typed at the programming)."""
    phase: Phase = Phase.MAINTENANCE
    bolus: BolusDelivery | None = None
    """A single bolus's dose, volume and rate (its basal `dose` and `rate` are nothing)."""
    bolus_run: BolusRun | None = None
    stopped: bool = False
    """A stopped-pump program: it gives nothing from its start."""


@dataclass(frozen=True)
class Measure:
    """An outcome value as recorded, with its unit when it has one."""

    value: Decimal
    shown: str
    taken_at: datetime


@dataclass(frozen=True)
class Outcome:
    """One measure (pain, Ashworth of a limb, oral morphine-equivalent dose) before the pump and
    at the latest assessment."""

    kind: str
    label: str
    limb: str
    before: Measure | None
    latest: Measure | None
    history: tuple[Measure, ...]


@dataclass(frozen=True)
class OpenAlarm:
    kind: str
    reported_at: datetime
    recorded_by: str
    note: str


@dataclass(frozen=True)
class Chart:
    patient: PatientFacts
    indications: tuple[str, ...]
    high_risk: bool
    episodes: tuple[EpisodeChart, ...]
    pump: Pump | None
    former_pumps: tuple[Pump, ...]
    program: RunningProgram | None
    projection: Projection | None
    projection_notes: tuple[str, ...]
    next_refill: RefillVisit | None
    refills: tuple[RefillLine, ...]
    doses: tuple[DoseLine, ...]
    outcomes: tuple[Outcome, ...]
    outcomes_baseline: str
    open_alarms: tuple[OpenAlarm, ...]
    now: datetime
    today: date | None = None
    """The clinic's day at `now`."""
    refill_by: date | None = None
    """The pump's refill-by date as stored with it (the one every page shows)."""
    unreadable: tuple[str, ...] = ()
    """Rows of the pump in place that cannot be read (written outside the application), each
    naming the record and the field: its running program and projection are not shown."""


def fill_doses(
    drugs: Sequence[tuple[str, Decimal]],
    rate_ml_per_day: Decimal,
    principal_mcg_per_day: Decimal | None = None,
) -> tuple[Dose, ...]:
    """Each drug of a fill with the daily dose the rate gives of it (rate x concentration); from
    the principal's prescribed dose where given, as the stored rate is rounded (491.166 for
    491.167 mcg/day)."""
    rate = rate_ml_per_day
    if principal_mcg_per_day is not None and drugs:
        rate = exact_rate_ml_per_day(principal_mcg_per_day, drugs[0][1])
    return tuple(
        Dose(
            name,
            concentration_in_drug_unit(name, conc),
            dose_in_drug_unit(name, dose_mcg_per_day(rate, conc)),
        )
        for name, conc in drugs
    )


def _drugs_words(doses: Sequence[Dose]) -> str:
    return " + ".join(f"{d.drug} {d.concentration}" for d in doses)


def program_words(doses: Sequence[Dose], rate: Q, mode: str) -> str:
    """ "baclofen 2000 mcg/mL at 0.2 mL/day = 400 mcg/day, continuous"."""
    drugs = _drugs_words(doses)
    given = " + ".join(str(d.dose) if len(doses) == 1 else f"{d.drug} {d.dose}" for d in doses)
    return f"{drugs} at {rate} = {given}, {mode}"


def fill_projection(
    implant: Implant,
    refills: Sequence[Refill],
    programs: Sequence[Program],
    margin_days: Decimal,
    tz: tzinfo,
    at: datetime,
) -> tuple[Projection, list[str]] | None:
    """The projection of the last fill under the programs run since, from the pump's twin as
    its stored dates are (None before the first fill). `refills` and `programs` are the
    implant's, oldest first, drugs and prescriptions prefetched."""
    if not refills:
        return None
    last = refills[-1]
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
    runs = [p for p in programs if p.started_at >= last.performed_at]
    before = refills[-2].drugs.all() if len(refills) > 1 else None
    previous = [(d.drug, d.concentration_mcg_per_ml) for d in before] if before else None
    stability, notes = fill_stability(drugs, first_fill=first_of_drug(previous, drugs))
    found = pump_twin.projection(
        pump_history.recorded(implant, [last], runs, tz),
        max(at, last.performed_at),
        margin_days=margin_days,
        stability=stability,
        tz=tz,
        horizon_days=pump_twin.HORIZON_DAYS,
    )
    return found, notes


def _day(facts: dict[str, Any], event: PathwayEvent, locale: ClinicLocale) -> date:
    on = facts.get("on")
    return date.fromisoformat(on) if isinstance(on, str) else locale.today(event.recorded_at)


def _acknowledged(event: PathwayEvent) -> tuple[str, ...]:
    return tuple(
        f"warning acknowledged ({rule}): {note}" if note else f"warning acknowledged ({rule})"
        for rule, note in sorted(event.acknowledged.items())
    )


def _stay(
    kind: str, admitted: date, discharged: date, rules: PathwaySettings, locale: ClinicLocale
) -> Moment:
    """A hospital stay's length as the pathway rules judge it (check_stay), its days in the
    clinic's date format."""
    finding = check_stay(kind, admitted, discharged, rules)
    written = f"{locale.format_date(admitted)} to {locale.format_date(discharged)}"
    return Moment(
        discharged,
        f"{kind.capitalize()} stay",
        (f"{written}: {finding.message}",),
        warning=finding.verdict.value == "warn",
    )


def _bolus_words(bolus: dict[str, Any]) -> tuple[date | None, str]:
    dose = bolus.get("dose") or {}
    amount = str(Q(Decimal(dose["value"]), dose["unit"])) if dose else "of unrecorded dose"
    given = bolus.get("given_at")
    result = "positive" if bolus.get("positive") else "negative"
    return (datetime.fromisoformat(given).date() if given else None), (
        f"Screening bolus {amount}: {result}"
    )


def _moments(
    episode: Episode,
    events: Sequence[PathwayEvent],
    implants: Sequence[Implant],
    refills: dict[UUID, list[Refill]],
    rules: PathwaySettings,
    locale: ClinicLocale,
) -> tuple[Moment, ...]:
    """The episode's pathway in plain words, in date order (the order recorded within a day)."""
    out = [Moment(episode.referred_on, "Referred", (episode.get_indication_display(),))]
    admitted: date | None = None
    implanted: date | None = None
    for event in events:
        facts = event.facts
        on = _day(facts, event, locale)
        notes = _acknowledged(event)
        action = event.action
        if action == "start_test_phase":
            admitted = on
            details = [f"{facts.get('protocol', '')} protocol".strip()]
            if facts.get("rehabilitation"):
                details.append("with rehabilitation")
            if facts.get("small_patient"):
                details.append("small patient")
            out.append(Moment(on, "Test phase started: admitted", (*details, *notes)))
        elif action == "record_screening_bolus":
            given, words = _bolus_words(facts.get("bolus") or {})
            out.append(Moment(given or on, words, notes))
        elif action == "decide_test_phase":
            decided = "responder" if facts.get("outcome") == "responder" else "not a responder"
            out.append(Moment(on, f"Test phase decided: {decided}", notes, bool(notes)))
            if admitted is not None:
                out.append(_stay("test phase", admitted, on, rules, locale))
        elif action == "implant":
            implanted = on
            placed = [
                f"{catalog.pump(i.pump_model, 'pump_model').name}, serial {i.pump_serial}"
                for i in implants
                if i.implanted_on == on
            ]
            out.append(Moment(on, "Pump implanted: admitted", (*placed, *notes), bool(notes)))
        elif action == "discharge":
            out.append(Moment(on, "Discharged after the implantation", notes))
            if implanted is not None:
                out.append(_stay("implantation", implanted, on, rules, locale))
        else:
            out.append(Moment(on, _TITLES.get(action, action.replace("_", " ")), notes))
    for implant in implants:
        done = refills.get(implant.id, [])
        if done:
            first = done[0]
            out.append(Moment(locale.today(first.performed_at), "First fill", (_put_in(first),)))
        if len(done) > 1:
            last = locale.today(done[-1].performed_at)
            out.append(
                Moment(
                    last,
                    f"Refills: {len(done) - 1} since the first fill",
                    (f"the last on {locale.format_date(last)}",),
                )
            )
    return tuple(sorted(out, key=lambda m: m.on))


_TITLES = {
    "record_catheter_removal": "Test catheter removed",
    "close_non_responder": "Closed: not a responder",
    "start_rehabilitation": "Rehabilitation started",
    "start_maintenance": "Outpatient refills (maintenance) started",
    "explant": "Pump explanted",
    "close": "Episode closed",
}


def _pocket(implant: Implant) -> Q | None:
    """The difference beyond which a refill's residual suggests a pocket fill (Maino 2017)."""
    threshold = catalog.pump(implant.pump_model, "pump_model").extras.get("pocket_fill_threshold")
    return None if threshold is None else threshold.value


def _put_in(refill: Refill) -> str:
    drugs = " + ".join(str(d) for d in fill_drugs(refill))
    return f"{of(refill.volume_ml, 'mL')} of {drugs}"


def _verdict(refill: Refill, accuracy: str, pocket: Q | None) -> str:
    if refill.expected_ml is None:
        return "first fill"
    difference = refill.difference_ml
    if difference is not None and beyond_pocket_fill(pocket, difference):
        return (
            f"{_found(refill, accuracy)}; the difference {of(abs(difference), 'mL')} exceeds "
            f"{pocket}: possible pocket fill"
        )
    return _found(refill, accuracy)


def _found(refill: Refill, accuracy: str) -> str:
    words = {
        DeliveryFinding.NONE: f"as expected (within {accuracy})",
        DeliveryFinding.OVERINFUSION: f"less left than expected: overinfusion beyond {accuracy}",
        DeliveryFinding.UNDERINFUSION: f"more left than expected: underinfusion beyond {accuracy}",
        DeliveryFinding.EMPTY: "found empty: delivery stopped at an unknown time",
    }
    if refill.finding not in words:
        return refill.finding or "not reconciled"
    return words[DeliveryFinding(refill.finding)]


def _bolus_use(refill: Refill, before: Refill | None, programs: Sequence[Program]) -> str:
    """ "31 given of 40 requested in 30 days (1 a day; at most 4 a day prescribed)"."""
    if refill.ptm_given is None or refill.ptm_requests is None or before is None:
        return ""
    days = (refill.performed_at - before.performed_at) / timedelta(days=1)
    allowed = max(
        (
            p.prescription.ptm_max_per_day or 0
            for p in programs
            if p.prescription is not None
            and p.started_at < refill.performed_at
            and (p.ended_at is None or p.ended_at > before.performed_at)
        ),
        default=0,
    )
    return (
        f"{refill.ptm_given} given of {refill.ptm_requests} requested in {days:.0f} days "
        f"({refill.ptm_given / days:.1f} a day; at most {allowed} a day prescribed)"
    )


def _refill_line(
    refill: Refill,
    accuracy: str,
    pocket: Q | None,
    boluses: str = "",
    prescription: Prescription | None = None,
) -> RefillLine:
    """`prescription`: the one the refill's program executed (its overrides were the
    prescriber's)."""
    if refill.verified_by:
        verification = f"verified by {refill.verified_by}"
    elif refill.needs_verification:
        verification = "waiting for a second clinician"
    else:
        verification = "not required"
    return RefillLine(
        performed_at=refill.performed_at,
        expected=None if refill.expected_ml is None else of(refill.expected_ml, "mL"),
        aspirated=None if refill.aspirated_ml is None else of(refill.aspirated_ml, "mL"),
        difference=None if refill.difference_ml is None else of(refill.difference_ml, "mL"),
        error_percent=delivery_error(refill),
        finding=finding_words(refill),
        verdict=_verdict(refill, accuracy, pocket),
        put_in=_put_in(refill),
        volume=of(refill.volume_ml, "mL"),
        lot=refill.lot,
        performed_by=refill.performed_by,
        verified_by=refill.verified_by,
        verification=verification,
        overrides=refill_overrides(refill, prescription),
        patient_boluses=boluses,
    )


def _dose_lines(
    programs: Sequence[Program], refills: Sequence[Refill], now: datetime
) -> list[DoseLine]:
    """Each program with the principal drug and concentration of the fill it ran on; a single
    bolus as its bolus, with no daily dose or rate."""
    refilled = {r.program_id for r in refills}
    lines = []
    fills = [(r.performed_at, fill_drugs(r)) for r in refills]
    for program in programs:
        drugs = drugs_at(fills, program.started_at)
        if not drugs:
            continue
        principal = drugs[0]
        bolus = prescriptions.single_bolus_of(program)
        daily = Decimal(0) if bolus else program.dose_mcg_per_day
        lines.append(
            DoseLine(
                started_at=program.started_at,
                ended_at=program.ended_at,
                drug=principal.drug,
                dose=dose_in_drug_unit(principal.drug, daily),
                rate=of(Decimal(0) if bolus else program.rate_ml_per_day, "mL/day"),
                bolus=bolus.delivery(principal.drug, principal.concentration.canonical)
                if bolus
                else None,
                bolus_run=bolus.run(program.started_at, now) if bolus else None,
                concentration=principal.concentration,
                programmed_by=ProgrammedBy(
                    program.programmed_by or program.prescribed_by, program.id in refilled
                ),
                overrides=program_overrides(program),
                phase=Phase(program.phase),
                stopped=prescriptions.stops_pump(program),
            )
        )
    return lines


def _measure(assessment: Assessment) -> Measure:
    value = assessment.value
    if assessment.kind == Assessment.Kind.OMED:
        shown = str(Q(value, "mg/day"))
    elif assessment.kind == Assessment.Kind.ASHWORTH:
        shown = ashworth_label(value)
    else:
        shown = f"{format_decimal(value)} / 10"
    return Measure(value, shown, assessment.taken_at)


def _outcomes(
    assessments: Iterable[Assessment], implanted_on: date | None, locale: ClinicLocale
) -> tuple[Outcome, ...]:
    """Per measure (and limb): the last value before the implant (or the first recorded when
    there is no pump) and the latest value."""
    groups: dict[tuple[str, str], list[Assessment]] = {}
    for a in sorted(assessments, key=lambda a: (a.taken_at, a.recorded_at)):
        groups.setdefault((a.kind, a.limb), []).append(a)
    labels = dict(Assessment.Kind.choices)
    order = [k for k, _ in Assessment.Kind.choices]
    out = []
    for (kind, limb), found in sorted(
        groups.items(), key=lambda g: (order.index(g[0][0]), g[0][1])
    ):
        before: Assessment | None
        after: Assessment | None
        if implanted_on is None:
            before = found[0]
            after = found[-1] if len(found) > 1 else None
        else:
            earlier = [a for a in found if locale.today(a.taken_at) <= implanted_on]
            later = [a for a in found if locale.today(a.taken_at) > implanted_on]
            before = earlier[-1] if earlier else None
            after = later[-1] if later else None
        out.append(
            Outcome(
                kind=kind,
                label=labels.get(kind, kind),
                limb=limb.replace("_", " "),
                before=_measure(before) if before else None,
                latest=_measure(after) if after else None,
                history=tuple(_measure(a) for a in found),
            )
        )
    return tuple(out)


def _episodes(patient_id: UUID) -> list[Episode]:
    """The patient's episodes, newest first, with their pathway events and assessments."""
    return list(
        Episode.objects.filter(patient_id=patient_id)
        .order_by("-referred_on", "-created_at")
        .prefetch_related(
            Prefetch("pathway_events", queryset=PathwayEvent.objects.order_by("recorded_at", "id")),
            Prefetch("assessments", queryset=Assessment.objects.order_by("taken_at")),
        )
    )


def _implants(patient_id: UUID) -> list[Implant]:
    """The patient's pumps, newest first, with their programs, refills (drugs) and open alarms,
    read in one state."""
    return stable(
        lambda: list(
            Implant.objects.filter(episode__patient_id=patient_id)
            .order_by("-implanted_on", "-created_at")
            .prefetch_related(
                Prefetch(
                    "programs",
                    queryset=Program.objects.order_by("started_at")
                    .select_related("prescription")
                    .prefetch_related("prescription__drugs", "prescription__steps"),
                ),
                Prefetch(
                    "refills",
                    queryset=Refill.objects.order_by("performed_at").prefetch_related(
                        Prefetch("drugs", queryset=RefillDrug.objects.order_by("position"))
                    ),
                ),
                Prefetch(
                    "alarms",
                    queryset=AlarmReport.objects.filter(acknowledged_at__isnull=True).order_by(
                        "-reported_at"
                    ),
                    to_attr="open_alarms",
                ),
            )
        ),
        lambda found: found,
    )


@dataclass(frozen=True)
class _PumpInPlace:
    """The parts of the chart about the pump in place (empty when there is none)."""

    pump: Pump | None = None
    program: RunningProgram | None = None
    projection: Projection | None = None
    projection_notes: tuple[str, ...] = ()
    refills: tuple[RefillLine, ...] = ()
    doses: tuple[DoseLine, ...] = ()
    unreadable: tuple[str, ...] = ()


def _bridge_words(refill: Refill) -> str:
    if refill.bridge_volume_ml is None or refill.bridge_rate_ml_per_day is None:
        return ""
    return (
        f"after the concentration change, the {of(refill.bridge_volume_ml, 'mL')} of "
        f"the old concentration in the catheter was bridged at "
        f"{of(refill.bridge_rate_ml_per_day, 'mL/day')}"
    )


def _running_program(running: Program, refills: Sequence[Refill], now: datetime) -> RunningProgram:
    """The program running on the last fill of `refills` (the pump's, oldest first); a single
    bolus as its bolus while it runs, then as nothing pumped."""
    last = refills[-1]
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]
    prescribed = prescriptions.as_core(running.prescription) if running.prescription else None
    kind = prescribed.program.kind if prescribed else rx.ProgramKind.CONTINUOUS
    bolus = prescribed.program.bolus if prescribed else None
    delivery = bolus.delivery(drugs[0][0], drugs[0][1]) if bolus else None
    run = bolus.run(running.started_at, now) if bolus else None
    daily = Decimal(0) if bolus else running.rate_ml_per_day
    doses = fill_doses(drugs, daily, Decimal(0) if bolus else running.dose_mcg_per_day)
    rate = of(daily, "mL/day")
    words = program_words(doses, rate, kind.label)
    principal = drugs[0][0]
    if delivery is not None:
        words = f"{_drugs_words(doses)}: {drug_units.bolus_delivery(principal, delivery)}"
    return RunningProgram(
        doses=doses,
        rate=rate,
        mode=kind.label,
        bolus=delivery,
        bolus_run=run,
        steps=drug_units.program(principal, prescribed.program)
        if prescribed and kind is rx.ProgramKind.FLEX
        else "",
        patient_bolus=drug_units.patient_bolus(principal, prescribed.ptm)
        if prescribed and prescribed.ptm
        else "",
        prescription=running.prescription.number if running.prescription else None,
        started_at=running.started_at,
        programmed_by=ProgrammedBy(
            running.programmed_by or running.prescribed_by,
            any(r.program_id == running.id for r in refills),
        ),
        bridge=_bridge_words(last),
        words=words,
        stopped=kind is rx.ProgramKind.STOPPED,
    )


def _pump_in_place(
    active: Implant | None,
    refills: dict[UUID, list[Refill]],
    margin_days: Decimal,
    locale: ClinicLocale,
    now: datetime,
) -> _PumpInPlace:
    """The pump in place, its running program and the projection of its last fill (both only
    when it has been filled and runs a program), its refill history newest first and its doses."""
    if active is None:
        return _PumpInPlace()
    pump = implanted_pump(active)
    done = refills[active.id]
    programs = list(active.programs.all())
    running = next((p for p in reversed(programs) if p.ended_at is None), None)
    program: RunningProgram | None = None
    projection: Projection | None = None
    notes: list[str] = []
    unreadable: tuple[str, ...] = ()
    if done and running is not None:
        try:
            program = _running_program(running, done, now)
            projected = fill_projection(active, done, programs, margin_days, locale.zone, now)
        except UnreadableRow as error:
            logger.error("the chart shows pump %s without its program: %s", active.id, error)
            program, projected, unreadable = None, None, (str(error),)
        if projected is not None:
            projection, notes = projected
    executed = {p.id: p.prescription for p in programs}
    return _PumpInPlace(
        pump=pump,
        program=program,
        projection=projection,
        projection_notes=tuple(notes),
        refills=tuple(
            _refill_line(
                r,
                pump.accuracy,
                _pocket(active),
                _bolus_use(r, done[i - 1] if i else None, programs),
                executed.get(r.program_id),
            )
            for i, r in reversed(list(enumerate(done)))
        ),
        doses=tuple(_dose_lines(programs, done, now)),
        unreadable=unreadable,
    )


def _patient_facts(patient: Patient, today: date) -> PatientFacts:
    return PatientFacts(
        id=patient.id,
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        version=patient.version,
        age=age_on(patient.birth_date, today),
        weight_kg=patient.weight_kg,
        opioid_status=patient.opioid_status,
        psychosis_history=patient.psychosis_history,
        life_expectancy_months=patient.life_expectancy_months,
    )


def _open_indications(episodes: Iterable[Episode]) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(Indication(e.indication).label for e in episodes if e.closed_at is None)
    )


def _episode_chart(
    episode: Episode,
    implants: Sequence[Implant],
    refills: dict[UUID, list[Refill]],
    rules: PathwaySettings,
    locale: ClinicLocale,
) -> EpisodeChart:
    origin = origin_choice(episode)
    return EpisodeChart(
        id=episode.id,
        version=episode.version,
        indication=episode.indication,
        indication_label=episode.get_indication_display(),
        stage=episode.stage,
        stage_label=episode.stage.replace("_", " "),
        referred_on=episode.referred_on,
        closed_at=episode.closed_at,
        closed_reason=episode.closed_reason,
        timeline=_moments(
            episode,
            list(episode.pathway_events.all()),
            [i for i in implants if i.episode_id == episode.id],
            refills,
            rules,
            locale,
        ),
        origin=origin.origin.value if origin.origin else "",
        origin_overridden=origin_override(episode) is not None,
        origin_reason=origin.reason,
    )


def _open_alarms(implants: Iterable[Any]) -> tuple[OpenAlarm, ...]:
    """The alarms _implants prefetched into each pump's `open_alarms`, newest first per pump."""
    return tuple(
        OpenAlarm(a.get_kind_display(), a.reported_at, a.recorded_by, a.note)
        for i in implants
        for a in i.open_alarms
    )


@transaction.atomic
def patient_chart(user: User, patient_id: UUID, now: datetime) -> Chart:
    """Everything the chart page shows, read in a fixed number of queries and audited."""
    actor = require(user, "patient.read")
    patient = get_or_not_found(Patient.objects.all(), patient_id)
    episodes = _episodes(patient_id)
    implants = _implants(patient_id)
    settings = clinic_settings()
    locale = locale_of(settings)
    rules = pathway_settings(settings)
    refills = {i.id: list(i.refills.all()) for i in implants}
    active = next((i for i in implants if i.explanted_on is None), None)
    in_place = _pump_in_place(active, refills, Decimal(settings.refill_margin_days), locale, now)
    next_refill = next_visit(patient_id)
    first_implant = min((i.implanted_on for i in implants), default=None)
    chart = Chart(
        patient=_patient_facts(patient, locale.today(now)),
        indications=_open_indications(episodes),
        high_risk=bool(active and active.high_risk),
        episodes=tuple(_episode_chart(e, implants, refills, rules, locale) for e in episodes),
        pump=in_place.pump,
        former_pumps=tuple(implanted_pump(i) for i in implants if i is not active),
        program=in_place.program,
        projection=in_place.projection,
        projection_notes=in_place.projection_notes,
        next_refill=next_refill,
        refills=in_place.refills,
        doses=in_place.doses,
        outcomes=_outcomes(
            [a for e in episodes for a in e.assessments.all()], first_implant, locale
        ),
        outcomes_baseline="Before the pump" if first_implant else "First recorded",
        open_alarms=_open_alarms(implants),
        now=now,
        today=locale.today(now),
        refill_by=active.refill_by if active is not None else None,
        unreadable=in_place.unreadable,
    )
    audit.record(actor, "patient.chart", "patient", patient.id, patient_id=patient.id)
    return chart
