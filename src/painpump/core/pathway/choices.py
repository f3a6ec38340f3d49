"""An enum member from itself or its value, as the pathway's steps accept either."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from painpump.core.errors import Refusal
from painpump.core.pathway.sources import DESIGN_PATHWAY

E = TypeVar("E", bound=Enum)


def choice(kind: type[E], value: E | str, field: str) -> E:
    """An enum member from itself or its value; anything else is refused with the choices."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise Refusal(
            field, str(value), f"one of {choices}", DESIGN_PATHWAY, "is unknown"
        ) from None
