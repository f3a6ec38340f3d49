"""`painpump demo`: the demo clinic. Brings the database of the data directory up to date, seeds
a synthetic clinic in Berlin through the clinic services when it holds no patients yet, reuses it
when it was seeded at most `MAX_AGE_DAYS` clinic days ago, and otherwise (or with --reseed) sets
the old SQLite file aside under its seeding date and seeds a fresh one, so the worklist is that
of a working day; then prints the demo logins and serves it with the same production server as
`painpump serve`.

Two-factor sign-in is not required in the demo, so the printed logins work at once;
`--require-2fa` (or PAINPUMP_REQUIRE_2FA=1) requires it as `painpump serve` does.

`--at 2027-03-28T10:00+02:00` runs the whole demo on a moved clock (painpump.clock): the seeding
and every served page read that moment as now, and the clock runs on from there.

With no PAINPUMP_SECRET_KEY (or _FILE) set, a random secret is created once in the data
directory (mode 0600) and used through PAINPUMP_SECRET_KEY_FILE, and so is the audit key
(PAINPUMP_AUDIT_KEY_FILE); the settings themselves still refuse to start without them
(`painpump serve` never invents one). A reseeded demo sets its audit checkpoints aside with its
old database: they witness that database's trail, not the new one's."""

from __future__ import annotations

import os
import secrets
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from painpump import clock

SECRET_FILE = "demo-secret-key"
DEMO_FILES = {"PAINPUMP_SECRET_KEY": SECRET_FILE, "PAINPUMP_AUDIT_KEY": "demo-audit-key"}
"""The demo's own secrets in its data directory, kept so that a restarted demo still signs in
its sessions and verifies its audit trail."""


def data_dir() -> Path:
    """The data directory the settings use (PAINPUMP_DATA_DIR, default ./var)."""
    return Path(os.environ.get("PAINPUMP_DATA_DIR", "var")).resolve()


def ensure_secret(directory: Path, variable: str = "PAINPUMP_SECRET_KEY") -> Path | None:
    """When no secret is configured in `variable` (or its _FILE), the path of the demo's own
    secret file in `directory` (created with 0600 permissions on first use) exported as
    `variable`_FILE; None when the environment already provides a secret."""
    if os.environ.get(variable) or os.environ.get(f"{variable}_FILE"):
        return None
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / DEMO_FILES[variable]
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
    os.environ[f"{variable}_FILE"] = str(path)
    return path


def move_clock(at: str | None) -> datetime | None:
    """Move the clock of this process and of every process it starts (gunicorn's workers) to
    `at` (or to PAINPUMP_CLOCK_AT when already set): both variables of painpump.clock are set,
    so they all share one offset. The moved moment in UTC, or None when the clock is not moved.
    A moment without its UTC offset is refused, naming the option."""
    name = "--at"
    if at is None:
        at, name = os.environ.get(clock.CLOCK_AT, "").strip() or None, clock.CLOCK_AT
        if at is None:
            return None
    try:
        moment = clock.parse_moment(at, name)
    except ValueError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from None
    os.environ[clock.CLOCK_AT] = moment.isoformat()
    os.environ[clock.CLOCK_FROM] = datetime.now(UTC).isoformat()
    return moment


def _database() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    engine = str(db["ENGINE"]).rsplit(".", 1)[-1]
    return f"{engine} {db['NAME']}"


def _sqlite_file() -> Path | None:
    """The SQLite file of the default database, None for another engine (or in memory)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = str(db["NAME"])
    if not str(db["ENGINE"]).endswith("sqlite3") or name in ("", ":memory:"):
        return None
    return Path(name)


def set_aside(seeded_on: date | None) -> Path:
    """Rename the demo's SQLite file (and its journal files) to one named with its seeding date
    (painpump-seeded-2026-11-25.sqlite3, then -2, -3 ...), its audit checkpoints with it, and
    return the new path; the next connection starts a fresh file."""
    from django.db import connections

    from painpump.clinic import audit_checkpoints

    path = _sqlite_file()
    assert path is not None
    connections.close_all()
    stamp = seeded_on.isoformat() if seeded_on else "undated"
    target = path.with_name(f"{path.stem}-seeded-{stamp}{path.suffix}")
    number = 1
    while target.exists():
        number += 1
        target = path.with_name(f"{path.stem}-seeded-{stamp}-{number}{path.suffix}")
    path.rename(target)
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        if side.exists():
            side.rename(Path(f"{target}{suffix}"))
    checkpoints = audit_checkpoints.path()
    if checkpoints.exists():
        checkpoints.rename(target.with_name(f"{target.stem}.audit-checkpoints.log"))
    return target


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
        reseed: Annotated[
            bool,
            typer.Option(
                "--reseed",
                help="Seed a fresh clinic even when the demo data are recent (the old SQLite "
                "file is kept aside, named with its seeding date).",
            ),
        ] = False,
        at: Annotated[
            str | None,
            typer.Option(
                "--at",
                metavar="MOMENT",
                help="Run the demo on a moved clock: this moment (ISO 8601 with its UTC offset, "
                "e.g. 2027-03-28T10:00+02:00) is now, and the clock runs on from there.",
            ),
        ] = None,
        require_2fa: Annotated[
            bool,
            typer.Option(
                "--require-2fa",
                help="Require two-factor sign-in of the clinical roles and the admin, as a real "
                "clinic does (each sets up an authenticator app at its first sign-in); also "
                "PAINPUMP_REQUIRE_2FA=1.",
            ),
        ] = False,
    ) -> None:
        """Seed a demo clinic in Berlin (synthetic patients, refills from the pump twin, users of
        every role), or reuse one seeded at most a few days ago, print its logins and serve it."""
        os.environ["PAINPUMP_REQUIRE_2FA"] = (
            "1" if require_2fa else os.environ.get("PAINPUMP_REQUIRE_2FA", "0")
        )
        moved = move_clock(at)
        directory = data_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the SQLite file goes there
        for variable in DEMO_FILES:
            secret = ensure_secret(directory, variable)
            if secret is not None:
                typer.echo(f"painpump demo: no {variable} configured, using {secret}", err=True)
        from painpump.runtime import setup_django

        setup_django()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        from painpump.clinic.demo import seed as clinic_demo
        from painpump.clinic.models import Patient

        existing = Patient.objects.count()
        if existing and not clinic_demo.has_demo_users():
            typer.echo(
                f"refused: the database ({_database()}) holds {existing} patients and no "
                "demo users: it is not a demo clinic (serve it with painpump serve)",
                err=True,
            )
            raise typer.Exit(2)
        fresh = None if clinic_demo.is_empty() else clinic_demo.freshness()
        if fresh is not None and (reseed or fresh.stale):
            why = "--reseed" if reseed else f"the demo data {fresh.describe()}"
            if _sqlite_file() is None:
                if reseed:
                    typer.echo(
                        f"refused: --reseed sets the demo's SQLite file aside; {_database()} is "
                        "not one (empty that database to reseed it)",
                        err=True,
                    )
                    raise typer.Exit(2)
                typer.echo(
                    f"painpump demo: {why}; {_database()} is not an SQLite file to set aside: "
                    "reusing it (empty that database to reseed it)"
                )
            else:
                kept = set_aside(fresh.seeded_on)
                typer.echo(
                    f"painpump demo: {why}: reseeding into a fresh database (the old one is kept "
                    f"as {kept})"
                )
                call_command("migrate", interactive=False, verbosity=0)
                fresh = None
        if fresh is not None:
            logins = clinic_demo.reset_passwords()
            typer.echo(
                f"painpump demo: reusing the demo clinic in {_database()} ({existing} "
                f"patients); its data {fresh.describe()}; the demo users got new passwords"
            )
        else:
            typer.echo(
                f"painpump demo: seeding {patients} patients (seed {seed}) into {_database()} ..."
            )
            report = clinic_demo.seed(patients=patients, seed=seed)
            for line in report.lines():
                typer.echo(f"  {line}")
            logins = report.logins
        if moved is not None:
            from painpump.clinic.locale import clinic_locale

            locale, now = clinic_locale(), clock.now()
            typer.echo(
                f"clock moved (demo only): now is {locale.local(now):%A} "
                f"{locale.format_moment(now)}, running on from there "
                f"({clock.CLOCK_AT}={moved.isoformat()})"
            )
        typer.echo("demo logins (random passwords, new at every start; demo data only):")
        width = max(len(login.username) for login in logins)
        for login in logins:
            typer.echo(f"  {login.username:<{width}}  {login.password}  {login.role}")
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"web app: http://{shown}:{port}/ (sign in with a demo login)")
        if os.environ["PAINPUMP_REQUIRE_2FA"] == "1":
            typer.echo(
                "two-factor sign-in required: each login but the auditor sets up an authenticator "
                "app (TOTP) at its first sign-in"
            )
        else:
            typer.echo("two-factor sign-in: optional here (painpump demo --require-2fa asks it)")
        typer.echo(f"REST API: http://{shown}:{port}/api/ (OpenAPI schema: /api/openapi.json)")
        if not serve:
            return
        from painpump.cli.serve import run_gunicorn

        run_gunicorn(host, port, workers, timeout=30)
