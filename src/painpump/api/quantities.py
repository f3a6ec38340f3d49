"""Quantities arriving in requests, as {"value", "unit"} objects or as text such as "5 mg/day",
parsed by painpump.core.units under the name of the request field that carried them (a bare
number, an unknown unit or a unit of the wrong kind is refused)."""

from __future__ import annotations

from painpump.api.schemas import Quantity
from painpump.core.units import Kind, Q, format_decimal, parse


def quantity(value: Quantity | str, kind: Kind, field: str) -> Q:
    text = value if isinstance(value, str) else f"{format_decimal(value.value)} {value.unit}"
    return parse(text, kind, field)


def optional(value: Quantity | str | None, kind: Kind, field: str) -> Q | None:
    return None if value is None else quantity(value, kind, field)
