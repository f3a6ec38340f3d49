"""User accounts of the clinic team, managed by the admin (users.manage): listed with their roles
and last sign-in, created with an initial password that passes the password validators, roles
changed, deactivated and reactivated (never deleted), passwords reset. Every change is audited
(never a password) under the account's version. Least privilege: nobody changes their own roles;
a role is granted only when a second admin approves the request (clinic.actions.role_grants), a
new account's roles too, while removing one takes effect at once; an admin cannot deactivate
themselves, so the clinic never locks itself out of its administration. On a fresh install the
server console makes the first two admins (bootstrap_admin)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.actions import role_grants
from painpump.clinic.actions.role_grants import SECOND_ADMIN, Grant
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.models import AccountVersion, ClinicSettings, RoleGrant
from painpump.clinic.roles import Role, require
from painpump.core import usernames
from painpump.core.errors import Refusal
from painpump.core.record_numbers import skeleton
from painpump.core.text import escaped, plain_text

RULES = "painpump user rules"
PASSWORD_RULES = "the clinic's password rules (AUTH_PASSWORD_VALIDATORS in painpump.settings)"
KEEP_ADMIN = (
    "painpump user rules: an admin cannot deactivate themselves (the clinic would lose its "
    "administration); another admin can"
)
CONSOLE = "server console"
"""The actor the audit trail names for a change made at the server console (painpump roles)."""
BOOTSTRAP = (
    "painpump user rules: the server console makes an admin only while fewer than two active "
    "accounts are admins (a fresh install, or the last admins gone); otherwise a second admin "
    "approves every role"
)
NAME_MAX = 150
ROLE_NAMES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class RolesChanged:
    """What a change of roles did: the account (its roles removed at once) and the roles asked
    for, which wait for a second admin."""

    account: Account
    removed: tuple[str, ...]
    asked: tuple[str, ...]


@dataclass(frozen=True)
class Account:
    """A user as the admin sees it: never the password."""

    id: int
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    active: bool
    last_login: datetime | None
    joined: datetime
    version: int
    superuser: bool = False
    staff: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _version(user: User) -> int:
    try:
        return user.account_version.version
    except AccountVersion.DoesNotExist:
        return 1


def _account(user: User, version: int | None = None) -> Account:
    return Account(
        id=user.id,
        username=user.get_username(),
        first_name=user.first_name,
        last_name=user.last_name,
        roles=tuple(sorted(group.name for group in user.groups.all() if group.name in ROLE_NAMES)),
        active=user.is_active,
        last_login=user.last_login,
        joined=user.date_joined,
        version=_version(user) if version is None else version,
        superuser=user.is_superuser,
        staff=user.is_staff,
    )


def snapshot(account: Account) -> dict[str, Any]:
    """An account as the audit trail shows it (its roles and flags are what `painpump audit
    verify` compares: clinic.audit_accounts)."""
    return {
        "username": account.username,
        "name": account.name,
        "roles": list(account.roles),
        "active": account.active,
        "superuser": account.superuser,
        "staff": account.staff,
        "version": account.version,
    }


def account_snapshot(user: User) -> dict[str, Any]:
    """The account of `user` as the audit trail shows it, for a path that makes accounts
    outside these services (the demo's users)."""
    return snapshot(_account(user))


def list_accounts(user: User) -> list[Account]:
    """Every account, active first, by username."""
    require(user, "users.manage")
    rows = User.objects.select_related("account_version").prefetch_related("groups")
    return [_account(row) for row in rows.order_by("-is_active", "username")]


def read_account(user: User, user_id: int) -> Account:
    require(user, "users.manage")
    row = User.objects.select_related("account_version").filter(id=user_id).first()
    if row is None:
        raise NotFound(f"user {user_id}")
    return _account(row)


def _roles(names: Iterable[str]) -> list[Role]:
    wanted = sorted({str(name).strip() for name in names})
    known = {role.value for role in Role}
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        raise Refusal(
            "roles",
            ", ".join(wanted) or "none",
            f"one or more of {', '.join(sorted(known))}",
            RULES,
            "is not a set of roles",
        )
    return [Role(name) for name in wanted]


def _text(value: str, field: str) -> str:
    """A name as a clinician reads it in the trail and on pages: no hidden characters."""
    return plain_text(value, field, NAME_MAX, RULES)


def _username(value: str) -> str:
    """A new username in the rule (core.usernames), refused naming the existing account a reader
    could take it for; existing accounts keep their names, and are compared as they are."""
    ClinicSettings.objects.select_for_update().get_or_create(id=1)  # one new account at a time
    typed = str(value or "").strip()
    try:
        name = usernames.username(typed)
    except Refusal as refusal:
        like = _look_alike(unicodedata.normalize("NFKC", typed))
        if like is None:
            raise
        problem = f"{refusal.problem}, and looks like {escaped(like)}, an existing account"
        raise replace(refusal, problem=problem) from None
    same = User.objects.filter(username__iexact=name).values_list("username", flat=True).first()
    if same is not None:
        raise Refusal(
            "username",
            escaped(typed),
            "a username nobody has (ignoring case)",
            RULES,
            f"is already taken by the account {escaped(same)}",
        )
    like = _look_alike(name)
    if like is not None:
        raise Refusal(
            "username",
            escaped(typed),
            usernames.LOOK_ALIKE_LIMIT,
            usernames.RULE,
            f"looks like {escaped(like)}, an existing account",
        )
    return name


def _look_alike(name: str) -> str | None:
    """The existing username a reader could take `name` for (the record numbers' skeleton)."""
    seen = skeleton(name)
    existing = User.objects.values_list("username", flat=True).order_by("id").iterator()
    return next((other for other in existing if skeleton(other) == seen), None)


def _password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise Refusal(
            "password",
            "(not shown)",
            " ".join(password_validation.password_validators_help_texts()),
            PASSWORD_RULES,
            "is refused: " + " ".join(error.messages),
        ) from None


def _set_groups(user: User, roles: list[Role]) -> None:
    user.groups.set([Group.objects.get_or_create(name=role.value)[0] for role in roles])


@transaction.atomic
def create_account(
    user: User,
    *,
    username: str,
    first_name: str,
    last_name: str,
    roles: Iterable[str],
    password: str,
) -> Account:
    """A new, active account with its initial password and no role yet: each role chosen is a
    request that a second admin approves."""
    actor = require(user, "users.manage")
    new = User(
        username=_username(username),
        first_name=_text(first_name, "first_name"),
        last_name=_text(last_name, "last_name"),
    )
    chosen = _roles(roles)
    _password(password, new)
    new.set_password(password)
    new.save()
    AccountVersion.objects.create(user=new)
    account = _account(new, 1)
    audit.record(actor, "user.create", "user", new.username, after=snapshot(account))
    role_grants.ask(actor, new, chosen)
    return account


def _lock(user_id: int) -> tuple[User, AccountVersion]:
    target = User.objects.select_for_update().filter(id=user_id).first()
    if target is None:
        raise NotFound(f"user {user_id}")
    version, _ = AccountVersion.objects.select_for_update().get_or_create(user=target)
    return target, version


def _locked(user_id: int, expected_version: int) -> tuple[User, AccountVersion]:
    target, version = _lock(user_id)
    if version.version != expected_version:
        raise Conflict("user", target.get_username(), expected_version, version.version)
    return target, version


def _bumped(target: User, version: AccountVersion) -> Account:
    version.version += 1
    version.save(update_fields=["version"])
    return _account(target, version.version)


@transaction.atomic
def set_roles(
    user: User, user_id: int, *, expected_version: int, roles: Iterable[str]
) -> RolesChanged:
    """The account's roles become `roles` (at least one): a role left out is removed at once, a
    role added is asked for and waits for a second admin's approval. Never one's own."""
    actor = require(user, "users.manage")
    role_grants.not_own(user, user_id, "roles")
    target, version = _locked(user_id, expected_version)
    chosen = _roles(roles)
    account = _account(target, version.version)
    held = set(account.roles)
    removed = sorted(held - {role.value for role in chosen})
    if removed:
        before = snapshot(account)
        _set_groups(target, [Role(name) for name in sorted(held) if name not in removed])
        account = _bumped(target, version)
        audit.record(
            actor, "user.roles", "user", target.username, before=before, after=snapshot(account)
        )
    asked = role_grants.ask(actor, target, chosen)
    return RolesChanged(account, tuple(removed), tuple(grant.role for grant in asked))


@transaction.atomic
def approve_grant(user: User, grant_id: int) -> Grant:
    """The second admin approves a request: the account holds the role from now on. Refused for
    the admin who asked, the account's holder, and an admin whose sign-in the asker reset or who
    reset the asker's."""
    actor = require(user, "users.manage")
    grant = role_grants.locked_pending(user, grant_id)
    if grant.requested_by == actor:
        raise Refusal(
            "request", str(grant_id), "another admin's request", SECOND_ADMIN, "is your own"
        )
    role_grants.independent(actor, grant.requested_by, grant_id, SECOND_ADMIN)
    target, version = _lock(grant.user_id)
    before = snapshot(_account(target, version.version))
    if grant.role not in before["roles"]:
        target.groups.add(Group.objects.get_or_create(name=grant.role)[0])
        after = snapshot(_bumped(target, version))
    else:
        after = before
    shown = role_grants.decided(grant, actor, RoleGrant.Status.APPROVED)
    after |= {"request": shown.id, "asked_by": shown.requested_by}
    audit.record(actor, "user.role_grant", "user", target.username, before=before, after=after)
    return shown


@transaction.atomic
def bootstrap_admin(username: str) -> Account:
    """The server console's break-glass: the active account `username` becomes an admin, while
    fewer than two active accounts are admins (a fresh install: `painpump manage
    createsuperuser`, then `painpump roles bootstrap NAME`); audited as the server console."""
    admins = User.objects.filter(is_active=True, groups__name=Role.ADMIN.value).distinct()
    if admins.count() >= 2:
        raise Refusal(
            "username",
            username,
            "fewer than two active admins",
            BOOTSTRAP,
            f"cannot be made an admin here: the clinic has {admins.count()} active admins",
        )
    row = User.objects.filter(username=username, is_active=True).first()
    if row is None:
        raise NotFound(f"active user {username!r}")
    target, version = _lock(row.id)
    before = snapshot(_account(target, version.version))
    if Role.ADMIN.value in before["roles"]:
        raise Refusal("username", username, "an account not yet admin", BOOTSTRAP, "is an admin")
    target.groups.add(Group.objects.get_or_create(name=Role.ADMIN.value)[0])
    after = _bumped(target, version)
    audit.record(
        CONSOLE,
        "user.bootstrap_admin",
        "user",
        target.username,
        before=before,
        after=snapshot(after),
    )
    return after


@transaction.atomic
def set_active(user: User, user_id: int, *, expected_version: int, active: bool) -> Account:
    """Deactivate (the account can no longer sign in or use its API tokens) or reactivate."""
    actor = require(user, "users.manage")
    target, version = _locked(user_id, expected_version)
    if target.id == user.id and not active:
        raise Refusal("active", "deactivate", "another admin's account", KEEP_ADMIN, "is your own")
    before = snapshot(_account(target, version.version))
    target.is_active = active
    target.save(update_fields=["is_active"])
    after = _bumped(target, version)
    action = "user.reactivate" if active else "user.deactivate"
    audit.record(actor, action, "user", target.username, before=before, after=snapshot(after))
    return after


@transaction.atomic
def reset_password(user: User, user_id: int, *, expected_version: int, password: str) -> Account:
    """A new password, checked by the password validators; the account's other sessions end."""
    actor = require(user, "users.manage")
    target, version = _locked(user_id, expected_version)
    _password(password, target)
    target.set_password(password)
    target.save(update_fields=["password"])
    after = _bumped(target, version)
    audit.record(actor, "user.password_reset", "user", target.username, after={"password": "reset"})
    return after
