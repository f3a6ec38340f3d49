"""Quantities arriving in requests, as {"value", "unit"} objects or as text such as "5 mg/day",
parsed by painpump.core.units under the name of the request field that carried them (a bare
number, an unknown unit or a unit of the wrong kind is refused)."""

from __future__ import annotations

from painpump.api.schemas import Quantity
from painpump.core.units import Kind, Q, format_decimal, parse


def text(value: Quantity | str) -> str:
    """The quantity as core's parsers read it ("5 mg/day")."""
    return value if isinstance(value, str) else f"{format_decimal(value.value)} {value.unit}"


def quantity(value: Quantity | str, kind: Kind, field: str) -> Q:
    return parse(text(value), kind, field)


def optional(value: Quantity | str | None, kind: Kind, field: str) -> Q | None:
    return None if value is None else quantity(value, kind, field)
