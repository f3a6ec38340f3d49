"""Decision objects of the safety engine: every check answers with a verdict and the findings
behind it (rule, message, limit with its unit, source), never with a bare yes or no."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"
    STOP = "stop"

    @property
    def rank(self) -> int:
        return ("ok", "warn", "stop").index(self.value)


@dataclass(frozen=True)
class Finding:
    """One rule's judgement. A `stop` cannot be overridden; a `warn` needs an acknowledgement."""

    rule: str
    verdict: Verdict
    message: str
    limit: str
    source: str
    verified: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "message": self.message,
            "limit": self.limit,
            "source": self.source,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class Decision:
    """The findings of a check and the verdict they add up to (the most severe finding)."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Verdict:
        return max((f.verdict for f in self.findings), key=lambda v: v.rank, default=Verdict.OK)

    @property
    def most_limiting(self) -> Finding | None:
        """The finding that decided the verdict (first of the most severe), if any."""
        worst = [f for f in self.findings if f.verdict is self.verdict and f.verdict != Verdict.OK]
        return worst[0] if worst else None

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "findings": [f.as_json() for f in self.findings],
        }
