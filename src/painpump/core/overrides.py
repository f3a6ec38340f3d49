"""Overrides of soft limits: each warning shown is passed only with a reason typed for it (who and
when are the record's, or the prescriber's when the reason travelled with the prescription), and
a hard stop has no override at all (rule-two-tiers)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from painpump.core.decision import Finding, Tier
from painpump.core.errors import Refusal
from painpump.core.text import ASCII_BLANKS, LIMIT, TEXT_RULES, described, escaped, unseen

OVERRIDE_RULES = "painpump override rules (rule-two-tiers)"
MIN_REASON_CHARS = 8
MIN_REASON_LETTERS = 4
"""Distinct letters a reason needs: "........" or "aaaaaaaa" say nothing."""
MAX_REASON_CHARS = 500
_BLANKS = re.compile(f"[{re.escape(ASCII_BLANKS)}]+")
"""A run of what a reason's tidying makes one space (a textarea's line breaks, tabs)."""


class GivenAt(StrEnum):
    """Where an override was given: signing the prescription, or at the refill or programming
    that executed it."""

    PRESCRIBING = "prescribing"
    REFILL = "refill"
    PROGRAMMING = "programming"

    @property
    def words(self) -> str:
        return "at prescribing" if self is GivenAt.PRESCRIBING else f"at the {self.value}"


@dataclass(frozen=True)
class Override:
    """A soft limit passed on purpose: the warning's rule, the reason typed for it and where it
    was typed (None: stored before that was kept)."""

    rule: str
    reason: str
    given_at: GivenAt | None

    def as_json(self) -> dict[str, str]:
        stored = {"rule": self.rule, "reason": self.reason}
        return stored if self.given_at is None else {**stored, "given_at": self.given_at.value}

    @classmethod
    def from_json(cls, stored: Any) -> Override:
        """An override as as_json wrote it; a bare rule name is an acknowledgement recorded
        before reasons were required."""
        if isinstance(stored, str):
            return cls(stored, "(acknowledged before reasons were recorded)", None)
        where = stored.get("given_at")
        return cls(
            str(stored["rule"]), str(stored["reason"]), None if where is None else GivenAt(where)
        )


@dataclass(frozen=True)
class GivenOverride:
    """An override with who gave it, when and where. `as_recorded`: stored before where it was
    given was kept, so credited to the record's performer, where the record was made (a reason
    that travelled with the prescription shows as theirs too)."""

    rule: str
    reason: str
    by: str
    at: datetime
    where: GivenAt
    as_recorded: bool = False

    @property
    def words(self) -> str:
        if self.as_recorded:
            return f"{self.where.words}, as recorded (who gave it was not stored then)"
        return self.where.words

    def as_json(self) -> dict[str, str | bool]:
        return {
            "rule": self.rule,
            "reason": self.reason,
            "by": self.by,
            "at": self.at.isoformat(),
            "given_at": self.where.value,
            "as_recorded": self.as_recorded,
        }


def given_at_prescribing(
    prescribed: Sequence[Override], prescriber: str, at: datetime
) -> tuple[GivenOverride, ...]:
    """A prescription's overrides: the prescriber's, when signing it."""
    return tuple(
        GivenOverride(o.rule, o.reason, prescriber, at, GivenAt.PRESCRIBING) for o in prescribed
    )


def attributed(
    passed: Sequence[Override],
    *,
    signed: tuple[str, datetime] | None,
    by: str,
    at: datetime,
    where: GivenAt,
) -> tuple[GivenOverride, ...]:
    """The overrides a refill or a programming passed, each credited as stored with it: one
    given at prescribing to the prescriber when signing (`signed`: who and when, None if the
    record executed no prescription); one typed at the refill or programming to `by` at `at`;
    any other (stored before where it was given was kept) to `by` at `at`, `where`, as
    recorded."""

    def given(o: Override) -> GivenOverride:
        if o.given_at is GivenAt.PRESCRIBING and signed is not None:
            return GivenOverride(o.rule, o.reason, *signed, GivenAt.PRESCRIBING)
        if o.given_at in (GivenAt.REFILL, GivenAt.PROGRAMMING):
            return GivenOverride(o.rule, o.reason, by, at, o.given_at)
        return GivenOverride(o.rule, o.reason, by, at, where, as_recorded=True)

    return tuple(given(o) for o in passed)


def checked_reason(field: str, text: str) -> str:
    """A typed reason for passing a soft rule, its runs of spaces, tabs and line breaks made one
    space and its accents composed (NFC): at most 500 characters, none hidden (core.text's rule
    for names: no control, format or invisible character, line or paragraph separator, or space
    but the plain one), at least 8 characters with at least 4 different letters; refused
    naming `field` otherwise."""
    reason = unicodedata.normalize("NFC", " ".join(_BLANKS.split(str(text).strip(ASCII_BLANKS))))
    if len(reason) > MAX_REASON_CHARS:
        raise Refusal(
            field,
            f"{len(reason)} characters",
            f"at most {MAX_REASON_CHARS} characters",
            OVERRIDE_RULES,
            "is too long",
        )
    for ch in reason:
        kind = unseen(ch)
        if kind is not None:
            raise Refusal(
                field, escaped(reason), LIMIT, TEXT_RULES, f"holds {described(ch)}, {kind}"
            )
    if len(reason) < MIN_REASON_CHARS:
        raise Refusal(
            field,
            repr(reason),
            f"a reason of at least {MIN_REASON_CHARS} characters",
            OVERRIDE_RULES,
            "is too short to say why the limit is passed",
        )
    letters = {ch.casefold() for ch in reason if ch.isalpha()}
    if len(letters) < MIN_REASON_LETTERS:
        raise Refusal(
            field,
            repr(reason),
            f"a reason in words (at least {MIN_REASON_LETTERS} different letters)",
            OVERRIDE_RULES,
            "says nothing about why the limit is passed",
        )
    return reason


def one_per_rule(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """The findings as the reasons answer them, one per rule (in the order first shown): a rule
    that found several things (two flex steps, two drugs) is one finding that names each with
    its values, so the one reason typed for the rule, and the override recorded, cover all."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        found = by_rule.setdefault(finding.rule, [])
        if all(f.message != finding.message for f in found):
            found.append(finding)
    return tuple(_merged(found) for found in by_rule.values())


def _merged(found: list[Finding]) -> Finding:
    """One finding for all of a rule's: the most severe verdict and tier, every message, limit
    and source, verified only if each is, and the subject and drug they share (else None)."""
    if len(found) == 1:
        return found[0]
    listed = "; ".join(f"({n}) {f.message}" for n, f in enumerate(found, 1))
    tiers = {f.tier for f in found}
    return replace(
        found[0],
        verdict=max((f.verdict for f in found), key=lambda v: v.rank),
        message=f"{len(found)} findings, one reason covers them all: {listed}",
        limit="; ".join(dict.fromkeys(f.limit for f in found)),
        source="; ".join(dict.fromkeys(f.source for f in found)),
        verified=all(f.verified for f in found),
        subject=found[0].subject if len({f.subject for f in found}) == 1 else None,
        drug=found[0].drug if len({f.drug for f in found}) == 1 else None,
        tier=Tier.HARD if Tier.HARD in tiers else Tier.SOFT if Tier.SOFT in tiers else None,
    )


def overrides_for(
    warnings: Sequence[Finding],
    given: Mapping[str, str],
    where: GivenAt,
    carried: Sequence[Override] = (),
) -> tuple[Override, ...]:
    """The overrides of the warnings shown, one per rule (one_per_rule): the reason typed now in
    `given` (rule -> reason), given `where`, else the one `carried` with the prescription
    executed (as the prescriber gave it). A warning with neither is refused naming every finding
    of its rule (every rule without one, each with its message and source); a reason typed for
    a rule that is not a soft warning here (a hard stop, or nothing shown) is refused, never
    silently kept."""
    shown = {w.rule: w for w in one_per_rule(warnings)}
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
    typed = {rule: text for rule, text in given.items() if str(text).strip()}
    kept = {o.rule: o for o in carried if o.rule in shown}
    missing = [w for w in shown.values() if w.rule not in typed and w.rule not in kept]
    if missing:
        said = (
            missing[0].message
            if len(missing) == 1
            else "; ".join(f"{w.rule}: {w.message}" for w in missing)
        )
        raise Refusal(
            "overrides",
            ", ".join(sorted(w.rule for w in missing)),
            "a typed reason for each warning shown that has none yet: "
            + ", ".join(sorted(w.rule for w in missing)),
            "; ".join(dict.fromkeys(w.source for w in missing)),
            f"needs a typed reason ({said})",
        )
    return tuple(
        Override(rule, checked_reason(f"overrides[{rule}]", typed[rule]), where)
        if rule in typed
        else kept[rule]
        for rule in shown
    )
