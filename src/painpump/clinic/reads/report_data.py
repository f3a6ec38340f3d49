"""What the printable reports show, gathered as plain values: the session report of one refill,
the session report of one programming of the pump with a prescription (each with what became of
its dates: the programmings of the pump since and the pump's dates and next visit as stored now)
and the clinician summary of a patient. Each is an audited read (role patient.read, one audit
entry in the read's transaction); every number is a stored record or computed by painpump.core
(the reconciliation's thresholds, the bridge's duration), printed with its unit. Each carries the
clinic's locale, so the report prints every moment on the clinic's wall clock and every date in
its format; days taken from a moment (a pathway step, a closing, an assessment against the
implant day) are the clinic's calendar days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import NotFound, get_or_not_found
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import (
    AlarmReport,
    Assessment,
    Episode,
    Implant,
    Incident,
    PathwayEvent,
    Patient,
    Prescription,
    Program,
    Refill,
)
from painpump.clinic.reads import drug_units, prescriptions
from painpump.clinic.reads.next_refill import NextRefill, next_refill
from painpump.clinic.reads.overrides_given import program_overrides, refill_overrides
from painpump.clinic.reads.prescription_history import (
    DAILY_DOSE,
    WEEKLY_AVERAGE,
    WORST_DAY,
    Change,
    RefusedAccept,
    changes,
    refused_accepts,
    shown_settings,
)
from painpump.clinic.reads.programmed_by import ProgrammedBy
from painpump.clinic.reads.pump_history import Expected
from painpump.clinic.reads.pump_record import (
    DrugLine,
    Pump,
    delivery_error,
    drugs_at,
    fill_drugs,
    finding_words,
    implanted_pump,
)
from painpump.clinic.reads.refill_record import priming_of, twin_expected
from painpump.clinic.roles import require
from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.decision import Finding
from painpump.core.dose_history import Phase
from painpump.core.dosing import dose_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.fluid_change import Priming
from painpump.core.locale import ClinicLocale
from painpump.core.outcomes import ashworth_label
from painpump.core.overrides import GivenOverride
from painpump.core.prescription import BolusDelivery, BolusRun, ProgramKind
from painpump.core.refill import DeliveryFinding, LimitedBy
from painpump.core.refill_decision import PtmCounts, reconciled
from painpump.core.units import Q, format_decimal, of
from painpump.core.volumes import bridge

MODE = "continuous"
"""The only program mode the clinic records (clinic.models.Program: a continuous program)."""

RECENT_PROGRAMS = 30
RECENT_REFILLS = 30
RECENT_ALARMS = 20
RECENT_ASSESSMENTS = 60
"""A summary lists at most this many of the newest entries of each kind and states the total."""

T = TypeVar("T")


@dataclass(frozen=True)
class Recent(Generic[T]):
    """The newest entries of a list (oldest first) and how many the record holds in all."""

    items: tuple[T, ...]
    total: int

    @property
    def bounded(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class PatientIdentity:
    id: UUID
    name: str
    mrn: str
    birth_date: date
    archived: bool


@dataclass(frozen=True)
class ProgramLine:
    """A prescribed program: daily dose of the principal drug, the rate delivering it, the mode
    (its kind in words) and the drugs in the pump while it ran; a single bolus as its bolus (its
    daily dose and rate are nothing)."""

    dose: Q
    rate: Q
    mode: str
    drugs: tuple[DrugLine, ...]
    started_at: datetime
    ended_at: datetime | None
    programmed_by: ProgrammedBy
    pump_serial: str
    overrides: tuple[GivenOverride, ...] = ()
    """The soft limits a titration passed, each with its reason and who gave it, when and where;
    a refill's program has them on the refill."""
    bolus: BolusDelivery | None = None
    """A single bolus's dose, volume and rate (None for a basal program)."""
    bolus_run: BolusRun | None = None
    """That single bolus running until its end, or the pump stopped since, at the printing."""

    @property
    def principal(self) -> str:
        return self.drugs[0].drug if self.drugs else ""


@dataclass(frozen=True)
class ReconciliationLine:
    """The aspirated residual against the pump's expected one, the verdict and its thresholds
    (the pump's labelled accuracy and, where the catalog gives one, the pocket-fill limit)."""

    expected: Q
    aspirated: Q
    difference: Q
    programmed_since_fill: Q | None
    delivery_error: str
    finding: DeliveryFinding
    reason: str
    accuracy: str
    accuracy_source: str
    accuracy_verified: bool
    pocket_fill_limit: Q | None
    pocket_fill_source: str
    consequential: bool | None
    twin: Expected | None = None
    """What the pump's twin expected, as stored with the refill (None: no history)."""


@dataclass(frozen=True)
class WarningLine:
    """A warning shown at the refill with its message, limit, source and tier ("hard", "soft",
    or "" when the engine gave none), and the override that passed it: the reason given for it,
    by whom, when and where (the prescriber at prescribing, or at the refill; None when none was
    recorded)."""

    rule: str
    message: str
    limit: str
    source: str
    verified: bool
    tier: str
    override: GivenOverride | None


@dataclass(frozen=True)
class BridgeLine:
    """The old drug left in the dead volume delivered at the old-concentration rate, then the
    new program's rate (duration from painpump.core.volumes.bridge)."""

    volume: Q
    rate: Q
    duration: Q | None
    then_rate: Q


@dataclass(frozen=True)
class Reprogramming:
    """A programming of the pump after a session's: when, whether a refill made it, and the
    number of the prescription it executed (None: recorded before prescriptions)."""

    at: datetime
    at_refill: bool
    prescription: int | None


@dataclass(frozen=True)
class DatesSince:
    """What became of a session's dates: the programmings of the pump since (the first replaced
    them, the newest gave the dates stored now) and the pump's dates and next refill visit as
    stored now, the ones the dashboard and chart show (clinic.reads.next_refill; None once the
    pump is explanted)."""

    replaced_by: Reprogramming | None
    newest: Reprogramming | None
    programmings: int
    """How many programmings of the pump followed the session's."""
    pump: NextRefill | None
    moved: bool
    """No programming since, yet the pump's stored dates are not the session's (dated again
    after a change of the clinic's refill margin, time zone or drug library)."""


@dataclass(frozen=True)
class CheckedVersion:
    """A prescription for the pump in a session's double-check history other than the one the
    session executed (the rule: `_double_check_history`): who signed it and why, who rejected it,
    when and with what comment for the prescriber (rejected_by "" when it was not rejected; its
    status then), and each accept refused at its double-check because entries differed."""

    number: int
    prescribed_by: str
    prescribed_at: datetime
    reason: str
    rejected_by: str
    rejected_at: datetime | None
    comment: str
    refused: tuple[RefusedAccept, ...]
    signed_after: bool
    """Signed after the prescription executed: not executed by the session."""
    status: str
    """Its status now, in words (clinic.models.Prescription.Status)."""
    principal: str | None
    """Its principal drug, whose unit the entries refused are printed in."""


@dataclass(frozen=True)
class RefillSession:
    """Everything the refill/programming session report prints about one refill."""

    refill_id: UUID
    printed_at: datetime
    locale: ClinicLocale
    patient: PatientIdentity
    device: Pump
    first_fill: bool
    performed_at: datetime
    performed_by: str
    reconciliation: ReconciliationLine | None
    drugs: tuple[DrugLine, ...]
    volume: Q
    lot: str
    before: ProgramLine | None
    after: ProgramLine
    bridge: BridgeLine | None
    priming: Priming | None
    warnings: tuple[WarningLine, ...]
    overrides_without_record: tuple[GivenOverride, ...]
    """Overrides of rules with no stored warning (a refill recorded before warnings were kept)."""
    needs_verification: bool
    verified_by: str
    verified_at: datetime | None
    alarm_at: datetime
    empty_at: datetime
    refill_by: date
    limited_by: LimitedBy
    since: DatesSince
    history: tuple[CheckedVersion, ...]
    """The other versions of the session's double-check history, oldest first."""
    refused: tuple[RefusedAccept, ...]
    """The accepts refused at the double-check of the prescription executed, oldest first."""
    last_fill_at: datetime | None
    """The fill before this refill (None: a first fill)."""
    ptm: PtmCounts | None
    """The patient-bolus requests and boluses given since the last fill, as the pump reported
    them at this refill (None: no patient bolus was prescribed since)."""
    double_checked_by: str = ""
    """The second clinician who double-checked the prescription executed before any pump was
    programmed with it ("" when it needed none, or for a refill recorded before prescriptions)."""
    double_checked_at: datetime | None = None

    @property
    def awaiting_verification(self) -> bool:
        return self.needs_verification and not self.verified_by


@dataclass(frozen=True)
class ProgrammingSession:
    """Everything the programming session report prints about one programming of the pump with
    a prescription (between refills; a refill's also has its refill's session report)."""

    program_id: UUID
    printed_at: datetime
    locale: ClinicLocale
    patient: PatientIdentity
    device: Pump
    programmed_at: datetime
    programmed_by: str
    refill_id: UUID | None
    """The refill that programmed the pump (None: programmed between refills)."""
    before: ProgramLine | None
    after: ProgramLine
    phase: Phase
    replaced: int | None
    """The number of the prescription the pump ran before (None: none on record)."""
    changes: tuple[Change, ...]
    """Each setting of the prescription executed (with the doses core derives next to the largest
    day) that differs from the one it replaced."""
    history: tuple[CheckedVersion, ...]
    """The other versions of the session's double-check history, oldest first."""
    refused: tuple[RefusedAccept, ...]
    """The accepts refused at the double-check of the prescription executed because entries
    differed, oldest first."""
    warnings: tuple[WarningLine, ...]
    overrides_without_record: tuple[GivenOverride, ...]
    alarm_at: datetime | None
    empty_at: datetime | None
    refill_by: date | None
    limited_by: LimitedBy | None
    since: DatesSince


@dataclass(frozen=True)
class PathwayDate:
    """A dated step of an episode's pathway."""

    on: date
    step: str
    recorded_by: str


@dataclass(frozen=True)
class EpisodeLine:
    indication: str
    stage: str
    referred_on: date
    outcome: str
    closed_on: date | None
    closed_reason: str
    dates: tuple[PathwayDate, ...]


@dataclass(frozen=True)
class RefillLine:
    """One refill as the summary's table lists it (reconciliation from the stored values)."""

    performed_at: datetime
    performed_by: str
    drugs: tuple[DrugLine, ...]
    volume: Q
    lot: str
    expected: Q | None
    aspirated: Q | None
    difference: Q | None
    delivery_error: str
    finding: str
    needs_verification: bool
    verified_by: str
    verified_at: datetime | None
    refill_by: date
    overrides: tuple[GivenOverride, ...] = ()
    """The soft limits the refill passed, each with its reason and who gave it, when and
    where."""


@dataclass(frozen=True)
class AlarmLine:
    kind: str
    reported_at: datetime
    recorded_by: str
    note: str
    acknowledged_by: str
    acknowledged_at: datetime | None
    action_taken: str


@dataclass(frozen=True)
class OutcomePoint:
    taken_at: datetime
    value: Decimal
    shown: str


@dataclass(frozen=True)
class OutcomeSeries:
    """One measure over time (a kind, and for Ashworth a limb): the value before the implant
    (the reason for the pump), the latest, and the newest points for the chart."""

    kind: str
    label: str
    limb: str
    unit: str
    before: OutcomePoint | None
    now: OutcomePoint | None
    points: Recent[OutcomePoint]

    @property
    def limb_words(self) -> str:
        """The limb as words ("left leg"), or "" for a measure of the whole patient."""
        return self.limb.replace("_", " ")


@dataclass(frozen=True)
class IncidentLine:
    """An incident open on the patient's record: its kind in words, who opened it, when, and
    what it says."""

    kind: str
    opened_at: datetime
    opened_by: str
    summary: str


@dataclass(frozen=True)
class PatientSummary:
    """Everything the clinician summary prints about one patient."""

    printed_at: datetime
    locale: ClinicLocale
    patient: PatientIdentity
    episodes: tuple[EpisodeLine, ...]
    devices: tuple[Pump, ...]
    current: ProgramLine | None
    programs: Recent[ProgramLine]
    refills: Recent[RefillLine]
    alarms: Recent[AlarmLine]
    open_alarms: int
    outcomes: tuple[OutcomeSeries, ...]
    next_refill: NextRefill | None = None
    incidents: tuple[IncidentLine, ...] = ()
    """The incidents open on the patient's record, newest first."""


def _identity(patient: Patient) -> PatientIdentity:
    return PatientIdentity(
        patient.id,
        f"{patient.family_name}, {patient.given_name}",
        patient.mrn,
        patient.birth_date,
        patient.archived_at is not None,
    )


def _program(
    program: Program,
    drugs: tuple[DrugLine, ...],
    serial: str,
    *,
    at_refill: bool,
    now: datetime,
) -> ProgramLine:
    """The program as printed; a single bolus as its bolus drawn from the principal drug (when
    a fill is on record) and as it stands at `now`, with no daily dose or rate."""
    single = prescriptions.single_bolus_of(program)
    dose = Decimal(0) if single else program.dose_mcg_per_day
    return ProgramLine(
        dose=dose_in_drug_unit(drugs[0].drug, dose) if drugs else of(dose, "mcg/day"),
        rate=of(Decimal(0) if single else program.rate_ml_per_day, "mL/day"),
        mode=_mode(program),
        bolus=single.delivery(drugs[0].drug, drugs[0].concentration.canonical)
        if single and drugs
        else None,
        bolus_run=single.run(program.started_at, now) if single else None,
        drugs=drugs,
        started_at=program.started_at,
        ended_at=program.ended_at,
        programmed_by=ProgrammedBy(program.programmed_by or program.prescribed_by, at_refill),
        pump_serial=serial,
        overrides=program_overrides(program),
    )


def _mode(program: Program) -> str:
    """ "continuous", "single bolus" or "flex: <steps>" (the kind in words, never its stored
    name), with the patient boluses when prescribed."""
    if program.prescription is None:
        return MODE
    prescribed = prescriptions.as_core(program.prescription)
    principal = prescribed.principal[0]
    mode = prescribed.program.kind.label
    if prescribed.program.kind is ProgramKind.FLEX:
        mode += f": {drug_units.program(principal, prescribed.program)}"
    if prescribed.ptm is not None:
        mode += f"; patient bolus {drug_units.patient_bolus(principal, prescribed.ptm)}"
    return mode


def _reconciliation(refill: Refill, previous: Refill | None) -> ReconciliationLine | None:
    """The stored reconciliation, with the verdict's reason and thresholds recomputed by core
    from the same stored volumes the refill was checked with (None for a first fill)."""
    if (
        refill.expected_ml is None
        or refill.aspirated_ml is None
        or refill.difference_ml is None
        or previous is None
    ):
        return None
    expected, aspirated = of(refill.expected_ml, "mL"), of(refill.aspirated_ml, "mL")
    pump = catalog.pump(refill.implant.pump_model, "pump_model")
    difference = of(refill.difference_ml, "mL")
    error = delivery_error(refill)
    try:
        programmed, check = reconciled(pump, of(previous.volume_ml, "mL"), expected, aspirated)
    except Refusal as refusal:  # the device catalog no longer accepts the stored volumes
        return ReconciliationLine(
            expected=expected,
            aspirated=aspirated,
            difference=difference,
            programmed_since_fill=None,
            delivery_error=error,
            finding=DeliveryFinding(refill.finding),
            reason=f"{refill.finding} as recorded; the reason cannot be recomputed from the "
            f"stored volumes ({refusal.message})",
            accuracy=f"+/-{pump.accuracy_percent.value} %",
            accuracy_source=pump.accuracy_percent.source,
            accuracy_verified=pump.accuracy_percent.verified,
            pocket_fill_limit=None,
            pocket_fill_source="",
            consequential=None,
            twin=twin_expected(refill),
        )
    limit = check.consequential_limit
    return ReconciliationLine(
        expected=expected,
        aspirated=aspirated,
        difference=difference,
        programmed_since_fill=programmed,
        delivery_error=error,
        finding=DeliveryFinding(refill.finding),
        reason=check.message,
        accuracy=f"+/-{check.accuracy_percent} %",
        accuracy_source=check.accuracy_source,
        accuracy_verified=check.accuracy_verified,
        pocket_fill_limit=limit.value if limit else None,
        pocket_fill_source=limit.source if limit else "",
        consequential=check.consequential,
        twin=twin_expected(refill),
    )


def _warnings(refill: Refill) -> tuple[tuple[WarningLine, ...], tuple[GivenOverride, ...]]:
    """The warnings stored with the refill, each with the override that passed it (given by the
    prescriber at prescribing or at the refill), and the overrides of rules with no stored
    warning (a refill recorded before warnings were kept)."""
    return _warning_lines(refill.warnings, refill_overrides(refill, refill.program.prescription))


def _warning_lines(
    stored: Sequence[dict[str, Any]], given: Sequence[GivenOverride]
) -> tuple[tuple[WarningLine, ...], tuple[GivenOverride, ...]]:
    """The stored warnings (Finding.as_json), each with the override in `given` that passed
    it, and the overrides of rules with no stored warning."""
    overrides = {o.rule: o for o in given}
    lines = []
    for warning in stored:
        shown = Finding.from_json(warning)
        lines.append(
            WarningLine(
                rule=shown.rule,
                message=shown.message,
                limit=shown.limit,
                source=shown.source,
                verified=shown.verified,
                tier=shown.tier.value if shown.tier else "",
                override=overrides.get(shown.rule),
            )
        )
    recorded = {line.rule for line in lines}
    return tuple(lines), tuple(o for r, o in sorted(overrides.items()) if r not in recorded)


def _bridge(refill: Refill, before: tuple[DrugLine, ...], after: ProgramLine) -> BridgeLine | None:
    if refill.bridge_volume_ml is None or refill.bridge_rate_ml_per_day is None:
        return None
    duration = None
    if before and after.drugs and refill.bridge_volume_ml > 0:
        duration = bridge(
            before[0].concentration,
            after.drugs[0].concentration,
            after.dose,
            of(refill.bridge_volume_ml, "mL"),
        ).bridge_duration
    return BridgeLine(
        volume=of(refill.bridge_volume_ml, "mL"),
        rate=of(refill.bridge_rate_ml_per_day, "mL/day"),
        duration=duration,
        then_rate=after.rate,
    )


def _reprogramming(program: Program | None, refilled: set[UUID]) -> Reprogramming | None:
    if program is None:
        return None
    executed = program.prescription
    return Reprogramming(
        program.started_at, program.id in refilled, None if executed is None else executed.number
    )


def _dates_since(
    implant: Implant,
    program: Program,
    dated: tuple[datetime | None, date | None],
    patient_id: UUID,
) -> DatesSince:
    """What became of the dates `dated` (alarm, refill by) that `program` gave the pump: the
    programmings since and the pump's dates and next refill visit as stored now."""
    later = implant.programs.filter(started_at__gt=program.started_at).select_related(
        "prescription"
    )
    first = later.order_by("started_at").first()
    newest = later.order_by("-started_at").first()
    shown = [p.id for p in (first, newest) if p is not None]
    refilled = set(Refill.objects.filter(program_id__in=shown).values_list("program_id", flat=True))
    pump = next_refill(patient_id, implant if implant.explanted_on is None else None)
    return DatesSince(
        replaced_by=_reprogramming(first, refilled),
        newest=_reprogramming(newest, refilled),
        programmings=later.count(),
        pump=pump,
        moved=first is None and pump is not None and (pump.alarm_at, pump.refill_by) != dated,
    )


def _setting_changes(replaced: Prescription | None, executed: Prescription) -> tuple[Change, ...]:
    """Each setting `executed` changed against `replaced`, as the pages show them; once either
    has patient boluses, the worst day on both sides: a basal program without them has one too,
    its largest day (core.prescription.Prescription.worst_day), never "unset"."""
    before = None if replaced is None else prescriptions.as_core(replaced)
    after = prescriptions.as_core(executed)
    boluses = any(side is not None and side.ptm is not None for side in (before, after))

    def settings(prescription: rx.Prescription) -> dict[str, str]:
        shown = shown_settings(prescription)
        if not boluses or DAILY_DOSE not in shown or WORST_DAY in shown:
            return shown
        last = WEEKLY_AVERAGE if WEEKLY_AVERAGE in shown else DAILY_DOSE
        worst = drug_units.shown(prescription.principal[0], prescription.worst_day)
        with_worst: dict[str, str] = {}
        for name, value in shown.items():
            with_worst[name] = value
            if name == last:
                with_worst[WORST_DAY] = worst
        return with_worst

    return changes(before, after, settings)


def _double_check_history(
    patient_id: UUID,
    executed: Prescription | None,
    ran: Prescription | None,
    since: datetime | None,
    until: datetime,
) -> tuple[tuple[CheckedVersion, ...], tuple[RefusedAccept, ...]]:
    """The double-check history a session report shows: every version signed on the way from
    `ran` (the prescription the pump ran before; the one `executed` superseded when the pump ran
    it already) to `executed`, with its rejection and every accept refused at it; every version
    signed after `executed` that was rejected, or had an accept refused, since the previous
    session on the pump (`since`, None: none) until this session (`until`), marked as not
    executed; and the accepts refused at `executed`'s own double-check."""
    if executed is None:
        return (), ()
    basis = executed.supersedes if ran is None or ran.id == executed.id else ran
    others = list(
        Prescription.objects.filter(
            implant_id=executed.implant_id, number__gt=0 if basis is None else basis.number
        )
        .exclude(id=executed.id)
        .prefetch_related("checks", "drugs")
        .order_by("number")
    )
    refused = refused_accepts(patient_id, [executed.id, *(record.id for record in others)])

    def shown(record: Prescription, at: datetime) -> bool:
        """On the way to `executed`: always; signed after it: within the session's window."""
        return record.number < executed.number or ((since is None or since < at) and at <= until)

    history = []
    for record in others:
        rejections = [
            check
            for check in record.checks.all()
            if not check.accepted and shown(record, check.checked_at)
        ]
        attempts = tuple(a for a in refused.get(str(record.id), ()) if shown(record, a.at))
        if not rejections and not attempts:
            continue
        first = min(rejections, key=lambda check: check.checked_at) if rejections else None
        history.append(
            CheckedVersion(
                number=record.number,
                prescribed_by=record.prescribed_by,
                prescribed_at=record.prescribed_at,
                reason=record.reason,
                rejected_by=first.checked_by if first else "",
                rejected_at=first.checked_at if first else None,
                comment=first.comment if first else "",
                refused=attempts,
                signed_after=record.number > executed.number,
                status=str(record.get_status_display()),
                principal=drug_units.principal_of(record),
            )
        )
    return tuple(history), refused.get(str(executed.id), ())


@transaction.atomic
def refill_session(user: User, refill_id: UUID, *, now: datetime) -> RefillSession:
    """The session report of one refill (or first fill): what was in the pump, what was put in,
    the program before and after, the warnings, who performed and who verified it."""
    actor = require(user, "patient.read")
    refill = get_or_not_found(
        Refill.objects.select_related(
            "implant__episode__patient", "program__prescription"
        ).prefetch_related("drugs"),
        refill_id,
    )
    implant = refill.implant
    patient = implant.episode.patient
    previous = (
        implant.refills.filter(performed_at__lt=refill.performed_at)
        .prefetch_related("drugs")
        .order_by("-performed_at")
        .first()
    )
    old_program = (
        implant.programs.filter(started_at__lt=refill.performed_at)
        .select_related("prescription")
        .order_by("-started_at")
        .first()
    )
    old_drugs = fill_drugs(previous)
    drugs = fill_drugs(refill)
    after = _program(refill.program, drugs, implant.pump_serial, at_refill=True, now=now)
    warnings, unrecorded = _warnings(refill)
    executed = refill.program.prescription
    history, refused = _double_check_history(
        patient.id,
        executed,
        None if old_program is None else old_program.prescription,
        None if old_program is None else old_program.started_at,
        refill.performed_at,
    )
    session = RefillSession(
        refill_id=refill.id,
        printed_at=now,
        locale=clinic_locale(),
        patient=_identity(patient),
        device=implanted_pump(implant),
        first_fill=previous is None,
        performed_at=refill.performed_at,
        performed_by=refill.performed_by,
        reconciliation=_reconciliation(refill, previous),
        drugs=drugs,
        volume=of(refill.volume_ml, "mL"),
        lot=refill.lot,
        before=None
        if old_program is None
        else _program(
            old_program,
            old_drugs,
            implant.pump_serial,
            at_refill=previous is not None and previous.program_id == old_program.id,
            now=now,
        ),
        after=after,
        bridge=_bridge(refill, old_drugs, after),
        priming=priming_of(refill),
        warnings=warnings,
        overrides_without_record=unrecorded,
        needs_verification=refill.needs_verification,
        verified_by=refill.verified_by,
        verified_at=refill.verified_at,
        alarm_at=refill.alarm_at,
        empty_at=refill.empty_at,
        refill_by=refill.refill_by,
        limited_by=LimitedBy(refill.limited_by),
        since=_dates_since(
            implant, refill.program, (refill.alarm_at, refill.refill_by), patient.id
        ),
        history=history,
        refused=refused,
        last_fill_at=None if previous is None else previous.performed_at,
        ptm=None
        if refill.ptm_requests is None or refill.ptm_given is None
        else PtmCounts(refill.ptm_requests, refill.ptm_given),
        double_checked_by=executed.checked_by if executed else "",
        double_checked_at=executed.checked_at if executed else None,
    )
    audit.record(actor, "report.refill_session", "refill", refill.id, patient_id=patient.id)
    return session


@transaction.atomic
def programming_session(user: User, program_id: UUID, *, now: datetime) -> ProgrammingSession:
    """The session report of one programming of the pump with a prescription: the program before
    and after, each setting the prescription changed against the one the pump ran (a worst day
    on both sides), its double-check history (_double_check_history), the warnings passed and
    the dates the pump gives (NotFound for a program recorded before prescriptions)."""
    actor = require(user, "patient.read")
    program = get_or_not_found(
        Program.objects.select_related("implant__episode__patient", "prescription"), program_id
    )
    executed = program.prescription
    if executed is None:
        raise NotFound(f"program {program_id} programmed from a prescription")
    implant = program.implant
    patient = implant.episode.patient
    refills = list(
        implant.refills.select_related("program__prescription")
        .prefetch_related("drugs")
        .order_by("performed_at")
    )
    fills = [(refill.performed_at, fill_drugs(refill)) for refill in refills]
    refilled = {refill.program_id: refill for refill in refills}
    previous = (
        implant.programs.filter(started_at__lt=program.started_at)
        .select_related("prescription")
        .order_by("-started_at")
        .first()
    )

    def line(shown: Program) -> ProgramLine:
        drugs = drugs_at(fills, shown.started_at)
        at_refill = shown.id in refilled
        return _program(shown, drugs, implant.pump_serial, at_refill=at_refill, now=now)

    replaced = executed.supersedes
    if previous is not None and previous.prescription is not None:
        replaced = previous.prescription
    history, refused = _double_check_history(
        patient.id,
        executed,
        None if previous is None else previous.prescription,
        None if previous is None else previous.started_at,
        program.started_at,
    )
    refill = refilled.get(program.id)
    if refill is not None:  # a refill's warnings and overrides are the refill's
        warnings, unrecorded = _warnings(refill)
    else:
        warnings, unrecorded = _warning_lines(program.warnings, program_overrides(program))
    session = ProgrammingSession(
        program_id=program.id,
        printed_at=now,
        locale=clinic_locale(),
        patient=_identity(patient),
        device=implanted_pump(implant),
        programmed_at=program.started_at,
        programmed_by=program.programmed_by or program.prescribed_by,
        refill_id=None if refill is None else refill.id,
        before=None if previous is None else line(previous),
        after=line(program),
        phase=Phase(program.phase),
        replaced=None if replaced is None else replaced.number,
        changes=_setting_changes(replaced, executed),
        history=history,
        refused=refused,
        warnings=warnings,
        overrides_without_record=unrecorded,
        alarm_at=program.alarm_at,
        empty_at=program.empty_at,
        refill_by=program.refill_by,
        limited_by=LimitedBy(program.limited_by) if program.limited_by else None,
        since=_dates_since(implant, program, (program.alarm_at, program.refill_by), patient.id),
    )
    audit.record(actor, "report.program_session", "program", program.id, patient_id=patient.id)
    return session


def _pathway_dates(
    episode: Episode, events: Sequence[PathwayEvent], locale: ClinicLocale
) -> tuple[PathwayDate, ...]:
    dates = [PathwayDate(episode.referred_on, "referral", "")]
    for event in events:
        on = event.facts.get("on") if isinstance(event.facts, dict) else None
        recorded_on = locale.today(event.recorded_at)  # the clinic's day it was recorded
        try:
            day = date.fromisoformat(on) if isinstance(on, str) else recorded_on
        except ValueError:  # a step whose "on" is not a date: when it was recorded
            day = recorded_on
        dates.append(PathwayDate(day, event.action.replace("_", " "), event.recorded_by))
    return tuple(dates)


def _episode(episode: Episode, events: Sequence[PathwayEvent], locale: ClinicLocale) -> EpisodeLine:
    state = episode.pathway_state if isinstance(episode.pathway_state, dict) else {}
    outcome = str(state.get("outcome") or "").replace("_", " ")
    closed = episode.closed_at
    return EpisodeLine(
        indication=episode.get_indication_display(),
        stage=episode.stage.replace("_", " "),
        referred_on=episode.referred_on,
        outcome=outcome,
        closed_on=None if closed is None else locale.today(closed),
        closed_reason=episode.closed_reason if closed is not None else "",
        dates=_pathway_dates(episode, events, locale),
    )


def _recent(items: Sequence[T], limit: int) -> Recent[T]:
    return Recent(tuple(items[-limit:]) if limit else (), len(items))


def _refill_line(refill: Refill, drugs: tuple[DrugLine, ...]) -> RefillLine:
    return RefillLine(
        performed_at=refill.performed_at,
        performed_by=refill.performed_by,
        drugs=drugs,
        volume=of(refill.volume_ml, "mL"),
        lot=refill.lot,
        expected=of(refill.expected_ml, "mL") if refill.expected_ml is not None else None,
        aspirated=of(refill.aspirated_ml, "mL") if refill.aspirated_ml is not None else None,
        difference=of(refill.difference_ml, "mL") if refill.difference_ml is not None else None,
        delivery_error=delivery_error(refill),
        finding=finding_words(refill),
        needs_verification=refill.needs_verification,
        verified_by=refill.verified_by,
        verified_at=refill.verified_at,
        refill_by=refill.refill_by,
        overrides=refill_overrides(refill, refill.program.prescription),
    )


def _alarm_line(alarm: AlarmReport) -> AlarmLine:
    return AlarmLine(
        kind=alarm.get_kind_display(),
        reported_at=alarm.reported_at,
        recorded_by=alarm.recorded_by,
        note=alarm.note,
        acknowledged_by=alarm.acknowledged_by,
        acknowledged_at=alarm.acknowledged_at,
        action_taken=alarm.action_taken,
    )


OUTCOME_UNITS = {Assessment.Kind.OMED.value: "mg/day"}
"""The unit an assessment kind's value is stored in (clinic.models.Assessment); scores have none."""


def _point(assessment: Assessment) -> OutcomePoint:
    unit = OUTCOME_UNITS.get(assessment.kind)
    if unit:
        shown = str(Q(assessment.value, unit))
    elif assessment.kind == Assessment.Kind.ASHWORTH:
        shown = ashworth_label(assessment.value)
    else:
        shown = format_decimal(assessment.value)
    return OutcomePoint(assessment.taken_at, assessment.value, shown)


def _outcomes(
    assessments: Sequence[Assessment], implanted_on: date | None, locale: ClinicLocale
) -> list[OutcomeSeries]:
    """One series per kind (and limb), in the order the kinds are declared: the value before
    the implant (the last one taken before the clinic's implant day; without an implant, the
    first one), the latest one taken after that, and the newest points for the chart."""
    series: list[OutcomeSeries] = []
    for kind in Assessment.Kind:
        taken = [a for a in assessments if a.kind == kind.value]
        for limb in sorted({a.limb for a in taken}):
            points = [_point(a) for a in taken if a.limb == limb]
            if implanted_on is not None:
                earlier = [p for p in points if locale.today(p.taken_at) < implanted_on]
                before = earlier[-1] if earlier else None
            else:
                before = points[0]
            later = [p for p in points if before is None or p.taken_at > before.taken_at]
            series.append(
                OutcomeSeries(
                    kind=kind.value,
                    label=str(kind.label),
                    limb=limb,
                    unit=OUTCOME_UNITS.get(kind.value, ""),
                    before=before,
                    now=later[-1] if later else None,
                    points=_recent(points, RECENT_ASSESSMENTS),
                )
            )
    return series


@transaction.atomic
def patient_summary(user: User, patient_id: UUID, *, now: datetime) -> PatientSummary:
    """The clinician summary of a patient: the incidents open on the record, therapy (episodes,
    pathway dates, pumps), dose history, refills with their reconciliation, alarms and
    outcomes, each list bounded to its newest entries with the total stated."""
    actor = require(user, "patient.read")
    patient = get_or_not_found(Patient.objects.all(), patient_id)
    episodes = list(Episode.objects.filter(patient=patient).order_by("referred_on", "created_at"))
    events = list(
        PathwayEvent.objects.filter(episode__patient=patient).order_by("recorded_at", "id")
    )
    implants = list(
        Implant.objects.filter(episode__patient=patient).order_by("implanted_on", "created_at")
    )
    serials = {i.id: i.pump_serial for i in implants}
    refills = list(
        Refill.objects.filter(implant__episode__patient=patient)
        .select_related("program__prescription")
        .prefetch_related("drugs")
        .order_by("performed_at")
    )
    fills: dict[UUID, list[tuple[datetime, tuple[DrugLine, ...]]]] = {i.id: [] for i in implants}
    refill_lines = []
    for refill in refills:
        drugs = fill_drugs(refill)
        fills[refill.implant_id].append((refill.performed_at, drugs))
        refill_lines.append(_refill_line(refill, drugs))
    program_count = Program.objects.filter(implant__episode__patient=patient).count()
    newest = list(
        Program.objects.filter(implant__episode__patient=patient)
        .select_related("prescription")
        .order_by("-started_at")[:RECENT_PROGRAMS]
    )
    refilled = {r.program_id for r in refills}
    programs = [
        _program(
            p,
            drugs_at(fills[p.implant_id], p.started_at),
            serials[p.implant_id],
            at_refill=p.id in refilled,
            now=now,
        )
        for p in reversed(newest)
    ]
    current = next((p for p in reversed(programs) if p.ended_at is None), None)
    alarm_count = AlarmReport.objects.filter(implant__episode__patient=patient).count()
    open_alarms = AlarmReport.objects.filter(
        implant__episode__patient=patient, acknowledged_at__isnull=True
    ).count()
    alarms = list(
        AlarmReport.objects.filter(implant__episode__patient=patient).order_by("-reported_at")[
            :RECENT_ALARMS
        ]
    )
    assessments = list(
        Assessment.objects.filter(episode__patient=patient).order_by("taken_at", "recorded_at")
    )
    locale = clinic_locale()
    in_place = next((i for i in reversed(implants) if i.explanted_on is None), None)
    summary = PatientSummary(
        printed_at=now,
        locale=locale,
        patient=_identity(patient),
        episodes=tuple(
            _episode(e, [ev for ev in events if ev.episode_id == e.id], locale) for e in episodes
        ),
        devices=tuple(implanted_pump(i) for i in implants),
        current=current,
        programs=Recent(tuple(programs), program_count),
        refills=_recent(refill_lines, RECENT_REFILLS),
        alarms=Recent(tuple(_alarm_line(a) for a in reversed(alarms)), alarm_count),
        open_alarms=open_alarms,
        outcomes=tuple(
            _outcomes(assessments, implants[0].implanted_on if implants else None, locale)
        ),
        next_refill=next_refill(patient.id, in_place),
        incidents=tuple(
            IncidentLine(
                i.get_kind_display(), i.opened_at, i.opened_by, drug_units.incident_summary(i)
            )
            for i in Incident.objects.filter(
                patient=patient, closed_at__isnull=True
            ).select_related("readback__program__prescription")
        ),
    )
    audit.record(actor, "report.patient_summary", "patient", patient.id, patient_id=patient.id)
    return summary
