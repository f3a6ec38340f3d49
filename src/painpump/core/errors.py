"""The one error type of painpump: bad input is refused with the field, the value, the limit and
the limit's source, so that a user can see what to change and why (nothing is changed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)
class Refusal(Exception):
    """Input refused before anything happened.

    `field` names the input neutrally (a parameter's name in snake_case such as "margin_days", or a
    scenario key); each edge renames it for its users (the CLI to the option typed, --margin-days).
    `value` is what was given, `limit` is the rule it broke (with its unit), `source` where that
    rule comes from.
    """

    field: str
    value: str
    limit: str
    source: str = "painpump input rules"
    problem: str = "is not allowed"

    def __str__(self) -> str:
        return self.message

    @property
    def message(self) -> str:
        return (
            f"{self.field}: {self.value!s} {self.problem}; limit: {self.limit} "
            f"(source: {self.source})"
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "value": self.value,
            "limit": self.limit,
            "source": self.source,
            "message": self.message,
        }
