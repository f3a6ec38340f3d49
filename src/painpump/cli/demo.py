"""`painpump demo`: the demo clinic. Brings the database of the data directory up to date, seeds
a synthetic clinic through the clinic services when it holds no patients yet (otherwise reuses
it), prints the demo logins and serves it with the same production server as `painpump serve`.

With no PAINPUMP_SECRET_KEY (or _FILE) set, a random secret is created once in the data
directory (mode 0600) and used through PAINPUMP_SECRET_KEY_FILE; the settings themselves still
refuse to start without a secret (`painpump serve` never invents one)."""

from __future__ import annotations

import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

SECRET_FILE = "demo-secret-key"


def data_dir() -> Path:
    """The data directory the settings use (PAINPUMP_DATA_DIR, default ./var)."""
    return Path(os.environ.get("PAINPUMP_DATA_DIR", "var")).resolve()


def ensure_secret(directory: Path) -> Path | None:
    """When no secret is configured, the path of the demo's own secret file in `directory`
    (created with 0600 permissions on first use) exported as PAINPUMP_SECRET_KEY_FILE;
    None when the environment already provides a secret."""
    if os.environ.get("PAINPUMP_SECRET_KEY") or os.environ.get("PAINPUMP_SECRET_KEY_FILE"):
        return None
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            typer.echo(
                f"refused: {path} is readable by others (mode {mode:o}); it must be 0600",
                err=True,
            )
            raise typer.Exit(2) from None
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    os.environ["PAINPUMP_SECRET_KEY_FILE"] = str(path)
    return path


def _database() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    engine = str(db["ENGINE"]).rsplit(".", 1)[-1]
    return f"{engine} {db['NAME']}"


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        patients: Annotated[
            int, typer.Option(min=1, max=20000, help="Patients of a newly seeded clinic.")
        ] = 300,
        seed: Annotated[int, typer.Option(help="Random seed of the synthetic clinic.")] = 1,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 2,
        serve: Annotated[
            bool, typer.Option("--serve/--no-serve", help="Serve the clinic after seeding.")
        ] = True,
    ) -> None:
        """Seed a demo clinic (synthetic patients, refills from the pump twin, users of every
        role), print its logins and serve it."""
        directory = data_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the SQLite file goes there
        secret = ensure_secret(directory)
        if secret is not None:
            typer.echo(f"painpump demo: no secret configured, using {secret}", err=True)
        from painpump.cli.clinic import setup_django

        setup_django()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        from painpump.clinic import demo as clinic_demo
        from painpump.clinic.models import Patient

        existing = Patient.objects.count()
        if existing:
            logins = clinic_demo.reset_passwords()
            if not logins:
                typer.echo(
                    f"refused: the database ({_database()}) holds {existing} patients and no "
                    "demo users: it is not a demo clinic (serve it with painpump serve)",
                    err=True,
                )
                raise typer.Exit(2)
            typer.echo(
                f"painpump demo: reusing the demo clinic in {_database()} ({existing} "
                "patients); the demo users got new passwords"
            )
        else:
            typer.echo(
                f"painpump demo: seeding {patients} patients (seed {seed}) into {_database()} ..."
            )
            report = clinic_demo.seed(patients=patients, seed=seed, today=datetime.now(UTC).date())
            for line in report.lines():
                typer.echo(f"  {line}")
            logins = report.logins
        typer.echo("demo logins (random passwords, new at every start; demo data only):")
        width = max(len(login.username) for login in logins)
        for login in logins:
            typer.echo(f"  {login.username:<{width}}  {login.password}  {login.role}")
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"web app: http://{shown}:{port}/ (sign in with a demo login)")
        typer.echo(f"REST API: http://{shown}:{port}/api/ (OpenAPI schema: /api/openapi.json)")
        if not serve:
            return
        from painpump.cli.serve import run_gunicorn

        run_gunicorn(host, port, workers, timeout=30)
