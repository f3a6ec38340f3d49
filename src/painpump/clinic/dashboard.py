"""The clinic's worklist: refills due this week and overdue, patients at risk by days to their
alarm (baclofen first among equals), test phases running, responders waiting for their earliest
implant date, pumps nearing replacement, refills waiting for a second clinician, and patients'
alarms not yet acknowledged. Urgency and dates come from painpump.core; each list is bounded and
served by indexed queries. Looking at the worklist is audited like any read of patient data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from painpump.clinic import audit
from painpump.clinic.models import AlarmReport, Episode, Implant, Refill
from painpump.clinic.pathway import clinic_settings, pathway_settings, state_of
from painpump.clinic.roles import require
from painpump.core import catalog
from painpump.core.device_life import implanted_on_or_before, replacement_due
from painpump.core.pathway import earliest_implant_date
from painpump.core.scheduling import ClinicCalendar, DueRefill, Priority, prioritise

ROWS = 100
ROW_FIELDS = (
    "id",
    "pump_model",
    "implanted_on",
    "alarm_at",
    "empty_at",
    "refill_by",
    "high_risk",
    "drug_names",
    "episode__id",
    "episode__patient__id",
    "episode__patient__family_name",
    "episode__patient__given_name",
)
WEEK = timedelta(days=7)
REPLACEMENT_HORIZON = timedelta(days=180)


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


@dataclass(frozen=True)
class EpisodeRow:
    patient_id: str
    patient: str
    episode_id: str
    indication: str
    since: date | None
    earliest_implant: date | None = None


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
class AlarmRow:
    patient_id: str
    patient: str
    alarm_id: str
    kind: str
    reported_at: datetime
    high_risk: bool


@dataclass(frozen=True)
class Dashboard:
    today: date
    refills_due: list[RefillRow]
    at_risk: list[RefillRow]
    test_phases: list[EpisodeRow]
    awaiting_implant: list[EpisodeRow]
    nearing_replacement: list[ReplacementRow]
    unverified: list[VerificationRow]
    open_alarms: list[AlarmRow]


def _name(patient: object) -> str:
    return f"{patient.family_name}, {patient.given_name}"  # type: ignore[attr-defined]


def _refill_rows(implants: list[Implant], today: date, calendar: ClinicCalendar) -> list[RefillRow]:
    rows = []
    for implant in implants:
        assert implant.alarm_at is not None and implant.refill_by is not None
        names = tuple(name for name in implant.drug_names.split("+") if name)
        if not names:
            continue
        due = DueRefill(
            str(implant.episode.patient_id),
            names,
            implant.alarm_at.date(),
            implant.refill_by,
            implant.empty_at.date() if implant.empty_at else None,
        )
        priority = prioritise([due], today=today, calendar=calendar)[0]
        rows.append(
            RefillRow(
                str(implant.episode.patient_id),
                _name(implant.episode.patient),
                str(implant.id),
                implant.pump_model,
                names,
                implant.alarm_at,
                implant.refill_by,
                priority,
            )
        )
    return sorted(rows, key=lambda r: r.priority.sort_key)


@transaction.atomic
def worklist(user: User, now: datetime) -> Dashboard:
    """Everything the clinic must act on, most urgent first in each list."""
    actor = require(user, "patient.read")
    today = now.date()
    settings = clinic_settings()
    calendar = ClinicCalendar(settings.country, settings.subdivision or None)
    active = Implant.objects.filter(explanted_on__isnull=True, refill_by__isnull=False)
    active = active.select_related("episode__patient").only(*ROW_FIELDS)
    due = list(active.filter(refill_by__lte=today + WEEK).order_by("refill_by")[:ROWS])
    at_risk = list(active.order_by("alarm_at")[:ROWS])
    episodes = Episode.objects.select_related("patient").filter(closed_at__isnull=True)
    testing = [
        EpisodeRow(
            str(e.patient_id),
            _name(e.patient),
            str(e.id),
            e.indication,
            state_of(e).test_started_on,
        )
        for e in episodes.filter(stage="test_phase").order_by("updated_at")[:ROWS]
    ]
    rules = pathway_settings(settings)
    waiting = []
    for e in episodes.filter(stage="responder").order_by("updated_at")[:ROWS]:
        state = state_of(e)
        earliest = (
            earliest_implant_date(state.test_ended_on, rules.min_days_test_to_implant)
            if state.test_ended_on
            else None
        )
        waiting.append(
            EpisodeRow(
                str(e.patient_id),
                _name(e.patient),
                str(e.id),
                e.indication,
                state.test_ended_on,
                earliest,
            )
        )
    waiting.sort(key=lambda row: row.earliest_implant or today)
    replacing = []
    horizon = today + REPLACEMENT_HORIZON
    cutoffs = Q()
    for model in catalog.pumps().values():
        cutoff = implanted_on_or_before(model, horizon)
        if cutoff is not None:
            cutoffs |= Q(pump_model=model.model, implanted_on__lte=cutoff)
    candidates = (
        Implant.objects.filter(cutoffs, explanted_on__isnull=True)
        .select_related("episode__patient")
        .only(*ROW_FIELDS)
        .order_by("implanted_on")[:ROWS]
        if cutoffs
        else []
    )
    for implant in candidates:
        replace_by = replacement_due(catalog.pump(implant.pump_model), implant.implanted_on)
        assert replace_by is not None
        replacing.append(
            ReplacementRow(
                str(implant.episode.patient_id),
                _name(implant.episode.patient),
                str(implant.id),
                implant.pump_model,
                implant.implanted_on,
                replace_by,
            )
        )
    unverified = [
        VerificationRow(
            str(r.implant.episode.patient_id),
            _name(r.implant.episode.patient),
            str(r.id),
            r.performed_at,
            r.performed_by,
        )
        for r in Refill.objects.filter(needs_verification=True, verified_by="")
        .select_related("implant__episode__patient")
        .order_by("performed_at")[:ROWS]
    ]
    alarms = [
        AlarmRow(
            str(a.implant.episode.patient_id),
            _name(a.implant.episode.patient),
            str(a.id),
            a.kind,
            a.reported_at,
            a.implant.high_risk,
        )
        for a in AlarmReport.objects.filter(acknowledged_at__isnull=True)
        .select_related("implant__episode__patient")
        .order_by("reported_at")[:ROWS]
    ]
    alarms.sort(key=lambda row: (not row.high_risk, row.reported_at))
    board = Dashboard(
        today,
        _refill_rows(due, today, calendar),
        _refill_rows(at_risk, today, calendar),
        testing,
        waiting,
        replacing[:ROWS],
        unverified,
        alarms,
    )
    shown = {
        row.patient_id
        for rows in (
            board.refills_due,
            board.at_risk,
            board.test_phases,
            board.awaiting_implant,
            board.nearing_replacement,
            board.unverified,
            board.open_alarms,
        )
        for row in rows
    }
    audit.record(
        actor, "dashboard.read", "dashboard", today.isoformat(), after={"patients": sorted(shown)}
    )
    return board
