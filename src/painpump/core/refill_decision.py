"""A refill and a titration decided from values, once: the reconciliation of the residual, the
drug-library, clinic and device checks of the fill and program (a stop, or the warnings to
acknowledge) and of the prescription executed where its day totals do not show it (ProgramJudge,
as at signing, by the limits in force now), the bridge after a change of concentration, the
projection to the next refill and whether a second clinician must verify. The clinic's preview
is load + decide; its refill is lock + decide + persist + audit; so the review shows exactly
what the refill records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from painpump.core import catalog, checks, fluid_change
from painpump.core.catalog import Limit, Pump
from painpump.core.decision import Finding, Subject, Tier, Verdict
from painpump.core.device_limits import check_rate, check_volume_fits
from painpump.core.dose_history import DoseChange, Phase, increases_within, last_increase
from painpump.core.dosing import (
    concentration_in_drug_unit,
    dose_in_drug_unit,
    dose_mcg_per_day,
    rate_ml_per_day,
)
from painpump.core.errors import Refusal
from painpump.core.fluid_change import Priming
from painpump.core.locale import ClinicLocale
from painpump.core.overrides import one_per_rule
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    SECONDS_PER_DAY,
    FluidChange,
    PatientBolus,
    PrescribedProgram,
    Prescription,
    ProgramKind,
    SingleBolus,
    Step,
    duration_words,
    lowest,
    moments,
)
from painpump.core.prescription import WEEKDAYS as PROGRAM_WEEKDAYS
from painpump.core.pump_twin import PumpHistory, TwinDates, stored_dates, with_fill, with_program
from painpump.core.refill import (
    MARGIN_SOURCE,
    DeliveryFinding,
    LimitedBy,
    Reconciliation,
    RefillPlan,
    after_days,
    fill_stability,
    first_of_drug,
    hours_between,
    plan_refill,
    programmed_since_fill,
    reconcile,
    residual_ml,
)
from painpump.core.scheduling import WEEKDAYS, propose_appointment
from painpump.core.twin_residual import TwinResidual, twin_residual, twin_warning, with_twin
from painpump.core.units import Q, in_unit, of
from painpump.core.volumes import Bridge, bridge
from painpump.core.withdrawal import (
    STOPPING_RISK,
    overinfusion_limit_passed,
    stop_warning,
    stopped_pump_findings,
    stopped_words,
    stops_after_bolus,
)

REFILL_RULES = "painpump refill rules"
PROGRAM_RULES = "painpump program rules"
ASPIRATION_SOURCE = (
    "south-shore-neurologic-itb-refill (refill procedure, step 3): drain the residual and compare "
    "with the programmer's expected volume"
)
CLOCK_TOLERANCE = timedelta(minutes=5)
"""The clocks of the devices a refill is recorded from may differ a little from the server's."""

Programs = Sequence[tuple[Decimal, datetime, datetime | None]]
"""Programs since a fill: rate in mL/day, start, end (None while running)."""


@dataclass(frozen=True)
class Fill:
    """What goes into the reservoir: drugs with concentrations (principal first), volume, lot."""

    drugs: tuple[tuple[str, Q], ...]
    volume: Q
    lot: str

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.drugs]

    @property
    def canonical_drugs(self) -> list[tuple[str, Decimal]]:
        """The drugs with their concentrations in mcg/mL, as stored."""
        return [(name, conc.canonical) for name, conc in self.drugs]

    def named(self) -> Fill:
        """The fill with each drug under its drug-library name (named_drugs)."""
        return replace(self, drugs=named_drugs(self.drugs))


def named_drugs(drugs: Sequence[tuple[str, Q]]) -> tuple[tuple[str, Q], ...]:
    """Each drug under its drug-library name ("Baclofen " is baclofen); none, or a drug named
    twice, is refused (each is checked alone, so two entries would hide their sum)."""
    if not drugs:
        raise Refusal(
            "drugs", "none", "at least one drug with its concentration", REFILL_RULES, "is empty"
        )
    names = [catalog.drug(name, f"drugs[{i}]").name for i, (name, _) in enumerate(drugs)]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise Refusal(
                f"drugs[{index}]",
                name,
                "each drug once, with the concentration of the mixture",
                REFILL_RULES,
                "is named twice",
            )
    return tuple((name, conc) for name, (_, conc) in zip(names, drugs, strict=True))


@dataclass(frozen=True)
class RunningProgram:
    """The basal program the pump runs, or ran last before a single bolus stopped it: changes are
    judged as steps from it (a single bolus never becomes the reference a restart steps from)."""

    dose_mcg_per_day: Decimal
    rate_ml_per_day: Decimal
    started_at: datetime
    program: PrescribedProgram | None = None
    """Its prescription's program (None: a program recorded before prescriptions)."""
    ptm: PatientBolus | None = None
    raised_at: datetime | None = None
    """When it started, if it gave more than the program before it at some moment or on its worst
    day (an increase its day total may not show); None otherwise."""
    worst_day_mcg_per_day: Decimal | None = None
    """Its worst day with every allowed patient bolus where that is not its day and its patient
    boluses' (a restart's reference: the lower of before the stop and the restart); None: those."""

    @property
    def worst_day(self) -> Decimal:
        """Its worst day with every allowed patient bolus, in mcg/day."""
        if self.worst_day_mcg_per_day is not None:
            return self.worst_day_mcg_per_day
        extra = self.ptm.worst_day.canonical if self.ptm else Decimal(0)
        return self.dose_mcg_per_day + extra


@dataclass(frozen=True)
class PtmCounts:
    """What the pump reports at a refill about patient boluses since the last one."""

    requests: int
    given: int


@dataclass(frozen=True)
class LastFill:
    """The pump's last fill as recorded, and the programs that ran from it."""

    at: datetime
    volume: Q
    drugs: tuple[tuple[str, Decimal], ...]
    """Each drug with its concentration in mcg/mL, principal first."""
    refill_by: date
    limited_by: LimitedBy
    programs: tuple[tuple[Decimal, datetime, datetime | None], ...]
    ptm: tuple[tuple[int, datetime, datetime | None], ...] = ()
    """Patient boluses allowed a day since the fill: per day, start, end (None while running)."""


@dataclass(frozen=True)
class Therapy:
    """What the checks know beyond the pump: the patient's facts, the pump's dose history, the
    running program's phase and the origin of spasticity in force (from the indication or its
    override). Unknown is None, and the checks then take the strictest reading."""

    patient: PatientFacts | None = None
    history: tuple[DoseChange, ...] = ()
    phase: Phase | None = None
    origin: str | None = None


@dataclass(frozen=True)
class PumpState:
    pump: Pump
    dead_volume: Q
    alarm_volume: Q
    last_fill: LastFill | None
    running: RunningProgram | None
    therapy: Therapy = Therapy()
    history: PumpHistory | None = None
    """The pump's recorded history, for its twin's residual at a refill (None: not loaded, and
    the refill's residual is judged against the pump's own figure only)."""
    stopped_since: datetime | None = None
    """When the pump stopped giving its basal program: the first stop or single bolus programmed
    since (a bolus may still run); None: a basal program runs. `running` is the program before
    the stop, which a restart is judged from (restarted)."""

    single_bolus: tuple[datetime, SingleBolus] | None = None
    """The single bolus in force and when it was programmed (None: none in force)."""

    def stopped_at(self, at: datetime) -> datetime | None:
        """When the pump stopped giving its basal program, if that was at or before `at`."""
        since = self.stopped_since
        return since if since is not None and since <= at else None


@dataclass(frozen=True)
class DosingRules:
    """The clinic's settings a decision depends on."""

    region: str | None
    clinic_limits: tuple[Limit, ...]
    margin_days: Decimal
    tz: tzinfo
    locale: ClinicLocale | None = None
    """The clinic's calendar of open days and how it writes dates (None: ISO dates in `tz`, and
    no open days known)."""


@dataclass(frozen=True)
class RefillEntries:
    """What the nurse enters: the residual volumes, the fill, the daily dose (in the dose unit of
    the principal drug) and, for baclofen, the origin of the spasticity."""

    at: datetime
    expected: Q | None = None
    aspirated: Q | None = None
    fill: Fill | None = None
    dose: Q | None = None
    origin: str | None = None
    phase: Phase | None = None
    """The phase of the program this refill starts (None: the running program's)."""
    ptm: PtmCounts | None = None
    fluid_change: FluidChange = FluidChange.NONE
    """How the executed prescription has the old fluid in the path delivered if the fill's
    fluid replaces it (rule-fluid-change)."""
    basal: bool = True
    """False when the executed prescription is a single bolus: `dose` is the bolus's day."""
    prescription: Prescription | None = None
    """What the refill executes: with the pump's history, its twin runs this program and its
    patient boluses after the fill for the pump's dates (None: the constant-rate plan's)."""


@dataclass(frozen=True)
class FillOutcome:
    """What a fill that passed its checks leads to."""

    rate_ml_per_day: Decimal
    plan: RefillPlan
    bridge: Bridge | None
    stability_notes: tuple[Finding, ...]
    priming: Priming | None = None
    twin: TwinDates | None = None
    """The pump's dates after the fill from its twin running the executed prescription, as the
    refill stores them (None: no history or prescription given; `plan` then dates it)."""

    @property
    def ahead(self) -> Ahead:
        """Where the fill leaves the pump: by its twin when run, else by the plan."""
        if self.twin is not None:
            return Ahead.of_twin(self.plan.fill_at, self.twin)
        return Ahead.of_plan(self.plan)

    @property
    def notes(self) -> tuple[Finding, ...]:
        """What the clinician should know that needs no acknowledgement (a refill due at once
        is a warning of its own: due_at_once)."""
        kept = (w for w in self.plan.warnings if w.rule != DUE_AT_ONCE)
        return (*self.stability_notes, *kept)


@dataclass(frozen=True)
class RefillDecision:
    """A refill's verdict. `stop` is the hard limit that forbids it (then `outcome` is None);
    `warnings` each need an acknowledgement before the refill is recorded."""

    first_fill: bool
    programmed: Q | None
    reconciliation: Reconciliation | None
    warnings: tuple[Finding, ...]
    outcome: FillOutcome | None
    stop: Refusal | None
    drug_changed: bool
    dose_changed: bool
    phase: Phase = Phase.MAINTENANCE
    """The phase of the program the refill starts."""
    drug_swapped: bool = False
    """A drug added or left out (not only a concentration changed): a prescriber's change."""
    twin: TwinResidual | None = None
    """What the pump's twin says the reservoir holds at the refill (None: no history to run)."""

    @property
    def needs_verification(self) -> bool:
        """A second clinician verifies a refill that changed drug or concentration or passed a
        warning (rule-four-eyes)."""
        return (self.outcome is not None and self.drug_changed) or bool(self.warnings)


@dataclass(frozen=True)
class Titrated:
    """Where a program started between refills leaves the pump: the volume left, the alarm and
    empty times and the refill-by date (a reservoir already at its alarm: the alarm now, the
    refill due today; `empty_at` None when the new rate delivers nothing, `alarm_at` too when
    the pump is stopped)."""

    left: Q
    alarm_at: datetime | None
    empty_at: datetime | None
    refill_by: date
    limited_by: LimitedBy


@dataclass(frozen=True)
class ProgramDecision:
    """A titration's verdict: the rate and projection, or the hard limit that forbids it."""

    rate_ml_per_day: Decimal | None
    projection: Titrated | None
    warnings: tuple[Finding, ...]
    stop: Refusal | None
    phase: Phase = Phase.MAINTENANCE
    twin: TwinDates | None = None
    """The pump's dates from its twin with the change (None: no history or prescription given)."""


def next_phase(given: Phase | None, state: PumpState, principal: str | None) -> Phase:
    """The phase of the next program: as prescribed; else titration for a pump's first fill or a
    new principal drug (the labels titrate from a start dose), maintenance for a refill of the
    same drug (the Lioresal label's steps at refills), and titration, the stricter, for a change
    between refills (`principal` None) unless the prescriber says maintenance."""
    if given is not None:
        return given
    last = state.last_fill
    if last is None or (principal is not None and last.drugs[0][0] != principal):
        return Phase.TITRATION
    if principal is not None:
        return Phase.MAINTENANCE
    return Phase.TITRATION


def reconciled(
    pump: Pump, last_fill_volume: Q, expected: Q, aspirated: Q
) -> tuple[Q, Reconciliation]:
    """The volume programmed since the last fill and what the aspirated residual says of it."""
    programmed = programmed_since_fill(last_fill_volume, expected)
    return programmed, reconcile(pump, expected, aspirated, programmed)


def reconciliation_warning(check: Reconciliation, drugs: Sequence[str] = ()) -> Finding | None:
    """The warning a reconciliation gives (beyond the pump's accuracy, a possible pocket fill, a
    reservoir found empty: with the withdrawal warning of baclofen); None when the volumes
    agree."""
    if check.finding is DeliveryFinding.NONE and not check.consequential:
        return None
    message = check.message
    if check.finding is DeliveryFinding.EMPTY and "baclofen" in drugs:
        message += (
            "; baclofen was interrupted: watch for withdrawal (high fever, altered mental "
            "status, rebound spasticity, rhabdomyolysis; lioresal-label, boxed warning)"
        )
    limit, source, verified = (
        f"+/-{check.accuracy_percent} %",
        check.accuracy_source,
        check.accuracy_verified,
    )
    pocket = check.consequential_limit
    if check.consequential and pocket is not None:
        pocket_limit = f"a difference of at most {pocket.value} (possible pocket fill beyond)"
        if check.finding is DeliveryFinding.NONE:
            limit, source, verified = pocket_limit, pocket.source, pocket.verified
        else:
            limit, source = f"{limit}; {pocket_limit}", f"{source}; {pocket.source}"
    beyond_twin = check.against_twin  # worded in the message: one reason for one aspirate
    if beyond_twin is not None:
        limit, verified = f"{limit}; {beyond_twin.limit}", verified and beyond_twin.verified
        source = "; ".join(dict.fromkeys([*source.split("; "), *beyond_twin.source.split("; ")]))
    return Finding(
        "reconciliation",
        Verdict.WARN,
        message,
        limit,
        source,
        verified,
        Subject.DELIVERY,
        tier=Tier.SOFT,
    )


def _field_of(finding: Finding, index: int) -> str:
    return f"drugs[{index}]" if finding.subject is Subject.CONCENTRATION else "dose"


def _stopped(previous: Sequence[str], fill: Fill) -> list[Finding]:
    """A fill that leaves out a drug whose abrupt stop is dangerous (baclofen, clonidine, an
    opioid): a soft warning each, which needs the prescribed taper it ends or a reason. A dose of
    zero of the principal drug is checks' finding."""
    found = (
        stop_warning(
            name,
            f"{name}_stopped",
            f"this fill leaves {name} out: an abrupt stop risks withdrawal; give the prescribed "
            "taper it ends or the reason, and watch for withdrawal",
            "a prescribed taper or a reason",
        )
        for name in previous
        if name not in fill.names
    )
    return [finding for finding in found if finding is not None]


def _previous_dose(
    name: str,
    before: Sequence[str],
    old: Mapping[str, Decimal],
    running: RunningProgram | None,
) -> Q | None:
    """The daily dose the running program gives a drug already in the pump: the prescribed dose
    of the old principal, an admixture partner's from the running rate and its concentration."""
    if running is None or name not in old:
        return None
    if before[0] == name:
        given = running.dose_mcg_per_day
    else:
        given = dose_mcg_per_day(running.rate_ml_per_day, old[name])
    return dose_in_drug_unit(name, given) if given > 0 else None


def partner_doses_changed(
    fill: Fill, rate_ml_per_day: Decimal, last: LastFill | None, running: RunningProgram | None
) -> bool:
    """True when an admixture partner already in the pump gets another daily dose (its
    concentration or the rate changed): a prescriber's change like the principal's dose."""
    if last is None or running is None:
        return False
    old = dict(last.drugs)
    for name, conc in fill.drugs[1:]:
        if name not in old or name == last.drugs[0][0]:
            continue
        before = dose_mcg_per_day(running.rate_ml_per_day, old[name])
        after = dose_mcg_per_day(rate_ml_per_day, conc.canonical)
        if abs(after - before) > PARTNER_DOSE_TOLERANCE:
            return True
    return False


PARTNER_DOSE_TOLERANCE = Decimal("0.001")
"""mcg/day: a partner's dose recomputed from a stored rate and concentration may differ by
rounding, never by more."""


def _hours_since_increase(
    therapy: Therapy, drug: str, running: RunningProgram | None, at: datetime
) -> Decimal | None:
    """Hours since the drug's daily dose last rose (the labels space increases, not refills at
    the same dose), or since its first program when it never rose; without a recorded history,
    since the running program started."""
    if running is None:
        return None
    since = last_increase(therapy.history, drug)
    if since is None:
        starts = [change.at for change in therapy.history if change.drug == drug]
        since = min(starts) if starts else running.started_at
    return hours_between(since, at)


def check_fill(
    pump: Pump,
    fill: Fill,
    dose: Q,
    running: RunningProgram | None,
    at: datetime,
    origin: str | None,
    region: str | None,
    clinic_limits: Sequence[Limit] = (),
    *,
    therapy: Therapy = Therapy(),
    previous_drugs: Sequence[tuple[str, Decimal]] | None = None,
    phase: Phase | None = None,
    on: date | None = None,
    basal: bool = True,
) -> tuple[Decimal, list[Finding]]:
    """The rate for the prescribed dose and the warnings of the drug-library (the clinic's own
    limits beside the packaged) and device checks of every drug in the fill; a stop is raised
    as a Refusal naming the drug's concentration or the dose, with its rule, limit and source.
    A drug not in `previous_drugs` (name and mcg/mL; None: the pump's first fill) is starting:
    its start dose is checked and no titration step. Every other drug, wherever it stands in the
    fill, is judged as a step from the dose the running program gave it (the old principal's
    prescribed dose, an admixture partner's from the running rate and its old concentration);
    the old principal's increases are counted over the rolling 7 days of `therapy.history`."""
    check_volume_fits(pump, fill.volume, "volume")
    return check_drugs(
        pump,
        fill.drugs,
        dose,
        running,
        at,
        origin,
        region,
        clinic_limits,
        therapy=therapy,
        previous_drugs=previous_drugs,
        phase=phase,
        on=on,
        basal=basal,
    )


def check_drugs(
    pump: Pump,
    drugs: Sequence[tuple[str, Q]],
    dose: Q,
    running: RunningProgram | None,
    at: datetime,
    origin: str | None,
    region: str | None,
    clinic_limits: Sequence[Limit] = (),
    *,
    therapy: Therapy = Therapy(),
    previous_drugs: Sequence[tuple[str, Decimal]] | None = None,
    phase: Phase | None = None,
    on: date | None = None,
    increased_at: datetime | None = None,
    basal: bool = True,
) -> tuple[Decimal, list[Finding]]:
    """check_fill without the volume: the drugs (principal first) and the daily dose of the
    principal, as a prescription is judged before any fill. `increased_at`: when the dose last
    rose, where the recorded history (of day totals) cannot tell (a step or a bolus raised).
    `basal` False: the dose is a single bolus's, given within the day at the bolus's own rate
    (judged by its prescription), so its day rate is no pump rate to check, and each partner's
    share follows from the principal's bolus: judged against its maxima, never as a low-dose slip
    (checks.SHARE_OF_BOLUS)."""
    drugs = named_drugs(drugs)
    fill = Fill(tuple(drugs), of(Decimal(0), "mL"), "")
    principal = catalog.drug(fill.drugs[0][0])
    rate = rate_ml_per_day(
        dose.canonical, fill.drugs[0][1].canonical, "drugs[0].concentration", principal.dose_unit
    )
    hours = _hours_since_increase(therapy, fill.drugs[0][0], running, at)
    if increased_at is not None and hours is not None:
        hours = min(hours, hours_between(increased_at, at))
    admixture = len(fill.drugs) > 1
    old = dict(previous_drugs or ())
    before = tuple(name for name, _ in previous_drugs or ())
    findings: list[Finding] = []
    for index, (name, conc) in enumerate(fill.drugs):
        drug = catalog.drug(name)
        drug_dose = (
            dose if index == 0 else dose_in_drug_unit(name, dose_mcg_per_day(rate, conc.canonical))
        )
        dose_text = None if basal else _as_bolus(name, drug_dose)
        starting = name not in before
        previous_dose, increases = _previous_dose(name, before, old, running), None
        if previous_dose is not None and before[0] == name:
            increases = increases_within(therapy.history, name, at)
        try:
            decision = checks.check(
                name,
                conc,
                drug_dose,
                previous_dose=previous_dose,
                hours_since_change=hours,
                origin=origin or therapy.origin,
                region=region,
                increases_last_7_days=increases,
                extra_limits=clinic_limits,
                phase=phase or therapy.phase,
                starting=starting,
                patient=therapy.patient,
                on=on or at.date(),
                floor=basal or index == 0,
                dose_text=dose_text,
            )
        except Refusal as error:
            raise replace(error, field=f"drugs[{index}]") from None
        for finding in decision.findings:
            if finding.verdict is Verdict.STOP:
                shown = f"{name} {in_unit(conc, drug.concentration_unit)}"
                raise finding.refusal(
                    _field_of(finding, index),
                    f"{shown}: {dose_text}"
                    if dose_text
                    else f"{shown}, {in_unit(drug_dose, drug.dose_rate_unit)}",
                )
        found = list(decision.findings)
        if not basal:
            found += _single_bolus(name, conc, drug_dose, index, region, clinic_limits)
        findings += [f.in_admixture() if admixture else f for f in found]
    findings += _stopped(before, fill)
    # after the drug library, so a mg/mcg slip is named as such, not as a rate
    if basal:
        check_rate(pump, of(rate, "mL/day"), "dose", in_unit(dose, principal.dose_rate_unit))
    return rate, [f for f in findings if f.verdict is Verdict.WARN]


def _as_bolus(name: str, bolus_day: Q) -> str:
    """A single bolus's share of a drug, judged as its day's dose, as messages word it."""
    bolus = of(bolus_day.canonical, "mcg").to(catalog.drug(name).dose_unit)
    return f"a single bolus of {bolus} (judged as the day's dose)"


def given_in_day_before(state: PumpState, at: datetime) -> dict[str, Decimal]:
    """The most the pump can have given of each drug (mcg) in the 24 h before `at`: each basal
    program at its highest step for the part of that time it ran (until a stop or a single bolus
    stopped it) with every patient bolus it allows, whole; every single bolus and priming bolus
    whose delivery reaches into that time, whole. Without the recorded history, the last basal
    program's worst day and the single bolus in force."""
    start = at.astimezone(UTC) - timedelta(days=1)
    given: dict[str, Decimal] = {}

    def add(drugs: Sequence[tuple[str, Decimal]], volume_ml: Decimal) -> None:
        for name, conc in drugs:
            given[name] = given.get(name, Decimal(0)) + dose_mcg_per_day(volume_ml, conc)

    def mass(drugs: Sequence[tuple[str, Decimal]], principal_mcg: Decimal) -> None:
        add(drugs, rate_ml_per_day(principal_mcg, drugs[0][1]))

    if state.history is not None:
        history = state.history
        ran = [p for p in history.programs if p.at <= at]
        for program, after in zip(ran, [*ran[1:], None], strict=True):
            bolus = program.program.bolus
            if bolus is not None:
                if bolus.ends_at(program.at) > start:
                    mass(program.drugs, bolus.dose.canonical)
                continue
            begin, end = max(program.at, start), after.at if after is not None else at
            highest = max((step.dose.canonical for _, _, step in program.program.steps()))
            if end <= begin or program.program.kind is ProgramKind.STOPPED:
                continue
            mass(program.drugs, highest * _day_share(begin, end))
            if program.ptm is not None:
                mass(program.drugs, program.ptm.worst_day.canonical)
        for before, fill in zip((None, *history.fills), history.fills, strict=False):
            if fill.priming is not None and before is not None and start < fill.at <= at:
                add(before.drugs, fill.priming[0])
        return given
    last, running = state.last_fill, state.running
    if last is None:
        return given
    if running is not None:
        mass(last.drugs, running.worst_day * _day_share(start, state.stopped_at(at) or at))
    if state.single_bolus is not None:
        moment, bolus = state.single_bolus
        if moment <= at and bolus.ends_at(moment) > start:
            mass(last.drugs, bolus.dose.canonical)
    return given


def _day_share(begin: datetime, end: datetime) -> Decimal:
    """The share of a day from `begin` to `end` (0 to 1)."""
    seconds = int(min(max((end - begin).total_seconds(), 0), SECONDS_PER_DAY))
    return Decimal(seconds) / SECONDS_PER_DAY


def check_bolus_day(
    state: PumpState, prescription: Prescription, at: datetime, region: str | None
) -> None:
    """A single bolus: each drug's share of it with what the pump gave of that drug in the day
    before it (given_in_day_before: the basal programs until they stopped, earlier boluses),
    refused above the drug's day's ceiling (checks.check_bolus_day)."""
    bolus = prescription.program.bolus
    if bolus is None:
        return
    given = given_in_day_before(state, at)
    volume = rate_ml_per_day(bolus.dose.canonical, prescription.principal[1].canonical)
    for index, (name, conc) in enumerate(prescription.drugs):
        drug = catalog.drug(name)
        share = of(dose_mcg_per_day(volume, conc.canonical), "mcg")
        judged = checks.check_bolus_day(drug, share, of(given.get(name, Decimal(0)), "mcg"), region)
        if judged is not None and judged.verdict is Verdict.STOP:
            raise judged.refusal(
                "dose" if index == 0 else f"drugs[{index}]",
                f"{name} {conc.to(drug.concentration_unit)}: a single bolus of "
                f"{share.to(drug.dose_unit)}",
            )


def _single_bolus(
    name: str,
    conc: Q,
    bolus_day: Q,
    index: int,
    region: str | None,
    clinic_limits: Sequence[Limit] = (),
) -> list[Finding]:
    """A single bolus's share of one drug (its day is the bolus: the amount in hours) against
    the drug's per-bolus limits and the clinic's own largest single bolus: above its day's
    ceiling (its maximum daily dose or, without one, the top of its usual daily range) or a hard
    clinic limit it is refused (hard)."""
    drug, bolus = catalog.drug(name), of(bolus_day.canonical, "mcg")
    judged = checks.check_single_bolus(drug, bolus, region, extra_limits=clinic_limits)
    found = [f.about(Subject.DOSE, name) for f in judged]
    for finding in found:
        if finding.verdict is Verdict.STOP:
            raise finding.refusal(
                "dose" if index == 0 else f"drugs[{index}]",
                f"{name} {conc.to(drug.concentration_unit)}: a single bolus of "
                f"{bolus.to(drug.dose_unit)}",
            )
    return found


def bridge_for(
    old_drugs: Sequence[tuple[str, Decimal]], fill: Fill, dose: Q, dead_volume: Q
) -> Bridge | None:
    """The bridge a change of the principal drug's concentration needs while the old fluid in the
    dead volume is delivered (the rate that keeps its dose), when that volume is known."""
    if not old_drugs or dead_volume.canonical <= 0:
        return None
    (old_name, old_conc), (new_name, new_conc) = old_drugs[0], fill.drugs[0]
    if old_name != new_name or old_conc == new_conc.canonical:
        return None
    return bridge(concentration_in_drug_unit(old_name, old_conc), new_conc, dose, dead_volume)


def plan_fill(
    state: PumpState,
    fill: Fill,
    dose: Q,
    rate: Decimal,
    at: datetime,
    rules: DosingRules,
    change: FluidChange = FluidChange.NONE,
) -> FillOutcome:
    """What a new fill leads to: the bridge or priming bolus the prescription's `change` runs
    when the fill's fluid replaces another, the drug's stability limit and its notes, and the
    pump's projection to the next refill. A fill not above the pump's alarm volume is refused as
    the volume's fault."""
    old_drugs = state.last_fill.drugs if state.last_fill else ()
    path = old_drugs if state.last_fill else None
    changed = fluid_change.changes(path, fill.drugs) and state.dead_volume.canonical > 0
    stability, notes = fill_stability(
        fill.canonical_drugs, first_fill=first_of_drug(path, fill.drugs)
    )
    try:
        plan = plan_refill(
            state.pump,
            fill.volume,
            of(rate, "mL/day"),
            fill_at=at,
            alarm_volume=state.alarm_volume,
            margin_days=rules.margin_days,
            stability=stability,
            tz=rules.tz,
            alarm_source=alarm_source(state),
        )
    except Refusal as error:
        raise replace(error, field="volume") from None
    return FillOutcome(
        rate_ml_per_day=rate,
        plan=plan,
        bridge=bridge_for(old_drugs, fill, dose, state.dead_volume)
        if change is FluidChange.BRIDGE
        else None,
        stability_notes=tuple(notes),
        priming=fluid_change.priming(state.pump, state.dead_volume, path)
        if change is FluidChange.PRIMING and changed
        else None,
    )


def alarm_source(state: PumpState) -> str:
    """Where the pump's low-reservoir alarm volume comes from: the device's default, or the one
    set for it at implantation."""
    default = state.pump.low_reservoir_alarm
    if state.alarm_volume.canonical == default.value.canonical:
        return default.source
    return f"the low-reservoir alarm volume set for this {state.pump.model} at implantation"


DUE_AT_ONCE = "refill_margin"
"""The rule of a fill that reaches the low-reservoir alarm within the refill margin."""
DUE_AFTER_CHANGE = "refill_margin_change"
"""The rule of a program change between refills that brings the alarm within the margin."""
EMPTY_RISK = {
    "baclofen": (
        "baclofen stops abruptly when the reservoir runs empty, and abrupt withdrawal can be "
        "life-threatening (high fever, altered mental status, rebound spasticity, muscle "
        "rigidity, rhabdomyolysis, death: boxed warning)"
    ),
    "clonidine": (
        "clonidine stops abruptly when the reservoir runs empty: rebound hypertension and agitation"
    ),
    "opioid": (
        "{drug} stops abruptly when the reservoir runs empty: opioid withdrawal or a pain crisis"
    ),
}


@dataclass(frozen=True)
class Ahead:
    """Where a fill or a program change at `start` leaves the pump: its low-reservoir alarm
    (None: none within the horizon, or the pump stops after a single bolus) and the clinic's day
    to refill by."""

    start: datetime
    alarm_at: datetime | None
    refill_by: date

    @staticmethod
    def of_plan(plan: RefillPlan) -> Ahead:
        return Ahead(plan.fill_at, plan.alarm_at, plan.refill_by)

    @staticmethod
    def of_twin(start: datetime, twin: TwinDates) -> Ahead:
        return Ahead(start, twin.alarm_at, twin.refill_by)

    def within(self, margin_days: Decimal) -> Decimal | None:
        """The days from the start to the alarm when fewer than `margin_days` (the refill is
        due at once), else None."""
        if self.alarm_at is None:
            return None
        days = Decimal((self.alarm_at - self.start).total_seconds()) / SECONDS_A_DAY
        return days if days < margin_days else None


SECONDS_A_DAY = Decimal(86400)


def due_at_once(ahead: Ahead, fill: Fill, alarm_volume: Q, rules: DosingRules) -> Finding | None:
    """A soft warning for a fill that leaves the low-reservoir alarm within the clinic's refill
    margin (the next refill is due at once): the alarm moment and the refill-by day in the
    clinic's zone, whether an open day of the clinic lies before it, and what an empty
    reservoir means for each drug in it. None when the alarm comes after the margin."""
    days = ahead.within(rules.margin_days)
    if days is None or ahead.alarm_at is None:
        return None
    margin = Q(rules.margin_days, "day")
    return _short(
        f"this fill of {fill.volume} reaches the low-reservoir alarm ({alarm_volume}) "
        f"{Q(days, 'day')} after the fill, on "
        f"{_moment_text(ahead.alarm_at.astimezone(rules.tz), rules.locale)}, within the "
        f"clinic's refill margin of {margin}: the next refill is due at once (refill by "
        f"{_day_text(ahead.refill_by, rules.locale)}){_closed_until(ahead, rules, 'fill')}; "
        f"{_empty_risks(fill.names)[0]}. Fill more, or give the reason and book the next refill "
        "before the alarm",
        f">= {margin} from the fill to the low-reservoir alarm (the clinic's refill margin)",
        fill.names,
    )


def brought_due(
    before: Ahead, after: Ahead, names: Sequence[str], alarm_volume: Q, rules: DosingRules
) -> Finding | None:
    """A soft warning for a program change between refills that brings the low-reservoir alarm
    from beyond the clinic's refill margin of the change to within it: the refill is due at
    once. None when the alarm stays beyond the margin, or was within it already (the refill was
    due before the change: the worklist shows it so)."""
    days = after.within(rules.margin_days)
    if days is None or after.alarm_at is None or before.within(rules.margin_days) is not None:
        return None
    margin = Q(rules.margin_days, "day")
    day = max(after.refill_by, after.start.astimezone(rules.tz).date())
    was = (
        f" (from {_moment_text(before.alarm_at.astimezone(rules.tz), rules.locale)})"
        if before.alarm_at is not None
        else ""
    )
    return _short(
        f"this program change brings the low-reservoir alarm ({alarm_volume}) forward to "
        f"{_moment_text(after.alarm_at.astimezone(rules.tz), rules.locale)}{was}, "
        f"{Q(max(days, Decimal(0)), 'day')} after the change, within the clinic's refill margin "
        f"of {margin}: the next refill is due at once (refill by "
        f"{_day_text(day, rules.locale)})"
        f"{_closed_until(replace(after, refill_by=day), rules, 'change')}; "
        f"{_empty_risks(names)[0]}. Give the reason and book the refill before the alarm",
        f">= {margin} from the change to the low-reservoir alarm (the clinic's refill margin)",
        names,
        DUE_AFTER_CHANGE,
    )


def _short(message: str, limit: str, names: Sequence[str], rule: str = DUE_AT_ONCE) -> Finding:
    return Finding(
        rule,
        Verdict.WARN,
        message,
        limit,
        _empty_risks(names)[1],
        verified=False,  # the margin is a clinic setting no source gives (rule-clinic-setting)
        subject=Subject.VOLUME,
        drug=names[0],
        tier=Tier.SOFT,
    )


def _empty_risks(names: Sequence[str]) -> tuple[str, str]:
    """What an empty reservoir means for each drug, and the sources that say so."""
    risks, sources = [], [MARGIN_SOURCE]
    for name in names:
        drug = catalog.drug(name)
        words = EMPTY_RISK.get(name) or EMPTY_RISK.get(drug.drug_class)
        risks.append(
            words.format(drug=name) if words else f"{name} stops when the reservoir runs empty"
        )
        source = STOPPING_RISK.get(name) or STOPPING_RISK.get(drug.drug_class)
        if source is not None:
            sources.append(source)
    return "; ".join(risks), "; ".join(dict.fromkeys(sources))


def _closed_until(ahead: Ahead, rules: DosingRules, what: str) -> str:
    """What the clinic's calendar says of the days from the fill or change to the refill-by
    date, when no open day lies among them (empty otherwise, or when the calendar is not
    known)."""
    if rules.locale is None or ahead.alarm_at is None:
        return ""
    on = ahead.start.astimezone(rules.tz).date()
    proposal = propose_appointment(ahead.refill_by, today=on, calendar=rules.locale.calendar)
    if not proposal.overdue:
        return ""
    closed = ", ".join(
        f"{_day_text(d, rules.locale)}: {why}" for d, why in sorted(proposal.skipped)
    )
    alarm_day = ahead.alarm_at.astimezone(rules.tz).date()
    when = "after" if proposal.day > alarm_day else "on" if proposal.day == alarm_day else "before"
    return (
        f"; no open day of the clinic lies from this {what} to the refill-by date ({closed}): "
        f"the first open day, {_day_text(proposal.day, rules.locale)}, is {when} the day of the "
        "alarm"
    )


def _day_text(day: date, locale: ClinicLocale | None) -> str:
    """A day with its weekday, in the clinic's date format ("Sun 06.12.2026")."""
    written = locale.format_date(day) if locale is not None else day.isoformat()
    return f"{WEEKDAYS[day.weekday()][:3]} {written}"


def _moment_text(local: datetime, locale: ClinicLocale | None) -> str:
    """A moment on the clinic's wall clock with its weekday and zone ("Tue 08.12.2026 08:48
    CET")."""
    weekday = WEEKDAYS[local.weekday()][:3]
    if locale is not None:
        return f"{weekday} {locale.format_moment(local)}"
    return f"{weekday} {local.date().isoformat()} {local:%H:%M} {local.tzname()}"


def _check_order(state: PumpState, at: datetime, now: datetime) -> None:
    if at > now + CLOCK_TOLERANCE:
        raise Refusal(
            "performed_at",
            at.isoformat(),
            f"not in the future (now {now.isoformat(timespec='seconds')})",
            REFILL_RULES,
            "is in the future: a refill is recorded when it is done",
        )
    if state.last_fill is not None and at <= state.last_fill.at:
        raise Refusal(
            "performed_at",
            at.isoformat(),
            f"after the last refill ({state.last_fill.at.isoformat()})",
            REFILL_RULES,
            "is out of order",
        )
    if state.running is not None and at < state.running.started_at:
        raise Refusal(
            "performed_at",
            at.isoformat(),
            f"after the start of the current program ({state.running.started_at.isoformat()})",
            REFILL_RULES,
            "is out of order",
        )


PTM_COUNTS_SOURCE = (
    "rule-prescription: the patient boluses given since the last refill, as the pump reports "
    "them, are recorded at each refill (the expected residual accounts for them)"
)


def _check_ptm_counts(state: PumpState, entries: RefillEntries) -> None:
    """Counts the pump can have reported: required while patient boluses were prescribed since
    the fill, given no more than requested, nor more than each setting allowed in its own
    stretch of time since the fill."""
    counts, last = entries.ptm, state.last_fill
    assert last is not None
    stretches = [
        (per_day, max(start, last.at), min(end or entries.at, entries.at))
        for per_day, start, end in last.ptm
    ]
    if counts is None:
        if stretches:
            raise Refusal(
                "ptm_given",
                "missing",
                "the patient-bolus requests and boluses given since the last refill",
                PTM_COUNTS_SOURCE,
                "is required while patient boluses are prescribed",
            )
        return
    for name, value in (("ptm_requests", counts.requests), ("ptm_given", counts.given)):
        if value < 0:
            raise Refusal(name, str(value), ">= 0", PTM_COUNTS_SOURCE, "is negative")
    if counts.given > counts.requests:
        raise Refusal(
            "ptm_given",
            str(counts.given),
            f"<= the requests ({counts.requests})",
            PTM_COUNTS_SOURCE,
            "is more than were requested",
        )
    day = timedelta(days=1)
    allowed = [
        (per_day, -(-(end - start) // day)) for per_day, start, end in stretches if end > start
    ]
    most = sum(per_day * days for per_day, days in allowed)
    if counts.given > most:
        shown = " + ".join(f"{per_day} a day over {days} days" for per_day, days in allowed)
        raise Refusal(
            "ptm_given",
            str(counts.given),
            f"<= {most} ({shown or 'no patient boluses prescribed since the last fill'})",
            PTM_COUNTS_SOURCE,
            "is more than the prescribed patient boluses allow",
        )


def decide_refill(
    state: PumpState,
    entries: RefillEntries,
    rules: DosingRules,
    *,
    now: datetime,
    complete: bool = True,
) -> RefillDecision:
    """The refill of `entries` at `entries.at`, judged. Given only the volumes, the
    reconciliation; with the fill and dose, everything. A refill after the first needs both
    residual volumes unless it is not `complete` (a form being filled in). Bad entries (out of
    order, in the future, impossible volumes) are refused; a hard limit of the fill is `stop`."""
    _check_order(state, entries.at, now)
    last = state.last_fill
    if last is not None and entries.fill is not None and complete:
        for name, given in (("expected", entries.expected), ("aspirated", entries.aspirated)):
            if given is None:
                raise Refusal(
                    name,
                    "missing",
                    "the expected and the aspirated residual volume",
                    ASPIRATION_SOURCE,
                    "is required at every refill",
                )
    if last is not None and entries.fill is not None and complete:
        _check_ptm_counts(state, entries)
    programmed = check = twin = None
    warnings: list[Finding] = []
    if last is not None and state.history is not None:
        twin = twin_residual(state.history, entries.at, entries.ptm.given if entries.ptm else None)
    if last is not None and entries.expected is not None and entries.aspirated is not None:
        programmed, check = reconciled(state.pump, last.volume, entries.expected, entries.aspirated)
        check = with_twin(check, state.pump, twin, entries.aspirated, last.drugs)
        found = reconciliation_warning(check, [name for name, _ in last.drugs])
        if found is not None:
            warnings.append(found)
        against_twin = twin_warning(
            state.pump,
            twin,
            entries.expected,
            entries.aspirated,
            last.drugs,
            reconciliation_warned=found is not None,
        )
        if against_twin is not None:
            check = replace(check, twin=against_twin)
            warnings.append(against_twin)
    fill, dose, running = entries.fill, entries.dose, state.running
    fill = fill.named() if fill is not None and fill.drugs else fill
    phase = next_phase(entries.phase, state, fill.drugs[0][0] if fill and fill.drugs else None)
    outcome = stop = None
    drug_changed = dose_changed = drug_swapped = False
    if fill is not None and dose is not None:
        dose_changed = running is not None and dose.canonical != running.dose_mcg_per_day
        drug_changed = last is not None and fill.canonical_drugs != list(last.drugs)
        drug_swapped = last is not None and fill.names != [name for name, _ in last.drugs]
        judged = restarted(state, entries.prescription, dose, entries.at)
        try:
            rate, found_in_fill = check_fill(
                state.pump,
                fill,
                dose,
                judged.running,
                entries.at,
                entries.origin,
                rules.region,
                rules.clinic_limits,
                therapy=state.therapy,
                previous_drugs=last.drugs if last is not None else None,
                phase=phase,
                on=entries.at.astimezone(rules.tz).date(),
                basal=entries.basal,
            )
            if entries.prescription is not None:
                executed = _in_drug_units(entries.prescription)
                judge = ProgramJudge(judged, executed, entries.at, rules, phase)
                found_in_fill += judge.beyond_day_totals()
                restart = restart_findings(
                    state, entries.at, rules, executed.principal[0], executed.worst_day
                )
                found_in_fill += restart
                path = last.drugs if last is not None else None
                if fluid_change.changes(path, executed.drugs):
                    # the bridge or priming bolus runs now, from the path as it is now (a later
                    # refill of the same prescription changes no fluid and runs neither)
                    found_in_fill += fluid_change.judge(
                        state.pump,
                        state.dead_volume,
                        path,
                        executed,
                        running.rate_ml_per_day if running is not None else None,
                        region=rules.region,
                        clinic_limits=rules.clinic_limits,
                    )
            outcome = plan_fill(state, fill, dose, rate, entries.at, rules, entries.fluid_change)
            if state.history is not None and entries.prescription is not None:
                after = with_fill(
                    state.history, entries.at, fill.volume.canonical, entries.prescription
                )
                twin_after = stored_dates(after, entries.at, margin_days=rules.margin_days)
                outcome = replace(outcome, twin=twin_after)
            dose_changed = dose_changed or partner_doses_changed(fill, rate, last, running)
            short = due_at_once(outcome.ahead, fill, state.alarm_volume, rules)
        except Refusal as refused:
            stop = refused
        else:
            warnings = [*found_in_fill, *warnings, *([short] if short else [])]
    return RefillDecision(
        first_fill=last is None,
        programmed=programmed,
        reconciliation=check,
        warnings=one_per_rule(warnings),
        outcome=outcome,
        stop=stop,
        drug_changed=drug_changed,
        dose_changed=dose_changed,
        phase=phase,
        drug_swapped=drug_swapped,
        twin=twin,
    )


def titrated(
    state: PumpState, programs: Programs, rate_ml_per_day: Decimal, at: datetime, rules: DosingRules
) -> Titrated:
    """The projection after a program change at `at`: from the volume `programs` (those since
    the last fill before `at`) left, at the new rate; the drug's stability still counts from the
    fill."""
    last = state.last_fill
    assert last is not None
    left = residual_ml(last.volume.canonical, programs, at)
    if left <= state.alarm_volume.canonical:  # at the alarm already: the refill is due today
        empty_at = None
        if rate_ml_per_day > 0:
            try:
                empty_at = after_days(at, left / rate_ml_per_day)
            except OverflowError:
                empty_at = None
        return Titrated(
            of(left, "mL"), at, empty_at, at.astimezone(rules.tz).date(), LimitedBy.RESERVOIR
        )
    plan = plan_refill(
        state.pump,
        of(left, "mL"),
        of(rate_ml_per_day, "mL/day"),
        fill_at=at,
        alarm_volume=state.alarm_volume,
        margin_days=rules.margin_days,
        tz=rules.tz,
    )
    by, limited_by = plan.refill_by, plan.limited_by
    if last.limited_by is LimitedBy.STABILITY and last.refill_by < by:
        by, limited_by = last.refill_by, LimitedBy.STABILITY
    return Titrated(of(left, "mL"), plan.alarm_at, plan.empty_at, by, limited_by)


def decide_program_change(
    state: PumpState,
    dose: Q,
    at: datetime,
    origin: str | None,
    rules: DosingRules,
    phase: Phase | None = None,
    basal: bool = True,
    prescription: Prescription | None = None,
) -> ProgramDecision:
    """A new daily dose from `at` for the drugs in the pump, judged as a refill's program is (the
    label's titration step, hours since the last change, the device's range), and where it
    leaves the pump; a change that brings the low-reservoir alarm forward to within the refill
    margin warns (brought_due), judged on the pump's twin running `prescription` when the
    state carries the history, else on the constant-rate projection. A pump with no fill or no
    running program has nothing to change."""
    last, running = state.last_fill, state.running
    if last is None or running is None:
        raise Refusal(
            "implant",
            "not filled",
            "a filled pump with a running program",
            PROGRAM_RULES,
            "has no program to change",
        )
    if at <= running.started_at:
        raise Refusal(
            "now",
            at.isoformat(),
            f"after the running program's start ({running.started_at.isoformat()})",
            PROGRAM_RULES,
            "is out of order",
        )
    judged_phase = next_phase(phase, state, None)
    cut = bolus_cut(state, at, rules)
    if prescription is not None and prescription.program.kind is ProgramKind.STOPPED:
        stopped = _decide_stop(state, at, rules, prescription, judged_phase)
        return replace(stopped, warnings=(*stopped.warnings, *cut))
    judged = restarted(state, prescription, dose, at)
    try:
        drugs = tuple((name, concentration_in_drug_unit(name, c)) for name, c in last.drugs)
        rate, warnings = check_fill(
            state.pump,
            Fill(drugs, last.volume, ""),
            dose,
            judged.running,
            at,
            origin,
            rules.region,
            rules.clinic_limits,
            therapy=state.therapy,
            previous_drugs=last.drugs,
            phase=judged_phase,
            on=at.astimezone(rules.tz).date(),
            basal=basal,
        )
        if prescription is not None:
            judge = ProgramJudge(judged, _in_drug_units(prescription), at, rules, judged_phase)
            warnings += judge.beyond_day_totals()
        single = prescription is not None and prescription.program.bolus is not None
        worst = prescription.worst_day if prescription is not None else dose
        warnings += restart_findings(state, at, rules, last.drugs[0][0], worst, single) + cut
        if single and prescription is not None:
            check_bolus_day(state, _in_drug_units(prescription), at, rules.region)
        if single and prescription is not None and state.stopped_at(at) is None:
            warnings += stops_after_bolus(prescription)
        projection = titrated(state, last.programs, rate, at, rules)
        if state.history is not None and prescription is not None:
            before = Ahead.of_twin(
                at, stored_dates(state.history, at, margin_days=rules.margin_days)
            )
            changed = with_program(state.history, at, prescription)
            twin = stored_dates(changed, at, margin_days=rules.margin_days)
            after = Ahead.of_twin(at, twin)
        else:
            twin = None
            kept = titrated(state, last.programs, running.rate_ml_per_day, at, rules)
            before = Ahead(at, kept.alarm_at, kept.refill_by)
            after = Ahead(at, projection.alarm_at, projection.refill_by)
        names = [name for name, _ in last.drugs]
        short = brought_due(before, after, names, state.alarm_volume, rules)
    except Refusal as stop:
        return ProgramDecision(None, None, (), stop)
    found = one_per_rule([*warnings, *([short] if short else [])])
    return ProgramDecision(rate, projection, found, None, judged_phase, twin)


def _decide_stop(
    state: PumpState, at: datetime, rules: DosingRules, prescription: Prescription, phase: Phase
) -> ProgramDecision:
    """The pump stopped from `at` (the device's "stopped pump" mode): no dose or rate limit
    applies, the drugs' withdrawal and the pump's long-stop warnings do (core.withdrawal); it
    holds what is left, dated only by its drugs' stability (or the interval for a fluid held in a
    stopped pump)."""
    last = state.last_fill
    assert last is not None
    named = replace(prescription, drugs=named_drugs(prescription.drugs))
    already = state.stopped_at(at) is not None
    warnings = one_per_rule(stopped_pump_findings(state.pump, named, already))
    left, refill_by, limited_by = (
        residual_ml(last.volume.canonical, last.programs, at),
        last.refill_by,
        last.limited_by,
    )
    twin = None
    if state.history is not None:
        changed = with_program(state.history, at, prescription)
        twin = stored_dates(changed, at, margin_days=rules.margin_days)
        left, refill_by, limited_by = twin.residual_ml, twin.refill_by, twin.limited_by
    stopped = Titrated(of(left, "mL"), None, None, refill_by, limited_by)
    return ProgramDecision(Decimal(0), stopped, warnings, None, phase, twin)


BOLUS_CUT = "ends_single_bolus"
BOLUS_CUT_SOURCE = (
    "rule-conservative-default: a program the pump is given ends the single bolus it is running "
    "at once; a bolus cut short is easily taken for one given whole (a test dose judged a "
    "non-response)"
)


def bolus_cut(state: PumpState, at: datetime, rules: DosingRules) -> list[Finding]:
    """A program given while the single bolus in force still runs ends it early (soft: wait
    until it ends, or the reason), naming how much of it has been given."""
    if state.single_bolus is None:
        return []
    started, bolus = state.single_bolus
    ends = bolus.ends_at(started)
    if at >= ends:
        return []
    elapsed = int((at - started).total_seconds())
    name = state.last_fill.drugs[0][0] if state.last_fill is not None else ""
    unit = catalog.drug(name).dose_unit if name else "mcg"
    part = bolus.dose.canonical * elapsed / bolus.duration_s
    given = in_unit(of(Decimal(f"{part:.3g}"), "mcg"), unit)  # "about": 3 significant digits
    return [
        Finding(
            BOLUS_CUT,
            Verdict.WARN,
            f"the single bolus of {in_unit(bolus.dose, unit)} runs until "
            f"{_moment_text(ends.astimezone(rules.tz), rules.locale)}: programming now ends it "
            f"after {stopped_words(elapsed)} of {duration_words(bolus.duration_s)}, with about "
            f"{given} given; wait until it ends, or give the reason",
            "a program given once the single bolus has ended",
            BOLUS_CUT_SOURCE,
            verified=False,
            subject=Subject.DOSE,
            drug=name,
            tier=Tier.SOFT,
        )
    ]


RESTART_SOURCE = (
    "rule-conservative-default: tolerance to an intrathecal opioid or baclofen falls while the "
    "pump gives none, and no source in docs/sources.md says how fast; every restart after a stop "
    "asks for the physician's reason"
)


def restarted(
    state: PumpState, prescription: Prescription | None, dose: Q, at: datetime
) -> PumpState:
    """The pump as a restart after a stop is judged (the same drug): from the program before
    the stop where the restart gives more (its day, each stretch of its week, the worst day with
    its patient boluses: steps), from the restart itself where it gives less (never a cut: the
    pump gives nothing now). A pump that runs: as it is."""
    running, last = state.running, state.last_fill
    if state.stopped_at(at) is None or running is None or last is None:
        return state
    if prescription is not None and prescription.principal[0] != last.drugs[0][0]:
        return state
    day = min(dose.canonical, running.dose_mcg_per_day)
    before = running.program or PrescribedProgram.continuous(
        of(running.dose_mcg_per_day, "mcg/day")
    )
    program = before if prescription is None else lowest(before, prescription.program)
    worst = prescription.worst_day.canonical if prescription is not None else dose.canonical
    reference = replace(
        running,
        dose_mcg_per_day=day,
        rate_ml_per_day=day / last.drugs[0][1],
        program=program,
        raised_at=None,
        worst_day_mcg_per_day=min(running.worst_day, worst),
    )
    return replace(state, running=reference)


def restart_findings(
    state: PumpState, at: datetime, rules: DosingRules, drug: str, dose: Q, bolus: bool = False
) -> list[Finding]:
    """A restart with `drug` whose worst day (its largest day with every allowed patient bolus)
    is `dose`, after a stop (soft, a reason each): tolerance may have
    fallen while the pump gave nothing, so the dose before the stop may now be too much; after a
    stop longer than the drug's `restart_as_start_after`, a restart above its start dose; and,
    for a pump whose labeling names it, the overinfusion a stop longer than its limit risks once
    it runs. A single `bolus` on the stopped pump is worded as one, not as a restart."""
    since, running, last = state.stopped_at(at), state.running, state.last_fill
    if since is None or running is None or last is None:
        return []
    seconds = int((at - since).total_seconds())
    span = stopped_words(seconds)
    name = last.drugs[0][0]
    before = in_unit(of(running.dose_mcg_per_day, "mcg/day"), catalog.drug(name).dose_rate_unit)
    moment = _moment_text(since.astimezone(rules.tz), rules.locale)
    stopped = f"the pump has given no basal dose for {span} (since {moment})"
    if bolus:
        restart = (
            f"{stopped} and gives a single bolus of {drug}: tolerance to {name} may have fallen "
            "while it gave none, so a bolus sized on the dose before the stop "
            f"({before}) may now be too much; give it low, and watch the patient"
        )
    elif drug == name:
        restart = (
            f"{stopped} and restarts: tolerance to {name} may have fallen while it gave none, so "
            f"the dose before the stop ({before}) may now be too much; restart low and titrate, "
            "and watch the patient"
        )
    else:
        restart = (
            f"{stopped} and restarts with {drug} in place of {name} ({before} before the stop): "
            f"tolerance built on {name} may have fallen while it gave none; start {drug} low "
            "and titrate, and watch the patient"
        )
    found = [
        Finding(
            "restart_after_stop",
            Verdict.WARN,
            restart,
            "a restart dose chosen for the time stopped, with the reason",
            RESTART_SOURCE,
            verified=False,
            subject=Subject.DOSE,
            drug=drug,
            tier=Tier.SOFT,
        )
    ]
    if drug == name:
        found += _restart_above_start(state, seconds, span, drug, dose)
    stall = overinfusion_limit_passed(state.pump, seconds)
    if stall is not None:
        most = duration_words(int(stall.value.canonical))
        found.append(
            Finding(
                "restart_after_long_stop",
                Verdict.WARN,
                f"the {state.pump.name} has been stopped for {span}, more than {most}: a risk "
                "factor for overinfusion now it runs again; watch for an overdose and check the "
                "next refill's residual against the pump's twin",
                f"a stop of at most {most}, or a reason",
                stall.source,
                verified=stall.verified,
                subject=Subject.DELIVERY,
                tier=Tier.SOFT,
            )
        )
    return found


def _restart_above_start(
    state: PumpState, seconds: int, span: str, name: str, dose: Q
) -> list[Finding]:
    """A restart after a stop longer than the drug's `restart_as_start_after`, above its start
    dose: judged as a new start would be, soft (the physician may restart higher, with the
    reason), whatever the start dose's own tier."""
    drug = catalog.drug(name)
    after = drug.restart_as_start_after
    if after is None or seconds <= after.value.canonical:
        return []
    patient = state.therapy.patient
    status = patient.opioid_status if patient is not None else OpioidStatus.UNKNOWN
    above = [
        f
        for f in checks.check_start_dose(drug, dose, status)
        if f.rule == "max_start_dose" and f.verdict is not Verdict.OK
    ]
    days = stopped_words(int(after.value.canonical))
    return [
        Finding(
            "restart_above_start_dose",
            Verdict.WARN,
            f"the pump has given no basal dose for {span}, more than {days}: tolerance may be "
            f"lost, so the restart is judged as a new start: {f.message}; restart at a start "
            "dose and titrate, or give the reason",
            f.limit,
            f"{f.source}; {after.source}",
            verified=f.verified and after.verified,
            subject=Subject.DOSE,
            drug=name,
            tier=Tier.SOFT,
        )
        for f in above
    ]


# What a prescription's day totals do not show, judged at signing (core.prescription_decision)
# and again at the refill or programming that executes it (decide_refill, decide_program_change).

PATIENT_BOLUS = "a patient bolus"


class ProgramJudge:
    """A prescription for the pump of `state`, judged at `at` by the limits in force then (the
    drug library's and the clinic's in `rules`), at one dose as if the pump ran another before."""

    def __init__(
        self,
        state: PumpState,
        prescription: Prescription,
        at: datetime,
        rules: DosingRules,
        phase: Phase,
    ) -> None:
        self.state, self.at, self.rules, self.phase = state, at, rules, phase
        self.prescription = replace(prescription, drugs=named_drugs(prescription.drugs))

    def beyond_day_totals(self) -> list[Finding]:
        """Where the prescription goes beyond its day totals, as signing judges it: the stretches
        of its week, its highest step and each patient bolus. A refill or a programming that
        executes the prescription judges these again, so a limit hardened since signing (a
        clinic's largest single decrease or single bolus) stops it as it would stop a new one;
        a hard limit broken is raised naming the step or the patient bolus; the worst day with
        every patient bolus after each bolus, so a slip of a bolus is named at the bolus, not at
        its count."""
        return [
            *self.stretches(),
            *self.highest_step(),
            *self.patient_boluses(),
            *self.worst_day(),
        ]

    def dose(
        self,
        dose: Q,
        running: RunningProgram | None,
        field: str | None,
        increased_at: datetime | None = None,
        where: str | None = None,
    ) -> tuple[Decimal, list[Finding]]:
        """The rate and warnings of `dose` (check_drugs); a refusal names `field`, each warning
        begins with `where` (the step or day it judges), so the findings of one rule tell
        apart."""
        last = self.state.last_fill
        try:
            rate, found = check_drugs(
                self.state.pump,
                self.prescription.drugs,
                dose,
                running,
                self.at,
                None,
                self.rules.region,
                self.rules.clinic_limits,
                therapy=self.state.therapy,
                previous_drugs=last.drugs if last is not None else None,
                phase=self.phase,
                on=self.at.astimezone(self.rules.tz).date(),
                increased_at=increased_at,
                basal=self.prescription.program.bolus is None,
            )
        except Refusal as stop:
            raise stop if field is None else replace(stop, field=field) from None
        return rate, [_labelled(f, where) for f in found] if where else found

    def _as_running(self, dose: Decimal) -> RunningProgram | None:
        """The running program as if it gave `dose` of its principal drug (its rate to match)."""
        running, last = self.state.running, self.state.last_fill
        if running is None or last is None:
            return None
        return replace(running, dose_mcg_per_day=dose, rate_ml_per_day=dose / last.drugs[0][1])

    def stretches(self) -> list[Finding]:
        """The stretches of the week judged as steps where they go beyond the day totals' (a step
        up at night, a block across midnight): the largest rise and fall by ratio and the largest
        rise in dose, each from the running rate then, with the running program's start as the
        last increase when it raised a step or the worst day. A first fill or a new drug: the
        highest step judged as the start dose. The program's steps cannot titrate faster than its
        days."""
        running, last = self.state.running, self.state.last_fill
        program = self.prescription.program
        if program.bolus is not None:  # no basal: the bolus is judged as its day's dose
            return []
        if running is None or last is None or last.drugs[0][0] != self.prescription.principal[0]:
            highest = program.highest_step
            if highest.canonical <= self.prescription.daily_dose.canonical:
                return []
            weekday, index, step = highest_step_of(program)
            field = f"program.days.{weekday}[{index}].dose"
            where = f"the highest step, {weekday} from {step.start}"
            return self.dose(highest, running, field, where=where)[1]
        before = running.program or PrescribedProgram.continuous(
            of(running.dose_mcg_per_day, "mcg/day")
        )
        daily_new = self.prescription.daily_dose.canonical
        daily = daily_new / running.dose_mcg_per_day
        rise = daily_new - running.dose_mcg_per_day
        stretches = [m for m in moments(before, program) if m[2].canonical > 0]
        picked = {
            max(stretches, key=lambda m: m[3].canonical / m[2].canonical),
            min(stretches, key=lambda m: m[3].canonical / m[2].canonical),
            max(stretches, key=lambda m: m[3].canonical - m[2].canonical),
        }
        found: list[Finding] = []
        for weekday, start, old, new in sorted(
            picked, key=lambda m: (PROGRAM_WEEKDAYS.index(m[0]), m[1])
        ):
            ratio = new.canonical / old.canonical
            beyond = ratio > daily or ratio < daily or new.canonical - old.canonical > rise
            if not beyond or ratio == 1:
                continue
            day = program.days[PROGRAM_WEEKDAYS.index(weekday)]
            index = max(i for i, step in enumerate(day) if step.start_s <= start)
            field = f"program.days.{weekday}[{index}].dose"
            as_running = self._as_running(old.canonical)
            where = f"{weekday} from {Step(start, new).start}"
            found += self.dose(new, as_running, field, running.raised_at, where)[1]
        return found

    def highest_step(self) -> list[Finding]:
        """The highest step (a rate held for part of a day), judged as a day's dose against the
        drug library's limits (and the clinic's) for every drug."""
        prescription, rules = self.prescription, self.rules
        highest = prescription.program.highest_step
        if highest.canonical <= prescription.daily_dose.canonical:
            return []
        found: list[Finding] = []
        admixture = len(prescription.drugs) > 1
        rate = prescription.rate_ml_per_day(highest)
        weekday, _, step = highest_step_of(prescription.program)
        for name, conc in prescription.drugs:
            drug_dose = of(dose_mcg_per_day(rate, conc.canonical), "mcg/day")
            decision = checks.check(
                name,
                conc,
                drug_dose,
                origin=self.state.therapy.origin,
                region=rules.region,
                extra_limits=rules.clinic_limits,
            )
            for finding in decision.findings:
                if finding.verdict is Verdict.STOP:
                    raise finding.refusal(
                        "program.highest_step",
                        f"{name} {in_unit(drug_dose, catalog.drug(name).dose_rate_unit)}",
                    )
                if finding.verdict is Verdict.WARN and finding.subject is not Subject.CONCENTRATION:
                    labelled = _labelled(finding, f"the highest step, {weekday} from {step.start}")
                    found.append(labelled.in_admixture() if admixture else labelled)
        return found

    def patient_boluses(self) -> list[Finding]:
        """Each patient bolus judged as a single bolus is, for every drug of the fluid (a
        partner's share: the bolus volume times its concentration): above the drug's largest
        single bolus it warns (soft), above its day's ceiling it is refused (hard), above the
        clinic's own largest single bolus it stops or warns by that limit's tier; the principal's
        bolus ten times the running patient bolus of that drug or a tenth of it is refused as a
        slip (hard). No drug has a usual per-bolus range, so from below a bolus is judged only
        against the basal day (core.prescription_decision)."""
        prescription, rules = self.prescription, self.rules
        ptm = prescription.ptm
        if ptm is None:
            return []
        volume = ptm.dose.canonical / prescription.principal[1].canonical
        before = _ptm_before(self.state, prescription.principal[0])
        admixture = len(prescription.drugs) > 1
        found: list[Finding] = []
        for index, (name, conc) in enumerate(prescription.drugs):
            drug = catalog.drug(name)
            share = ptm.dose if index == 0 else of(volume * conc.canonical, "mcg")
            amount = share.to(drug.dose_unit)
            shown = str(amount) if index or share.unit == amount.unit else f"{share} (= {amount})"
            judged = []
            if index == 0 and before is not None:
                judged.append(checks.check_bolus_step(drug, share, before, PATIENT_BOLUS))
            judged += checks.check_single_bolus(
                drug, share, rules.region, PATIENT_BOLUS, rules.clinic_limits
            )
            for finding in judged:
                if finding.verdict is Verdict.STOP:
                    raise finding.refusal(
                        "ptm.dose",
                        f"{name} {conc.to(drug.concentration_unit)}: {PATIENT_BOLUS} of {shown}",
                    )
                if finding.verdict is Verdict.WARN:
                    warning = finding.about(Subject.DOSE, name)
                    found.append(warning.in_admixture() if admixture else warning)
        return found

    def worst_day(self) -> list[Finding]:
        """The worst day with every allowed patient bolus, judged through every check (start
        dose, step from the running worst day, maxima) as the day's dose."""
        if self.prescription.ptm is None:
            return []
        running = self.state.running
        previous = None
        if running is not None:
            previous = self._as_running(running.worst_day)
        raised = running.raised_at if running is not None else None
        worst = self.prescription.worst_day
        where = "the worst day with every patient bolus"
        return self.dose(worst, previous, "ptm.max_per_day", raised, where)[1]


def _in_drug_units(prescription: Prescription) -> Prescription:
    """The prescription a refill or a programming executes, worded in each drug's own units as
    stored values are (its concentrations, the principal's steps and boluses): nobody typed it
    there, so no unit typed leads a message ("0.35 mg", never "350 mcg (= 0.35 mg)")."""
    drugs = named_drugs(prescription.drugs)
    principal = catalog.drug(drugs[0][0])
    program, bolus, ptm = prescription.program, prescription.program.bolus, prescription.ptm

    def mass(dose: Q) -> Q:
        return of(dose.canonical, principal.dose_unit)

    days = tuple(
        tuple(replace(step, dose=of(step.dose.canonical, principal.dose_rate_unit)) for step in day)
        for day in program.days
    )
    return replace(
        prescription,
        drugs=tuple((name, concentration_in_drug_unit(name, c.canonical)) for name, c in drugs),
        program=replace(
            program,
            days=days,
            bolus=None if bolus is None else replace(bolus, dose=mass(bolus.dose)),
        ),
        ptm=None if ptm is None else replace(ptm, dose=mass(ptm.dose)),
    )


def _labelled(finding: Finding, where: str) -> Finding:
    """`finding` led by the step or day it judges; a concentration's is the order's, whatever
    step or day judged it (a concentration is no day's total)."""
    if finding.subject is Subject.CONCENTRATION:
        where = "the concentration of the order"
    return replace(finding, message=f"{where}: {finding.message}")


def highest_step_of(program: PrescribedProgram) -> tuple[str, int, Step]:
    """The first step that gives the program's highest rate: (weekday, index, step)."""
    return next(s for s in program.steps() if s[2].dose == program.highest_step)


def running_of(state: PumpState, principal: str) -> RunningProgram | None:
    """The running program when it gives `principal` as its principal drug too."""
    running, last = state.running, state.last_fill
    if running is None or last is None or last.drugs[0][0] != principal:
        return None
    return running


def _ptm_before(state: PumpState, principal: str) -> Q | None:
    """The patient bolus the running program gives of `principal` (None: none, or of another
    drug)."""
    running = running_of(state, principal)
    return running.ptm.dose if running is not None and running.ptm is not None else None
