"""The audit trail: every change appends an entry in the same transaction as the change (a read
of a patient record, right after the read, before the answer leaves). Entries form a chain of
keyed hashes (HMAC-SHA256 with the audit key, which never lives in the database:
painpump.clinic.audit_keys), and every committed write batch leaves a signed checkpoint outside
the database (painpump.clinic.audit_checkpoints). `verify()` (`painpump audit verify`) detects an
edited, deleted, reordered or recomputed entry, a trail cut at its end or wiped, a clinical record
that differs from what its trail recorded (painpump.clinic.audit_records), and a record changed
between two of its entries (painpump.clinic.audit_continuity)."""

from __future__ import annotations

import hmac
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from painpump import clock
from painpump.clinic import audit_checkpoints, audit_keys
from painpump.clinic.audit_keys import UNKEYED, AuditKey
from painpump.clinic.models import AuditEntry, AuditHead
from painpump.db import read_only

GENESIS = "0" * 64
ROTATE = "audit.key_rotate"
"""The entry that moves the chain to another key: keyed with the new key, it names the old one
and seals every entry before it (docs/security.md, key rotation)."""


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    """What an entry's hash covers: all of it but its sequence number and its own hash."""
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
) -> AuditEntry | None:
    """Append an entry; must run inside the transaction of the change it records. Within a
    request that only reads (painpump.db.read_only), the entry of what it read is appended once
    its read has ended, before the answer leaves; None then."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the change's transaction")
    if read_only.active():
        read_only.after(
            partial(_append, actor, action, object_type, object_id, patient_id, before, after)
        )
        return None
    return _append(actor, action, object_type, object_id, patient_id, before, after)


def _append(
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    patient_id: UUID | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    key = audit_keys.require_key()
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
    entry.hash = key.digest("entry", hashed_fields(entry))
    entry.save()
    head.last_hash = entry.hash
    head.count += 1
    head.save(update_fields=["last_hash", "count"])
    audit_checkpoints.after_commit()
    return entry


def rotate_key(actor: str) -> AuditEntry:
    """Move the chain to the configured key (PAINPUMP_AUDIT_KEY) from the key of its newest
    entries, which must be listed in PAINPUMP_AUDIT_RETIRED_KEYS_FILE (or be the unkeyed digest
    of a trail written before painpump keyed it): verifies the trail first, then appends the
    rotation entry. Refuses (ValueError) a trail that does not verify or is under that key."""
    with transaction.atomic():
        outcome = verify()
        current = audit_keys.require_key()
        blocking = [p for p in outcome.problems if p != outcome.unsealed]
        if blocking:
            raise ValueError(
                f"the audit trail does not verify, so it is not sealed under a new key: "
                f"{blocking[0]}" + (f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else "")
            )
        if outcome.entries == 0:
            raise ValueError("the audit trail holds no entry yet: there is no key to rotate from")
        if outcome.key_id == current.id:
            raise ValueError(
                f"the audit trail is already under the configured key {current.id}: put the new "
                "key in PAINPUMP_AUDIT_KEY and the old one in PAINPUMP_AUDIT_RETIRED_KEYS_FILE "
                "first"
            )
        after = {"key_id": current.id, "previous_key_id": outcome.key_id}
        return _append(actor, ROTATE, "audit_key", current.id, None, None, after)


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify()`: the entries checked, ok when nothing is wrong, every problem
    (the first also as `problem`), notes that are no failure, the key of the newest entries and
    how many entries the latest checkpoint witnessed."""

    entries: int
    ok: bool
    problem: str = ""
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    key_id: str = ""
    checkpoint: int | None = None
    unsealed: str = ""  # the problem of entries still under the unkeyed digest, if any


CHUNK = 2000
SHOWN = 3  # checkpoints the chain no longer holds, named one by one; the rest are counted
KEPT = 10_000
"""Hashes of the newest entries the walk keeps: the head is among them (the head is read after
the chain, and only what committed in between can lie beyond it)."""


@dataclass(frozen=True)
class Unwitnessed:
    """A sound checkpoint of `count` entries that names `head`, while the chain's entry at that
    count (`seq`) has hash `found`."""

    count: int
    seq: int
    head: str
    found: str


@dataclass
class _Chain:
    """The chain read from its first entry, chunk by chunk: each link, each keyed hash, each
    rotation to another key, and the head each sound checkpoint names at its count; `advance()`
    reads on from where it stopped."""

    keys: dict[str, AuditKey]
    witnessed: audit_checkpoints.Witnessed
    key: AuditKey | None = None
    entries: int = 0
    last_seq: int = 0
    previous: str = GENESIS
    problems: list[str] = field(default_factory=list)
    later_failures: int = 0
    halted: bool = False  # under a key not configured here: what follows cannot be checked
    recent: deque[tuple[int, int, str]] = field(default_factory=lambda: deque(maxlen=KEPT))
    unwitnessed: list[Unwitnessed] = field(default_factory=list)  # the first few
    unwitnessed_count: int = 0
    unreadable: dict[int, str] = field(default_factory=dict)  # seq -> the problem naming it

    def advance(self) -> None:
        while True:
            rows = AuditEntry.objects.filter(seq__gt=self.last_seq).order_by("seq")[:CHUNK]
            try:
                batch: list[AuditEntry | int] = list(rows)
            except UNREADABLE:  # only a chunk holding a malformed row is read entry by entry
                batch = list(rows.values_list("seq", flat=True))
            for entry in batch:
                self._take(entry if isinstance(entry, AuditEntry) else self._one(entry))
            if len(batch) < CHUNK:
                return

    def _one(self, seq: int) -> AuditEntry:
        """The entry `seq`; one that cannot be read is named, and only its link is checked."""
        try:
            return AuditEntry.objects.get(seq=seq)
        except UNREADABLE as error:
            prev_hash, digest = AuditEntry.objects.values_list("prev_hash", "hash").get(seq=seq)
            self.unreadable[seq] = _unreadable(seq, f"{type(error).__name__}: {error}")
            return AuditEntry(seq=seq, prev_hash=prev_hash, hash=digest)

    def at(self, position: int) -> tuple[int, str] | None:
        """(seq, hash) of the entry at `position` (1 is the first), if kept; (0, GENESIS) at 0."""
        if position == 0:
            return 0, GENESIS
        if self.recent and self.recent[0][0] <= position <= self.recent[-1][0]:
            _, seq, digest = self.recent[position - self.recent[0][0]]
            return seq, digest
        return None

    def _take(self, entry: AuditEntry) -> None:
        self.entries += 1
        self.last_seq = entry.seq
        self.recent.append((self.entries, entry.seq, entry.hash))
        named = self.witnessed.heads.get(self.entries)
        if named is not None:
            for head in (named, *self.witnessed.rivals.get(self.entries, ())):
                if head != entry.hash:
                    self._unwitnessed(Unwitnessed(self.entries, entry.seq, head, entry.hash))
        if entry.at is None and entry.seq not in self.unreadable:
            self.unreadable[entry.seq] = _unreadable(entry.seq, "its time is not a date and time")
        problem = self._problem(entry)
        self.previous = entry.hash
        if problem is None:
            return
        if self.problems:
            self.later_failures += 1
        else:
            self.problems.append(problem)

    def _unwitnessed(self, found: Unwitnessed) -> None:
        self.unwitnessed_count += 1
        if len(self.unwitnessed) < SHOWN:
            self.unwitnessed.append(found)

    def _problem(self, entry: AuditEntry) -> str | None:
        if entry.prev_hash != self.previous:
            return (
                f"entry {entry.seq}: link to the entry before is broken (an entry was deleted, "
                "inserted or reordered)"
            )
        if self.halted or entry.seq in self.unreadable:
            return None
        fields = hashed_fields(entry)
        if self.key is None:  # the first entry tells the key of the oldest ones
            found = next((k for k in self.keys.values() if _signs(k, fields, entry)), None)
            self.key = found or next(iter(self.keys.values()))
        if entry.action == ROTATE and entry.object_type == "audit_key":
            return self._rotated(entry, fields)
        if not _signs(self.key, fields, entry):
            return self._mismatch(entry, fields)
        return None

    def _rotated(self, entry: AuditEntry, fields: dict[str, Any]) -> str | None:
        assert self.key is not None
        after = entry.after or {}
        old, new = after.get("previous_key_id"), after.get("key_id")
        if old != self.key.id:
            return (
                f"entry {entry.seq}: rotates the chain from key {old}, but the entries before it "
                f"are under key {self.key.id}"
            )
        key = self.keys.get(str(new))
        if key is None or key.id == UNKEYED:
            self.halted = True
            return (
                f"entry {entry.seq}: moves the chain to key {new}, which is neither "
                "PAINPUMP_AUDIT_KEY nor in PAINPUMP_AUDIT_RETIRED_KEYS_FILE: the entries from "
                "there on cannot be checked"
            )
        self.key = key
        return None if _signs(key, fields, entry) else self._mismatch(entry, fields)

    def _mismatch(self, entry: AuditEntry, fields: dict[str, Any]) -> str:
        assert self.key is not None
        why = "the entry was edited, or its hash recomputed without the audit key"
        if not self.problems:
            for other in self.keys.values():
                if other is not self.key and _signs(other, fields, entry):
                    why = (
                        "its hash is the plain unkeyed digest: recomputed without the audit key"
                        if other.id == UNKEYED
                        else f"it is keyed with key {other.id} while the chain is under key "
                        f"{self.key.id}: the key was changed without `painpump audit rotate-key`"
                    )
        return f"entry {entry.seq}: content does not match its hash ({why})"

    def all_problems(self) -> list[str]:
        found = [*self.unreadable.values(), *self.problems]
        if self.later_failures:
            found.append(f"{self.later_failures} later entries fail the check too")
        return found

    def unsealed(self) -> str:
        if self.key is None or self.key.id != UNKEYED:
            return ""
        return (
            f"the {self.entries} entries carry the unkeyed hash painpump wrote before its chain "
            "was keyed: seal them under the audit key with `painpump audit rotate-key` "
            "(docs/security.md)"
        )


UNREADABLE = (TypeError, ValueError, ArithmeticError, ValidationError)
"""What reading a malformed row raises (a time, a UUID or a number that is not one)."""


def _unreadable(seq: int, why: str) -> str:
    return (
        f"entry {seq}: its row cannot be read ({why}): a value no audited action stores, "
        "written outside the application"
    )


def _signs(key: AuditKey, fields: dict[str, Any], entry: AuditEntry) -> bool:
    return hmac.compare_digest(key.digest("entry", fields), entry.hash)


def verify() -> Verification:
    """Check the whole trail: the chain from its first entry (links and keyed hashes), the
    head row against it, the latest signed checkpoint against both (a cut or wiped trail no
    longer holds the entry it witnessed), each clinical record, pathway event, account and the
    clinic's settings against the last state its trail recorded, each entry's `before`
    against its object's previous `after`, each waiting role request against the audited
    request that asked for it, and each API token against its audited creation."""
    from painpump.clinic import (  # they read what the actions record; the actions import us
        audit_accounts,
        audit_continuity,
        audit_entered,
        audit_malformed,
        audit_pathway,
        audit_records,
        audit_settings,
        audit_tokens,
    )
    from painpump.clinic.actions import role_grants

    keys = audit_keys.known_keys()
    witnessed = audit_checkpoints.read(keys)  # before the entries: they can only have grown since
    latest = witnessed.latest
    chain = _Chain(keys, witnessed)
    chain.advance()
    head = AuditHead.objects.filter(id=1).first()
    chain.advance()  # what committed while the chain was read
    unsealed = chain.unsealed()
    if unsealed and latest is not None:  # checkpoints are written only under a key
        unsealed = ""
        chain.problems.append(
            f"the {chain.entries} entries carry the plain unkeyed digest, yet a checkpoint "
            f"signed with an audit key ({latest.key_id}) witnesses the trail: it was recomputed "
            "without the audit key"
        )
    problems = [*chain.all_problems(), *([unsealed] if unsealed else []), *_head(chain, head)]
    notes: list[str] = []
    problems += witnessed.problems
    _witness(chain, witnessed, problems, notes)
    try:
        found, noted = audit_records.compare()
        problems += found
        notes += noted
    except audit_records.UNREADABLE as error:
        problems += audit_malformed.record_ids()
        problems.append(
            f"the clinical records were not compared with their trail: a row cannot be read "
            f"({type(error).__name__}: {error}), a value no audited action stores"
        )
    problems += audit_continuity.breaks()
    problems += audit_pathway.compare()
    for found, noted in (audit_accounts.compare(), audit_settings.compare()):
        problems += found
        notes += noted
    problems += role_grants.unasked()
    problems += audit_entered.compare()
    problems += audit_tokens.compare()
    return Verification(
        chain.entries,
        not problems,
        problems[0] if problems else "",
        tuple(problems),
        tuple(notes),
        chain.key.id if chain.key else "",
        latest.count if latest else None,
        unsealed,
    )


def _head(chain: _Chain, head: AuditHead | None) -> Iterable[str]:
    if head is None:
        if chain.entries:
            yield f"the trail holds {chain.entries} entries but no head row (it was deleted)"
        return
    if not isinstance(head.count, int):
        yield (
            f"the head records {head.count!r} as its count of entries, which is not a number: "
            "the head was rewritten outside the application"
        )
        return
    if chain.entries < head.count:
        yield (
            f"the chain holds {chain.entries} entries ending in {chain.previous[:12]}, the head "
            f"records {head.count} ending in {head.last_hash[:12]} (entries were removed at the "
            "end)"
        )
        return
    found = chain.at(head.count)
    if found is None or found[1] != head.last_hash:
        yield (
            f"the head records {head.count} entries ending in {head.last_hash[:12]}, which is "
            f"not entry number {head.count} of the chain (the head was rewritten)"
        )


def _witness(
    chain: _Chain,
    witnessed: audit_checkpoints.Witnessed,
    problems: list[str],
    notes: list[str],
) -> None:
    """The trail against its checkpoints: it must still hold as many entries as the latest
    witnessed, and the entry at each sound checkpoint's count must have the head it names."""
    where = audit_checkpoints.path()
    latest = witnessed.latest
    own = audit_checkpoints.pending()  # entries of this very transaction, checkpointed at commit
    if latest is None:
        if not chain.entries:
            return
        if own and not witnessed.exists:
            notes.append(f"the {chain.entries} entries are this transaction's, not committed yet")
            return
        state = "holds no sound checkpoint" if witnessed.exists else "does not exist"
        problems.append(
            f"the checkpoint file {where} {state}, though the trail holds {chain.entries} "
            "entries: whether entries were cut or wiped cannot be shown "
            "(PAINPUMP_AUDIT_CHECKPOINTS must name the file the service writes)"
        )
        return
    for found in chain.unwitnessed:
        problems.append(
            f"entry {found.seq}, number {found.count} of the chain, is not the one a signed "
            f"checkpoint of {found.count} entries witnessed (hash {found.head[:12]}, the "
            f"chain's is {found.found[:12]}; {where}): the trail was rewritten, or cut and grown "
            "back"
        )
    if chain.unwitnessed_count > len(chain.unwitnessed):
        problems.append(
            f"{chain.unwitnessed_count - len(chain.unwitnessed)} more signed checkpoints name "
            "an entry the chain no longer holds at their count"
        )
    if chain.entries < latest.count:
        problems.append(
            f"the trail holds {chain.entries} entries, but the checkpoint of {latest.at} "
            f"witnessed {latest.count} ending in {latest.head[:12]} ({where}): entries were "
            "deleted (a cut tail or a wiped trail)"
        )
    elif chain.entries > latest.count and not own and not chain.unwitnessed_count:
        notes.append(
            f"the {chain.entries - latest.count} newest entries are not covered by a checkpoint "
            "yet (written since the latest one, or its write was lost)"
        )
