"""Reading the audit trail (auditor and admin, audit.read): entries newest first, filtered by
patient, actor, action and date range, a page at a time by sequence number (no count of a table
that grows with every read), and the chain verification. Reading the trail and verifying it are
themselves audited, in the same transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Patient
from painpump.clinic.roles import require
from painpump.core.errors import Refusal

RULES = "painpump audit log"
PAGE_SIZE = 50
TEXT_MAX = 150


@dataclass(frozen=True)
class AuditFilter:
    """What to show: a patient (record number or id), an actor (username), an action or its
    prefix ("refill" finds refill.perform and refill.verify), a range of the clinic's days
    (inclusive)."""

    patient: str = ""
    actor: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first; `older` is the sequence number to continue below."""

    entries: list[AuditEntry]
    older: int | None
    patient_id: UUID | None


def _patient_id(text: str) -> UUID | None:
    """The patient a filter names, by id or record number; an unknown one is refused."""
    wanted = text.strip()
    if not wanted:
        return None
    try:
        return UUID(wanted)
    except ValueError:
        pass
    found = Patient.objects.filter(mrn=wanted).values_list("id", flat=True).first()
    if found is None:
        raise Refusal(
            "patient",
            repr(wanted),
            "a patient's record number or id",
            RULES,
            "matches no patient",
        )
    return found


def _day_start(day: date) -> datetime | None:
    """The first moment of the clinic's `day` (None past the calendar's end: no bound)."""
    try:
        return clinic_locale().day_start(day)
    except OverflowError:
        return None


@transaction.atomic
def audit_page(
    user: User, filters: AuditFilter, *, before: int | None = None, size: int | None = None
) -> AuditPage:
    """Up to `size` (default PAGE_SIZE) entries matching `filters`, with a sequence number below
    `before` (from the newest when None)."""
    actor = require(user, "audit.read")
    size = size or PAGE_SIZE
    for name in ("patient", "actor", "action"):
        if len(getattr(filters, name)) > TEXT_MAX:
            raise Refusal(
                name, "(too long)", f"at most {TEXT_MAX} characters", RULES, "is too long"
            )
    if filters.since and filters.until and filters.since > filters.until:
        raise Refusal(
            "until",
            filters.until.isoformat(),
            f"on or after {filters.since.isoformat()}",
            RULES,
            "is before the start of the range",
        )
    patient_id = _patient_id(filters.patient)
    rows = AuditEntry.objects.order_by("-seq")
    if patient_id is not None:
        rows = rows.filter(patient_id=patient_id)
    if filters.actor.strip():
        rows = rows.filter(actor__iexact=filters.actor.strip())
    if filters.action.strip():
        rows = rows.filter(action__startswith=filters.action.strip())
    if filters.since and (since := _day_start(filters.since)) is not None:
        rows = rows.filter(at__gte=since)
    if filters.until and filters.until < date.max:
        end = _day_start(filters.until + timedelta(days=1))
        if end is not None:
            rows = rows.filter(at__lt=end)
    if before is not None:
        rows = rows.filter(seq__lt=before)
    found = list(rows[: size + 1])
    entries = found[:size]
    older = entries[-1].seq if len(found) > size else None
    shown = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(filters).items()}
    audit.record(
        actor,
        "audit.read",
        "audit",
        "log",
        after={"filters": {k: v for k, v in shown.items() if v}, "before": before},
    )
    return AuditPage(entries, older, patient_id)


@transaction.atomic
def verify_chain(user: User) -> audit.Verification:
    """Recompute the hash chain (clinic.audit.verify) and record that it was checked."""
    actor = require(user, "audit.read")
    result = audit.verify()
    audit.record(
        actor,
        "audit.verify",
        "audit",
        "chain",
        after={"ok": result.ok, "entries": result.entries, "problem": result.problem or None},
    )
    return result
