"""The `painpump` command: calculators (`calc`), the twin (`simulate`), `bench` and `demo`."""

from __future__ import annotations

import json
import sys
from functools import cache

import typer
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError

from painpump.cli import data_directory
from painpump.cli.output import EXIT_REFUSED, refuse
from painpump.core.errors import Refusal

app = typer.Typer(
    help="painpump: digital twin and dosing safety engine for intrathecal drug delivery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cache
def _register() -> None:
    """Attach the sub-commands once (their modules import core, which the help screen need not
    wait for at import time of this module)."""
    from painpump.cli import bench, calc, clinic, demo, roles, serve, simulate, token, tour

    app.add_typer(calc.app, name="calc")
    simulate.register(app)
    bench.register(app)
    tour.register(app)
    clinic.register(app)
    serve.register(app)
    token.register(app)
    roles.register(app)
    demo.register(app)


def run() -> None:
    """Entry point: runs the app; bad input exits 2 with a message (JSON with --json), never with
    a traceback."""
    _register()
    as_json = "--json" in sys.argv
    try:
        outcome = app(standalone_mode=False)
    except Refusal as error:
        refuse(error, as_json)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(1)
    except ImproperlyConfigured as error:  # the settings refuse a missing or weak secret or key
        typer.echo(f"configuration refused: {error}", err=True)
        sys.exit(2)
    except OperationalError as error:
        missing = data_directory.missing()
        if missing is None:
            typer.echo(f"internal error: {type(error).__name__}: {error}", err=True)
            sys.exit(1)
        typer.echo(f"configuration refused: {data_directory.refusal(missing)}", err=True)
        sys.exit(2)
    except Exception as error:
        # Usage errors of the command-line parser (missing or unknown option, bad choice) carry
        # a message and an exit code; anything else is a defect, reported without a traceback.
        usage = getattr(error, "format_message", None)
        if usage is None:
            typer.echo(f"internal error: {type(error).__name__}: {error}", err=True)
            sys.exit(1)
        message = usage()
        if as_json:
            typer.echo(
                json.dumps({"error": {"field": "command line", "message": message}}, indent=2)
            )
        else:
            typer.echo(f"refused: {message}", err=True)
        sys.exit(EXIT_REFUSED)
    if isinstance(outcome, int) and outcome:
        sys.exit(outcome)
