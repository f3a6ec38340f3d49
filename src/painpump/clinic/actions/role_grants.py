"""Requests for roles: one admin asks for a role on an account, a second admin (neither the one
who asked nor the account's holder) approves it (clinic.actions.users.approve_grant), and only
then does the account hold it. Asking, declining and withdrawing are audited; nobody asks for,
approves or declines a role of their own, and a request no audited `user.role_request` asked for
(a row inserted in the database) is never approved. Two admins of whom one ever reset the other's
password or second factor are not two (`independent`, for tolerance requests too)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.errors import NotFound
from painpump.clinic.models import AuditEntry, RoleGrant
from painpump.clinic.roles import Role, require
from painpump.core.errors import Refusal

OWN_ROLES = (
    "painpump user rules: nobody changes their own roles, not even an admin (another admin "
    "does, and a new role needs a second admin's approval)"
)
ASKED = (
    "painpump user rules: every request for a role is asked through painpump and audited, so "
    "that a second admin approves only what another admin asked"
)
ASK = "user.role_request"
REQUEST_ACTIONS = (ASK, "user.role_decline", "user.role_grant")
SECOND_ADMIN = (
    "painpump user rules: a role is granted only when a second admin approves the request, "
    "neither the admin who asked nor the account's holder"
)
CREDENTIAL_RESETS = {"user.password_reset": "password", "two_factor.reset": "second factor"}
"""Audited resets of another account's sign-in (action -> what was reset): whoever reset them
could sign in as that account."""
INDEPENDENT = (
    "a second admin independent of the one who asked: neither ever reset the other's password or "
    "second factor (who set them could sign in as them and approve alone)"
)


@dataclass(frozen=True)
class CredentialReset:
    """One admin's audited reset of another account's password or second factor."""

    seq: int
    at: datetime
    by: str
    of: str
    what: str


@dataclass(frozen=True)
class Grant:
    """A request for a role as the admins see it."""

    id: int
    user_id: int
    username: str
    role: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


def _grant(row: RoleGrant) -> Grant:
    return Grant(
        id=row.id,
        user_id=row.user_id,
        username=row.user.get_username(),
        role=row.role,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def not_own(user: User, target_id: int, field: str) -> None:
    """Refused when `target_id` is the user's own account."""
    if target_id == user.id:
        raise Refusal(field, user.get_username(), "another user's account", OWN_ROLES, "is you")


def reset_between(one: str, other: str) -> CredentialReset | None:
    """The newest audited reset, either way, by one of the two accounts of the other's sign-in."""
    row = (
        AuditEntry.objects.filter(
            Q(actor=one, object_id=other) | Q(actor=other, object_id=one),
            action__in=CREDENTIAL_RESETS,
            object_type="user",
        )
        .order_by("-seq")
        .values_list("seq", "at", "actor", "object_id", "action")
        .first()
    )
    if row is None:
        return None
    seq, at, by, of, action = row
    return CredentialReset(seq, at, by, of, CREDENTIAL_RESETS[action])


def independent(approver: str, asker: str, request: int, rule: str) -> None:
    """Refused when the approving admin or the one who asked ever reset the other's password or
    second factor: one of them could have acted as both."""
    reset = reset_between(approver, asker)
    if reset is None:
        return
    when = f"on {reset.at:%Y-%m-%d %H:%M} UTC (audit entry {reset.seq})"
    if reset.by == asker:
        problem = f"was asked by {asker}, who reset your {reset.what} {when}"
    else:
        problem = f"was asked by {asker}, whose {reset.what} you reset {when}"
    raise Refusal("request", str(request), INDEPENDENT, rule, problem)


def ask(actor: str, target: User, roles: Iterable[Role]) -> list[RoleGrant]:
    """Requests for those of `roles` the account neither holds nor already waits for, each
    audited (run inside the caller's transaction, after its checks)."""
    held = set(target.groups.values_list("name", flat=True))
    waiting = set(
        RoleGrant.objects.filter(user=target, status=RoleGrant.Status.PENDING).values_list(
            "role", flat=True
        )
    )
    asked = []
    for role in sorted(set(roles)):
        if role.value in held | waiting:
            continue
        grant = RoleGrant.objects.create(
            user=target, role=role.value, requested_by=actor, requested_at=clock.now()
        )
        audit.record(
            actor,
            ASK,
            "user",
            target.get_username(),
            after={"role": role.value, "request": grant.id, "status": grant.status},
        )
        asked.append(grant)
    return asked


def pending_grants(user: User, *, user_id: int | None = None) -> list[Grant]:
    """The requests waiting for a second admin, oldest first (of one account with `user_id`)."""
    require(user, "users.manage")
    rows = RoleGrant.objects.filter(status=RoleGrant.Status.PENDING).select_related("user")
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return [_grant(row) for row in rows]


def locked_pending(user: User, grant_id: int) -> RoleGrant:
    """The request, locked, when it still waits, `user` may approve it and its trail shows it
    asked as it stands and not decided since; refused otherwise."""
    grant = _locked_waiting(user, grant_id)
    newest = _trail(AuditEntry.objects.filter(after__request=grant.id)).get(grant.id)
    why = _unasked(grant.role, grant.requested_by, grant.user.get_username(), newest)
    if why is not None:
        raise Refusal(
            "request",
            str(grant_id),
            "a request an admin asked for through painpump (its `user.role_request` audit entry)",
            ASKED,
            f"for {grant.role} on {grant.user.get_username()} by {grant.requested_by!r} {why}: "
            "it was written outside the application (decline it)",
        )
    return grant


def unasked() -> list[str]:
    """For `painpump audit verify`: each request waiting for a second admin that its trail does
    not show asked as it stands, or shows decided already (three queries, however many)."""
    trail = _trail(AuditEntry.objects.all())
    waiting = list(
        RoleGrant.objects.filter(status=RoleGrant.Status.PENDING).values_list(
            "id", "role", "requested_by", "user__username"
        )
    )
    named = {trail[w[0]].account for w in waiting if w[0] in trail and trail[w[0]].account != w[3]}
    gone = named - set(User.objects.filter(username__in=named).values_list("username", flat=True))
    found = []
    for grant_id, role, requested_by, username in waiting:
        newest = trail.get(grant_id)
        if newest is not None and newest.account in gone:
            newest = replace(newest, account=username)  # renamed: the accounts check names it
        why = _unasked(role, requested_by, username, newest)
        if why is not None:
            found.append(
                f"role request {grant_id}: {role} for {username}, asked by {requested_by!r} and "
                f"waiting for a second admin, {why} (written outside the application; `approve` "
                "refuses it, decline it)"
            )
    return found


@dataclass(frozen=True)
class _Entry:
    """The newest audit entry of a request: asked, declined or approved."""

    seq: int
    action: str
    account: str
    actor: str
    role: object


def _trail(entries: QuerySet[AuditEntry]) -> dict[object, _Entry]:
    """Request id -> its newest entry, among `entries`."""
    rows = entries.filter(action__in=REQUEST_ACTIONS, object_type="user").order_by("seq")
    return {
        after.get("request"): _Entry(seq, action, account, actor, after.get("role"))
        for seq, action, account, actor, after in rows.values_list(
            "seq", "action", "object_id", "actor", "after"
        )
        if isinstance(after, dict) and isinstance(after.get("request"), int)
    }


def _unasked(role: str, requested_by: str, username: str, newest: _Entry | None) -> str | None:
    """What keeps a waiting request from approval, by its trail (None: nothing)."""
    if newest is None:
        return "has no `user.role_request` audit entry"
    if newest.action != ASK:
        decided = "declined" if newest.action == "user.role_decline" else "approved"
        return f"was {decided} already in its audit trail (entry {newest.seq})"
    if (newest.role, newest.actor, newest.account) != (role, requested_by, username):
        return (
            f"is not what its `user.role_request` recorded (entry {newest.seq}: {newest.role} "
            f"for {newest.account} by {newest.actor!r})"
        )
    return None


def _locked_waiting(user: User, grant_id: int) -> RoleGrant:
    """The request, locked, when it still waits and `user` may decide it; refused otherwise."""
    grant = RoleGrant.objects.select_for_update().select_related("user").filter(id=grant_id).first()
    if grant is None:
        raise NotFound(f"role request {grant_id}")
    if grant.status != RoleGrant.Status.PENDING:
        raise Refusal(
            "request",
            str(grant_id),
            "a request still waiting for a second admin",
            SECOND_ADMIN,
            f"is {grant.get_status_display()} already",
        )
    not_own(user, grant.user_id, "request")
    return grant


def decided(grant: RoleGrant, actor: str, status: RoleGrant.Status) -> Grant:
    grant.status = status
    grant.decided_by = actor
    grant.decided_at = clock.now()
    grant.save(update_fields=["status", "decided_by", "decided_at"])
    return _grant(grant)


@transaction.atomic
def decline(user: User, grant_id: int) -> Grant:
    """Decline a request (another admin) or withdraw it (the admin who asked): the account does
    not get the role."""
    actor = require(user, "users.manage")
    grant = _locked_waiting(user, grant_id)  # a request inserted in the database too
    shown = decided(grant, actor, RoleGrant.Status.DECLINED)
    audit.record(
        actor,
        "user.role_decline",
        "user",
        shown.username,
        before={"role": shown.role, "request": shown.id, "status": RoleGrant.Status.PENDING},
        after={"role": shown.role, "request": shown.id, "status": shown.status},
    )
    return shown
