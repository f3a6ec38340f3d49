"""Rendering of command results: JSON with every quantity as {"value", "unit"}, or a readable
table. Refusals become exit status 2 with the field, value, limit and source.

Moments: a command says in which zone its moments are read. With a `zone` (the calculators'
--time-zone or the offset typed), JSON and tables show ISO 8601 with that zone's offset ("Z" for
UTC) and tables add the zone's abbreviation; with the clinic's `locale` (commands working on a
clinic database), tables print the clinic's wall clock in its formats ("25.11.2026 14:30 CET")
and JSON ISO 8601 with the clinic's offset. Without either, a moment prints as it is."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

import typer

from painpump.core.decision import Decision, Finding
from painpump.core.errors import Refusal
from painpump.core.units import Q, format_decimal, json_number

if TYPE_CHECKING:  # the locale's holiday calendars load only for commands that use them
    from painpump.core.locale import ClinicLocale

EXIT_REFUSED = 2


def _read_in(moment: datetime, zone: tzinfo | None) -> datetime:
    """`moment` on the wall clock of `zone` (an aware moment only: a naive one stays as it is)."""
    if zone is None or moment.tzinfo is None or moment.utcoffset() is None:
        return moment
    return moment.astimezone(zone)


def iso_moment(moment: datetime, zone: tzinfo | None = None) -> str:
    """ISO 8601 with the UTC offset of `zone` ("Z" for UTC): 2026-04-06T00:00:00+02:00."""
    return _read_in(moment, zone).isoformat().replace("+00:00", "Z")


def moment_cell(
    moment: datetime, zone: tzinfo | None = None, locale: ClinicLocale | None = None
) -> str:
    """A moment in a table: the clinic's wall clock in its formats with the zone's abbreviation,
    or ISO 8601 with the offset of `zone` and, for a named zone, its abbreviation."""
    if locale is not None and moment.tzinfo is not None:
        return locale.format_moment(moment)
    shown = _read_in(moment, zone)
    text = iso_moment(shown)
    name = shown.tzname() if isinstance(zone, ZoneInfo) else None
    if name and name != "UTC":  # "Z" already says UTC
        text += f" {name}"
    return text


def to_json(value: Any, zone: tzinfo | None = None) -> Any:
    """A JSON-ready copy of a result: quantities as {"value", "unit"}, dates as ISO 8601,
    moments as ISO 8601 with their UTC offset (read in `zone` when given)."""
    if isinstance(value, Q | Decision | Finding):
        return value.as_json()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return iso_moment(value, zone)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): to_json(v, zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v, zone) for v in value]
    return value


def _cell(value: Any, zone: tzinfo | None, locale: ClinicLocale | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return moment_cell(value, zone, locale)
    if isinstance(value, Q | date):
        return str(value) if isinstance(value, Q) else value.isoformat()
    return str(value)


def table(
    rows: list[tuple[str, Any]],
    *,
    zone: tzinfo | None = None,
    locale: ClinicLocale | None = None,
) -> str:
    """Two aligned columns: name and value (moments read in `zone`, or as the clinic's
    `locale` writes them)."""
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"{name.ljust(width)}  {_cell(value, zone, locale)}" for name, value in rows)


def decision_text(decision: Decision) -> str:
    lines = [f"verdict  {decision.verdict.value.upper()}"]
    for f in decision.findings:
        note = "" if f.verified else " [unverified: check the source]"
        tier = f", {f.tier.value} limit" if f.tier is not None and f.verdict.rank else ""
        lines.append(f"  [{f.verdict.value}{tier}] {f.rule}: {f.message}")
        lines.append(f"         limit {f.limit}; source: {f.source}{note}")
    if not decision.findings:
        lines.append("  no rule of the drug library, the device or the guidelines objects")
    return "\n".join(lines)


def emit(
    result: dict[str, Any],
    as_json: bool,
    text: str | None = None,
    *,
    zone: tzinfo | None = None,
    locale: ClinicLocale | None = None,
) -> None:
    """Print a result as JSON, or as the given text, or as a two-column table; moments read in
    `zone` (default: the clinic's zone when its `locale` is given)."""
    if zone is None and locale is not None:
        zone = locale.zone
    if as_json:
        typer.echo(json.dumps(to_json(result, zone), indent=2, ensure_ascii=False))
    else:
        typer.echo(
            text if text is not None else table(list(result.items()), zone=zone, locale=locale)
        )


def refuse(error: Refusal, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": error.as_dict()}, indent=2, ensure_ascii=False))
    else:
        typer.echo(f"refused: {error.message}", err=True)
    sys.exit(EXIT_REFUSED)
