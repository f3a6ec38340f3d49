"""A record a second person decides on (a clinic limit or catheter entry and its removal, a
prescription's double-check, a refill's verification) must be one painpump entered: its trail
begins with the entry that entered it and records it as it stands. The actions refuse the
decision otherwise (a row written outside painpump, which the honest approver cannot tell from
the screen; withdrawing, rejecting or archiving it stays possible), and `painpump audit verify`
names every decision in the trail taken on a record whose entering no entry records (the eighth
outside attack: a catheter figure and a clinic limit inserted in the database and approved by an
honest physician passed verify, the approval's `after` recording the row as inserted)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from painpump.clinic.models import AuditEntry
from painpump.core.errors import Refusal

ENTERING: dict[str, frozenset[str]] = {
    "clinic_limit": frozenset({"library.limit.add", "library.limit.change"}),
    "clinic_catheter": frozenset({"catheter.add"}),
    "prescription": frozenset({"prescription.create"}),
    "refill": frozenset({"refill.perform"}),
}
"""Per kind of record, the actions whose entry enters one (the first entry of its trail)."""

DECISIONS: dict[str, frozenset[str]] = {
    "clinic_limit": frozenset({"library.limit.approve"}),
    "clinic_catheter": frozenset({"catheter.approve"}),
    "prescription": frozenset({"prescription.accept", "prescription.in_force"}),
    "refill": frozenset({"refill.verify"}),
}
"""Per kind, the actions that put a record someone else entered in force (declining,
rejecting and withdrawing are not among them: they clear a row written outside painpump)."""

REMOVALS = {"clinic_limit": "library.limit.archive", "clinic_catheter": "catheter.archive"}
"""The archiving that, once a removal was asked for, is the second person's approval of it."""

WRITTEN_OUTSIDE = "it was written outside painpump"


def unentered(kind_name: str, key: object, *, patient_id: UUID | None = None) -> str | None:
    """Why record `key` of `kind_name` (an audit_records kind) is not what painpump entered: no
    entry enters it, or it differs from what its trail records (None: it is what it entered).
    `patient_id` narrows the trail read to the patient's entries (an indexed column)."""
    from painpump.clinic import audit_records  # it reads what the actions record

    kind = next(k for k in audit_records.all_kinds() if k.name == kind_name)
    entries = AuditEntry.objects.filter(
        object_type=kind_name, object_id=str(key), action__in=kind.actions
    )
    if patient_id is not None:
        entries = entries.filter(patient_id=patient_id)
    trail = list(
        entries.order_by("seq").values_list("seq", "actor", "action", "patient_id", "after")
    )
    entering = " or ".join(f"`{action}`" for action in sorted(ENTERING[kind_name]))
    if not trail:
        return f"has no audit entry ({entering} enters one)"
    seq, _, first, _, _ = trail[0]
    if first not in ENTERING[kind_name]:
        return f"has no {entering} audit entry (its trail begins with `{first}`, entry {seq})"
    state: audit_records.AuditedState = {k: (v, seq) for k, v in kind.initially.items()}
    for seq, actor, action, patient, after in trail:
        recorded = after if isinstance(after, dict) else {}
        state.update((name, (value, seq)) for name, value in recorded.items())
        if kind.names_patient and patient is not None:
            state["patient"] = (str(patient), seq)
        noted = kind.noted(action, actor, recorded) if kind.noted else {}
        for name, value in noted.items():
            if value is audit_records.UNRECORDED:
                state.pop(name, None)
            else:
                state[name] = (value, seq)
    try:
        stored = kind.render(kind.rows().get(pk=key))
    except audit_records.UNREADABLE as error:
        return f"cannot be read ({type(error).__name__}: {error})"
    for name, (value, seq) in state.items():
        current = stored.get(name)
        if current is not None and not current.matches(value):
            return (
                f"differs from its trail ({name} is {current.shown(value)!r} in the database, "
                f"{value!r} in entry {seq})"
            )
    return None


def refuse_unentered(
    kind_name: str,
    key: object,
    *,
    field: str,
    value: str,
    expected: str,
    rule: str,
    remedy: str,
    patient_id: UUID | None = None,
) -> None:
    """Refuse the second person's decision on a record painpump did not enter as it stands
    (Refusal naming the field, the record, what it must be, the rule and what clears it)."""
    why = unentered(kind_name, key, patient_id=patient_id)
    if why is not None:
        raise Refusal(field, value, expected, rule, f"{why}: {WRITTEN_OUTSIDE} ({remedy})")


def compare() -> list[str]:
    """For `painpump audit verify`: each decision in the trail (an approval, an accepted
    double-check, a verification, a removal approved) taken on a record no earlier entry
    entered. (A record changed between its entries shows in painpump.clinic.audit_continuity.)"""
    return list(_decided_unentered())


def _decided_unentered() -> Iterable[str]:
    actions = {a for kind in ENTERING for a in ENTERING[kind] | DECISIONS[kind]}
    actions |= set(REMOVALS.values())
    archivings = AuditEntry.objects.filter(
        object_type__in=REMOVALS, action__in=REMOVALS.values()
    ).values_list("seq", "before")  # a few: the library's tables are small
    removals = {seq for seq, before in archivings if _removal_asked(before)}
    rows = (
        AuditEntry.objects.filter(object_type__in=ENTERING, action__in=actions)
        .order_by("seq")
        .values_list("seq", "actor", "action", "object_type", "object_id")
        .iterator(chunk_size=2000)
    )
    entered: set[tuple[str, str]] = set()
    for seq, actor, action, kind, key in rows:
        if action in ENTERING[kind]:
            entered.add((kind, key))
            continue
        if (kind, key) in entered or not (action in DECISIONS[kind] or seq in removals):
            continue
        entering = " or ".join(f"`{a}`" for a in sorted(ENTERING[kind]))
        yield (
            f"{kind} {key}: `{action}` by {actor} (entry {seq}) decided on it, though no "
            f"{entering} audit entry before it records its entering: {WRITTEN_OUTSIDE}"
        )


def _removal_asked(before: object) -> bool:
    return isinstance(before, dict) and bool(before.get("removal_requested_by"))
