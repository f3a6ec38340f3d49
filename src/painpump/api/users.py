"""User accounts and their roles for the admin (clinic.actions.users): the accounts, a change of
an account's roles (a role removed at once, a role added asked for), and the requests waiting
for a second admin, who approves or declines them. Nobody changes their own roles. An account
made outside painpump is adopted the same way (clinic.actions.account_adoptions): one admin asks
with a reason, a second approves or declines, the asker may withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictInt, StrictStr

from painpump.api.auth import AUTH, current_user
from painpump.api.schemas import ERRORS, Request
from painpump.clinic.actions import account_adoptions, role_grants, users
from painpump.clinic.actions.account_adoptions import Adoption, Outside
from painpump.clinic.actions.role_grants import Grant
from painpump.clinic.actions.users import Account

router = Router(tags=["users"], auth=AUTH)


class AccountOut(Schema):
    id: int
    username: str
    name: str
    roles: list[str] = Field(description="the roles the account holds now")
    active: bool
    last_login: datetime | None
    version: int


class RolesIn(Request):
    version: StrictInt = Field(ge=1, description="the account version read (409 if changed)")
    roles: list[StrictStr] = Field(
        min_length=1,
        max_length=5,
        description="the roles the account should hold: one left out is removed at once, one "
        "added is asked for and waits for a second admin's approval",
    )


class GrantOut(Schema):
    id: int
    user_id: int
    username: str
    role: str
    status: str = Field(description="pending, approved or declined")
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


class RolesChangedOut(Schema):
    account: AccountOut
    removed: list[str] = Field(description="roles removed, at once")
    asked: list[str] = Field(description="roles asked for, waiting for a second admin")


class OutsideOut(Schema):
    id: int
    username: str
    roles: list[str] = Field(description="the roles the account holds now (adopting adds none)")
    active: bool
    superuser: bool
    staff: bool
    waiting: int | None = Field(description="the adoption request waiting for it, if one is")


class AdoptionIn(Request):
    reason: StrictStr = Field(
        description="why the clinic vouches for the account (1 to "
        f"{account_adoptions.REASON_MAX} characters, typed)"
    )


class AdoptionOut(Schema):
    id: int
    user_id: int
    username: str
    reason: str
    status: str = Field(description="pending, approved, declined or withdrawn")
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


class AdoptionsOut(Schema):
    outside: list[OutsideOut] = Field(
        description="the accounts made outside painpump, which `painpump audit verify` names"
    )
    waiting: list[AdoptionOut] = Field(description="adoptions waiting for a second admin")


def _account(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "name": account.name,
        "roles": list(account.roles),
        "active": account.active,
        "last_login": account.last_login,
        "version": account.version,
    }


def _grant(grant: Grant) -> dict[str, Any]:
    return vars(grant)


def _outside(account: Outside) -> dict[str, Any]:
    return vars(account) | {"roles": list(account.roles)}


def _adoption(adoption: Adoption) -> dict[str, Any]:
    return vars(adoption) | {"status": adoption.status.value}


@router.get("/users", response={200: list[AccountOut], **ERRORS})
def list_accounts(request: HttpRequest) -> list[dict[str, Any]]:
    return [_account(a) for a in users.list_accounts(current_user(request))]


@router.put("/users/{user_id}/roles", response={200: RolesChangedOut, **ERRORS})
def set_roles(request: HttpRequest, user_id: int, payload: RolesIn) -> dict[str, Any]:
    """Another account's roles (never your own: 422 naming `roles`); a stale `version` is 409."""
    changed = users.set_roles(
        current_user(request), user_id, expected_version=payload.version, roles=payload.roles
    )
    return {
        "account": _account(changed.account),
        "removed": list(changed.removed),
        "asked": list(changed.asked),
    }


@router.get("/role-grants", response={200: list[GrantOut], **ERRORS})
def pending_grants(request: HttpRequest) -> list[dict[str, Any]]:
    """The roles asked for and waiting for a second admin, oldest first."""
    return [_grant(g) for g in role_grants.pending_grants(current_user(request))]


@router.post("/role-grants/{grant_id}/approve", response={200: GrantOut, **ERRORS})
def approve_grant(request: HttpRequest, grant_id: int) -> dict[str, Any]:
    """The second admin approves: the account holds the role from now on. Refused (422 naming
    `request`) for the admin who asked and for the account's holder."""
    return _grant(users.approve_grant(current_user(request), grant_id))


@router.post("/role-grants/{grant_id}/decline", response={200: GrantOut, **ERRORS})
def decline_grant(request: HttpRequest, grant_id: int) -> dict[str, Any]:
    """Decline a request (or withdraw one you asked for): the account does not get the role."""
    return _grant(role_grants.decline(current_user(request), grant_id))


ADOPTIONS = "/users/adoptions"


@router.get(ADOPTIONS, response={200: AdoptionsOut, **ERRORS})
def adoptions(request: HttpRequest) -> dict[str, Any]:
    """The accounts made outside painpump and the adoptions waiting for a second admin."""
    user = current_user(request)
    return {
        "outside": [_outside(a) for a in account_adoptions.outside_accounts(user)],
        "waiting": [_adoption(a) for a in account_adoptions.pending(user)],
    }


@router.post("/users/{user_id}/adoption", response={201: AdoptionOut, **ERRORS})
def ask_adoption(request: HttpRequest, user_id: int, payload: AdoptionIn) -> Status[dict[str, Any]]:
    """Ask a second admin to adopt an account made outside painpump: the audit trail records
    its creation once another admin approves. Refused (422 naming `user`) for an account
    painpump made, your own, or one another adoption waits for."""
    asked = account_adoptions.ask(current_user(request), user_id, reason=payload.reason)
    return Status(201, _adoption(asked))


@router.post(ADOPTIONS + "/{adoption_id}/approve", response={200: AdoptionOut, **ERRORS})
def approve_adoption(request: HttpRequest, adoption_id: int) -> dict[str, Any]:
    """The second admin approves: the trail records the account as it is now. Refused (422
    naming `request`) for the admin who asked, the account itself, and once the account differs
    from what the ask recorded."""
    return _adoption(account_adoptions.approve(current_user(request), adoption_id))


@router.post(ADOPTIONS + "/{adoption_id}/decline", response={200: AdoptionOut, **ERRORS})
def decline_adoption(request: HttpRequest, adoption_id: int) -> dict[str, Any]:
    """Another admin declines the request: the account stays as verify names it."""
    return _adoption(account_adoptions.decline(current_user(request), adoption_id))


@router.post(ADOPTIONS + "/{adoption_id}/withdraw", response={200: AdoptionOut, **ERRORS})
def withdraw_adoption(request: HttpRequest, adoption_id: int) -> dict[str, Any]:
    """The admin who asked withdraws the request: the account stays as verify names it."""
    return _adoption(account_adoptions.withdraw(current_user(request), adoption_id))
