"""Commands of the clinic service: `painpump manage ...` (Django's management commands, e.g.
migrate, createsuperuser), `painpump audit verify`, `painpump audit rotate-key ADMIN` and
`painpump redate ADMIN`; the admin of the last two proves who they are by their password and
authenticator code (painpump.cli.console_proof), as at the web's sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from painpump.cli import console_proof
from painpump.cli.output import emit
from painpump.runtime import setup_django

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
PASSWORD_FILE = typer.Option("--password-file", help=console_proof.PASSWORD_FILE_HELP)


@audit_app.command("verify")
def verify(json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check the audit trail: every entry's keyed hash and its link to the one before, the head,
    the latest signed checkpoint (a cut or wiped trail), and each clinical record against the
    last state its trail recorded. Exits 1 naming every problem."""
    setup_django()
    from painpump.clinic import audit, audit_checkpoints

    outcome = audit.verify()
    result = {
        "ok": outcome.ok,
        "entries": outcome.entries,
        "problem": outcome.problem or None,
        "problems": list(outcome.problems),
        "notes": list(outcome.notes),
        "key_id": outcome.key_id or None,
        "checkpoint": outcome.checkpoint,
        "checkpoints_file": str(audit_checkpoints.path()),
    }
    lines = [
        f"{'ok' if outcome.ok else 'FAILED'}: {outcome.entries} entries checked, "
        f"key {outcome.key_id or '-'}, latest checkpoint "
        + ("none" if outcome.checkpoint is None else f"{outcome.checkpoint} entries")
        + f" ({audit_checkpoints.path()})",
        *(f"problem: {problem}" for problem in outcome.problems),
        *(f"note: {note}" for note in outcome.notes),
    ]
    emit(result, json, "\n".join(lines))
    if not outcome.ok:
        raise typer.Exit(1)


@audit_app.command("rotate-key")
def rotate_key(
    admin: Annotated[str, typer.Argument(help="The admin the rotation is recorded for.")],
    password_file: Annotated[Path | None, PASSWORD_FILE] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Move the audit chain to the key now in PAINPUMP_AUDIT_KEY, from the key of its newest
    entries (listed in PAINPUMP_AUDIT_RETIRED_KEYS_FILE), with the service stopped; also seals a
    trail written before painpump keyed its chain (docs/security.md). ADMIN gives their password
    and authenticator code first."""
    setup_django()
    from painpump.clinic import audit
    from painpump.clinic.roles import Forbidden, require

    account = console_proof.signed_in(admin, password_file, "admin")
    try:
        entry = audit.rotate_key(require(account, "settings.write"))
    except (Forbidden, ValueError) as refused:
        typer.echo(f"refused: {refused}", err=True)
        raise typer.Exit(1) from None
    assert entry.after is not None
    emit({"entry": entry.seq, **entry.after}, json)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")

    @app.command()
    def redate(
        admin: Annotated[str, typer.Argument(help="The admin the change is recorded for.")],
        password_file: Annotated[Path | None, PASSWORD_FILE] = None,
        json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Date every filled pump again by its twin (its alarm, empty and refill-by dates), as a
        change of the refill margin or time zone does; prints how many changed. ADMIN gives
        their password and authenticator code first."""
        setup_django()
        from painpump import clock
        from painpump.clinic.actions import pump_dates
        from painpump.clinic.roles import Forbidden

        account = console_proof.signed_in(admin, password_file, "admin")
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
