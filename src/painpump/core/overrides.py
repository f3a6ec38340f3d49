"""Overrides of soft limits: each warning shown is passed only with a reason typed for it (who and
when are the record's), and a hard stop has no override at all (rule-two-tiers)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from painpump.core.decision import Finding, Tier
from painpump.core.errors import Refusal

OVERRIDE_RULES = "painpump override rules (rule-two-tiers)"
MIN_REASON_CHARS = 8
MIN_REASON_LETTERS = 4
"""Distinct letters a reason needs: "........" or "aaaaaaaa" say nothing."""
MAX_REASON_CHARS = 500
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
"""Hangul fillers: letters by their category that show as blank."""


@dataclass(frozen=True)
class Override:
    """A soft limit passed on purpose: the warning's rule and the reason typed for it."""

    rule: str
    reason: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "reason": self.reason}

    @classmethod
    def from_json(cls, stored: Any) -> Override:
        """An override as as_json wrote it; a bare rule name is an acknowledgement recorded
        before reasons were required."""
        if isinstance(stored, str):
            return cls(stored, "(acknowledged before reasons were recorded)")
        return cls(str(stored["rule"]), str(stored["reason"]))


def checked_reason(field: str, text: str) -> str:
    """A typed reason for passing a soft rule, with its spaces tidied: printable, 8 to 500
    characters, with at least 4 different letters; refused naming `field` otherwise."""
    reason = " ".join(str(text).split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in reason):
        raise Refusal(
            field,
            repr(reason[:40]),
            "printable text",
            OVERRIDE_RULES,
            "holds control or format characters",
        )
    if len(reason) < MIN_REASON_CHARS:
        raise Refusal(
            field,
            repr(reason),
            f"a reason of at least {MIN_REASON_CHARS} characters",
            OVERRIDE_RULES,
            "is too short to say why the limit is passed",
        )
    if len(reason) > MAX_REASON_CHARS:
        raise Refusal(
            field,
            f"{len(reason)} characters",
            f"at most {MAX_REASON_CHARS} characters",
            OVERRIDE_RULES,
            "is too long",
        )
    letters = {ch.casefold() for ch in reason if ch.isalpha() and ch not in _FILLERS}
    if len(letters) < MIN_REASON_LETTERS:
        raise Refusal(
            field,
            repr(reason),
            f"a reason in words (at least {MIN_REASON_LETTERS} different letters)",
            OVERRIDE_RULES,
            "says nothing about why the limit is passed",
        )
    return reason


def overrides_for(warnings: Sequence[Finding], given: Mapping[str, str]) -> tuple[Override, ...]:
    """The overrides of the warnings shown, one per rule, each with its checked reason. A warning
    without a reason is refused naming it; a reason for a rule that is not a soft warning here
    (a hard stop, or nothing shown) is refused, never silently kept."""
    shown = {w.rule: w for w in warnings}
    for rule in given:
        finding = shown.get(rule)
        if finding is None or finding.tier is Tier.HARD:
            raise Refusal(
                f"overrides[{rule}]",
                repr(rule),
                "a rule among the soft-limit warnings shown: "
                + (", ".join(sorted(shown)) or "none"),
                OVERRIDE_RULES,
                "is not a warning that may be overridden",
            )
    missing = [w for w in warnings if not str(given.get(w.rule, "")).strip()]
    if missing:
        first = missing[0]
        raise Refusal(
            "overrides",
            ", ".join(sorted({w.rule for w in missing})),
            "a typed reason for each warning shown: " + ", ".join(sorted(shown)),
            first.source,
            f"needs a typed reason ({first.message})",
        )
    return tuple(
        Override(rule, checked_reason(f"overrides[{rule}]", given[rule])) for rule in shown
    )
