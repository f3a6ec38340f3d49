"""`painpump roles`: the roles of the clinic's accounts at the server console. An admin (`--by`,
proven by their password and their authenticator's code, never on the command line) asks for a
role, a second admin approves or declines it, a role is revoked at once; nobody changes their
own. An account made outside painpump (which `painpump audit verify` names) is adopted the same
way: one admin asks (`adopt`), a second approves (`adopt-approve`). `bootstrap` is the
break-glass of a fresh install: it makes an account an admin while fewer than two active
accounts are (after `painpump manage createsuperuser`), audited as the server console."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from painpump.cli import console_proof
from painpump.cli.console_proof import PASSWORD_FILE_HELP
from painpump.cli.output import EXIT_REFUSED, emit
from painpump.runtime import setup_django

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from painpump.clinic.actions.account_adoptions import Adoption

roles_app = typer.Typer(help="Roles of the clinic's accounts.", no_args_is_help=True)

BY = typer.Option(
    "--by",
    help="The admin doing it (recorded in the audit trail); asked for their password, and for "
    "their authenticator's code when they have one.",
)
PASSWORD_FILE = typer.Option("--password-file", help=PASSWORD_FILE_HELP)
JSON = typer.Option("--json", help="Print JSON.")


def _refused(message: str) -> typer.Exit:
    typer.echo(f"refused: {message}", err=True)
    return typer.Exit(EXIT_REFUSED)


def _signed_in(by: str, password_file: Path | None) -> User:
    """The admin `by`, once their password (and their authenticator's code) is given."""
    return console_proof.signed_in(by, password_file, "--by")


def _active(username: str) -> User:
    from django.contrib.auth.models import User

    account = User.objects.filter(username=username, is_active=True).first()
    if account is None:
        raise _refused(f"{username!r}: no active user of that name")
    return account


def _change_roles(admin: User, username: str, add: list[str], drop: list[str], json: bool) -> None:
    """The account's roles with `add` asked for and `drop` removed, as `admin`."""
    from painpump.clinic.actions import users
    from painpump.clinic.errors import Conflict
    from painpump.clinic.roles import Forbidden

    target = _active(username)
    try:
        account = users.read_account(admin, target.id)
        wanted = (set(account.roles) | set(add)) - set(drop)
        changed = users.set_roles(
            admin, target.id, expected_version=account.version, roles=sorted(wanted)
        )
    except (Forbidden, Conflict) as refused:
        raise _refused(str(refused)) from None
    shown = {"user": username, "roles": list(changed.account.roles)}
    emit(shown | {"removed": list(changed.removed), "asked": list(changed.asked)}, json)


@roles_app.command("list")
def list_roles(json: Annotated[bool, JSON] = False) -> None:
    """Every account with its roles, the requests waiting for a second admin, and the accounts
    made outside painpump (`painpump audit verify` names them) with their adoptions."""
    setup_django()
    from django.contrib.auth.models import User

    from painpump.clinic.actions import account_adoptions
    from painpump.clinic.models import AccountAdoption, RoleGrant

    accounts: list[dict[str, Any]] = [
        {
            "user": u.get_username(),
            "active": u.is_active,
            "roles": sorted(g.name for g in u.groups.all()),
        }
        for u in User.objects.prefetch_related("groups").order_by("username")
    ]
    waiting = [
        {"request": g.id, "user": g.user.get_username(), "role": g.role, "asked_by": g.requested_by}
        for g in RoleGrant.objects.filter(status=RoleGrant.Status.PENDING).select_related("user")
    ]
    outside: list[dict[str, Any]] = [
        {"user": row.username, "holds": _holds(row), "adoption": row.waiting}
        for row in account_adoptions.made_outside()
    ]
    asked = AccountAdoption.objects.filter(status=AccountAdoption.Status.PENDING)
    adoptions = [
        {"adoption": a.id, "user": a.user.get_username(), "asked_by": a.requested_by}
        | {"reason": a.reason}
        for a in asked.select_related("user")
    ]
    if json:
        emit(
            {"accounts": accounts, "waiting": waiting, "outside": outside, "adoptions": adoptions},
            True,
        )
        return
    for row in accounts:
        state = "" if row["active"] else " (deactivated)"
        typer.echo(f"{row['user']}{state}: {', '.join(row['roles']) or 'no role'}")
    for grant in waiting:
        typer.echo(
            f"request {grant['request']}: {grant['role']} for {grant['user']}, asked by "
            f"{grant['asked_by']}, waits for a second admin"
        )
    for account in outside:
        typer.echo(
            f"{account['user']}: made outside painpump (`painpump audit verify` names it), holds "
            f"{', '.join(account['holds']) or 'no role or flag'}: adopt it with `painpump roles "
            "adopt`"
        )
    for adoption in adoptions:
        typer.echo(
            f"adoption {adoption['adoption']}: {adoption['user']}, asked by "
            f"{adoption['asked_by']} ({adoption['reason']}), waits for a second admin"
        )


def _holds(row: Any) -> list[str]:
    """An account's roles and flags, as verify names them."""
    return [*row.roles, *(flag for flag in ("superuser", "staff") if getattr(row, flag))]


@roles_app.command("ask")
def ask(
    user: Annotated[str, typer.Argument(help="The account.")],
    roles: Annotated[list[str], typer.Argument(help="The roles to ask for.")],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Ask for ROLES on USER's account: each waits for a second admin's approval."""
    setup_django()
    _change_roles(_signed_in(by, password_file), user, roles, [], json)


@roles_app.command("revoke")
def revoke(
    user: Annotated[str, typer.Argument(help="The account.")],
    roles: Annotated[list[str], typer.Argument(help="The roles to remove.")],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Remove ROLES from USER's account at once (at least one role stays)."""
    setup_django()
    _change_roles(_signed_in(by, password_file), user, [], roles, json)


def _decide(request: int, admin: User, approve: bool, json: bool) -> None:
    from painpump.clinic.actions import role_grants, users
    from painpump.clinic.errors import NotFound
    from painpump.clinic.roles import Forbidden

    try:
        if approve:
            grant = users.approve_grant(admin, request)
        else:
            grant = role_grants.decline(admin, request)
    except (Forbidden, NotFound) as refused:
        raise _refused(str(refused)) from None
    shown = {"request": grant.id, "user": grant.username, "role": grant.role}
    emit(shown | {"status": grant.status, "decided_by": grant.decided_by}, json)


@roles_app.command("approve")
def approve(
    request: Annotated[int, typer.Argument(help="The request (see `painpump roles list`).")],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Approve a request as the second admin (not the one who asked, not its holder)."""
    setup_django()
    _decide(request, _signed_in(by, password_file), True, json)


@roles_app.command("decline")
def decline(
    request: Annotated[int, typer.Argument(help="The request (see `painpump roles list`).")],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Decline a request (or withdraw one you asked for)."""
    setup_django()
    _decide(request, _signed_in(by, password_file), False, json)


REQUEST = typer.Argument(help="The adoption request (see `painpump roles list`).")


def _adoption_shown(adoption: Adoption) -> dict[str, Any]:
    return {
        "request": adoption.id,
        "user": adoption.username,
        "status": adoption.status.value,
        "asked_by": adoption.requested_by,
        "decided_by": adoption.decided_by,
    }


@roles_app.command("adopt")
def adopt(
    user: Annotated[str, typer.Argument(help="An account `painpump audit verify` names.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why the clinic vouches for the account (typed).")
    ],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Ask to adopt USER, an account made outside painpump: its creation is recorded once a
    second admin approves (`adopt-approve`); it keeps its roles and flags, and gains none."""
    setup_django()
    from django.contrib.auth.models import User

    from painpump.clinic.actions import account_adoptions
    from painpump.clinic.errors import NotFound
    from painpump.clinic.roles import Forbidden

    admin = _signed_in(by, password_file)
    account = User.objects.filter(username=user).first()
    if account is None:
        raise _refused(f"{user!r}: no user of that name")
    try:
        asked = account_adoptions.ask(admin, account.id, reason=reason)
    except (Forbidden, NotFound) as refused:
        raise _refused(str(refused)) from None
    emit(_adoption_shown(asked) | {"reason": asked.reason}, json)


def _decide_adoption(
    request: int, by: str, password_file: Path | None, step: str, json: bool
) -> None:
    setup_django()
    from painpump.clinic.actions import account_adoptions
    from painpump.clinic.errors import NotFound
    from painpump.clinic.roles import Forbidden

    admin = _signed_in(by, password_file)
    decide = {
        "approve": account_adoptions.approve,
        "decline": account_adoptions.decline,
        "withdraw": account_adoptions.withdraw,
    }[step]
    try:
        decided = decide(admin, request)
    except (Forbidden, NotFound) as refused:
        raise _refused(str(refused)) from None
    emit(_adoption_shown(decided), json)


@roles_app.command("adopt-approve")
def adopt_approve(
    request: Annotated[int, REQUEST],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Approve an adoption as the second admin (not the one who asked, not the account): the
    audit trail records the account's creation as it is now."""
    _decide_adoption(request, by, password_file, "approve", json)


@roles_app.command("adopt-decline")
def adopt_decline(
    request: Annotated[int, REQUEST],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Decline another admin's adoption request: the account stays as verify names it."""
    _decide_adoption(request, by, password_file, "decline", json)


@roles_app.command("adopt-withdraw")
def adopt_withdraw(
    request: Annotated[int, REQUEST],
    by: Annotated[str, BY],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, JSON] = False,
) -> None:
    """Withdraw an adoption request you asked for."""
    _decide_adoption(request, by, password_file, "withdraw", json)


@roles_app.command("bootstrap")
def bootstrap(
    user: Annotated[str, typer.Argument(help="An active account, e.g. made by createsuperuser.")],
    json: Annotated[bool, JSON] = False,
) -> None:
    """Break-glass at the server console: make USER an admin at once, only while fewer than two
    active accounts are admins; no admin signs in, so it is recorded in the audit trail as the
    server console."""
    setup_django()
    from painpump.clinic.actions import users
    from painpump.clinic.errors import NotFound

    try:
        account = users.bootstrap_admin(user)
    except NotFound as missing:
        raise _refused(f"{missing}: no such account") from None
    emit({"user": account.username, "roles": list(account.roles)}, json)


def register(app: typer.Typer) -> None:
    app.add_typer(roles_app, name="roles")
