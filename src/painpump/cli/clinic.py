"""Commands of the clinic service: `painpump manage ...` (Django's management commands, e.g.
migrate, createsuperuser), `painpump audit verify` and `painpump redate`."""

from __future__ import annotations

from typing import Annotated

import typer

from painpump.cli.output import emit
from painpump.runtime import setup_django

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check the audit chain: every entry's hash and its link to the one before."""
    setup_django()
    from painpump.clinic import audit

    outcome = audit.verify()
    emit({"ok": outcome.ok, "entries": outcome.entries, "problem": outcome.problem or None}, json)
    if not outcome.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")

    @app.command()
    def redate(
        user: Annotated[str, typer.Argument(help="The admin the change is recorded for.")],
        json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Date every filled pump again by its twin (its alarm, empty and refill-by dates), as a
        change of the refill margin or time zone does; prints how many changed."""
        setup_django()
        from django.contrib.auth.models import User

        from painpump import clock
        from painpump.clinic.actions import pump_dates
        from painpump.clinic.roles import Forbidden

        account = User.objects.filter(username=user, is_active=True).first()
        if account is None:
            raise typer.BadParameter(f"{user!r}: no active user of that name")
        try:
            changed = pump_dates.redate_all(account, clock.now())
        except Forbidden as refused:
            typer.echo(str(refused), err=True)
            raise typer.Exit(1) from None
        emit({"changed": changed}, json)

    @app.command(
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def manage(ctx: typer.Context) -> None:
        """Run a Django management command (migrate, createsuperuser, ...)."""
        setup_django()
        from django.core.management import execute_from_command_line

        execute_from_command_line(["painpump manage", *ctx.args])
