"""Each user account's roles and flags against the last state its audit trail recorded: a role
group added in the database (`insert into auth_user_groups`), or `is_active`, `is_superuser` or
`is_staff` edited, differs from the newest entry that recorded the account (its creation, a
change of its roles, a grant a second admin approved, the console's bootstrap, a deactivation or
reactivation: each records the account as clinic.actions.users.snapshot shows it). An account no
entry records (made by `painpump manage createsuperuser` before `painpump roles bootstrap`, by a
script or a test fixture) has nothing to be compared with: once the trail records any account
(a clinic whose accounts painpump manages), one that holds a role or a flag is named in a note.
A flag the account's newest entry does not hold (written before painpump
recorded it) is named in a note too, and compared once a later entry records it."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User

from painpump.clinic.actions.users import ROLE_NAMES
from painpump.clinic.models import AuditEntry

RECORDING = frozenset(
    {
        "user.create",
        "user.roles",
        "user.role_grant",
        "user.bootstrap_admin",
        "user.deactivate",
        "user.reactivate",
    }
)
"""The actions whose `after` records an account's roles and flags."""
FIELDS = ("roles", "active", "superuser", "staff")
FLAGS = ("superuser", "staff")
SHOWN = 10
"""Accounts a note names before it counts the rest."""

AccountState = dict[str, tuple[object, int]]
"""Field -> (the newest value the trail recorded, its entry's seq)."""


def audited_accounts() -> dict[str, AccountState]:
    """Each account the trail records, by username (an entry names it in its `after`; the demo's
    older entries name it by id there)."""
    rows = (
        AuditEntry.objects.filter(action__in=RECORDING, object_type="user")
        .order_by("seq")
        .values_list("seq", "object_id", "after")
        .iterator(chunk_size=2000)
    )
    states: dict[str, AccountState] = {}
    for seq, object_id, after in rows:
        if not isinstance(after, dict):
            continue
        state = states.setdefault(str(after.get("username") or object_id), {})
        state.update((name, (after[name], seq)) for name in FIELDS if name in after)
    return states


def held(user: User) -> dict[str, object]:
    """An account's roles and flags in the trail's terms."""
    return {
        "roles": sorted(group.name for group in user.groups.all() if group.name in ROLE_NAMES),
        "active": user.is_active,
        "superuser": user.is_superuser,
        "staff": user.is_staff,
    }


def _matches(name: str, stored: object, audited: object) -> bool:
    if name == "roles":
        return isinstance(audited, list) and sorted(str(role) for role in audited) == stored
    return stored == audited


def compare() -> tuple[list[str], list[str]]:
    """The problems (every account whose roles or flags differ from its trail, every audited
    account missing from the database) and the notes (accounts no entry records that hold a role
    or a flag, when the trail records others; flags an account's entries predate)."""
    states = audited_accounts()
    problems: list[str] = []
    unrecorded: list[str] = []
    predating: list[str] = []
    seen: set[str] = set()
    for user in User.objects.prefetch_related("groups").order_by("username"):
        name = user.get_username()
        seen.add(name)
        stored = held(user)
        state = states.get(name)
        if state is None:
            given = [str(role) for role in _listed(stored["roles"])]
            given += [flag for flag in FLAGS if stored[flag]]
            if given:
                unrecorded.append(f"{name} ({', '.join(given)})")
            continue
        missing = [field for field in stored if field not in state]
        if missing:
            predating.append(f"{name} ({', '.join(missing)})")
        for field, value in stored.items():
            if field not in state:
                continue
            audited, seq = state[field]
            if not _matches(field, value, audited):
                problems.append(
                    f"user {name}: {field} is {value!r} in the database, {audited!r} in its "
                    f"audit trail (entry {seq})"
                )
    problems += [
        f"user {name}: its trail records it (entry {min(seq for _, seq in state.values())}) but "
        "it is not in the database (deleted or renamed outside the application)"
        for name, state in states.items()
        if name not in seen and state
    ]
    notes = []
    if unrecorded and states:
        notes.append(
            f"{_count(unrecorded)} hold a role or a flag that no audit entry records, so they "
            f"are not compared: {_names(unrecorded)} (made outside the application: by `painpump "
            "manage createsuperuser` before `painpump roles bootstrap`, by a script, or in the "
            "database); an audited change of their roles records them"
        )
    if predating:
        notes.append(
            f"the newest entries of {_count(predating)} predate the record of a field, which is "
            f"not compared until an audited change records it: {_names(predating)}"
        )
    return problems, notes


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _count(found: list[str]) -> str:
    return f"{len(found)} account{'s' if len(found) > 1 else ''}"


def _names(found: Iterable[str]) -> str:
    listed = list(found)
    more = len(listed) - SHOWN
    return ", ".join(listed[:SHOWN]) + (f" and {more} more" if more > 0 else "")
