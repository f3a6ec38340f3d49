"""A clinic's own drug-library limits: a lower maximum concentration or daily dose, a smaller
titration step, a longer wait between increases, a smaller largest single decrease, a smaller
largest single bolus. They are added beside the packaged limits and never replace them, so a
clinic limit can only tighten: one that would never act before the packaged limit it competes
with is refused, and so is one that looks like a unit slip. Values are typed with their unit
("10 mg/day", "20 %", "48 hour", "0.3 mg"); checks.check and checks.check_single_bolus apply them.

A drug with no packaged limit of a rule (ziconotide and bupivacaine have no largest single
decrease) may still be given a clinic one: it tightens "no limit", so any value the rule allows
is accepted (a percentage above 0 and at most 100 %)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from painpump.core.catalog import RULE_LABELS, Drug, Limit
from painpump.core.checks import IMPLAUSIBLE_FACTOR
from painpump.core.decision import Tier
from painpump.core.errors import Refusal
from painpump.core.units import (
    INPUT_RULES,
    Kind,
    Q,
    as_given,
    in_unit,
    parse,
    parse_decimal,
    round_places,
)

CLINIC_RULES = (
    "painpump clinic limits: a clinic may add stricter limits to the drug library, never loosen it"
)
SEVERITIES = ("hard", "soft")
MAX_SOURCE = 500
PLACES = 6
"""Decimal places a clinic limit keeps (the database stores six)."""
LARGEST = Decimal(10) ** 8
MAX_WAIT_HOURS = Decimal(720)
"""The longest wait between increases a clinic may set: 30 days."""


@dataclass(frozen=True)
class ClinicRule:
    """A rule a clinic may tighten: what its value measures (None: a percentage), an example, and
    whether a stricter value is lower (maximums) or higher (waiting times)."""

    name: str
    kind: Kind | None
    example: str
    lower_is_stricter: bool = True

    @property
    def label(self) -> str:
        return RULE_LABELS[self.name]


RULES: dict[str, ClinicRule] = {
    rule.name: rule
    for rule in (
        ClinicRule("max_daily_dose", Kind.DOSE_RATE, "10 mg/day"),
        ClinicRule("max_concentration", Kind.CONCENTRATION, "20 mg/mL"),
        ClinicRule("max_step_percent", None, "20 %"),
        ClinicRule("max_step_absolute", Kind.DOSE_RATE, "1 mg/day"),
        ClinicRule("min_hours_between_increases", Kind.DURATION, "48 hour", False),
        ClinicRule("max_decrease_percent", None, "30 %"),
        ClinicRule("max_single_bolus", Kind.MASS, "0.3 mg"),
    )
}

_PERCENT = re.compile(r"^\s*(\S+?)\s*%\s*$")


def rule_of(name: str, field: str = "rule") -> ClinicRule:
    found = RULES.get(str(name).strip())
    if found is None:
        raise Refusal(field, repr(name), f"one of {', '.join(RULES)}", CLINIC_RULES, "is unknown")
    return found


def parse_value(rule: str, text: str, field: str = "value") -> Q | Decimal:
    """The value of a clinic limit as typed: a quantity of the rule's kind with its unit (waiting
    times in hours), or a percentage written with "%"."""
    clinic_rule = rule_of(rule)
    if clinic_rule.kind is None:
        match = _PERCENT.match(str(text))
        if match is None:
            raise Refusal(
                field,
                repr(text),
                f"a percentage with its unit, e.g. {clinic_rule.example}",
                INPUT_RULES,
                "has no unit" if "%" not in str(text) else "is not a percentage",
            )
        return parse_decimal(match.group(1), field)
    value = parse(text, clinic_rule.kind, field, positive=True)
    return value.to("hour") if clinic_rule.kind is Kind.DURATION else value


def _amount(rule: ClinicRule, value: Q | Decimal, field: str) -> Decimal:
    """The number a limit compares with: hours, percent, or the canonical quantity."""
    if rule.kind is None:
        if not isinstance(value, Decimal):
            raise Refusal(field, str(value), "a percentage, e.g. 20 %", CLINIC_RULES, "is not one")
        return value
    if not isinstance(value, Q) or value.kind is not rule.kind:
        raise Refusal(
            field,
            str(value),
            f"a {rule.kind.label}, e.g. {rule.example}",
            CLINIC_RULES,
            f"is not a {rule.kind.label}",
        )
    return value.to("hour").value if rule.kind is Kind.DURATION else value.canonical


def _packaged_amount(limit: Limit) -> Decimal:
    return limit.value.canonical if isinstance(limit.value, Q) else limit.value


def _shown(drug: Drug, value: Q | Decimal) -> str:
    """The value as typed ("20 %", "48 hour"); a dose or concentration with its value in the
    drug's unit after when typed in another ("25000 mcg/day (= 25 mg/day)")."""
    if not isinstance(value, Q):
        return f"{value} %"
    if value.kind is Kind.DURATION:
        return str(value)
    return as_given(value, drug.unit_for(value.kind))


def _limit_text(drug: Drug, limit: Limit) -> str:
    """A limit's value in the drug's unit, as typed after when typed in another."""
    if not isinstance(limit.value, Q):
        return limit.text()
    return in_unit(limit.value, drug.unit_for(limit.value.kind))


def _check_range(
    drug: Drug, rule: ClinicRule, value: Q | Decimal, amount: Decimal, field: str
) -> None:
    raw = value if isinstance(value, Decimal) else value.value
    shown = _shown(drug, value)
    if amount <= 0:
        raise Refusal(field, shown, "above 0", CLINIC_RULES, "is not a limit")
    if raw != round_places(raw, PLACES) or raw >= LARGEST:
        raise Refusal(
            field,
            shown,
            f"at most {PLACES} decimal places and below {LARGEST}",
            CLINIC_RULES,
            "cannot be stored exactly",
        )
    if rule.kind is None and amount > 100:
        what = "decrease" if rule.name == "max_decrease_percent" else "step"
        raise Refusal(field, shown, "<= 100 %", CLINIC_RULES, f"is not a {what} a clinic may set")
    if rule.kind is Kind.DURATION and amount > MAX_WAIT_HOURS:
        raise Refusal(field, shown, f"<= {MAX_WAIT_HOURS} hour", CLINIC_RULES, "is too long")


def _check_plausible(drug: Drug, rule: ClinicRule, value: Q | Decimal, field: str) -> None:
    """A maximum quantity 100 times below the highest packaged one is a unit slip (25 mcg/day
    meant as 25 mg/day, 5 mcg meant as 5 mg), which would refuse every refill or bolus of the
    drug."""
    if rule.kind is None or not rule.lower_is_stricter or not isinstance(value, Q):
        return
    packaged = [lim.value for lim in drug.limits_for(rule.name) if isinstance(lim.value, Q)]
    if not packaged:
        return
    highest = max(packaged, key=lambda q: q.canonical)
    if value.canonical * IMPLAUSIBLE_FACTOR <= highest.canonical:
        unit = drug.unit_for(rule.kind)
        floor = Q(highest.canonical / IMPLAUSIBLE_FACTOR, rule.kind.canonical).to(unit)
        raise Refusal(
            field,
            _shown(drug, value),
            f"> {floor} ({drug.name}'s packaged {rule.label} is {highest.to(unit)})",
            CLINIC_RULES,
            f"is at least {IMPLAUSIBLE_FACTOR} times below the drug library: a unit or decimal "
            "slip; re-enter it",
        )


def _bound(
    drug: Drug,
    rule: ClinicRule,
    value: Q | Decimal,
    amount: Decimal,
    limit: Limit,
    owner: str,
    field: str,
) -> None:
    """Refused unless `amount` acts before `limit`."""
    bound = _packaged_amount(limit)
    if amount < bound if rule.lower_is_stricter else amount > bound:
        return
    sign = "<" if rule.lower_is_stricter else ">"
    raise Refusal(
        field,
        _shown(drug, value),
        f"{sign} {_limit_text(drug, limit)}, the {owner} {limit.severity} {rule.label} of "
        f"{limit.drug}",
        limit.source,
        f"is not stricter than the {owner} limit it adds to (a clinic limit may only tighten)",
    )


def _check_tightens(
    drug: Drug,
    rule: ClinicRule,
    value: Q | Decimal,
    amount: Decimal,
    severity: str,
    region: str | None,
    others: Sequence[Limit],
    field: str,
) -> None:
    """Refused unless the limit acts before the limits it adds to. Packaged limits may differ by
    origin, so it must act before the loosest of them (a hard one before the hard limits, a soft
    one before every limit of its rule); the clinic's own hard limits apply to every patient, so a
    clinic limit must act before each of them."""
    packaged = [
        lim
        for lim in drug.limits_for(rule.name, region=region)
        if severity == "soft" or lim.severity == "hard"
    ]
    loosest = max if rule.lower_is_stricter else min
    if packaged:
        loosest_limit = loosest(packaged, key=_packaged_amount)
        _bound(drug, rule, value, amount, loosest_limit, "packaged", field)
    clinic_hard = [
        lim
        for lim in others
        if lim.drug == drug.name and lim.rule == rule.name and lim.severity == "hard"
    ]
    strictest = min if rule.lower_is_stricter else max
    if clinic_hard:
        strictest_limit = strictest(clinic_hard, key=_packaged_amount)
        _bound(drug, rule, value, amount, strictest_limit, "clinic", field)


def clinic_limit(
    drug: Drug,
    rule: str,
    value: Q | Decimal,
    severity: str,
    source: str,
    *,
    region: str | None,
    others: Sequence[Limit] = (),
) -> Limit:
    """A clinic limit for `drug`, checked: a known rule, hard or soft, a source, a value of the
    rule's kind that is stricter than the limits it adds to (those packaged for the clinic's
    dosing region, and the clinic's `others`) and not a unit slip. Clinic limits are verified:
    their source is the clinic's own policy, so a hard one stops."""
    clinic_rule = rule_of(rule)
    if severity not in SEVERITIES:
        raise Refusal("severity", repr(severity), "hard or soft", CLINIC_RULES, "is unknown")
    text = str(source or "").strip()
    if not text or len(text) > MAX_SOURCE:
        raise Refusal(
            "source",
            repr(source),
            f"the clinic's policy document, 1 to {MAX_SOURCE} characters",
            CLINIC_RULES,
            "is missing" if not text else "is too long",
        )
    amount = _amount(clinic_rule, value, "value")
    _check_range(drug, clinic_rule, value, amount, "value")
    _check_plausible(drug, clinic_rule, value, "value")
    _check_tightens(drug, clinic_rule, value, amount, severity, region, others, "value")
    stored = value if isinstance(value, Q) and clinic_rule.kind is not Kind.DURATION else amount
    return Limit(drug.name, clinic_rule.name, stored, Tier(severity), True, text)
