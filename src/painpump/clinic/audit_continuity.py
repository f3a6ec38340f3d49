"""Each audited object's entries against one another: an entry's `before` records the object as
its action found it, so each field it shares with the `after` of the object's previous entry must
hold the same value. A record changed in the database between two entries shows there even when
a later ordinary update has since carried the changed value into the newest `after` (which is all
painpump.clinic.audit_records compares). Both sides are the JSON the actions wrote; only the keys
both record are compared, so a `before` that holds only {"status": ...} checks the status. A
field only the entries recording it change (CARRIED: an episode's pathway state, by its digest) is
compared with the newest entry that recorded it, whatever entries came between."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.db.models import Q

from painpump.clinic.models import AuditEntry

BATCH = 2000

EXEMPT: frozenset[tuple[str, str]] = frozenset()
"""(action, field) pairs whose `before` legitimately differs from the previous entry's `after`."""

CARRIED = frozenset({"state_digest"})
"""Fields no entry that does not record them changes: an episode's pathway state is written by its
opening and its steps only, each recording its digest (a step's `before` the state it started
from), so an entry between them that records none (an origin override) leaves it as it was."""

IDENTIFYING = frozenset({"mrn", "family_name", "given_name", "birth_date"})
"""Patient fields whose values a break does not print (it names the field only)."""


def _entries(kinds: list[str]) -> Iterator[tuple[int, str, str, str, Any, Any]]:
    """The entries of objects of `kinds` that record a state, in chain order."""
    recorded = AuditEntry.objects.filter(object_type__in=kinds).filter(
        Q(before__isnull=False) | Q(after__isnull=False)
    )
    last = 0
    while True:
        batch = list(
            recorded.filter(seq__gt=last)
            .order_by("seq")
            .values_list("seq", "action", "object_type", "object_id", "before", "after")[:BATCH]
        )
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def breaks() -> list[str]:
    """Every field an entry found other than the object's previous entry left it. Only the
    objects some entry records a `before` of are walked (a read or an object only created has
    nothing to compare)."""
    found_before = AuditEntry.objects.filter(before__isnull=False)
    objects = set(found_before.values_list("object_type", "object_id").distinct())
    left: dict[tuple[str, str], tuple[int, Mapping[str, Any]]] = {}
    carried: dict[tuple[str, str], dict[str, tuple[int, Any]]] = {}
    found: list[str] = []
    for seq, action, kind, object_id, before, after in _entries(sorted({k for k, _ in objects})):
        key = (kind, object_id)
        if key not in objects:
            continue
        previous = left.get(key)
        if previous is not None and isinstance(before, dict):
            found += _differences(kind, object_id, seq, action, before, *previous)
            found += _carried(kind, object_id, seq, action, before, previous[1], carried[key])
        if isinstance(after, dict):
            left[key] = (seq, after)
            kept = carried.setdefault(key, {})
            kept.update((name, (seq, after[name])) for name in CARRIED if name in after)
    return found


def _carried(
    kind: str,
    object_id: str,
    seq: int,
    action: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    kept: Mapping[str, tuple[int, Any]],
) -> Iterator[str]:
    """The CARRIED fields `before` records that the previous entry's `after` does not (compared
    by _differences when it does), against the newest entry that recorded them."""
    for name in CARRIED & before.keys():
        if name in after or name not in kept:
            continue
        left_by, value = kept[name]
        yield from _differences(
            kind, object_id, seq, action, {name: before[name]}, left_by, {name: value}
        )


def _differences(
    kind: str,
    object_id: str,
    seq: int,
    action: str,
    before: Mapping[str, Any],
    left_by: int,
    after: Mapping[str, Any],
) -> Iterator[str]:
    for name, value in before.items():
        if name not in after or after[name] == value or (action, name) in EXEMPT:
            continue
        shown = (
            " (the values are patient-identifying and not shown)"
            if kind == "patient" and name in IDENTIFYING
            else ""
        )
        found, was = ("", "") if shown else (f" as {value!r}", f" as {after[name]!r}")
        yield (
            f"{kind} {object_id}: entry {seq} records {name} before{found}, but entry {left_by} "
            f"left it{was}: the record was changed outside the application between them{shown}"
        )
