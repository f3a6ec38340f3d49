"""Reading the audit trail (auditor and admin, audit.read): entries newest first, filtered by
patient, actor, action and date range, a page at a time by sequence number (no count of a table
that grows with every read), and the chain verification. Reading the trail and verifying it are
themselves audited, in the same transaction.

A reader without patient.read (the admin) sees who did what, when, to which record and which
patient id, but no patient's data: the values of a patient's entries are hidden (only the names
of the fields changed show), and so are names, record numbers, birth dates and search words
anywhere else; such a reader filters by patient id only, never by record number, so the filter
cannot tell whether a record number exists. The auditor reads patient records (patient.read) and
sees the trail in full."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Patient
from painpump.clinic.roles import CAPABILITIES, require, roles_of
from painpump.core.errors import Refusal

RULES = "painpump audit log"
PAGE_SIZE = 50
TEXT_MAX = 150
HIDDEN = "(hidden: patient data)"
IDENTIFYING = frozenset({"mrn", "family_name", "given_name", "birth_date", "query"})
"""Keys whose values identify a patient wherever they stand in an entry (a search's words too)."""
ID_ONLY = (
    "painpump audit log: a role that may not read patient records (patient.read) filters by "
    "patient id only; a record number identifies the patient"
)


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


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _patient_id(text: str, reads_patients: bool) -> UUID | None:
    """The patient a filter names, by id or (for a reader of patient records) record number; an
    unknown record number is refused, and any for another reader, without looking it up."""
    wanted = text.strip()
    if not wanted:
        return None
    if (found_id := _uuid(wanted)) is not None:
        return found_id
    if not reads_patients:
        raise Refusal("patient", repr(wanted), "a patient id", ID_ONLY, "is not a patient id")
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


def _without_identity(value: Any) -> Any:
    """`value` with what identifies a patient hidden: the IDENTIFYING keys, and a patient
    filter typed as a record number."""
    if isinstance(value, list):
        return [_without_identity(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: HIDDEN
        if key in IDENTIFYING
        or (key == "patient" and isinstance(item, str) and _uuid(item) is None)
        else _without_identity(item)
        for key, item in value.items()
    }


def _values_hidden(value: Any) -> Any:
    """A patient's entry as a reader without patient.read sees it: the fields, not the values."""
    if isinstance(value, dict):
        return dict.fromkeys(value, HIDDEN)
    return None if value is None else HIDDEN


def _redact(entry: AuditEntry) -> AuditEntry:
    """The entry for a reader without patient.read (changed in memory only: entries are
    append-only and never saved again)."""
    shown = _values_hidden if entry.patient_id is not None else _without_identity
    entry.before, entry.after = shown(entry.before), shown(entry.after)
    return entry


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
    reads_patients = bool(roles_of(user) & CAPABILITIES["patient.read"])
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
    patient_id = _patient_id(filters.patient, reads_patients)
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
    entries = found[:size] if reads_patients else [_redact(entry) for entry in found[:size]]
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
