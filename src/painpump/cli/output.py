"""Rendering of command results: JSON with every quantity as {"value", "unit"}, or a readable
table. Refusals become exit status 2 with the field, value, limit and source."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NoReturn

import typer

from painpump.core.decision import Decision, Finding
from painpump.core.errors import Refusal
from painpump.core.units import Q, format_decimal, json_number

EXIT_REFUSED = 2


def to_json(value: Any) -> Any:
    """A JSON-ready copy of a result: quantities as {"value", "unit"}, dates as ISO 8601."""
    if isinstance(value, Q | Decision | Finding):
        return value.as_json()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Q | date):
        return str(value) if isinstance(value, Q) else value.isoformat()
    return str(value)


def table(rows: list[tuple[str, Any]]) -> str:
    """Two aligned columns: name and value."""
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"{name.ljust(width)}  {_cell(value)}" for name, value in rows)


def decision_text(decision: Decision) -> str:
    lines = [f"verdict  {decision.verdict.value.upper()}"]
    for f in decision.findings:
        note = "" if f.verified else " [unverified: check the source]"
        lines.append(f"  [{f.verdict.value}] {f.rule}: {f.message}")
        lines.append(f"         limit {f.limit}; source: {f.source}{note}")
    if not decision.findings:
        lines.append("  no rule of the drug library, the device or the guidelines objects")
    return "\n".join(lines)


def emit(result: dict[str, Any], as_json: bool, text: str | None = None) -> None:
    """Print a result as JSON, or as the given text, or as a two-column table."""
    if as_json:
        typer.echo(json.dumps(to_json(result), indent=2, ensure_ascii=False))
    else:
        typer.echo(text if text is not None else table(list(result.items())))


def refuse(error: Refusal, as_json: bool) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": error.as_dict()}, indent=2, ensure_ascii=False))
    else:
        typer.echo(f"refused: {error.message}", err=True)
    sys.exit(EXIT_REFUSED)
