"""The clinic's worklist: refills due this week and overdue, patients at risk by days to their
alarm (baclofen first among equals), test phases running, responders waiting for their earliest
implant date, pumps nearing replacement, refills waiting for a second clinician, prescriptions
awaiting their double-check, for physicians the prescriptions rejected at it (until a new one
takes their place), pumps programmed and awaiting their readback, open incidents (a dose,
concentration or drug that differed first) and patients' alarms not yet acknowledged. Urgency
and dates come from painpump.core.

Each list is served a page at a time (`offset`, `limit`; `totals` counts the whole list) by
indexed queries, so one look costs the same with 100 or 10,000 patients. Looking at the worklist
is audited like any read of patient data: the entry names the patients shown."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import DenseRank

from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import (
    AlarmReport,
    Appointment,
    ClinicSettings,
    Episode,
    Implant,
    Incident,
    Prescription,
    PrescriptionCheck,
    PrescriptionDrug,
    Program,
    Refill,
)
from painpump.clinic.pathway_state import pathway_settings, state_of
from painpump.clinic.reads import drug_units, refill_slots
from painpump.clinic.reads.queries import MAX_LIMIT as MAX_LIMIT
from painpump.clinic.reads.queries import MAX_OFFSET as MAX_OFFSET
from painpump.clinic.reads.queries import check_page
from painpump.clinic.roles import CAPABILITIES, require, roles_of
from painpump.core import catalog
from painpump.core.device_life import implanted_on_or_before, replacement_due
from painpump.core.locale import ClinicLocale
from painpump.core.pathway.episode import PathwaySettings
from painpump.core.pathway.intervals import earliest_implant_date
from painpump.core.prescription import (
    STOPPING,
    BolusState,
    ProgramKind,
    SingleBolus,
    duration_words,
)
from painpump.core.readback_severity import Severity
from painpump.core.scheduling import (
    DueRefill,
    Priority,
    earliest_working_day,
    prioritise,
)
from painpump.core.trial_phase import NextStep, next_step
from painpump.core.units import of
from painpump.core.withdrawal import overinfusion_limit_passed

DEFAULT_LIMIT = 25
"""Rows of each list on one page: what a clinician reads at a glance (the totals say how many
more there are)."""
ROWS = DEFAULT_LIMIT  # the former name of the page size, kept for callers
PAGING_SOURCE = "dashboard: each list is paged (0 <= offset <= 1000000000, 1 <= limit <= 100)"
WEEK = timedelta(days=7)
REPLACEMENT_HORIZON = timedelta(days=180)


@dataclass(frozen=True)
class VisitRow:
    """The patient's open refill visit as stored (proposed or booked): the one every page shows."""

    appointment_id: str
    on: date
    starts_at: datetime | None
    status: str
    overdue: bool
    late_reason: str


@dataclass(frozen=True)
class RefillRow:
    patient_id: str
    patient: str
    implant_id: str
    pump_model: str
    drugs: tuple[str, ...]
    alarm_at: datetime
    refill_by: date
    priority: Priority
    visit: VisitRow | None = None

    @property
    def urgent(self) -> bool:
        """No open day is left on or before the refill-by date."""
        return self.priority.overdue


@dataclass(frozen=True)
class EpisodeRow:
    patient_id: str
    patient: str
    episode_id: str
    indication: str
    since: date | None
    earliest_implant: date | None = None
    next_step: NextStep | None = None


@dataclass(frozen=True)
class ReplacementRow:
    patient_id: str
    patient: str
    implant_id: str
    pump_model: str
    implanted_on: date
    replace_by: date


@dataclass(frozen=True)
class VerificationRow:
    patient_id: str
    patient: str
    refill_id: str
    performed_at: datetime
    performed_by: str


@dataclass(frozen=True)
class CheckRow:
    """A signed prescription awaiting its double-check: its drugs by name (the numbers are for
    the second clinician to enter from the order, never shown before)."""

    patient_id: str
    patient: str
    prescription_id: str
    implant_id: str
    pump_model: str
    number: int
    drugs: tuple[str, ...]
    prescribed_by: str
    prescribed_at: datetime
    high_alert: bool


@dataclass(frozen=True)
class RejectedRow:
    """A prescription rejected at its double-check, the pump's newest: the prescriber reads
    who rejected it, when and why, until a new prescription takes its place."""

    patient_id: str
    patient: str
    prescription_id: str
    implant_id: str
    pump_model: str
    number: int
    prescribed_by: str
    rejected_by: str
    rejected_at: datetime
    comment: str


@dataclass(frozen=True)
class AlarmRow:
    patient_id: str
    patient: str
    alarm_id: str
    kind: str
    reported_at: datetime
    high_risk: bool


@dataclass(frozen=True)
class IncidentRow:
    """An incident open on a patient's record (a readback that differed: the session stays
    stopped) until a physician closes it. `severity` DOSE: a drug, a concentration or a dose
    differed (an incident opened before severity was kept counts as one)."""

    patient_id: str
    patient: str
    incident_id: str
    summary: str
    opened_at: datetime
    opened_by: str
    severity: Severity = Severity.DOSE


@dataclass(frozen=True)
class ReadbackRow:
    """A pump programmed from a prescription (at a refill or between refills) whose program is
    still in force with no readback entered (rule-readback): the nurse reads the programmer
    back, or the pump may run something other than what was prescribed unnoticed."""

    patient_id: str
    patient: str
    program_id: str
    implant_id: str
    pump_model: str
    prescription_number: int
    programmed_at: datetime
    programmed_by: str
    at_refill: bool


@dataclass(frozen=True)
class StoppedRow:
    """A pump programmed with a single bolus (the bolus runs until `bolus_ends_at`, then the pump
    stops) or programmed stopped (no bolus): it gives nothing from `stopped_since` until a new
    prescription is programmed (baclofen's first: withdrawal). `bolus_state` at the moment the
    worklist was read (core.prescription)."""

    patient_id: str
    patient: str
    implant_id: str
    pump_model: str
    bolus: str | None
    programmed_at: datetime
    high_risk: bool
    bolus_state: BolusState
    bolus_ends_at: datetime | None
    stopped_since: datetime | None
    """When the pump stopped giving: its programming stopped, or its bolus's end (None while the
    bolus runs)."""
    kind: ProgramKind = ProgramKind.SINGLE_BOLUS
    drug: str = ""
    """The principal drug the pump holds."""
    long_stop: str = ""
    """A pump stopped (or its single bolus ended) longer ago than its labeling's overinfusion
    limit: that limit in words ("48 h"); "" otherwise."""
    refill_by: date | None = None
    """The pump's stored refill-by date (the fluid it holds: its stability, or the interval for
    a fluid held in a stopped pump)."""


@dataclass(frozen=True)
class Totals:
    """How many rows each whole list holds (a page shows at most `limit` of them)."""

    overdue: int = 0
    due_today: int = 0
    due_week: int = 0
    at_risk: int = 0
    test_phases: int = 0
    awaiting_implant: int = 0
    nearing_replacement: int = 0
    unverified: int = 0
    awaiting_check: int = 0
    open_alarms: int = 0
    open_incidents: int = 0
    stopped: int = 0
    awaiting_readback: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class Dashboard:
    """The worklist. The three refill lists are disjoint: overdue (no open day left on or
    before the refill-by date: urgent), due today (today is the last open day for it) and due
    this week (the rest due within 7 days)."""

    today: date
    overdue: list[RefillRow]
    due_today: list[RefillRow]
    due_week: list[RefillRow]
    at_risk: list[RefillRow]
    test_phases: list[EpisodeRow]
    awaiting_implant: list[EpisodeRow]
    nearing_replacement: list[ReplacementRow]
    unverified: list[VerificationRow]
    awaiting_check: list[CheckRow]
    open_alarms: list[AlarmRow]
    open_incidents: list[IncidentRow]
    stopped: list[StoppedRow]
    awaiting_readback: list[ReadbackRow] = field(default_factory=list)
    totals: Totals = Totals()
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    rejected: list[RejectedRow] = field(default_factory=list)
    """Shown to physicians only (empty for the other roles)."""


def _name(family: str, given: str) -> str:
    return f"{family}, {given}"


_IMPLANT_FIELDS = (
    "id",
    "episode_id",
    "pump_model",
    "drug_names",
    "alarm_at",
    "empty_at",
    "refill_by",
)


@dataclass(frozen=True)
class _Cut:
    """Implant rows read for a page of a refill list, and which of them, once the core has
    ordered them, the page shows: [skip, skip + take)."""

    rows: list[tuple[Any, ...]]
    skip: int
    take: int


class _RefillList:
    """One refill list in the core's order (prioritise: overdue first, then fewest days to the
    alarm, baclofen first, refill-by date, patient), read a page at a time through the indexes.

    The database splits the list into its overdue part (refill-by date before the first working
    day from today: no working day left in time) and the rest; within a part the core orders by
    the alarm's day, so a page is found in the alarm_at index: the page's alarm days are read
    in full, and the core orders them before the page is cut."""

    def __init__(self, rows: QuerySet[Implant], cutoff: date, locale: ClinicLocale) -> None:
        self.rows, self.cutoff, self.locale = rows, cutoff, locale

    def page(
        self, total: int, overdue: int, offset: int, limit: int, late: _Cut | None = None
    ) -> tuple[_Cut, _Cut]:
        """Rows [offset, offset + limit) of the list of `total` rows, the first `overdue` of
        them overdue, as its overdue cut (`late` when another list's is the same) and the rest
        (parts with no row on the page are not read)."""
        first = max(0, min(limit, overdue - offset))
        rest = max(0, min(limit - first, total - max(offset, overdue)))
        if late is None:
            late = self._part(self.rows.filter(refill_by__lt=self.cutoff), offset, first)
        in_time = self.rows.filter(refill_by__gte=self.cutoff)
        return late, self._part(in_time, max(0, offset - overdue), rest)

    def _part(self, part: QuerySet[Implant], skip: int, take: int) -> _Cut:
        if take <= 0:
            return _Cut([], 0, 0)
        # the alarm times at those places (ties do not matter), read in the alarm_at index
        alarms = [
            at
            for at in part.order_by("alarm_at").values_list("alarm_at", flat=True)[
                skip : skip + take
            ]
            if at is not None
        ]
        if not alarms:
            return _Cut([], 0, 0)
        first_day, last_day = (self.locale.today(at) for at in (alarms[0], alarms[-1]))
        day_start = self.locale.day_start
        window = part.filter(alarm_at__lt=day_start(last_day + timedelta(days=1)))
        before = 0
        if skip:
            before = part.filter(alarm_at__lt=day_start(first_day)).count()
            window = window.filter(alarm_at__gte=day_start(first_day))
        return _Cut(list(window.values_list(*_IMPLANT_FIELDS)), skip - before, take)


def _refill_rows(
    cut: _Cut, names: dict[Any, tuple[str, str]], today: date, locale: ClinicLocale
) -> list[RefillRow]:
    """The rows of a cut with their priority from the core, most urgent first."""
    shown: dict[int, tuple[Any, ...]] = {}
    dues = []
    for implant_id, episode_id, model, drugs, alarm_at, empty_at, refill_by in cut.rows:
        drug_names = tuple(name for name in drugs.split("+") if name)
        if not drug_names:
            continue
        patient_id, patient = names[episode_id]
        due = DueRefill(
            patient_id,
            drug_names,
            locale.today(alarm_at),
            refill_by,
            locale.today(empty_at) if empty_at else None,
        )
        shown[id(due)] = (str(implant_id), patient, model, alarm_at)
        dues.append(due)
    result = []
    ranked = prioritise(dues, today=today, calendar=locale.calendar)
    for priority in ranked[cut.skip : cut.skip + cut.take]:
        implant_id, patient, model, alarm_at = shown[id(priority.due)]
        due = priority.due
        result.append(
            RefillRow(
                due.patient_id,
                patient,
                implant_id,
                model,
                due.drug_names,
                alarm_at,
                due.refill_by,
                priority,
            )
        )
    return result


def _with_visits(rows_by_cut: dict[int, list[RefillRow]]) -> None:
    """Each row with its patient's open refill visit as stored (one query for the page)."""
    patients = {row.patient_id for rows in rows_by_cut.values() for row in rows}
    visits: dict[str, VisitRow] = {}
    for appointment_id, patient_id, on, starts_at, status, overdue, reason in (
        Appointment.objects.filter(
            patient_id__in=patients, kind="refill", status__in=refill_slots.OPEN
        )
        .order_by("-on", "-starts_at")
        .values_list("id", "patient_id", "on", "starts_at", "status", "overdue", "late_reason")
    ):
        visits[str(patient_id)] = VisitRow(
            str(appointment_id), on, starts_at, status, overdue, reason
        )
    for rows in rows_by_cut.values():
        rows[:] = [replace(row, visit=visits.get(row.patient_id)) for row in rows]


def _paged(
    rows: QuerySet[Any], order: Sequence[str], fields: Sequence[str], offset: int, limit: int
) -> tuple[list[tuple[Any, ...]], int]:
    """Rows [offset, offset + limit) in `order`, and how many rows there are in all (counted in
    the same query; a page past the end counts them on its own)."""
    found = list(
        rows.annotate(_total=Window(Count("*")))
        .order_by(*order)
        .values_list(*fields, "_total")[offset : offset + limit]
    )
    if found:
        return [row[:-1] for row in found], int(found[0][-1])
    return [], rows.count() if offset else 0


@dataclass(frozen=True)
class _RefillPages:
    """The cuts of the page of each refill list (the overdue list shares its overdue cut with
    at_risk), and the size of each whole list."""

    cuts: dict[str, tuple[_Cut, _Cut]]
    totals: dict[str, int]

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        return [row for pair in self.cuts.values() for cut in pair for row in cut.rows]


def _refill_filters(today: date, locale: ClinicLocale) -> tuple[date, date, dict[str, Q]]:
    """The overdue cutoff (refill-by before it: no working day left), the last refill-by date
    counted, and the filter of each dated refill list."""
    cutoff = earliest_working_day(today, locale.calendar)
    next_open = earliest_working_day(today + timedelta(days=1), locale.calendar)
    # today is the last open day for refill-by dates before the next open day (none if closed)
    today_end = next_open if cutoff == today else today
    lists = {
        "overdue": Q(refill_by__lt=cutoff),
        "due_today": Q(refill_by__gte=today, refill_by__lt=today_end),
        "due_week": Q(refill_by__gte=max(cutoff, today_end), refill_by__lte=today + WEEK),
    }
    return cutoff, max(today + WEEK, next_open), lists


def _refill_pages(today: date, locale: ClinicLocale, offset: int, limit: int) -> _RefillPages:
    """The pumps followed: the refill lists, counted in the index, then read a page at a time."""
    followed = Implant.objects.filter(
        explanted_on__isnull=True, refill_by__isnull=False, alarm_at__isnull=False
    )
    cutoff, counted_to, lists = _refill_filters(today, locale)
    counts = followed.filter(refill_by__lte=counted_to).aggregate(
        **{name: Count("refill_by", filter=where) for name, where in lists.items()}
    )
    at_risk_total = followed.count()
    risk_cuts = _RefillList(followed, cutoff, locale).page(
        at_risk_total, counts["overdue"], offset, limit
    )
    cuts = {
        "at_risk": risk_cuts,
        "overdue": _RefillList(followed.filter(lists["overdue"]), cutoff, locale).page(
            counts["overdue"], counts["overdue"], offset, limit, late=risk_cuts[0]
        ),
    }
    for name in ("due_today", "due_week"):
        cuts[name] = _RefillList(followed.filter(lists[name]), cutoff, locale).page(
            counts[name], 0, offset, limit
        )
    return _RefillPages(cuts, {**counts, "at_risk": at_risk_total})


def _pumps_to_replace(today: date, offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Pumps to replace within the horizon: an implant-date cutoff per model, from the core."""
    horizon = today + REPLACEMENT_HORIZON
    cutoffs = Q()
    latest = None
    for model in catalog.pumps().values():
        implanted_by = implanted_on_or_before(model, horizon)
        if implanted_by is not None:
            cutoffs |= Q(pump_model=model.model, implanted_on__lte=implanted_by)
            latest = max(latest or implanted_by, implanted_by)
    if latest is None:
        return [], 0
    return _paged(
        Implant.objects.filter(cutoffs, explanted_on__isnull=True, implanted_on__lte=latest),
        ("implanted_on", "id"),
        ("id", "episode_id", "pump_model", "implanted_on"),
        offset,
        limit,
    )


def _testing_and_waiting() -> tuple[list[Episode], list[Episode]]:
    """Open episodes in a test phase, and responders waiting for the implant: transient stages,
    few at a time."""
    episodes = list(
        Episode.objects.filter(closed_at__isnull=True, stage__in=("test_phase", "responder"))
        .only(
            "id",
            "patient_id",
            "stage",
            "indication",
            "referred_on",
            "injury_date",
            "pathway_state",
            "updated_at",
        )
        .order_by("updated_at", "id")
    )
    testing = [e for e in episodes if e.stage == "test_phase"]
    waiting = [e for e in episodes if e.stage != "test_phase"]
    return testing, waiting


def _unverified() -> QuerySet[Refill]:
    return Refill.objects.filter(needs_verification=True, verified_by="")


def _awaiting() -> QuerySet[Prescription]:
    return Prescription.objects.filter(status=Prescription.Status.AWAITING_CHECK)


def _alarms_open() -> QuerySet[AlarmReport]:
    return AlarmReport.objects.filter(acknowledged_at__isnull=True)


def _incidents_open() -> QuerySet[Incident]:
    return Incident.objects.filter(closed_at__isnull=True)


def _readbacks_missing() -> QuerySet[Program]:
    """Programs in force from a prescription with no readback yet: only the program in force
    can be read back (clinic.actions.readbacks), every programming from a prescription needs
    one, at a refill (the reservoir filled) as between refills."""
    return Program.objects.filter(
        awaiting_readback=True,  # the partial index program_awaiting_readback
        ended_at__isnull=True,
        implant__explanted_on__isnull=True,
    )


def _rejected_newest() -> QuerySet[Prescription]:
    """Prescriptions rejected at their double-check that are still their pump's newest (the
    partial index prescription_rejected), on pumps in place."""
    newer = Prescription.objects.filter(
        implant_id=OuterRef("implant_id"), number__gt=OuterRef("number")
    )
    return Prescription.objects.filter(
        ~Exists(newer),
        status=Prescription.Status.REJECTED,
        implant__explanted_on__isnull=True,
    )


def _stops_in_force() -> QuerySet[Prescription]:
    """Prescriptions in force that stop their pump: a single bolus (after it) or a stop (the
    partial index prescription_active_kind, by kind)."""
    return Prescription.objects.filter(
        status=Prescription.Status.ACTIVE,
        program_kind__in=STOPPING,
        implant__explanted_on__isnull=True,
    )


def _lists_with_rows(prescriber: bool) -> frozenset[str]:
    """Which of the lists that are empty on most days have a row, asked in one query: an empty
    list then costs no query of its own (the rejected prescriptions: for those who prescribe)."""
    names, sql, params = _probe(prescriber, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return frozenset(name for name, has in zip(names, found or (), strict=False) if has)


@cache
def _probe(prescriber: bool, vendor: str) -> tuple[tuple[str, ...], str, tuple[Any, ...]]:
    """The probe's names, SQL and parameters, built once a process for each database kind: it
    holds no date, user or page, and building it through the ORM cost 2-3 ms of Python a
    request, ten times what the database takes to answer it (docs/benchmarks.md)."""
    probes = {
        "unverified": _unverified(),
        "awaiting_check": _awaiting(),
        "open_alarms": _alarms_open(),
        "open_incidents": _incidents_open(),
        "stopped": _stops_in_force(),
        "awaiting_readback": _readbacks_missing(),
    }
    if prescriber:
        probes["rejected"] = _rejected_newest()
    query = (
        ClinicSettings.objects.filter(id=1)
        .annotate(**{name: Exists(rows) for name, rows in probes.items()})
        .values_list(*probes)
        .order_by("pk")[:1]
    )
    sql, params = query.query.sql_with_params()
    return tuple(probes), sql, tuple(params)


def _unverified_refills(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    return _paged(
        _unverified(),
        ("performed_at", "id"),
        ("id", "implant__episode_id", "performed_at", "performed_by"),
        offset,
        limit,
    )


def _awaiting_check(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Prescriptions [offset, offset + limit) awaiting their double-check, oldest first, each
    with its drug names in order (principal first), and how many there are in all: one query
    over their drugs, a prescription's place numbered in the prescribed_at index."""
    order = ("prescription__prescribed_at", "prescription_id")
    drugs = PrescriptionDrug.objects.filter(prescription__status=Prescription.Status.AWAITING_CHECK)
    found = list(
        drugs.annotate(
            _place=Window(DenseRank(), order_by=list(order)),
            _total=Window(Count("id", filter=Q(position=0))),  # a prescription's first drug
        )
        .filter(_place__gt=offset, _place__lte=offset + limit)
        .order_by(*order, "position")
        .values_list(
            "prescription_id",
            "prescription__implant__episode_id",
            "prescription__implant_id",
            "prescription__implant__pump_model",
            "prescription__number",
            "prescription__prescribed_by",
            "prescription__prescribed_at",
            "prescription__high_alert",
            "drug",
            "_total",
        )
    )
    if not found:
        return [], drugs.filter(position=0).count() if offset else 0
    prescriptions: dict[Any, tuple[Any, ...]] = {}
    drug_names: dict[Any, list[str]] = {}
    for *prescription, drug, _total in found:
        prescriptions.setdefault(prescription[0], tuple(prescription))
        drug_names.setdefault(prescription[0], []).append(drug)
    rows = [(*row, tuple(drug_names[key])) for key, row in prescriptions.items()]
    return rows, int(found[0][-1])


def _rejected(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Prescriptions [offset, offset + limit) rejected and not yet replaced, oldest first, each
    with the check that rejected it (who, when, the comment), in one query."""
    rejecting = PrescriptionCheck.objects.filter(
        prescription_id=OuterRef("pk"), accepted=False
    ).order_by("-checked_at")
    return _paged(
        _rejected_newest().annotate(
            rejected_by=Subquery(rejecting.values("checked_by")[:1]),
            rejected_at=Subquery(rejecting.values("checked_at")[:1]),
            comment=Subquery(rejecting.values("comment")[:1]),
        ),
        ("prescribed_at", "id"),
        (
            "id",
            "implant__episode_id",
            "implant_id",
            "implant__pump_model",
            "number",
            "prescribed_by",
            "rejected_by",
            "rejected_at",
            "comment",
        ),
        offset,
        limit,
    )


def _unacknowledged_alarms(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    return _paged(
        _alarms_open(),
        ("-implant__high_risk", "reported_at", "id"),  # baclofen first, then oldest
        ("id", "implant__episode_id", "kind", "reported_at", "implant__high_risk"),
        offset,
        limit,
    )


def _open_incidents(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Each with the principal drug of the prescription its readback was compared with (its
    summary's quantities are shown in that drug's unit), in the same query."""
    principal = PrescriptionDrug.objects.filter(
        prescription_id=OuterRef("readback__program__prescription_id"), position=0
    ).values("drug")[:1]
    other = Case(
        When(details__severity=Severity.OTHER.value, then=Value(Severity.OTHER.value)),
        default=Value(Severity.DOSE.value),
    )
    return _paged(
        _incidents_open().annotate(principal=Subquery(principal), severity=other),
        # a dose, concentration or drug that differed first ("dose" < "other"), then oldest
        # first: a stopped session waits longest
        ("severity", "opened_at", "id"),
        ("id", "implant__episode_id", "summary", "opened_at", "opened_by", "principal", "severity"),
        offset,
        limit,
    )


def _awaiting_readback(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Programs awaiting their readback, the longest waiting first, each with whether a refill
    made it."""
    return _paged(
        _readbacks_missing().annotate(
            at_refill=Exists(Refill.objects.filter(program_id=OuterRef("pk")))
        ),
        ("started_at", "id"),
        (
            "id",
            "implant__episode_id",
            "implant_id",
            "implant__pump_model",
            "prescription__number",
            "started_at",
            "programmed_by",
            "at_refill",
        ),
        offset,
        limit,
    )


def _stopped(offset: int, limit: int) -> tuple[list[tuple[Any, ...]], int]:
    """Pumps whose prescription in force stops them (a single bolus, after it; a stop), read in
    the partial index of such prescriptions, each with when it was programmed."""
    found, total = _paged(
        _stops_in_force(),
        ("-implant__high_risk", "checked_at", "id"),  # baclofen first
        (
            "id",
            "implant_id",
            "implant__episode_id",
            "implant__pump_model",
            "bolus_dose_mcg",
            "bolus_duration_s",
            "implant__high_risk",
            "program_kind",
            "implant__refill_by",
        ),
        offset,
        limit,
    )
    started = dict(
        Program.objects.filter(
            prescription_id__in=[row[0] for row in found], ended_at__isnull=True
        ).values_list("prescription_id", "started_at")
    )
    principal = {
        prescription_id: (drug, concentration)
        for prescription_id, drug, concentration in PrescriptionDrug.objects.filter(
            prescription_id__in=[row[0] for row in found], position=0
        ).values_list("prescription_id", "drug", "concentration_mcg_per_ml")
    }
    rows = [(*row[1:6], started.get(row[0]), *row[6:8], principal[row[0]], row[8]) for row in found]
    return [row for row in rows if row[5] is not None], total


def _stopped_rows(
    stopped: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]], now: datetime
) -> list[StoppedRow]:
    rows = []
    for implant_id, episode_id, model, dose, seconds, at, high, kind, (drug, conc), due in stopped:
        device = catalog.pump(model, "pump_model")
        pump = device.name
        if kind == ProgramKind.STOPPED.value:
            stop = ProgramKind.STOPPED
            rows.append(
                StoppedRow(
                    *names[episode_id],
                    str(implant_id),
                    pump,
                    None,
                    at,
                    high,
                    BolusState.STOPPED,
                    None,
                    at,
                    stop,
                    drug,
                    _long_stop(device, at, now),
                    due,
                )
            )
            continue
        bolus = SingleBolus(of(dose, "mcg"), seconds)
        run = bolus.run(at, now)
        rows.append(
            StoppedRow(
                *names[episode_id],
                str(implant_id),
                pump,
                drug_units.bolus_delivery(drug, bolus.delivery(drug, conc)),
                at,
                high,
                run.state,
                run.ends_at,
                run.ends_at if run.state is BolusState.STOPPED else None,
                drug=drug,
                long_stop=_long_stop(device, run.ends_at, now),
                refill_by=due,
            )
        )
    return rows


def _long_stop(pump: catalog.Pump, since: datetime, now: datetime) -> str:
    stall = overinfusion_limit_passed(pump, int((now - since).total_seconds()))
    return duration_words(int(stall.value.canonical)) if stall is not None else ""


def _patient_names(
    rows: Iterable[tuple[Any, ...]], episodes: Iterable[Episode]
) -> dict[Any, tuple[str, str]]:
    """The patient (id, name) of each episode of the rows read (the episode id second in each
    row) and of the episodes, in one query."""
    episode_ids = {row[1] for row in rows} | {e.id for e in episodes}
    return {
        episode_id: (str(patient_id), _name(family, given))
        for episode_id, patient_id, family, given in Episode.objects.filter(
            id__in=episode_ids
        ).values_list("id", "patient_id", "patient__family_name", "patient__given_name")
    }


def _replacement_rows(
    found: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]
) -> list[ReplacementRow]:
    rows = []
    for implant_id, episode_id, model_name, implanted_on in found:
        replace_by = replacement_due(catalog.pump(model_name), implanted_on)
        assert replace_by is not None
        rows.append(
            ReplacementRow(
                *names[episode_id], str(implant_id), model_name, implanted_on, replace_by
            )
        )
    return rows


def _test_phase_rows(
    testing: Iterable[Episode], names: dict[Any, tuple[str, str]]
) -> list[EpisodeRow]:
    rows = []
    for e in testing:
        state = state_of(e)
        rows.append(
            EpisodeRow(
                *names[e.id],
                str(e.id),
                e.indication,
                state.test_started_on,
                next_step=next_step(state),
            )
        )
    return rows


def _awaiting_implant_rows(
    waiting: Iterable[Episode],
    names: dict[Any, tuple[str, str]],
    rules: PathwaySettings,
    today: date,
) -> list[EpisodeRow]:
    """The responders by their earliest implant date (today when it is not known)."""
    rows = []
    for e in waiting:
        ended = state_of(e).test_ended_on
        earliest = earliest_implant_date(ended, rules.min_days_test_to_implant) if ended else None
        rows.append(EpisodeRow(*names[e.id], str(e.id), e.indication, ended, earliest))
    rows.sort(key=lambda row: row.earliest_implant or today)
    return rows


def _refill_rows_by_list(
    pages: _RefillPages, names: dict[Any, tuple[str, str]], today: date, locale: ClinicLocale
) -> dict[str, list[RefillRow]]:
    """The page of each refill list, a cut shared by two lists ranked once."""
    by_cut: dict[int, list[RefillRow]] = {}
    for pair in pages.cuts.values():
        for cut in pair:
            if id(cut) not in by_cut:
                by_cut[id(cut)] = _refill_rows(cut, names, today, locale)
    _with_visits(by_cut)
    return {
        name: [row for cut in pair for row in by_cut[id(cut)]] for name, pair in pages.cuts.items()
    }


def _verification_rows(
    checks: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]
) -> list[VerificationRow]:
    return [
        VerificationRow(*names[episode_id], str(refill_id), at, by)
        for refill_id, episode_id, at, by in checks
    ]


def _check_rows(
    pending: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]
) -> list[CheckRow]:
    return [
        CheckRow(
            *names[episode_id], str(rx_id), str(implant_id), model, number, drugs, by, at, high
        )
        for rx_id, episode_id, implant_id, model, number, by, at, high, drugs in pending
    ]


def _rejected_rows(
    rejected: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]
) -> list[RejectedRow]:
    return [
        RejectedRow(
            *names[episode_id],
            str(rx_id),
            str(implant_id),
            model,
            number,
            prescribed_by,
            by or "",
            at,
            comment or "",
        )
        for rx_id, episode_id, implant_id, model, number, prescribed_by, by, at, comment in rejected
    ]


def _alarm_rows(alarms: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]) -> list[AlarmRow]:
    return [
        AlarmRow(*names[episode_id], str(alarm_id), kind, at, high_risk)
        for alarm_id, episode_id, kind, at, high_risk in alarms
    ]


def _incident_rows(
    incidents: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]
) -> list[IncidentRow]:
    return [
        IncidentRow(
            *names[episode_id],
            str(incident_id),
            drug_units.summary_words(summary, drug) if drug else summary,
            at,
            by,
            Severity(severity),
        )
        for incident_id, episode_id, summary, at, by, drug, severity in incidents
    ]


def _readback_rows(
    missing: list[tuple[Any, ...]], names: dict[Any, tuple[str, str]]
) -> list[ReadbackRow]:
    return [
        ReadbackRow(
            *names[episode_id], str(program_id), str(implant_id), model, number, at, by, refill
        )
        for program_id, episode_id, implant_id, model, number, at, by, refill in missing
    ]


def _patients_shown(board: Dashboard) -> list[str]:
    return sorted(
        {
            row.patient_id
            for rows in (
                board.overdue,
                board.due_today,
                board.due_week,
                board.at_risk,
                board.test_phases,
                board.awaiting_implant,
                board.nearing_replacement,
                board.unverified,
                board.awaiting_check,
                board.open_alarms,
                board.open_incidents,
                board.stopped,
                board.awaiting_readback,
                board.rejected,
            )
            for row in rows
        }
    )


def _if_any(
    present: frozenset[str],
    name: str,
    read: Callable[[int, int], tuple[list[tuple[Any, ...]], int]],
    offset: int,
    limit: int,
) -> tuple[list[tuple[Any, ...]], int]:
    return read(offset, limit) if name in present else ([], 0)


@transaction.atomic
def worklist(
    user: User, now: datetime, *, offset: int = 0, limit: int = DEFAULT_LIMIT
) -> Dashboard:
    """Everything the clinic must act on, most urgent first in each list: rows
    [offset, offset + limit) of each list, and the size of each whole list."""
    actor = require(user, "patient.read")
    check_page(offset, limit, PAGING_SOURCE)
    end = offset + limit
    settings = clinic_settings()
    locale = locale_of(settings)
    today = locale.today(now)

    refills = _refill_pages(today, locale, offset, limit)
    replacing, replacing_total = _pumps_to_replace(today, offset, limit)
    testing, waiting = _testing_and_waiting()
    prescriber = bool(roles_of(user) & CAPABILITIES["program.prescribe"])
    present = _lists_with_rows(prescriber)
    checks, checks_total = _if_any(present, "unverified", _unverified_refills, offset, limit)
    pending, pending_total = _if_any(present, "awaiting_check", _awaiting_check, offset, limit)
    alarms, alarms_total = _if_any(present, "open_alarms", _unacknowledged_alarms, offset, limit)
    incidents, incidents_total = _if_any(present, "open_incidents", _open_incidents, offset, limit)
    stopped, stopped_total = _if_any(present, "stopped", _stopped, offset, limit)
    unread, unread_total = _if_any(present, "awaiting_readback", _awaiting_readback, offset, limit)
    rejected, rejected_total = _if_any(present, "rejected", _rejected, offset, limit)
    names = _patient_names(
        [
            *refills.rows,
            *replacing,
            *checks,
            *pending,
            *alarms,
            *incidents,
            *stopped,
            *unread,
            *rejected,
        ],
        [*testing[offset:end], *waiting],
    )

    nearing_replacement = _replacement_rows(replacing, names)
    test_phases = _test_phase_rows(testing[offset:end], names)
    awaiting = _awaiting_implant_rows(waiting, names, pathway_settings(settings), today)
    refill_rows = _refill_rows_by_list(refills, names, today, locale)
    board = Dashboard(
        today,
        refill_rows["overdue"],
        refill_rows["due_today"],
        refill_rows["due_week"],
        refill_rows["at_risk"],
        test_phases,
        awaiting[offset:end],
        nearing_replacement,
        _verification_rows(checks, names),
        _check_rows(pending, names),
        _alarm_rows(alarms, names),
        _incident_rows(incidents, names),
        _stopped_rows(stopped, names, now),
        _readback_rows(unread, names),
        Totals(
            **refills.totals,
            test_phases=len(testing),
            awaiting_implant=len(waiting),
            nearing_replacement=replacing_total,
            unverified=checks_total,
            awaiting_check=pending_total,
            open_alarms=alarms_total,
            open_incidents=incidents_total,
            stopped=stopped_total,
            awaiting_readback=unread_total,
            rejected=rejected_total,
        ),
        offset,
        limit,
        _rejected_rows(rejected, names),
    )
    audit.record(
        actor,
        "dashboard.read",
        "dashboard",
        today.isoformat(),
        after={"patients": _patients_shown(board), "offset": offset, "limit": limit},
    )
    return board
