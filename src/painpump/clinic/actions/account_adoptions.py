"""Adopting an account made outside painpump (by a script, or by `painpump manage createsuperuser`
never bootstrapped), which `painpump audit verify` names because no audit entry records its
creation. One admin asks with a typed reason, and the ask records the account as it stands. A
second admin approves, never the one who asked, one related to them by a credential reset
(role_grants.independent) or the account itself. The approval's `user.adopt` entry records the
account as it then is, and verify counts it as the account's creation (clinic.audit_accounts).
Each admin's own account must pass verify, so accounts written outside painpump cannot adopt one
another. Approval is refused once the account differs from what the ask recorded, and for a
request whose audited ask does not match its row. Another admin declines, the asker withdraws.
Adopting grants nothing: the account keeps the roles and flags it has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from painpump import clock
from painpump.clinic import audit, audit_accounts
from painpump.clinic.actions import role_grants
from painpump.clinic.actions.users import ROLE_NAMES, account_snapshot
from painpump.clinic.errors import NotFound
from painpump.clinic.models import AccountAdoption, AuditEntry
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.text import plain_text

Status = AccountAdoption.Status
OBJECT = "account_adoption"
ASK = "user.adopt_request"
DECLINE = "user.adopt_decline"
WITHDRAW = "user.adopt_withdraw"
APPROVE = "user.adopt"
"""Approval records the account's creation: an entry of the account, as `user.create` is."""
REASON_MAX = 500
RULE = (
    "painpump user rules: an account made outside painpump is adopted (its creation recorded) "
    "only when a second admin approves what another admin asked, neither of them the account "
    "and each with an account of their own that passes `painpump audit verify`; adopting "
    "grants no role"
)
OUTSIDE = (
    "an account `painpump audit verify` names as made outside painpump (no audit entry records "
    "its creation)"
)
OWN_ACCOUNT = "an admin whose own account passes `painpump audit verify`"
COMPARED = ("username", *audit_accounts.FIELDS)
"""What the ask records of the account and approval compares: what verify compares."""


@dataclass(frozen=True)
class Outside:
    """An account whose creation no audit entry records, as the admins see it."""

    id: int
    username: str
    name: str
    roles: tuple[str, ...]
    active: bool
    superuser: bool
    staff: bool
    joined: datetime
    last_login: datetime | None
    waiting: int | None
    """The adoption asked for it and waiting for a second admin, if one is."""


@dataclass(frozen=True)
class Adoption:
    """A request to adopt an account as the admins see it."""

    id: int
    user_id: int
    username: str
    reason: str
    status: AccountAdoption.Status
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


def _adoption(row: AccountAdoption) -> Adoption:
    return Adoption(
        id=row.id,
        user_id=row.user_id,
        username=row.user.get_username(),
        reason=row.reason,
        status=Status(row.status),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _outside(row: User, waiting: int | None) -> Outside:
    return Outside(
        id=row.id,
        username=row.get_username(),
        name=f"{row.first_name} {row.last_name}".strip(),
        roles=tuple(sorted(g.name for g in row.groups.all() if g.name in ROLE_NAMES)),
        active=row.is_active,
        superuser=row.is_superuser,
        staff=row.is_staff,
        joined=row.date_joined,
        last_login=row.last_login,
        waiting=waiting,
    )


def _recorded(row: AccountAdoption) -> dict[str, Any]:
    """The request as its audit entries record it."""
    return {
        "adoption": row.id,
        "username": row.user.get_username(),
        "reason": row.reason,
        "status": row.status,
    }


def _state(user: User) -> dict[str, Any]:
    """The account as the ask records it and approval compares it."""
    return {"username": user.get_username(), **audit_accounts.held(user)}


def outside_accounts(user: User) -> list[Outside]:
    """Every account `painpump audit verify` names as made outside painpump, active first, by
    username, each with the adoption waiting for it."""
    require(user, "users.manage")
    return made_outside()


def made_outside() -> list[Outside]:
    """outside_accounts for the server console (`painpump roles list`), which signs nobody in."""
    created = audit_accounts.audited_accounts().created
    waiting = dict(
        AccountAdoption.objects.filter(status=Status.PENDING).values_list("user_id", "id")
    )
    rows = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    return [_outside(row, waiting.get(row.id)) for row in rows if row.username not in created]


def pending(user: User) -> list[Adoption]:
    """The adoptions waiting for a second admin, oldest first."""
    require(user, "users.manage")
    rows = AccountAdoption.objects.filter(status=Status.PENDING).select_related("user")
    return [_adoption(row) for row in rows]


def _own_account_verifies(user: User, audited: audit_accounts.Audited) -> None:
    """Refused when verify names the acting admin's own account: an account written outside
    painpump never vouches for another."""
    found = audit_accounts.problems_of(user, audited)
    if found:
        raise Refusal(
            "admin",
            user.get_username(),
            OWN_ACCOUNT,
            RULE,
            f"is an account `painpump audit verify` names ({found[0]}): it adopts no account",
        )


@transaction.atomic
def ask(user: User, user_id: int, *, reason: str) -> Adoption:
    """Ask a second admin to adopt the account `user_id`, which verify names as made outside
    painpump; the ask records the account as it stands."""
    actor = require(user, "users.manage")
    typed = plain_text(reason, "reason", REASON_MAX, RULE)
    if user_id == user.id:
        raise Refusal("user", actor, "another account than your own", RULE, "is your own account")
    target = User.objects.select_for_update().filter(id=user_id).first()
    if target is None:
        raise NotFound(f"user {user_id}")
    audited = audit_accounts.audited_accounts()
    _own_account_verifies(user, audited)
    name = target.get_username()
    created = audited.created.get(name)
    if created is not None:
        raise Refusal(
            "user",
            name,
            OUTSIDE,
            RULE,
            f"was made by painpump: audit entry {created} records its creation, so verify does "
            "not name it and there is nothing to adopt",
        )
    other = AccountAdoption.objects.filter(user=target, status=Status.PENDING).first()
    if other is not None:
        raise Refusal(
            "user",
            name,
            "an account no other adoption waits for",
            RULE,
            f"waits for a second admin already: request {other.id}, asked by {other.requested_by}",
        )
    row = AccountAdoption.objects.create(
        user=target, reason=typed, requested_by=actor, requested_at=clock.now()
    )
    audit.record(actor, ASK, OBJECT, row.id, after=_recorded(row) | _state(target))
    return _adoption(row)


def _locked_waiting(adoption_id: int) -> AccountAdoption:
    row = (
        AccountAdoption.objects.select_for_update()
        .select_related("user")
        .filter(id=adoption_id)
        .first()
    )
    if row is None:
        raise NotFound(f"adoption request {adoption_id}")
    if row.status != Status.PENDING:
        raise Refusal(
            "request",
            str(adoption_id),
            "a request still waiting for a second admin",
            RULE,
            f"is {row.get_status_display()} already",
        )
    return row


def _asked(row: AccountAdoption) -> tuple[int, dict[str, Any]]:
    """The request's `user.adopt_request` entry (its number and what it recorded) when it is the
    newest of its trail and matches the row; refused otherwise."""
    newest = (
        AuditEntry.objects.filter(
            Q(object_type=OBJECT, object_id=str(row.id))
            | Q(action=APPROVE, object_type="user", after__adoption=row.id)
        )
        .order_by("-seq")
        .values_list("seq", "action", "actor", "after")
        .first()
    )
    why = f"has no `{ASK}` audit entry"
    if newest is not None:
        seq, action, actor, after = newest
        recorded = {k: v for k, v in _recorded(row).items() if k != "username"}  # compared apart
        if action != ASK:
            why = f"was decided already in its audit trail (entry {seq})"
        elif (
            isinstance(after, dict)
            and actor == row.requested_by
            and recorded.items() <= after.items()
        ):
            return seq, after
        else:
            why = f"is not what its `{ASK}` recorded (entry {seq})"
    raise Refusal(
        "request",
        str(row.id),
        f"a request an admin asked for through painpump (its `{ASK}` audit entry)",
        RULE,
        f"{why}: it was written outside the application (decline it)",
    )


def _as_asked(row: AccountAdoption, target: User, seq: int, asked: dict[str, Any]) -> None:
    """Refused when the account is no longer as the ask recorded it."""
    now = _state(target)
    changed = [
        f"{name} is {now[name]!r} now, {asked.get(name)!r} when asked"
        for name in COMPARED
        if now[name] != asked.get(name)
    ]
    if changed:
        raise Refusal(
            "request",
            str(row.id),
            f"the account as its ask recorded it (audit entry {seq})",
            RULE,
            f"is for an account changed since it was asked: {'; '.join(changed)} (decline it; "
            "ask again for the account as it is, once its change is understood)",
        )


@transaction.atomic
def approve(user: User, adoption_id: int) -> Adoption:
    """The second admin approves: the `user.adopt` entry records the account as it is, and
    verify counts it as the account's creation from now on. Refused for the admin who asked,
    one whose sign-in that admin reset or who reset theirs, the account itself, an admin whose
    own account verify names, and once the account differs from what the ask recorded."""
    actor = require(user, "users.manage")
    row = _locked_waiting(adoption_id)
    if row.requested_by == actor:
        raise Refusal("request", str(adoption_id), "another admin's request", RULE, "is your own")
    if row.user_id == user.id:
        raise Refusal(
            "request",
            str(adoption_id),
            "a request for another account than your own",
            RULE,
            "is for your own account",
        )
    role_grants.independent(actor, row.requested_by, adoption_id, RULE)
    seq, asked = _asked(row)
    target = User.objects.select_for_update().get(id=row.user_id)
    audited = audit_accounts.audited_accounts()
    _own_account_verifies(user, audited)
    created = audited.created.get(target.get_username())
    if created is not None:
        raise Refusal(
            "request",
            str(adoption_id),
            OUTSIDE,
            RULE,
            f"is for {target.get_username()}, whose creation audit entry {created} records "
            "since: there is nothing to adopt (decline it)",
        )
    _as_asked(row, target, seq, asked)
    row.status = Status.APPROVED
    row.decided_by = actor
    row.decided_at = clock.now()
    row.save(update_fields=["status", "decided_by", "decided_at"])
    after = account_snapshot(target) | {
        "adoption": row.id,
        "asked_by": row.requested_by,
        "reason": row.reason,
    }
    audit.record(actor, APPROVE, "user", target.get_username(), after=after)
    return _adoption(row)


def _closed(actor: str, row: AccountAdoption, action: str, status: Status) -> Adoption:
    before = _recorded(row)
    row.status = status
    row.decided_by = actor
    row.decided_at = clock.now()
    row.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(actor, action, OBJECT, row.id, before=before, after=_recorded(row))
    return _adoption(row)


@transaction.atomic
def decline(user: User, adoption_id: int) -> Adoption:
    """Another admin declines a request: the account stays as verify names it."""
    actor = require(user, "users.manage")
    row = _locked_waiting(adoption_id)  # a request written in the database too
    if row.requested_by == actor:
        raise Refusal(
            "request",
            str(adoption_id),
            "another admin's request (the admin who asked withdraws their own)",
            RULE,
            "is your own: withdraw it",
        )
    return _closed(actor, row, DECLINE, Status.DECLINED)


@transaction.atomic
def withdraw(user: User, adoption_id: int) -> Adoption:
    """The admin who asked withdraws their request: the account stays as verify names it."""
    actor = require(user, "users.manage")
    row = _locked_waiting(adoption_id)
    if row.requested_by != actor:
        raise Refusal(
            "request",
            str(adoption_id),
            "a request you asked for (another admin declines it)",
            RULE,
            f"was asked by {row.requested_by}",
        )
    return _closed(actor, row, WITHDRAW, Status.WITHDRAWN)
