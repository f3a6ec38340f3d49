"""Decision objects of the safety engine: every check answers with a verdict and the findings
behind it (rule, message, limit with its unit, source), never with a bare yes or no."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
from typing import Any

from painpump.core.errors import Refusal


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"
    STOP = "stop"

    @property
    def rank(self) -> int:
        return ("ok", "warn", "stop").index(self.value)


class Tier(StrEnum):
    """How a limit is enforced, set per limit (never by whether its value is verified): a broken
    hard limit stops on every screen and API; a broken soft one warns and needs a typed reason."""

    HARD = "hard"
    SOFT = "soft"


class Subject(StrEnum):
    """What a finding judges: the value a form or an API field carries."""

    CONCENTRATION = "concentration"
    DOSE = "dose"
    RATE = "rate"
    VOLUME = "volume"
    DELIVERY = "delivery"
    """The reconciliation of the aspirated volume against the expected one."""


@dataclass(frozen=True)
class Finding:
    """One rule's judgement. A `stop` cannot be overridden; a `warn` needs a typed reason.
    `subject` and `drug` say what it judges (None where a rule judges no single value); `tier` is
    the judged limit's tier (None for a note that judges no limit)."""

    rule: str
    verdict: Verdict
    message: str
    limit: str
    source: str
    verified: bool = True
    subject: Subject | None = None
    drug: str | None = None
    tier: Tier | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "message": self.message,
            "limit": self.limit,
            "source": self.source,
            "verified": self.verified,
            "subject": self.subject.value if self.subject else None,
            "drug": self.drug,
            "tier": self.tier.value if self.tier else None,
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> Finding:
        """A finding as as_json wrote it (a record kept before `subject` and `drug` has none)."""
        subject, tier = stored.get("subject"), stored.get("tier")
        return cls(
            rule=str(stored["rule"]),
            verdict=Verdict(stored["verdict"]),
            message=str(stored["message"]),
            limit=str(stored["limit"]),
            source=str(stored["source"]),
            verified=bool(stored.get("verified", True)),
            subject=Subject(subject) if subject else None,
            drug=stored.get("drug"),
            tier=Tier(tier) if tier else None,
        )

    def refusal(self, field: str, value: str, instead: str = "") -> Refusal:
        """This hard finding as the refusal naming `field` and `value`: its limit (no override;
        then what to do `instead`), its source, rule and message."""
        limit = f"{self.limit} (hard limit: no override)" + (f"; {instead}" if instead else "")
        return Refusal(
            field, value, limit, self.source, f"is stopped by {self.rule}: {self.message}"
        )

    def about(self, subject: Subject, drug: str | None = None) -> Finding:
        return replace(self, subject=subject, drug=drug)

    def in_admixture(self) -> Finding:
        """The finding of one drug of an admixture, read and acknowledged on its own: its rule
        id and message carry the drug's name ("clonidine:max_concentration")."""
        assert self.drug is not None
        return replace(
            self, rule=f"{self.drug}:{self.rule}", message=f"{self.drug}: {self.message}"
        )


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
