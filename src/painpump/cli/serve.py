"""`painpump serve`: the clinic service under gunicorn (a production WSGI server, not Django's
development server), after bringing the database up to date. Its workers read each request in
full before a thread runs it and send the answer from memory (painpump.buffered_worker), so slow
or stalled clients hold no worker: a request must arrive within 10 s of its connection (more for a
large body), else 408. No access log: request lines can carry patient names in search queries.
It refuses to start on a moved clock (PAINPUMP_CLOCK_AT, see painpump.clock): that is for
`painpump demo --at` only."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Annotated, NoReturn

import typer

from painpump import clock
from painpump.runtime import gunicorn_argv


def run_gunicorn(host: str, port: int, workers: int, timeout: int) -> NoReturn:
    """Replace this process with gunicorn serving the clinic (Django already set up)."""
    from django.db import connections

    connections.close_all()
    typer.echo(
        f"painpump: serving http://{host}:{port}/ (web app; REST API under /api/) with {workers} "
        "workers",
        err=True,
    )
    argv = gunicorn_argv(host, port, workers, timeout)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


def local_checkpoints_warning() -> str:
    """A warning when the audit checkpoints stay beside the database only: whoever can write the
    data directory could then cut the trail's tail and its checkpoints together."""
    from django.conf import settings

    if settings.PAINPUMP_AUDIT_SYSLOG:
        return ""
    return (
        f"warning: the audit checkpoints are kept only in {settings.PAINPUMP_AUDIT_CHECKPOINTS}; "
        "set PAINPUMP_AUDIT_SYSLOG (or keep that file on another host) so that whoever can "
        "write the database cannot also rewrite them (docs/security.md)"
    )


def plain_http_warning(host: str) -> str:
    """A warning when the service listens beyond this machine without TLS in front of it: on the
    clinic's network, passwords, codes, session cookies and charts would cross it readable."""
    from django.conf import settings

    if settings.SESSION_COOKIE_SECURE or _loopback(host):
        return ""
    return (
        f"warning: serving plain HTTP on {host}: passwords, sign-in codes, session cookies and "
        "patient data cross the network readable; put a TLS proxy in front and set "
        "PAINPUMP_SECURE=1 (docs/security.md), or listen on 127.0.0.1 only"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
        workers: Annotated[
            int, typer.Option(min=1, max=64, help="Worker processes (one request at a time each).")
        ] = 2,
        timeout: Annotated[
            int,
            typer.Option(
                min=5, max=600, help="Seconds a request may run before its worker is restarted."
            ),
        ] = 30,
        migrate: Annotated[
            bool, typer.Option(help="Apply database migrations before serving.")
        ] = True,
    ) -> None:
        """Serve the clinic service (REST API under /api/) with gunicorn."""
        if clock.moved():
            typer.echo(
                f"refused: {clock.CLOCK_AT} is set: a moved clock is for the demo only "
                "(painpump demo --at); unset it to serve the clinic",
                err=True,
            )
            raise typer.Exit(2)
        from painpump.runtime import setup_django

        setup_django()
        if migrate:
            from django.core.management import call_command

            call_command("migrate", interactive=False, verbosity=1)
        for warning in (local_checkpoints_warning(), plain_http_warning(host)):
            if warning:
                typer.echo(warning, err=True)
        run_gunicorn(host, port, workers, timeout)
