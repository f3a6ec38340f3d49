"""Each user account's roles, flags and name against the last state its audit trail recorded: a
role group added in the database (`insert into auth_user_groups`), or `is_active`, `is_superuser`,
`is_staff`, `first_name` or `last_name` edited, differs from the newest entry that recorded the
account (its creation, a change of its roles, a grant a second admin approved, the console's
bootstrap, an adoption two admins approved, a deactivation or reactivation: each records the
account as clinic.actions.users.snapshot shows it). An account whose creation no entry records
(inserted in the database, made by a script, or by `painpump manage createsuperuser` until
`painpump roles bootstrap` records it) is a problem, until two admins adopt it
(clinic.actions.account_adoptions). A flag or the name the account's newest entry does not hold
(written before painpump recorded it) is named in a note, and compared once a later entry records
it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import User

from painpump.clinic.actions.users import ROLE_NAMES
from painpump.clinic.models import AuditEntry

RECORDING = frozenset(
    {
        "user.create",
        "user.roles",
        "user.role_grant",
        "user.bootstrap_admin",
        "user.adopt",
        "user.deactivate",
        "user.reactivate",
    }
)
"""The actions whose `after` records an account's roles and flags."""
CREATING = frozenset({"user.create", "user.bootstrap_admin", "user.adopt"})
"""The actions that record an account's creation: the admin's (or the demo's), the server
console's bootstrap of an account `painpump manage createsuperuser` made, and two admins'
adoption of an account made outside painpump (the second admin's approval)."""
FIELDS = ("roles", "active", "superuser", "staff")
RECORDED = (*FIELDS, "name")
"""What verify compares: the roles and flags, and the name (first and last, as each entry records
it; painpump changes it nowhere after the account's creation)."""
FLAGS = ("superuser", "staff")
ADOPT = (
    'if the clinic made it, two admins adopt it (Users page, "Accounts made outside painpump": '
    "Ask to adopt, then a second admin's Approve; or `painpump roles adopt {name} --reason TEXT "
    "--by ADMIN`, then `painpump roles adopt-approve REQUEST --by ADMIN`), or on a fresh install "
    "`painpump roles bootstrap {name}` records it"
)
"""How verify tells the admins to record an account whose creation no entry records."""
SHOWN = 10
"""Accounts a note names before it counts the rest."""

AccountState = dict[str, tuple[object, int]]
"""Field -> (the newest value the trail recorded, its entry's seq)."""


@dataclass
class Audited:
    """What the trail records of the accounts: each one's state by username (an entry names it
    in its `after`; the demo's older entries name it by id there), and the accounts whose
    creation it records."""

    states: dict[str, AccountState] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    """Username -> the first entry that records its creation."""


def audited_accounts() -> Audited:
    rows = (
        AuditEntry.objects.filter(action__in=RECORDING, object_type="user")
        .order_by("seq")
        .values_list("seq", "action", "object_id", "after")
        .iterator(chunk_size=2000)
    )
    audited = Audited()
    for seq, action, object_id, after in rows:
        if not isinstance(after, dict):
            continue
        username = str(after.get("username") or object_id)
        state = audited.states.setdefault(username, {})
        state.update((name, (after[name], seq)) for name in RECORDED if name in after)
        if action in CREATING:
            audited.created.setdefault(username, seq)
    return audited


def held(user: User) -> dict[str, object]:
    """An account's roles, flags and name in the trail's terms."""
    return {
        "roles": sorted(group.name for group in user.groups.all() if group.name in ROLE_NAMES),
        "active": user.is_active,
        "superuser": user.is_superuser,
        "staff": user.is_staff,
        "name": f"{user.first_name} {user.last_name}".strip(),
    }


def _matches(name: str, stored: object, audited: object) -> bool:
    if name == "roles":
        return isinstance(audited, list) and sorted(str(role) for role in audited) == stored
    return stored == audited


def problems_of(user: User, audited: Audited) -> list[str]:
    """What verify finds wrong with one account by the trail `audited`: its creation not
    recorded, its roles, flags or name other than the trail's newest."""
    name = user.get_username()
    stored = held(user)
    found = [] if name in audited.created else [_uncreated(name, stored)]
    state = audited.states.get(name, {})
    for column, value in stored.items():
        if column not in state:
            continue
        recorded, seq = state[column]
        if not _matches(column, value, recorded):
            found.append(
                f"user {name}: {column} is {value!r} in the database, {recorded!r} in its "
                f"audit trail (entry {seq})"
            )
    return found


def compare() -> tuple[list[str], list[str]]:
    """The problems (every account whose creation no entry records, every account whose roles,
    flags or name differ from its trail, every audited account missing from the database) and the
    notes (flags an account's entries predate)."""
    audited = audited_accounts()
    problems: list[str] = []
    predating: list[str] = []
    seen: set[str] = set()
    for user in User.objects.prefetch_related("groups").order_by("username"):
        name = user.get_username()
        seen.add(name)
        problems += problems_of(user, audited)
        state = audited.states.get(name)
        if state is None:
            continue
        missing = [column for column in RECORDED if column not in state]
        if missing:
            predating.append(f"{name} ({', '.join(missing)})")
    problems += [
        f"user {name}: its trail records it (entry {min(seq for _, seq in state.values())}) but "
        "it is not in the database (deleted or renamed outside the application)"
        for name, state in audited.states.items()
        if name not in seen and state
    ]
    notes = []
    if predating:
        notes.append(
            f"the newest entries of {_count(predating)} predate the record of a field, which is "
            f"not compared until an audited change records it: {_names(predating)}"
        )
    return problems, notes


def _uncreated(name: str, stored: dict[str, object]) -> str:
    given = [str(role) for role in _listed(stored["roles"])]
    given += [flag for flag in FLAGS if stored[flag]]
    holds = f"it holds {', '.join(given)}" if given else "it holds no role or flag"
    return (
        f"user {name}: no audit entry records its creation ({holds}): an account written outside "
        "the application (in the database, by a script, or by `painpump manage createsuperuser`); "
        f"{ADOPT.format(name=name)}"
    )


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _count(found: list[str]) -> str:
    return f"{len(found)} account{'s' if len(found) > 1 else ''}"


def _names(found: Iterable[str]) -> str:
    listed = list(found)
    more = len(listed) - SHOWN
    return ", ".join(listed[:SHOWN]) + (f" and {more} more" if more > 0 else "")
