"""The audit trail: every change (and every read of a patient record) appends an entry in the same
transaction as the change. Entries form a hash chain, so an edited, deleted or reordered entry is
detected by `verify()` (`painpump audit verify`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction

from painpump import clock
from painpump.clinic.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _digest(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "patient_id": str(entry.patient_id) if entry.patient_id else None,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }


def record(
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    *,
    patient_id: UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry; must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the change's transaction")
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    entry = AuditEntry(
        at=clock.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patient_id,
        before=json.loads(json.dumps(before, default=str)) if before is not None else None,
        after=json.loads(json.dumps(after, default=str)) if after is not None else None,
        prev_hash=head.last_hash,
    )
    entry.hash = _digest(_fields(entry))
    entry.save()
    head.last_hash = entry.hash
    head.count += 1
    head.save(update_fields=["last_hash", "count"])
    return entry


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain: entries checked and the first break, if any."""

    entries: int
    ok: bool
    problem: str = ""


def verify() -> Verification:
    """Recompute the chain from the first entry: every entry's hash, its link to the entry
    before, and the head's count and last hash (which catch a deleted newest entry)."""
    previous = GENESIS
    count = 0
    for entry in AuditEntry.objects.order_by("seq").iterator():
        count += 1
        if entry.prev_hash != previous:
            return Verification(
                count,
                False,
                f"entry {entry.seq}: link to the entry before is "
                "broken (an entry was deleted, inserted or reordered)",
            )
        if _digest(_fields(entry)) != entry.hash:
            return Verification(
                count,
                False,
                f"entry {entry.seq}: content does not match its hash (the entry was edited)",
            )
        previous = entry.hash
    head = AuditHead.objects.filter(id=1).first()
    expected_count, expected_hash = (head.count, head.last_hash) if head else (0, GENESIS)
    if expected_count != count or expected_hash != previous:
        return Verification(
            count,
            False,
            f"the chain holds {count} entries ending in "
            f"{previous[:12]}, the head records {expected_count} ending in "
            f"{expected_hash[:12]} (entries were removed at the end)",
        )
    return Verification(count, True)
