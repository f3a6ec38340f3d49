"""`painpump token`: API tokens for programs. A new token is printed once and stored only as its
hash; list shows prefixes, never secrets; revoke disables one at once. Creating one needs the
account's own password and authenticator code (painpump.cli.console_proof), as signing in does:
being at the console is not proof of being that account."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from painpump.cli import console_proof
from painpump.cli.output import emit
from painpump.runtime import setup_django

token_app = typer.Typer(help="API tokens for programs.", no_args_is_help=True)


@token_app.command("create")
def create(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token may read but not change.")
    ] = False,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    password_file: Annotated[
        Path | None,
        typer.Option("--password-file", help=console_proof.PASSWORD_FILE_HELP),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a token for USER (with USER's roles), once USER's password and authenticator code
    are given; it is shown only now: store it safely."""
    setup_django()
    from painpump.api import tokens

    console_proof.signed_in(user, password_file, "user")
    new = tokens.create(user, read_only=read_only, name=name, actor=user)
    emit(
        {
            "id": new.record.id,
            "user": user,
            "access": "read-only" if read_only else "read-write",
            "token": new.secret,
        },
        json,
    )
    if not json:
        typer.echo("The token is shown only once; painpump keeps only its hash.", err=True)


@token_app.command("list")
def list_tokens(
    user: Annotated[str, typer.Argument(help="Only this user's tokens.")] = "",
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The tokens (id, prefix, user, access, created, revoked); never their secrets."""
    setup_django()
    from painpump.api.models import ApiToken

    records = ApiToken.objects.select_related("user").order_by("id")
    if user:
        records = records.filter(user__username=user)
    rows = [
        {
            "id": t.id,
            "prefix": t.prefix,
            "user": t.user.get_username(),
            "access": "read-only" if t.read_only else "read-write",
            "name": t.name,
            "created_at": t.created_at,
            "revoked_at": t.revoked_at,
        }
        for t in records
    ]
    if json:
        emit({"tokens": rows}, True)
    else:
        from painpump.clinic.locale import clinic_locale

        locale = clinic_locale()
        for t in records:
            access = "read-only" if t.read_only else "read-write"
            created = f" created {locale.format_moment(t.created_at)}"
            ended = f", revoked {locale.format_moment(t.revoked_at)}" if t.revoked_at else ""
            typer.echo(f"{t.id:>5}  {t.prefix}…  {t.user.get_username()}  {access}{created}{ended}")


@token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `painpump token list`).")],
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    setup_django()
    from painpump.api import tokens
    from painpump.clinic.locale import clinic_locale

    record = tokens.revoke(token_id)
    shown = {"id": record.id, "prefix": record.prefix, "revoked_at": record.revoked_at}
    emit(shown, json, locale=clinic_locale())


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
