"""The one error type of painpump: bad input is refused with the field, the value, the limit and
the limit's source, so that a user can see what to change and why (nothing is changed)."""

from __future__ import annotations

from dataclasses import dataclass

ECHO_MAX = 200
"""The most characters of the input a refusal echoes (a file's path fits): a 40-byte number
written out, or a megabyte of text, is shown as its first characters and its length, never in
full."""


def shortened(text: str, most: int = ECHO_MAX) -> str:
    """`text`, or its start with an ellipsis and its length, in at most `most` characters (so
    shortening twice changes nothing)."""
    if len(text) <= most:
        return text
    tail = f"… ({len(text)} characters)"
    return text[: max(most - len(tail), 0)] + tail


@dataclass(eq=False)
class Refusal(Exception):
    """Input refused before anything happened.

    `field` names the input neutrally (a parameter's name in snake_case such as "margin_days", or a
    scenario key); each edge renames it for its users (the CLI to the option typed, --margin-days).
    `value` is what was given (shortened to ECHO_MAX characters, as is the field: both can come
    from the input), `limit` is the rule it broke (with its unit), `source` where that rule comes
    from.
    """

    field: str
    value: str
    limit: str
    source: str = "painpump input rules"
    problem: str = "is not allowed"

    def __post_init__(self) -> None:
        self.field = shortened(str(self.field))
        self.value = shortened(str(self.value))

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
