"""The directory of a command's SQLite database (PAINPUMP_DATA_DIR, default ./var): a command
that cannot open its database because that directory does not exist is refused as a
configuration error naming it, as a weak secret key is, never reported as an internal error."""

from __future__ import annotations

from pathlib import Path


def missing() -> Path | None:
    """The directory of the configured SQLite database, when it does not exist."""
    from django.conf import settings

    if not settings.configured:
        return None
    database = settings.DATABASES.get("default", {})
    if not str(database.get("ENGINE", "")).endswith("sqlite3"):
        return None
    directory = Path(str(database.get("NAME", ""))).parent
    return None if directory.is_dir() else directory


def refusal(directory: Path) -> str:
    return (
        f"the data directory {directory} does not exist (PAINPUMP_DATA_DIR, default ./var, or "
        "the directory of DATABASE_URL's SQLite file): create it (mkdir -m 700) and run "
        "`painpump manage migrate`, or point PAINPUMP_DATA_DIR at the directory that holds "
        "painpump.sqlite3"
    )
