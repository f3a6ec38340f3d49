"""The clinic settings row against the last state its audit trail recorded: every
`settings.update` records the whole settings as clinic.actions.settings_service.snapshot shows
them, so a value edited in the database (the readback tolerance, the refill margin, the time
zone, the opening hours) differs from the newest such entry. Before any entry, the row holds
what painpump creates it with, the model's defaults. A setting added by a migration after the
newest entry was written is compared with its default, and a note (not a failure) says when it
differs: the entries predate it."""

from __future__ import annotations

from typing import Any

from painpump.clinic.actions.settings_service import snapshot
from painpump.clinic.audit_records import UNREADABLE
from painpump.clinic.models import AuditEntry, ClinicSettings

ACTION = "settings.update"
UNAUDITED = frozenset({"version"})
"""Moved by every change, each audited with the settings it changed."""
CONFIGURED = frozenset({"time_zone"})
"""Settings whose default comes from the server's configuration (PAINPUMP_TIME_ZONE), which may
have changed since the row was made: differing from it before any entry is a note."""


def compare() -> tuple[list[str], list[str]]:
    """The problems (a setting that differs from its trail, a row that cannot be read or was
    deleted) and the notes (a setting the entries predate, or configured, that differs from its
    default)."""
    newest = (
        AuditEntry.objects.filter(action=ACTION, object_type="settings")
        .order_by("-seq")
        .values_list("seq", "after")
        .first()
    )
    try:
        row = ClinicSettings.objects.filter(id=1).first()
        stored = None if row is None else snapshot(row)
    except UNREADABLE as error:
        why = str(error) or "values that do not fit together"
        return [
            f"settings 1: its row cannot be read ({type(error).__name__}: {why}): a value no "
            "audited action stores, written outside the application"
        ], []
    if stored is None:
        problems = []
        if newest is not None:
            problems.append(
                f"settings 1: its trail records it (entry {newest[0]}) but it is not in the "
                "database (deleted outside the application)"
            )
        return problems, []
    default = snapshot(ClinicSettings())
    if newest is None:
        return _against_defaults(stored, default)
    seq, after = newest
    return _against_entry(stored, default, seq, after if isinstance(after, dict) else {})


def _against_entry(
    stored: dict[str, Any], default: dict[str, Any], seq: int, after: dict[str, Any]
) -> tuple[list[str], list[str]]:
    problems, notes = [], []
    for name, value in stored.items():
        if name in UNAUDITED:
            continue
        if name not in after:
            if value != default[name]:
                notes.append(
                    f"settings 1: {name} is {value!r} in the database, not its default "
                    f"{default[name]!r}, and no audit entry records it (the newest, entry {seq}, "
                    "predates it): changed outside the application, unless an older painpump "
                    "did; saving the settings records it"
                )
            continue
        if after[name] != value:
            problems.append(
                f"settings 1: {name} is {value!r} in the database, {after[name]!r} in its audit "
                f"trail (entry {seq})"
            )
    return problems, notes


def _against_defaults(
    stored: dict[str, Any], default: dict[str, Any]
) -> tuple[list[str], list[str]]:
    problems, notes = [], []
    for name, value in stored.items():
        if name in UNAUDITED or value == default[name]:
            continue
        found = (
            f"settings 1: {name} is {value!r} in the database, though no audit entry records a "
            f"change of the settings (its default is {default[name]!r})"
        )
        if name in CONFIGURED:
            notes.append(f"{found}: the server's configured default may have changed since")
        else:
            problems.append(f"{found}: changed outside the application")
    return problems, notes
