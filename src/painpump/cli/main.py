"""The `painpump` command: calculators (`calc`), the twin (`simulate`), `bench` and `demo`."""

from __future__ import annotations

import json
import sys

import click
import typer

from painpump.cli.output import EXIT_REFUSED, refuse
from painpump.core.errors import Refusal

app = typer.Typer(
    help="painpump: digital twin and dosing safety engine for intrathecal drug delivery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from painpump.cli import calc, simulate

    app.add_typer(calc.app, name="calc")
    simulate.register(app)


def run() -> None:
    """Entry point: runs the app; bad input exits 2 with a message (JSON with --json)."""
    _register()
    as_json = "--json" in sys.argv
    try:
        app(standalone_mode=False)
    except Refusal as error:
        refuse(error, as_json)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as error:
        message = error.format_message()
        if as_json:
            typer.echo(json.dumps({"error": {"field": getattr(error, "param_hint", None) or "",
                                              "message": message}}, indent=2))
        else:
            typer.echo(f"refused: {message}", err=True)
        sys.exit(EXIT_REFUSED)
