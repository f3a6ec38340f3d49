"""User accounts of the clinic team, managed by the admin (users.manage): listed with their roles
and last sign-in, created with an initial password that passes the password validators, roles
changed, deactivated and reactivated (never deleted), passwords reset. Every change is audited
(never a password) under the account's version; an admin cannot remove their own admin role or
deactivate themselves, so the clinic never locks itself out of its administration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.models import AccountVersion
from painpump.clinic.roles import Role, require
from painpump.core.errors import Refusal

RULES = "painpump user rules"
PASSWORD_RULES = "the clinic's password rules (AUTH_PASSWORD_VALIDATORS in painpump.settings)"
KEEP_ADMIN = (
    "painpump user rules: an admin cannot remove their own admin role or deactivate themselves "
    "(the clinic would lose its administration); another admin can"
)
NAME_MAX = 150
ROLE_NAMES = frozenset(role.value for role in Role)


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
    )


def snapshot(account: Account) -> dict[str, Any]:
    """An account as the audit trail shows it."""
    return {
        "username": account.username,
        "name": account.name,
        "roles": list(account.roles),
        "active": account.active,
        "version": account.version,
    }


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


def _text(value: str, field: str, *, required: bool) -> str:
    text = str(value or "").strip()
    if (required and not text) or len(text) > NAME_MAX:
        raise Refusal(
            field, repr(value), f"{int(required)} to {NAME_MAX} characters", RULES, "is not allowed"
        )
    return text


def _username(value: str) -> str:
    name = _text(value, "username", required=True)
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError:
        raise Refusal(
            "username",
            repr(value),
            "letters, digits and @ . + - _ only",
            RULES,
            "has characters a username cannot hold",
        ) from None
    if User.objects.filter(username__iexact=name).exists():
        raise Refusal(
            "username", name, "a username nobody has (ignoring case)", RULES, "is already taken"
        )
    return name


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
    """A new, active account with its roles and initial password."""
    actor = require(user, "users.manage")
    new = User(
        username=_username(username),
        first_name=_text(first_name, "first_name", required=True),
        last_name=_text(last_name, "last_name", required=True),
    )
    chosen = _roles(roles)
    _password(password, new)
    new.set_password(password)
    new.save()
    _set_groups(new, chosen)
    AccountVersion.objects.create(user=new)
    account = _account(new, 1)
    audit.record(actor, "user.create", "user", new.username, after=snapshot(account))
    return account


def _locked(user_id: int, expected_version: int) -> tuple[User, AccountVersion]:
    target = User.objects.select_for_update().filter(id=user_id).first()
    if target is None:
        raise NotFound(f"user {user_id}")
    version, _ = AccountVersion.objects.select_for_update().get_or_create(user=target)
    if version.version != expected_version:
        raise Conflict("user", target.get_username(), expected_version, version.version)
    return target, version


def _bumped(target: User, version: AccountVersion) -> Account:
    version.version += 1
    version.save(update_fields=["version"])
    return _account(target, version.version)


@transaction.atomic
def set_roles(user: User, user_id: int, *, expected_version: int, roles: Iterable[str]) -> Account:
    """The account's roles become `roles` (at least one)."""
    actor = require(user, "users.manage")
    target, version = _locked(user_id, expected_version)
    chosen = _roles(roles)
    if target.id == user.id and Role.ADMIN not in chosen:
        raise Refusal(
            "roles", ", ".join(chosen), "your roles keep admin", KEEP_ADMIN, "drops admin"
        )
    before = snapshot(_account(target, version.version))
    _set_groups(target, chosen)
    after = _bumped(target, version)
    audit.record(actor, "user.roles", "user", target.username, before=before, after=snapshot(after))
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
