"""The dates a pump's twin gives, stored where every page, report and API answer reads them: on
the pump (its dashboard indexes), on the program started and on the refill that started it; the
patient's open refill appointments follow them when every pump is dated again."""

from __future__ import annotations

from datetime import datetime, tzinfo
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery

from painpump.clinic import audit
from painpump.clinic.actions import refill_visits
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Implant, Program, Refill
from painpump.clinic.reads import prescriptions, pump_history
from painpump.clinic.reads.refill_slots import LOOK_AHEAD, OPEN, taken_between
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.pump_twin import HORIZON_DAYS, TwinDates

FIELDS = ["alarm_at", "empty_at", "refill_by", "limited_by"]


def store(implant: Implant, program: Program, refill: Refill | None, at: datetime) -> TwinDates:
    """The twin's dates from the pump's whole recorded history at `at`, set on `implant` (saved
    by the caller with its other changes) and saved on `program` and `refill`. A program that
    never reaches the alarm within the horizon is refused (the transaction rolls back), unless
    it stops the pump (a single bolus, after it; a stopped pump): the pump holds the rest, dated
    by its drug's stability (or the interval for a fluid held in a stopped pump)."""
    found = pump_history.twin_dates(pump_history.history_of(implant), at)
    undated = found.alarm_at is None or found.empty_at is None
    if undated and not prescriptions.stops_basal(program):
        raise Refusal(
            "program",
            str(program.id),
            f"a program that empties the pump within {HORIZON_DAYS} days",
            pump_history.RULES,
            "gives no refill date",
        )
    implant.alarm_at, implant.empty_at = found.alarm_at, found.empty_at
    implant.refill_by = found.refill_by
    for row in (program, refill):
        if row is not None:
            row.alarm_at, row.empty_at = found.alarm_at, found.empty_at
            row.refill_by, row.limited_by = found.refill_by, found.limited_by.value
            row.save(update_fields=FIELDS)
    return found


CHUNK = 500
REDATED = "moved by a change of the clinic's refill margin, time zone or drug library"
"""Why a refill visit moved when every pump was dated again."""


@transaction.atomic
def redate_all(user: User, now: datetime) -> int:
    """Every filled pump in place dated again by its twin (after a change of the clinic's refill
    margin, time zone or drug library): its stored alarm, empty and refill-by dates, chunk by
    chunk, and the open refill appointments of each pump whose dates moved follow them
    (refill_visits.reschedule_refill); one audit entry for the whole. Returns how many pumps
    changed."""
    actor = require(user, "settings.write")
    zone = locale_of(clinic_settings()).zone
    ids = list(
        Implant.objects.filter(explanted_on__isnull=True, refill_by__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    changed: list[tuple[Implant, str]] = []
    for start in range(0, len(ids), CHUNK):
        changed += _redate(ids[start : start + CHUNK], zone, now)
    dated = {str(implant.id): dates_of(implant) for implant, _ in changed}
    moved = _appointments_follow(actor, changed, now)
    audit.record(
        actor,
        "pumps.redate",
        "clinic",
        "pumps",
        after={
            "pumps": len(ids),
            "changed": len(dated),
            "dated": dated,
            "appointments_moved": moved,
        },
    )
    return len(dated)


def dates_of(implant: Implant) -> dict[str, str | None]:
    """The pump's stored dates as its audit entries record them."""
    return {
        "alarm_at": implant.alarm_at.isoformat() if implant.alarm_at else None,
        "empty_at": implant.empty_at.isoformat() if implant.empty_at else None,
        "refill_by": implant.refill_by.isoformat() if implant.refill_by else None,
    }


def _redate(ids: list[UUID], zone: tzinfo, now: datetime) -> list[tuple[Implant, str]]:
    """The pumps of `ids` whose twin moved their dates, saved with the new ones, each with the
    note of its refill visit now (refill_visits.limited_note)."""
    newest = Refill.objects.filter(implant_id=OuterRef("implant_id")).order_by("-performed_at")
    last = {
        r.implant_id: r
        for r in Refill.objects.filter(
            implant_id__in=ids, performed_at=Subquery(newest.values("performed_at")[:1])
        ).prefetch_related("drugs")
    }
    earliest = min((r.performed_at for r in last.values()), default=now)
    runs: dict[UUID, list[Program]] = {}
    for program in (
        Program.objects.filter(implant_id__in=ids)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=earliest))
        .order_by("started_at")
        .select_related("prescription")
        .prefetch_related("prescription__drugs", "prescription__steps")
    ):
        runs.setdefault(program.implant_id, []).append(program)
    implants = list(Implant.objects.filter(id__in=ids))
    moved: list[tuple[Implant, str]] = []
    for implant in implants:
        refill = last.get(implant.id)
        if refill is None:
            continue
        since = [
            p
            for p in runs.get(implant.id, [])
            if p.ended_at is None or p.ended_at > refill.performed_at
        ]
        history = pump_history.recorded(implant, [refill], since, zone)
        found = pump_history.twin_dates(history, now)
        stopped = bool(since) and prescriptions.stops_basal(since[-1])
        if (found.alarm_at is None or found.empty_at is None) and not stopped:
            continue
        dates = (found.alarm_at, found.empty_at, found.refill_by)
        if (implant.alarm_at, implant.empty_at, implant.refill_by) != dates:
            implant.alarm_at, implant.empty_at, implant.refill_by = dates
            moved.append((implant, refill_visits.limited_note(found.limited_by, stopped)))
    Implant.objects.bulk_update(
        [implant for implant, _ in moved], ["alarm_at", "empty_at", "refill_by"]
    )
    return moved


def _appointments_follow(
    actor: str, changed: list[tuple[Implant, str]], now: datetime
) -> list[str]:
    """The open refill appointments of the patients whose pump's dates moved follow its new
    refill-by date (of a patient with several such pumps, the earliest), read chunk by chunk,
    the slots taken read once for all of them; returns what moved."""
    patient_of: dict[UUID, UUID] = {}
    for start in range(0, len(changed), CHUNK):
        chunk = [implant.id for implant, _ in changed[start : start + CHUNK]]
        patient_of |= dict(
            Implant.objects.filter(id__in=chunk).values_list("id", "episode__patient_id")
        )
    due: dict[UUID, tuple[Implant, str]] = {}
    for implant, note in changed:
        earlier = due.get(patient_of[implant.id])
        if earlier is None or _sooner(implant, earlier[0]):
            due[patient_of[implant.id]] = (implant, note)
    patients = sorted(due)
    moved: list[str] = []
    if not patients:
        return moved
    today = locale_of(clinic_settings()).today(now)
    latest = max((i.refill_by for i, _ in due.values() if i.refill_by), default=today)
    taken = taken_between(today, max(today, latest) + LOOK_AHEAD)
    for start in range(0, len(patients), CHUNK):
        open_refills: dict[UUID, list[Appointment]] = {}
        for appointment in (
            Appointment.objects.select_for_update()
            .filter(patient_id__in=patients[start : start + CHUNK], kind="refill", status__in=OPEN)
            .order_by("due_by", "id")
        ):
            open_refills.setdefault(appointment.patient_id, []).append(appointment)
        for patient, appointments in open_refills.items():
            implant, note = due[patient]
            moved += refill_visits.reschedule_refill(
                actor, implant, note, REDATED, open_refills=appointments, taken=taken
            )
    return moved


def _sooner(implant: Implant, other: Implant) -> bool:
    """`implant` is due for its refill before `other` (a pump with no refill-by date never is)."""
    if implant.refill_by is None:
        return False
    return other.refill_by is None or implant.refill_by < other.refill_by
