"""Drug-library checks of a prescription: concentration (range, commercial strengths, thousand-fold
unit mix-ups), daily dose (region-specific maximum) and the titration step from the previous dose
(percent, absolute, time since the last increase), and a clinic's own stricter limits beside them.
A broken hard, verified limit stops; a soft or unverified one warns. Every rule checked leaves a
finding, so the answer explains itself."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from painpump.core import catalog
from painpump.core.catalog import RULE_LABELS, Drug, Limit
from painpump.core.decision import Decision, Finding, Subject, Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, check_number, expect, of

ORIGINS = ("spinal", "cerebral")
REGIONS = ("us", "eu")
DEFAULT_REGION = "us"
MIXUP_SOURCE = (
    "painpump unit check: mg/mcg confusion is the classic thousand-fold dosing error "
    "(rule-explicit-units)"
)
LIBRARY = "painpump drug library (src/painpump/core/data/drugs.toml)"
CLINIC_PREFIX = "clinic_"
"""Findings of a clinic limit are named clinic_<rule>: acknowledging a packaged warning never
acknowledges the clinic's."""
IMPLAUSIBLE_FACTOR = Decimal(100)
IMPLAUSIBLE_SOURCE = (
    "painpump plausibility guard (not a clinical limit): a value 100 times the highest the drug "
    "library knows is a unit or decimal slip, never a prescription"
)
DECREASE_SOURCES = {
    "ziconotide": "Prialt EU SmPC: the dose may be reduced by any amount, including stopping",
    "baclofen": (
        "Lioresal/Gablofen label boxed warning: abrupt discontinuation can cause high fever, "
        "rebound spasticity, rhabdomyolysis and death"
    ),
}
_OTHER_PREFIX = {
    "mg/mL": "mcg/mL",
    "mcg/mL": "mg/mL",
    "mg/day": "mcg/day",
    "mcg/day": "mg/day",
}


def _shown(given: Q, unit: str) -> str:
    """A value as the user typed it, with its value in the drug's unit when that differs."""
    converted = given.to(unit)
    return str(given) if given.unit == unit else f"{given} (= {converted})"


def _verdict(limit: Limit) -> Verdict:
    """Stop for a hard, verified limit; warn for a soft or unverified one."""
    return Verdict.STOP if limit.severity == "hard" and limit.verified else Verdict.WARN


def _pct(value: Decimal) -> str:
    """A percentage for messages, two decimals."""
    return f"{value.quantize(Decimal('0.01'))} %"


def _ok(limit: Limit, message: str, shown: str) -> Finding:
    return Finding(limit.rule, Verdict.OK, message, shown, limit.source, limit.verified)


def _broken(limit: Limit, message: str, shown: str) -> Finding:
    return Finding(limit.rule, _verdict(limit), message, shown, limit.source, limit.verified)


def _against_maximum(
    limit: Limit, maximum: Q, given: Q, given_text: str, what: str, note: str = ""
) -> Finding:
    shown = f"<= {maximum}{note}"
    if given.canonical > maximum.canonical:
        return _broken(limit, f"{given_text} exceeds the maximum {what} {maximum}{note}", shown)
    return _ok(limit, f"{given_text} is within the maximum {what} {maximum}{note}", shown)


def _option(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    """A validated choice (origin, region), or None when not given."""
    if value is None:
        return None
    name = value.strip().lower()
    if name not in allowed:
        raise Refusal(
            field, repr(value), f"one of {', '.join(allowed)}", LIBRARY, "is not a known value"
        )
    return name


def _alternative(q: Q) -> Q | None:
    """The same number read with the other prefix (25 mg/mL <-> 25 mcg/mL), if there is one."""
    other = _OTHER_PREFIX.get(q.unit)
    return Q(q.value, other) if other is not None else None


def _within(drug: Drug, q: Q, max_rule: str, min_rule: str | None, **context: str | None) -> bool:
    """True when q breaks none of the drug's max (and min) limits of a kind."""
    if any(q.canonical > value.canonical for _, value in _q_limits(drug, max_rule, **context)):
        return False
    if min_rule is None:
        return True
    return not any(q.canonical < value.canonical for _, value in _q_limits(drug, min_rule))


def _q_limits(drug: Drug, rule: str, **context: str | None) -> list[tuple[Limit, Q]]:
    """The drug's limits of a rule whose value is a quantity, each with that quantity."""
    return [
        (lim, lim.value) for lim in drug.limits_for(rule, **context) if isinstance(lim.value, Q)
    ]


def _mixup(drug: Drug, given: Q, what: str) -> Finding:
    """A thousand-fold warning: the number fits if read with the other prefix."""
    alt = _alternative(given)
    return Finding(
        "thousand_fold",
        Verdict.WARN,
        f"{what} {given} for {drug.name} is a thousand-fold away from a usual value: did you "
        f"mean {alt}?",
        f"{alt} would fit the drug library",
        MIXUP_SOURCE,
        verified=False,
    )


def _implausible(drug: Drug, given: Q, references: list[Q], what: str) -> Finding | None:
    """A stop for a value at least 100 times the highest one the library holds for the drug
    (its maximum limits and commercial strengths), whatever their verification."""
    if not references:
        return None
    highest = max(references, key=lambda q: q.canonical)
    ceiling = highest.canonical * IMPLAUSIBLE_FACTOR
    if given.canonical < ceiling:
        return None
    return Finding(
        "implausible",
        Verdict.STOP,
        f"{what} {given} for {drug.name} is at least {IMPLAUSIBLE_FACTOR} times the highest value "
        f"in the drug library ({highest}): a unit or decimal slip; re-enter it",
        f"< {of(ceiling, highest.unit)}",
        IMPLAUSIBLE_SOURCE,
        verified=True,
    )


def _unchecked(drug: Drug, rule: str, shown: str) -> Finding:
    """A warning that the drug library holds no limit of this rule for the drug: the value is
    not checked against one, so it is never accepted silently (a thousand-fold slip included)."""
    label = RULE_LABELS[rule]
    return Finding(
        rule,
        Verdict.WARN,
        f"the drug library has no {label} for {drug.name}: {shown} is not checked against one; "
        "check it against the prescribing information",
        f"none in the drug library ({label})",
        LIBRARY,
        verified=False,
    )


def check_concentration(drug: Drug, concentration: Q) -> list[Finding]:
    """Concentration against the drug's max/min limits, its commercial strengths and a possible
    mg/mcg mix-up."""
    findings: list[Finding] = []
    expect(concentration, Kind.CONCENTRATION, "concentration")
    c = concentration.to(drug.concentration_unit)
    c_text = _shown(concentration, drug.concentration_unit)
    known = [value for _, value in _q_limits(drug, "max_concentration")] + list(drug.products)
    guard = _implausible(drug, concentration, known, "concentration")
    if guard is not None:
        findings.append(guard)
    if not _q_limits(drug, "max_concentration"):
        findings.append(_unchecked(drug, "max_concentration", c_text))
    for lim, value in _q_limits(drug, "max_concentration"):
        findings.append(_against_maximum(lim, value, c, c_text, "concentration"))
    for lim, value in _q_limits(drug, "min_concentration"):
        shown = f">= {value}"
        if c.canonical < value.canonical:
            findings.append(
                _broken(lim, f"{c_text} is below the minimum concentration {value}", shown)
            )
        else:
            findings.append(
                _ok(lim, f"{c_text} is at or above the minimum concentration {value}", shown)
            )
    alt = _alternative(concentration)
    products = {p.canonical for p in drug.products}
    flagged = False
    if alt is not None:
        fits = _within(drug, concentration, "max_concentration", "min_concentration")
        alt_fits = _within(drug, alt, "max_concentration", "min_concentration")
        high = (
            alt.canonical < concentration.canonical
            and not fits
            and alt_fits
            and concentration.canonical not in products
        )
        low = (
            alt.canonical > concentration.canonical
            and alt.canonical in products
            and concentration.canonical not in products
        )
        if high or low:
            findings.append(_mixup(drug, concentration, "concentration"))
            flagged = True
    if drug.products and not flagged and c.canonical not in products:
        strengths = ", ".join(str(p.to(drug.concentration_unit)) for p in drug.products)
        findings.append(
            Finding(
                "commercial_strength",
                Verdict.OK,
                f"{c_text} is not a commercial strength of {drug.name} ({strengths}): a diluted or "
                "compounded preparation; check the preparation and its stability rule",
                f"one of {strengths}",
                drug.products_source,
                verified=True,
            )
        )
    return findings


def check_daily_dose(drug: Drug, dose: Q, region: str | None) -> list[Finding]:
    """Daily dose against the drug's maximum daily doses for the region, and a possible mg/mcg
    mix-up."""
    findings: list[Finding] = []
    expect(dose, Kind.DOSE_RATE, "dose")
    d = dose.to(drug.dose_rate_unit)
    d_text = _shown(dose, drug.dose_rate_unit)
    known = [value for _, value in _q_limits(drug, "max_daily_dose")]
    guard = _implausible(drug, dose, known, "daily dose")
    if guard is not None:
        findings.append(guard)
    if not _q_limits(drug, "max_daily_dose", region=region):
        findings.append(_unchecked(drug, "max_daily_dose", d_text))
    where = f" ({region.upper()})" if region else ""
    for lim, value in _q_limits(drug, "max_daily_dose", region=region):
        region_note = where if "region" in lim.when else ""
        findings.append(_against_maximum(lim, value, d, d_text, "daily dose", region_note))
    alt = _alternative(dose)
    if alt is not None and alt.canonical < dose.canonical:
        fits = _within(drug, dose, "max_daily_dose", None, region=region)
        alt_fits = _within(drug, alt, "max_daily_dose", None, region=region)
        if not fits and alt_fits:
            findings.append(_mixup(drug, dose, "daily dose"))
    return findings


def _number(limit: Limit) -> Decimal:
    """The plain value of a percent, hours or count limit."""
    if isinstance(limit.value, Q):
        raise catalog.CatalogError(f"{limit.drug} {limit.rule}: expected a plain number")
    return limit.value


def _strictest(limits: list[Limit]) -> Limit | None:
    """The limit with the smallest value among variants (e.g. cerebral 15 % over spinal 30 %)."""
    return min(limits, key=_number) if limits else None


def check_titration(
    drug: Drug,
    dose: Q,
    previous_dose: Q,
    *,
    hours_since_change: Decimal | None = None,
    origin: str | None = None,
    increases_last_7_days: int | None = None,
) -> list[Finding]:
    """The step from the previous daily dose: percent and absolute limits and the time since the
    last increase; a decrease is always allowed (and noted)."""
    expect(dose, Kind.DOSE_RATE, "dose")
    expect(previous_dose, Kind.DOSE_RATE, "previous_dose")
    if hours_since_change is not None:
        check_number(hours_since_change, "hours_since_change")
    if previous_dose.canonical <= 0:
        raise Refusal(
            "previous_dose",
            str(previous_dose),
            f"> 0 {drug.dose_rate_unit} (a start from 0 is not a titration step)",
            LIBRARY,
            "gives no titration step",
        )
    d, p = dose.to(drug.dose_rate_unit), previous_dose.to(drug.dose_rate_unit)
    change = d.canonical - p.canonical
    percent = change / p.canonical * 100
    if change < 0:
        findings = [
            Finding(
                "titration_decrease",
                Verdict.OK,
                f"decrease from {p} to {d} ({_pct(percent)}): the titration limits apply to "
                "increases only",
                "no limit on decreases",
                DECREASE_SOURCES.get(drug.name, LIBRARY),
                verified=drug.name in DECREASE_SOURCES,
            )
        ]
        if drug.name == "baclofen" and d.canonical == 0:
            findings.append(
                Finding(
                    "abrupt_discontinuation",
                    Verdict.WARN,
                    "stopping intrathecal baclofen: abrupt discontinuation can be "
                    "life-threatening; plan a taper and monitor for withdrawal",
                    "no abrupt stop",
                    DECREASE_SOURCES["baclofen"],
                    verified=True,
                )
            )
        return findings
    if change == 0:
        return [
            Finding(
                "titration_step",
                Verdict.OK,
                f"no change from {p}",
                "no step",
                LIBRARY,
                verified=True,
            )
        ]
    findings = []
    step_limits = drug.limits_for("max_step_percent", origin=origin)
    strictest = _strictest(step_limits)
    if strictest is not None:
        note = ""
        if origin is None and len(step_limits) > 1:
            note = f" (origin not given: the stricter {strictest.when.get('origin')} limit applies)"
        shown = f"<= {strictest.text()}"
        message = f"increase from {p} to {d} is +{_pct(percent)}"
        if percent > _number(strictest):
            findings.append(_broken(strictest, f"{message}, above {shown}{note}", shown))
        else:
            findings.append(_ok(strictest, f"{message}, within {shown}{note}", shown))
    for lim, value in _q_limits(drug, "max_step_absolute"):
        step = of(change, drug.dose_rate_unit)
        shown = f"<= {value}"
        if change > value.canonical:
            findings.append(_broken(lim, f"increase of {step} exceeds the step {shown}", shown))
        else:
            findings.append(_ok(lim, f"increase of {step} is within the step {shown}", shown))
    for lim in drug.limits_for("min_hours_between_increases"):
        shown = f">= {lim.text()}"
        if hours_since_change is None:
            findings.append(
                Finding(
                    lim.rule,
                    Verdict.WARN,
                    f"time since the last change not given (--hours-since-change): not "
                    f"checked against {shown} between increases",
                    shown,
                    lim.source,
                    lim.verified,
                )
            )
        elif hours_since_change < _number(lim):
            findings.append(
                _broken(
                    lim,
                    f"{hours_since_change} hour since the last change, less than {shown}",
                    shown,
                )
            )
        else:
            findings.append(
                _ok(lim, f"{hours_since_change} hour since the last change meets {shown}", shown)
            )
    for lim in drug.limits_for("max_increases_per_week"):
        shown = f"<= {lim.value} increases in 7 days"
        if increases_last_7_days is None:
            findings.append(
                Finding(
                    lim.rule,
                    Verdict.OK,
                    f"not checked here (needs the titration history): {shown}",
                    shown,
                    lim.source,
                    lim.verified,
                )
            )
        elif increases_last_7_days + 1 > _number(lim):
            findings.append(
                _broken(lim, f"this would be increase {increases_last_7_days + 1} in 7 days", shown)
            )
        else:
            findings.append(
                _ok(lim, f"this is increase {increases_last_7_days + 1} in 7 days", shown)
            )
    return findings


def _clinic_step(
    lim: Limit, change: Decimal, previous: Q, hours_since_change: Decimal | None
) -> tuple[bool, str, str] | None:
    """A clinic titration limit applied to an increase: (broken, message, limit shown)."""
    label = RULE_LABELS[lim.rule]
    if lim.rule == "max_step_percent":
        percent = change / previous.canonical * 100
        shown = f"<= {lim.text()}"
        return (
            percent > _number(lim),
            f"increase of +{_pct(percent)}, clinic {label} {shown}",
            shown,
        )
    if lim.rule == "max_step_absolute":
        assert isinstance(lim.value, Q)
        step = of(change, previous.unit)
        shown = f"<= {lim.value}"
        return change > lim.value.canonical, f"increase of {step}, clinic {label} {shown}", shown
    if lim.rule == "min_hours_between_increases":
        shown = f">= {lim.text()}"
        if hours_since_change is None:
            return None
        message = f"{hours_since_change} hour since the last change, clinic {label} {shown}"
        return hours_since_change < _number(lim), message, shown
    raise catalog.CatalogError(f"{lim.drug} {lim.rule}: not a rule a clinic limit may use")


def check_clinic_limits(
    drug: Drug,
    concentration: Q,
    dose: Q,
    limits: Sequence[Limit],
    *,
    previous_dose: Q | None = None,
    hours_since_change: Decimal | None = None,
) -> list[Finding]:
    """The clinic's own limits of this drug (see core.clinic_limits): each leaves a finding named
    clinic_<rule> with the clinic's source; a hard one stops, a soft one warns. Titration limits
    apply to increases only."""
    findings: list[Finding] = []
    expect(concentration, Kind.CONCENTRATION, "concentration")
    expect(dose, Kind.DOSE_RATE, "dose")
    if previous_dose is not None:
        expect(previous_dose, Kind.DOSE_RATE, "previous_dose")
    if hours_since_change is not None:
        check_number(hours_since_change, "hours_since_change")
    c, d = concentration.to(drug.concentration_unit), dose.to(drug.dose_rate_unit)
    for lim in (lim for lim in limits if lim.drug == drug.name):
        rule, label = CLINIC_PREFIX + lim.rule, RULE_LABELS[lim.rule]
        if lim.rule in ("max_concentration", "max_daily_dose"):
            assert isinstance(lim.value, Q)
            given = c if lim.rule == "max_concentration" else d
            shown = f"<= {lim.value}"
            broken = given.canonical > lim.value.canonical
            verb = "exceeds" if broken else "is within"
            message = f"{given} {verb} the clinic's {label} {lim.value}"
        else:
            if previous_dose is None or previous_dose.canonical <= 0:
                continue
            change = d.canonical - previous_dose.canonical
            if change <= 0:
                continue
            step = _clinic_step(
                lim, change, previous_dose.to(drug.dose_rate_unit), hours_since_change
            )
            if step is None:
                findings.append(
                    Finding(
                        rule,
                        Verdict.WARN,
                        f"time since the last change not given: not checked against the clinic's "
                        f"{label} {lim.text()}",
                        f">= {lim.text()}",
                        lim.source,
                        lim.verified,
                        Subject.DOSE,
                        drug.name,
                    )
                )
                continue
            broken, message, shown = step
        verdict = _verdict(lim) if broken else Verdict.OK
        subject = Subject.CONCENTRATION if lim.rule == "max_concentration" else Subject.DOSE
        findings.append(
            Finding(rule, verdict, message, shown, lim.source, lim.verified, subject, drug.name)
        )
    return findings


def check(
    drug_name: str,
    concentration: Q,
    dose: Q,
    *,
    previous_dose: Q | None = None,
    hours_since_change: Decimal | None = None,
    origin: str | None = None,
    region: str | None = DEFAULT_REGION,
    increases_last_7_days: int | None = None,
    extra_limits: Sequence[Limit] = (),
) -> Decision:
    """All drug-library checks of a concentration and daily dose (and the step from a previous
    dose), as one decision: stop if any hard verified limit breaks, warn if a soft one does.
    `extra_limits` are the clinic's own limits, checked beside (never instead of) the packaged."""
    drug = catalog.drug(drug_name, "drug")
    origin = _option(origin, ORIGINS, "origin")
    region = _option(region, REGIONS, "region")
    if hours_since_change is not None:
        check_number(hours_since_change, "hours_since_change")
        if hours_since_change < 0:
            raise Refusal(
                "hours_since_change", str(hours_since_change), ">= 0 hour", LIBRARY, "is negative"
            )
    if increases_last_7_days is not None and increases_last_7_days < 0:
        raise Refusal(
            "increases_last_7_days",
            str(increases_last_7_days),
            ">= 0 increases",
            LIBRARY,
            "is negative",
        )
    findings = [
        f.about(Subject.CONCENTRATION, drug.name) for f in check_concentration(drug, concentration)
    ]
    dose_findings = check_daily_dose(drug, dose, region)
    if previous_dose is not None:
        dose_findings += check_titration(
            drug,
            dose,
            previous_dose,
            hours_since_change=hours_since_change,
            origin=origin,
            increases_last_7_days=increases_last_7_days,
        )
    findings += [f.about(Subject.DOSE, drug.name) for f in dose_findings]
    findings += check_clinic_limits(
        drug,
        concentration,
        dose,
        extra_limits,
        previous_dose=previous_dose,
        hours_since_change=hours_since_change,
    )
    return Decision(tuple(findings))
