"""`painpump roles`: the roles of the clinic's accounts at the server console. An admin (`--by`,
proven by their password and their authenticator's code, never on the command line) asks for a
role, a second admin approves or declines it, a role is revoked at once; nobody changes their
own. `bootstrap` is the break-glass of a fresh install: it makes an account an admin while fewer
than two active accounts are (after `painpump manage createsuperuser`), audited as the server
console."""

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
    """Every account with its roles, and the requests waiting for a second admin."""
    setup_django()
    from django.contrib.auth.models import User

    from painpump.clinic.models import RoleGrant

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
    if json:
        emit({"accounts": accounts, "waiting": waiting}, True)
        return
    for row in accounts:
        state = "" if row["active"] else " (deactivated)"
        typer.echo(f"{row['user']}{state}: {', '.join(row['roles']) or 'no role'}")
    for grant in waiting:
        typer.echo(
            f"request {grant['request']}: {grant['role']} for {grant['user']}, asked by "
            f"{grant['asked_by']}, waits for a second admin"
        )


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
