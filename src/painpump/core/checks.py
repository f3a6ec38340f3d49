"""Drug-library checks of a prescription: concentration (range, commercial strengths, unit slips
against the drug's usual range), daily dose (region-specific maximum, the first dose of a drug in
a pump), the titration step from the previous dose (by phase; increases in a rolling 7 days,
decreases that risk withdrawal), the patient's facts the labels depend on (age,
contraindications), and a clinic's own stricter limits beside them. A broken hard limit stops; a
broken soft one warns (rule-two-tiers). Every rule checked leaves a finding, so the answer
explains itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from painpump.core import catalog
from painpump.core.catalog import RULE_LABELS, Drug, Limit, UsualRange
from painpump.core.decision import Decision, Finding, Subject, Tier, Verdict
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.units import (
    Kind,
    Q,
    as_given,
    check_number,
    expect,
    format_decimal,
    in_unit,
    of,
)

ORIGINS = ("spinal", "cerebral")
REGIONS = ("us", "eu")
DEFAULT_REGION = "us"
SLIP_SOURCE = "rule-unit-slip"
SLIP_FACTOR = Decimal(2)
"""How far outside its usual range a value must lie before the other prefix is suggested: a
value less than twice the usual ceiling (merely above a maximum) is never read as a slip."""
FAR_ABOVE = Decimal(3)
"""A value this many times the usual ceiling of its drug stops (a plausibility limit)."""
TENFOLD = Decimal(10)
"""A new daily dose ten times the running one, or ten times the largest start dose, is a
decimal or unit slip, never a titration (rule-unit-slip)."""
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
    "ziconotide": (
        "prialt-eu-smpc: Prialt EU SmPC 4.2: the dose may be reduced by any amount, including "
        "stopping"
    ),
    "baclofen": (
        "gablofen-label, lioresal-label, baclofen-intrathecal-openfda-label: boxed warning: abrupt "
        "discontinuation can cause high fever, rebound spasticity, rhabdomyolysis and death"
    ),
}
ANY_DECREASE = frozenset({"ziconotide"})
"""Drugs whose label allows a decrease by any amount (DECREASE_SOURCES): no ten-fold guard down."""
WITHDRAWAL_RISK = {
    "baclofen": (
        "withdrawal risk (boxed warning): high fever, altered mental status, rebound spasticity, "
        "muscle rigidity, rarely rhabdomyolysis and death"
    ),
    "clonidine": "withdrawal risk: rebound hypertension and agitation after an abrupt fall",
}
OPIOID_CUT = "opioid withdrawal or a pain crisis; a slip of units?"
"""Why an intrathecal opioid's cut beyond its largest single decrease warns (its
max_decrease_percent, a clinic setting)."""
SHARE_OF_BOLUS = (
    "an admixture partner's share of a single bolus follows from the principal drug's bolus and "
    "the concentrations (each judged), so it is judged against maxima only, never as a low-dose "
    "slip"
)
"""Why a dose without a `floor` is not judged from below (no usual-range floor, no unit slip
below it, no ten-fold fall): its amount is no entry that could slip."""
_OTHER_PREFIX = {
    "mg/mL": "mcg/mL",
    "mcg/mL": "mg/mL",
    "mg/day": "mcg/day",
    "mcg/day": "mg/day",
}


def _verdict(limit: Limit) -> Verdict:
    """Stop for a broken hard limit, warn for a broken soft one, whatever the verification."""
    return Verdict.STOP if limit.severity is Tier.HARD else Verdict.WARN


def _hours(value: Decimal) -> str:
    """Hours for messages, one decimal."""
    return str(value.quantize(Decimal("0.1")))


def _pct(value: Decimal) -> str:
    """A percentage for messages, two decimals."""
    return f"{value.quantize(Decimal('0.01'))} %"


def _ok(limit: Limit, message: str, shown: str) -> Finding:
    return Finding(
        limit.rule, Verdict.OK, message, shown, limit.source, limit.verified, tier=limit.severity
    )


def _broken(limit: Limit, message: str, shown: str) -> Finding:
    return Finding(
        limit.rule,
        _verdict(limit),
        message,
        shown,
        limit.source,
        limit.verified,
        tier=limit.severity,
    )


def _against_maximum(
    limit: Limit, maximum: Q, given: Q, given_text: str, what: str, note: str = ""
) -> Finding:
    """The value against a maximum, or against a caution worded as its source words it."""
    if limit.caution:
        shown = f"<= {maximum}{note} (caution above it)"
        if given.canonical > maximum.canonical:
            message = (
                f"{given_text} exceeds {maximum}{note}: its source advises caution with a {what} "
                "above it (a caution, not a maximum)"
            )
            return _broken(limit, message, shown)
        message = f"{given_text} is within {maximum}{note}, above which its source advises caution"
        return _ok(limit, message, shown)
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


def _q_limits(drug: Drug, rule: str, **context: str | None) -> list[tuple[Limit, Q]]:
    """The drug's limits of a rule whose value is a quantity, each with that quantity."""
    return [
        (lim, lim.value) for lim in drug.limits_for(rule, **context) if isinstance(lim.value, Q)
    ]


def check_usual(
    drug: Drug,
    given: Q,
    usual: UsualRange,
    what: str,
    stopping: bool = False,
    floor: bool = True,
) -> Finding:
    """The value against the drug's usual range: within it is ok (and so is a dose of zero when
    `stopping` a running one, judged by the decrease rules, and a value below it without a
    `floor`, see SHARE_OF_BOLUS); a value at least twice outside it that fits it when read with
    the other prefix (mg <-> mcg) is a unit slip, a hard stop that names the other unit; any
    other value outside it warns (soft), never suggesting a unit (rule-unit-slip)."""
    shown = f"{what} within {usual.text()} (usual range)"
    source = f"{usual.source} ({SLIP_SOURCE})"
    unit = drug.unit_for(given.kind)
    given_text = in_unit(given, unit)
    if usual.holds(given) or (stopping and given.canonical == 0):
        return Finding(
            "usual_range",
            Verdict.OK,
            f"{what} {given_text} is within the usual range of {drug.name}, {usual.text()}",
            shown,
            source,
            usual.verified,
            tier=Tier.SOFT,
        )
    if not floor and given.canonical < usual.low.canonical:
        return Finding(
            "usual_range",
            Verdict.OK,
            f"{what} {given_text} for {drug.name} is below its usual range {usual.text()}: "
            f"{SHARE_OF_BOLUS}",
            shown,
            source,
            usual.verified,
            tier=Tier.SOFT,
        )
    other = _OTHER_PREFIX.get(given.unit)
    alt = Q(given.value, other) if other is not None else None
    far = (
        given.canonical * SLIP_FACTOR <= usual.low.canonical
        or given.canonical >= usual.high.canonical * SLIP_FACTOR
    )
    if alt is not None and far and usual.holds(alt):
        return Finding(
            "unit_slip",
            Verdict.STOP,
            f"{what} {given_text} for {drug.name} is outside its usual range {usual.text()}, "
            f"but {as_given(alt, unit)} is within it: a mg/mcg slip? Re-enter the value in the "
            "unit intended",
            shown,
            source,
            usual.verified,
            tier=Tier.HARD,
        )
    side = "above" if given.canonical > usual.high.canonical else "below"
    if given.canonical >= usual.high.canonical * FAR_ABOVE:
        return Finding(
            "far_above_usual",
            Verdict.STOP,
            f"{what} {given_text} for {drug.name} is {FAR_ABOVE} times its usual ceiling "
            f"{usual.high} or more: a slip or a prescription no source supports; re-enter it",
            f"< {of(usual.high.canonical * FAR_ABOVE, unit)}",
            source,
            usual.verified,
            tier=Tier.HARD,
        )
    return Finding(
        "usual_range",
        Verdict.WARN,
        f"{what} {given_text} for {drug.name} is {side} its usual range {usual.text()}: check "
        "the prescription",
        shown,
        source,
        usual.verified,
        tier=Tier.SOFT,
    )


def _implausible(drug: Drug, given: Q, references: list[Q], what: str) -> Finding | None:
    """A stop for a value at least 100 times the highest one the library holds for the drug
    (its maximum limits and commercial strengths), whatever their verification."""
    if not references:
        return None
    unit = drug.unit_for(given.kind)
    highest = max(references, key=lambda q: q.canonical).to(unit)
    ceiling = highest.canonical * IMPLAUSIBLE_FACTOR
    if given.canonical < ceiling:
        return None
    return Finding(
        "implausible",
        Verdict.STOP,
        f"{what} {in_unit(given, unit)} for {drug.name} is at least {IMPLAUSIBLE_FACTOR} times "
        f"the highest value in the drug library ({highest}): a unit or decimal slip; re-enter it",
        f"< {of(ceiling, unit)}",
        IMPLAUSIBLE_SOURCE,
        verified=True,
        tier=Tier.HARD,
    )


def _unchecked(drug: Drug, rule: str, shown: str) -> Finding:
    """A warning that the drug library holds neither a limit of this rule nor a usual range for
    the drug: the value is not checked against one, so it is never accepted silently."""
    label = RULE_LABELS[rule]
    return Finding(
        rule,
        Verdict.WARN,
        f"the drug library has no {label} for {drug.name}: {shown} is not checked against one; "
        "check it against the prescribing information",
        f"none in the drug library ({label})",
        LIBRARY,
        verified=False,
        tier=Tier.SOFT,
    )


def _guard_and_usual(
    drug: Drug,
    given: Q,
    of_what: str,
    what: str,
    known: list[Q],
    stopping: bool = False,
    floor: bool = True,
) -> list[Finding]:
    """The plausibility guard and the usual-range check (unit slip) of a value."""
    usual = drug.usual_range(of_what)
    judged = check_usual(drug, given, usual, what, stopping, floor) if usual is not None else None
    if judged is not None and judged.rule == "unit_slip":
        return [judged]  # the slip names the unit meant; the plausibility guard would not
    references = known + ([usual.high] if usual is not None else [])
    guard = _implausible(drug, given, references, what)
    return [f for f in (guard, judged) if f is not None]


def check_concentration(drug: Drug, concentration: Q) -> list[Finding]:
    """Concentration against the drug's max/min limits, its usual range (a unit slip stops) and
    its commercial strengths."""
    expect(concentration, Kind.CONCENTRATION, "concentration")
    c = concentration.to(drug.concentration_unit)
    c_text = in_unit(concentration, drug.concentration_unit)
    known = [value for _, value in _q_limits(drug, "max_concentration")] + list(drug.products)
    findings = _guard_and_usual(drug, concentration, "concentration", "concentration", known)
    if not _q_limits(drug, "max_concentration") and drug.usual_range("concentration") is None:
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
    products = {p.canonical for p in drug.products}
    slipped = any(f.rule == "unit_slip" for f in findings)
    if drug.products and not slipped and c.canonical not in products:
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


def check_daily_dose(
    drug: Drug, dose: Q, region: str | None, stopping: bool = False, floor: bool = True
) -> list[Finding]:
    """Daily dose against the drug's maximum daily doses for the region and its usual range (a
    unit slip stops; without a `floor`, only above it: SHARE_OF_BOLUS)."""
    expect(dose, Kind.DOSE_RATE, "dose")
    d = dose.to(drug.dose_rate_unit)
    d_text = in_unit(dose, drug.dose_rate_unit)
    known = [value for _, value in _q_limits(drug, "max_daily_dose")]
    findings = _guard_and_usual(drug, dose, "daily_dose", "daily dose", known, stopping, floor)
    if not _q_limits(drug, "max_daily_dose", region=region) and not drug.usual_range("daily_dose"):
        findings.append(_unchecked(drug, "max_daily_dose", d_text))
    where = f" ({region.upper()})" if region else ""
    for lim, value in _q_limits(drug, "max_daily_dose", region=region):
        region_note = where if "region" in lim.when else ""
        findings.append(_against_maximum(lim, value, d, d_text, "daily dose", region_note))
    return findings


SINGLE_BOLUS_DAY = "single_bolus_daily_maximum"
"""The hard per-bolus rule: no single bolus gives more of a drug than its day's ceiling (its
highest maximum daily dose or, where the library has none, the top of its usual daily range)."""
NO_DAY_MAXIMUM = "no maximum daily dose in the library: the top of its usual daily range"


def _day_maximum(drug: Drug, region: str | None) -> tuple[Limit, Q] | None:
    """The drug's highest maximum daily dose for the region, whatever its tier; with no region,
    the lowest of the regions' highest (rule-conservative-default)."""
    limits = _q_limits(drug, "max_daily_dose", region=region)
    regions = {lim.when["region"] for lim, _ in limits if "region" in lim.when}
    if region is None and regions:
        return min(
            (_day_maximum(drug, r) for r in sorted(regions)),
            key=lambda found: found[1].canonical if found else Decimal("Infinity"),
        )
    return max(limits, key=lambda found: found[1].canonical, default=None)


def _day_ceiling(
    drug: Drug, bolus: Q, text: str, region: str | None, what: str = "a single bolus"
) -> Finding:
    """A single bolus against its drug's day's ceiling (hard): the highest maximum daily dose
    or, without one, the top of the usual daily range; with neither, a warning that the bolus
    is unchecked against any day's ceiling. `what` names the bolus in messages."""
    day = _day_maximum(drug, region)
    usual = drug.usual_range("daily_dose")
    if day is not None:
        lim, value = day
        source, verified = lim.source, lim.verified
        status = "verified" if verified else "unverified"
        ceiling, note = f"the maximum daily dose {value}", f"{lim.severity.value} as a daily dose"
        shown_as = f"the maximum daily dose {value}"
        whole = "no single bolus may give more than a whole day's maximum in hours"
        if lim.caution:
            ceiling = f"{value}, the daily dose above which its source advises caution"
            shown_as = f"caution above a daily dose of {value}"
            whole = "no single bolus may give in hours more than its source cautions above in a day"
        note = f"{note}, {status}"
    elif usual is not None:
        value, source, verified = usual.high, usual.source, usual.verified
        status = "verified" if verified else "unverified"
        ceiling, note = f"the day's ceiling {value}", f"{NO_DAY_MAXIMUM}, {status}"
        shown_as = f"{NO_DAY_MAXIMUM} {value}"
        whole = "no single bolus may give more than a whole day's ceiling in hours"
    else:
        return Finding(
            SINGLE_BOLUS_DAY,
            Verdict.WARN,
            f"the drug library has neither a maximum daily dose nor a usual daily range for "
            f"{drug.name}: {what} of {text} is unchecked against any day's ceiling; "
            "check it against the prescribing information",
            "none in the drug library (maximum daily dose, usual daily range)",
            LIBRARY,
            verified=False,
            tier=Tier.SOFT,
        )
    most = of(value.canonical, "mcg").to(drug.dose_unit)
    verdict = Verdict.STOP if bolus.canonical > value.canonical else Verdict.OK
    word = "exceeds" if verdict is Verdict.STOP else "is within"
    return Finding(
        SINGLE_BOLUS_DAY,
        verdict,
        f"{what} of {text} {drug.name} {word} {ceiling} ({note}): {whole}",
        f"<= {most} a single bolus ({shown_as}, {status})",
        source,
        verified,
        tier=Tier.HARD,
    )


BOLUS_DAY_TOTAL = "single_bolus_day_total"
"""A single bolus with what the pump gave in the day before it: within one day the patient gets
both, so their sum is held to the bolus's day's ceiling (hard), whatever reason passed the day
before it."""


def _ceiling(drug: Drug, region: str | None) -> Q | None:
    """The day's ceiling of _day_ceiling: the highest maximum daily dose, else the top of the
    usual daily range (None: neither)."""
    day = _day_maximum(drug, region)
    if day is not None:
        return day[1]
    usual = drug.usual_range("daily_dose")
    return usual.high if usual is not None else None


def check_bolus_day(drug: Drug, bolus: Q, before: Q, region: str | None) -> Finding | None:
    """A single bolus of `bolus` (a mass) after the pump gave `before` of the drug in the day
    before it, against the drug's day's ceiling as the bolus alone is (_day_ceiling): above it
    refused (hard), naming the bolus the day leaves room for (none where the day before alone
    passed the ceiling, on the prescriber's reason); None within it or with no ceiling."""
    expect(bolus, Kind.MASS, "bolus")
    expect(before, Kind.MASS, "before")
    unit = drug.dose_unit
    total = of(bolus.canonical + before.canonical, "mcg")
    what = (
        f"a single bolus of {bolus.to(unit)} with the {before.to(unit)} the pump can have given "
        "in the 24 h before it, in all"
    )
    found = _day_ceiling(drug, total, str(total.to(unit)), region, what)
    ceiling = _ceiling(drug, region)
    if found.verdict is not Verdict.STOP or ceiling is None:
        return None
    left = max(Decimal(0), ceiling.canonical - before.canonical)
    room = of(left.quantize(Decimal("0.001"), ROUND_FLOOR), "mcg").to(unit)  # never above it
    limit = (
        f"<= {room} a single bolus after the {before.to(unit)} the pump can have given in the "
        "24 h before it "
        f"(a day's ceiling of {of(ceiling.canonical, 'mcg').to(unit)}: "
        f"{found.limit.split('(', 1)[1]}"
    )
    message = found.message
    if before.canonical >= ceiling.canonical:
        message += "; the day before it alone reaches that ceiling: no single bolus fits in it"
    return replace(found, rule=BOLUS_DAY_TOTAL, limit=limit, message=message)


def _clinic_single_bolus(
    drug: Drug, bolus: Q, text: str, what: str, limits: Sequence[Limit]
) -> list[Finding]:
    """The bolus against the clinic's largest single bolus of the drug (core.clinic_limits): a
    finding clinic_max_single_bolus for each, in the drug's unit (the limit as set after, when
    set in another); a hard one stops."""
    found = []
    label = RULE_LABELS["max_single_bolus"]
    for lim in limits:
        if lim.drug != drug.name or lim.rule != "max_single_bolus":
            continue
        assert isinstance(lim.value, Q)
        limit = str(lim.value.to(drug.dose_unit))
        if lim.value.unit != drug.dose_unit:
            limit += f" (= {lim.value})"
        broken = bolus.canonical > lim.value.canonical
        verb = "exceeds" if broken else "is within"
        found.append(
            Finding(
                CLINIC_PREFIX + lim.rule,
                _verdict(lim) if broken else Verdict.OK,
                f"{what} of {text} {drug.name} {verb} the clinic's {label} {limit}",
                f"<= {limit} a single bolus",
                lim.source,
                lim.verified,
                Subject.DOSE,
                drug.name,
                lim.severity,
            )
        )
    return found


def check_single_bolus(
    drug: Drug,
    bolus: Q,
    region: str | None,
    what: str = "a single bolus",
    extra_limits: Sequence[Limit] = (),
) -> list[Finding]:
    """One single bolus's amount of the drug (an admixture partner's: the bolus volume times its
    concentration) against the drug's largest single bolus (soft), the clinic's own in
    `extra_limits` and, hard, its day's ceiling given in hours (_day_ceiling): no bolus may give
    more than a whole day's. `what` names the bolus in messages ("a patient bolus")."""
    expect(bolus, Kind.MASS, "bolus")
    text = str(bolus.to(drug.dose_unit))
    findings = []
    for lim in drug.limits_for("max_single_bolus"):
        assert isinstance(lim.value, Q)
        status = "verified" if lim.verified else "unverified"
        shown = f"<= {lim.value} a single bolus"
        if bolus.canonical > lim.value.canonical:
            findings.append(
                _broken(
                    lim,
                    f"{what} of {text} exceeds the largest single bolus of {drug.name}, "
                    f"{lim.value} ({lim.severity.value} limit, {status}; source "
                    f"{lim.source.split(':')[0]})",
                    shown,
                )
            )
        else:
            findings.append(_ok(lim, f"{what} of {text} is within {lim.value}", shown))
    findings += _clinic_single_bolus(drug, bolus, text, what, extra_limits)
    return [*findings, _day_ceiling(drug, bolus, text, region, what)]


BOLUS_STEP = "tenfold_bolus_step"
BOLUS_STEP_SOURCE = (
    f"{SLIP_SOURCE}: a bolus ten times the one before, or a tenth of it, is a slip, never a step"
)


def check_bolus_step(drug: Drug, bolus: Q, previous: Q, what: str) -> Finding:
    """A bolus against the one prescribed before (a patient bolus against the running one): ten
    times it or more, or a tenth of it or less, is a decimal or unit slip (hard, as a daily
    dose's tenfold_step); a drug whose label allows any decrease (ANY_DECREASE) is not judged
    downwards."""
    expect(bolus, Kind.MASS, "bolus")
    expect(previous, Kind.MASS, "previous")
    given, before = in_unit(bolus, drug.dose_unit), previous.to(drug.dose_unit)
    low = of(before.canonical / TENFOLD, "mcg").to(drug.dose_unit)
    high = of(before.canonical * TENFOLD, "mcg").to(drug.dose_unit)
    downwards = drug.name not in ANY_DECREASE
    shown = f"> {low} and < {high} a bolus (a tenth to ten times the {before} before)"
    if not downwards:
        shown = f"< {high} a bolus (ten times the {before} before)"
    if bolus.canonical >= before.canonical * TENFOLD:
        found = f"is ten times the {before} before or more"
    elif bolus.canonical * TENFOLD <= before.canonical and downwards:
        found = f"is a tenth of the {before} before or less"
    else:
        return Finding(
            BOLUS_STEP,
            Verdict.OK,
            f"{what} of {given} is less than ten times the {before} before"
            + (" and more than a tenth of it" if downwards else ""),
            shown,
            BOLUS_STEP_SOURCE,
            verified=True,
            tier=Tier.HARD,
        )
    return Finding(
        BOLUS_STEP,
        Verdict.STOP,
        f"{what} of {given} {found}: a decimal or unit slip, never a step; re-enter it",
        shown,
        BOLUS_STEP_SOURCE,
        verified=True,
        tier=Tier.HARD,
    )


def check_start_dose(drug: Drug, dose: Q, opioid_status: OpioidStatus) -> list[Finding]:
    """The first daily dose of the drug in a pump (its first program, or after a drug change)
    against the labels' and guidelines' start doses; an opioid status not recorded takes the
    opioid-naive start (the strictest)."""
    expect(dose, Kind.DOSE_RATE, "dose")
    d = dose.to(drug.dose_rate_unit)
    d_text = in_unit(dose, drug.dose_rate_unit)
    status = None if opioid_status is OpioidStatus.UNKNOWN else opioid_status.value
    limits = _q_limits(drug, "max_start_dose", opioid_status=status)
    if status is None and any("opioid_status" in lim.when for lim, _ in limits):
        limits = [(lim, v) for lim, v in limits if lim.when.get("opioid_status") != "tolerant"]
        note = " (opioid-naive start: the patient's opioid status is not recorded)"
    else:
        note = f" (opioid-{status})" if status and any(lim.when for lim, _ in limits) else ""
    findings = [
        _against_maximum(lim, value, d, d_text, "start dose", note) for lim, value in limits
    ]
    # An opioid-tolerant patient rotated to an opioid whose start doses are the opioid-naive
    # ones (no start given for tolerant patients) starts from the equianalgesic dose, however far
    # above a naive start: those starts warn, they are no slip (the daily dose's own checks stay).
    rotation = (
        opioid_status is OpioidStatus.TOLERANT
        and drug.drug_class == "opioid"
        and not any(lim.when.get("opioid_status") == "tolerant" for lim, _ in limits)
    )
    if limits and not rotation:
        highest = max((value for _, value in limits), key=lambda v: v.canonical)
        ceiling = of(highest.canonical * TENFOLD, highest.unit)
        if d.canonical >= ceiling.canonical:
            findings.append(
                Finding(
                    "tenfold_start",
                    Verdict.STOP,
                    f"first dose {d_text} is ten times the largest start dose {highest}{note} or "
                    "more: a decimal or unit slip; re-enter it",
                    f"< {ceiling.to(drug.dose_rate_unit)}",
                    f"{SLIP_SOURCE}: ten times the largest start dose is a slip, never a start",
                    verified=True,
                    tier=Tier.HARD,
                )
            )
    return findings


def check_patient(drug: Drug, patient: PatientFacts, on: date, direction: int = 1) -> list[Finding]:
    """The patient's facts the drug's label depends on: its contraindications (a fact not
    recorded warns until it is) and the youngest age the label covers. A recorded
    contraindication stops a start or an increase (`direction` > 0), warns when the dose stays
    (0) and allows a decrease or stop (< 0), which it calls for."""
    findings: list[Finding] = []
    for contra in drug.contraindications:
        present = getattr(patient, contra.fact)
        label = contra.fact.replace("_", " ")
        shown = f"no {label}"
        if present is True and direction < 0:
            verdict, tier = Verdict.OK, contra.severity
            message = (
                f"{drug.name} is contraindicated with a {label}, recorded on the patient: "
                "decreasing or stopping it is allowed"
            )
        elif present is True and direction == 0:
            verdict, tier = Verdict.WARN, Tier.SOFT
            message = (
                f"{drug.name} is contraindicated with a {label}, recorded on the patient: "
                "continuing it needs a reason; consider decreasing or stopping it"
            )
        elif present is True:
            verdict = Verdict.STOP if contra.severity is Tier.HARD else Verdict.WARN
            message = f"{drug.name} is contraindicated with a {label}, recorded on the patient"
            tier = contra.severity
        elif present is None:
            verdict, tier = Verdict.WARN, Tier.SOFT
            message = (
                f"{label} not recorded on the patient: {drug.name} is contraindicated with it; "
                "record it before prescribing"
            )
        else:
            verdict, tier = Verdict.OK, contra.severity
            message = f"no {label} recorded on the patient"
        findings.append(
            Finding(
                "contraindication",
                verdict,
                message,
                shown,
                contra.source,
                contra.verified,
                tier=tier,
            )
        )
    age = patient.age_on(on)
    for lim in drug.limits_for("min_age_years"):
        shown = f">= {lim.text()}"
        if age is None:
            continue
        if age < _number(lim):
            findings.append(
                _broken(lim, f"age {age} years is below the label's {shown} for {drug.name}", shown)
            )
        else:
            findings.append(_ok(lim, f"age {age} years meets {shown}", shown))
    return findings


def _number(limit: Limit) -> Decimal:
    """The plain value of a percent, hours or count limit."""
    if isinstance(limit.value, Q):
        raise catalog.CatalogError(f"{limit.drug} {limit.rule}: expected a plain number")
    return limit.value


def _strictest(limits: list[Limit]) -> Limit | None:
    """The limit with the smallest value among variants (e.g. cerebral 15 % over spinal 30 %)."""
    return min(limits, key=_number) if limits else None


def _decrease(drug: Drug, p: Q, d: Q, percent: Decimal, new: str) -> list[Finding]:
    """A decrease to `new` (d as worded): allowed, but one beyond the drug's largest single
    decrease warns with the withdrawal risk (an opioid's: OPIOID_CUT), and stopping baclofen
    needs a prescribed taper or a reason."""
    findings = [
        Finding(
            "titration_decrease",
            Verdict.OK,
            f"decrease from {p} to {new} ({_pct(percent)})",
            "decreases are judged by the largest single decrease, where the library has one",
            DECREASE_SOURCES.get(drug.name, LIBRARY),
            verified=drug.name in DECREASE_SOURCES,
        )
    ]
    risk = WITHDRAWAL_RISK.get(drug.name, "")
    for lim in drug.limits_for("max_decrease_percent"):
        shown = f"<= {lim.text()} less"
        if -percent > _number(lim):
            message = (
                f"decrease of {_pct(-percent)} exceeds {shown}: {risk}; taper in smaller steps or "
                "give the reason"
            )
            if drug.drug_class == "opioid":
                message = (
                    f"a cut of {_pct(-percent)} of {drug.name} in one change (from {p} to {new}; "
                    f"more than {lim.text()}): {OPIOID_CUT} Taper in smaller steps or give the "
                    "reason"
                )
            findings.append(_broken(lim, message, shown))
        else:
            findings.append(_ok(lim, f"decrease of {_pct(-percent)} is within {shown}", shown))
    if drug.name == "baclofen" and d.canonical == 0:
        findings.append(
            Finding(
                "abrupt_discontinuation",
                Verdict.WARN,
                "stopping intrathecal baclofen: abrupt discontinuation can be life-threatening; "
                "give the prescribed taper it ends or the reason, and watch for withdrawal",
                "a prescribed taper or a reason",
                DECREASE_SOURCES["baclofen"],
                verified=True,
                tier=Tier.SOFT,
            )
        )
    return findings


def check_titration(
    drug: Drug,
    dose: Q,
    previous_dose: Q,
    *,
    hours_since_change: Decimal | None = None,
    origin: str | None = None,
    increases_last_7_days: int | None = None,
    phase: Phase | None = None,
    region: str | None = None,
    floor: bool = True,
    dose_text: str | None = None,
) -> list[Finding]:
    """The step from the previous daily dose: percent and absolute limits for the phase, the time
    since the last change and the increases in a rolling 7 days; a decrease against the largest
    single decrease (withdrawal) and, with a `floor`, a fall to a tenth as a slip. `dose_text`
    words the new dose in messages where it is no daily dose (a single bolus judged as one)."""
    expect(dose, Kind.DOSE_RATE, "dose")
    expect(previous_dose, Kind.DOSE_RATE, "previous_dose")
    if hours_since_change is not None:
        check_number(hours_since_change, "hours_since_change")
    if previous_dose.canonical <= 0:
        raise Refusal(
            "previous_dose",
            in_unit(previous_dose, drug.dose_rate_unit),
            f"> 0 {drug.dose_rate_unit} (a start from 0 is not a titration step)",
            LIBRARY,
            "gives no titration step",
        )
    d, p = dose.to(drug.dose_rate_unit), previous_dose.to(drug.dose_rate_unit)
    new = dose_text or str(d)
    change = d.canonical - p.canonical
    percent = change / p.canonical * 100
    if change < 0 and dose_text is not None:
        return [
            Finding(
                "titration_decrease",
                Verdict.OK,
                f"{new} is below the running {p}: no decrease of a running dose; the stop after "
                "the bolus is judged as a stop",
                "a single bolus is judged per bolus and by the stop after it",
                LIBRARY,
                verified=True,
            )
        ]
    if change < 0:
        found = _decrease(drug, p, d, percent, new)
        any_decrease = drug.name in ANY_DECREASE
        if 0 < d.canonical * TENFOLD <= p.canonical and not any_decrease and floor:
            found.append(
                Finding(
                    "tenfold_step",
                    Verdict.STOP,
                    f"decrease from {p} to {new} is to a tenth of the running dose or less: a "
                    "decimal or unit slip, never a step; taper in steps, or stop with a reason",
                    f"> {of(p.canonical / TENFOLD, p.unit).to(drug.dose_rate_unit)}",
                    f"{SLIP_SOURCE}: a tenth of the running dose is a slip, never a step",
                    verified=True,
                    tier=Tier.HARD,
                )
            )
        return found
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
    if d.canonical >= p.canonical * TENFOLD:
        findings.append(
            Finding(
                "tenfold_step",
                Verdict.STOP,
                f"increase from {p} to {new} is ten times the running dose or more: a decimal or "
                "unit slip, never a titration step; re-enter it",
                f"< {of(p.canonical * TENFOLD, p.unit).to(drug.dose_rate_unit)}",
                f"{SLIP_SOURCE}: ten times the running dose is a slip, never a step",
                verified=True,
                tier=Tier.HARD,
            )
        )
    phase_value = phase.value if phase is not None else None
    step_limits = drug.limits_for("max_step_percent", origin=origin, phase=phase_value)
    strictest = _strictest(step_limits)
    if strictest is not None:
        unknown = [
            f"{key} not given"
            for key, given in (("origin", origin), ("phase", phase_value))
            if given is None and any(key in lim.when for lim in step_limits)
        ]
        note = f" ({'; '.join(unknown)}: the strictest limit applies)" if unknown else ""
        shown = f"<= {strictest.text()}"
        message = f"increase from {p} to {new} is +{_pct(percent)}"
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
                    tier=Tier.SOFT,
                )
            )
        elif hours_since_change < _number(lim):
            findings.append(
                _broken(
                    lim,
                    f"{_hours(hours_since_change)} hours since the last increase, less than "
                    f"{shown}",
                    shown,
                )
            )
        else:
            findings.append(
                _ok(
                    lim,
                    f"{_hours(hours_since_change)} hours since the last increase meets {shown}",
                    shown,
                )
            )
    for lim in drug.limits_for("max_increases_per_week", region=region):
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
                    tier=lim.severity,
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
    """A clinic titration limit applied to an increase from `previous` (in the drug's unit):
    (broken, message, limit shown)."""
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
        shown = f"<= {in_unit(lim.value, previous.unit)}"
        return change > lim.value.canonical, f"increase of {step}, clinic {label} {shown}", shown
    if lim.rule == "min_hours_between_increases":
        shown = f">= {lim.text()}"
        if hours_since_change is None:
            return None
        message = (
            f"{_hours(hours_since_change)} hours since the last increase, clinic {label} {shown}"
        )
        return hours_since_change < _number(lim), message, shown
    raise catalog.CatalogError(f"{lim.drug} {lim.rule}: not a rule a clinic limit may use")


def _clinic_decrease(
    drug: Drug, lim: Limit, previous: Q, dose: Q, dose_text: str | None
) -> tuple[bool, str, str] | None:
    """The clinic's largest single decrease applied to a fall from `previous` (None when the
    dose does not fall): (broken, message, limit shown), worded as the packaged opioid cut."""
    change = dose.canonical - previous.canonical
    if change >= 0:
        return None
    p, d = previous.to(drug.dose_rate_unit), dose.to(drug.dose_rate_unit)
    cut = -change / previous.canonical * 100
    limit = f"{format_decimal(_number(lim))} %"
    shown = f"<= {limit} less"
    message = f"a cut of {_pct(cut)} of {drug.name} in one change (from {p} to {dose_text or d})"
    if cut <= _number(lim):
        return False, f"{message} is within the clinic's largest single decrease, {limit}", shown
    risk = OPIOID_CUT if drug.drug_class == "opioid" else WITHDRAWAL_RISK.get(drug.name, "")
    why = f" ({risk})" if risk else ""
    advice = "taper in smaller steps" + (" or give the reason" if lim.severity is Tier.SOFT else "")
    return (
        True,
        f"{message} exceeds the clinic's largest single decrease, {limit}{why}: {advice}",
        shown,
    )


def check_clinic_limits(
    drug: Drug,
    concentration: Q,
    dose: Q,
    limits: Sequence[Limit],
    *,
    previous_dose: Q | None = None,
    hours_since_change: Decimal | None = None,
    dose_text: str | None = None,
) -> list[Finding]:
    """The clinic's own limits of this drug (see core.clinic_limits): each leaves a finding named
    clinic_<rule> with the clinic's source; a hard one stops, a soft one warns. Titration limits
    apply to increases only, the largest single decrease to falls to a running dose only: a stop,
    or a single bolus after which the pump stops (`dose_text` words it), is left to the packaged
    decrease rules, so that no clinic limit makes a pump impossible to stop; the largest single
    bolus is judged per bolus (check_single_bolus)."""
    findings: list[Finding] = []
    expect(concentration, Kind.CONCENTRATION, "concentration")
    expect(dose, Kind.DOSE_RATE, "dose")
    if previous_dose is not None:
        expect(previous_dose, Kind.DOSE_RATE, "previous_dose")
    if hours_since_change is not None:
        check_number(hours_since_change, "hours_since_change")
    for lim in (lim for lim in limits if lim.drug == drug.name):
        rule, label = CLINIC_PREFIX + lim.rule, RULE_LABELS[lim.rule]
        if lim.rule == "max_single_bolus":
            continue
        if lim.rule == "max_decrease_percent":
            if previous_dose is None or previous_dose.canonical <= 0:
                continue
            if dose.canonical == 0 or dose_text is not None:
                continue  # a stop: the packaged decrease rules judge it, never refused
            fall = _clinic_decrease(drug, lim, previous_dose, dose, dose_text)
            if fall is None:
                continue
            broken, message, shown = fall
        elif lim.rule in ("max_concentration", "max_daily_dose"):
            assert isinstance(lim.value, Q)
            given = concentration if lim.rule == "max_concentration" else dose
            unit = drug.unit_for(given.kind)
            limit = in_unit(lim.value, unit)
            shown = f"<= {limit}"
            broken = given.canonical > lim.value.canonical
            verb = "exceeds" if broken else "is within"
            message = f"{in_unit(given, unit)} {verb} the clinic's {label} {limit}"
        else:
            if previous_dose is None or previous_dose.canonical <= 0:
                continue
            change = dose.canonical - previous_dose.canonical
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
                        Tier.SOFT,
                    )
                )
                continue
            broken, message, shown = step
        verdict = _verdict(lim) if broken else Verdict.OK
        subject = Subject.CONCENTRATION if lim.rule == "max_concentration" else Subject.DOSE
        findings.append(
            Finding(
                rule,
                verdict,
                message,
                shown,
                lim.source,
                lim.verified,
                subject,
                drug.name,
                lim.severity,
            )
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
    phase: Phase | None = None,
    starting: bool = False,
    patient: PatientFacts | None = None,
    on: date | None = None,
    floor: bool = True,
    dose_text: str | None = None,
) -> Decision:
    """All drug-library checks of a concentration and daily dose (the start dose when the drug is
    `starting` in the pump, the step from a previous dose, the patient's facts on day `on`), as
    one decision: stop if any hard limit breaks, warn if a soft one does. `extra_limits` are the
    clinic's own limits, checked beside (never instead of) the packaged. Without a `floor` (an
    admixture partner's share of a single bolus) the dose is not judged from below as a slip
    (SHARE_OF_BOLUS); its maxima are judged as always. `dose_text` words the dose in the
    titration messages where it is no daily dose (a single bolus judged as one)."""
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
    stopping = previous_dose is not None and dose.canonical == 0
    dose_findings = check_daily_dose(drug, dose, region, stopping, floor)
    if starting:
        status = patient.opioid_status if patient is not None else OpioidStatus.UNKNOWN
        dose_findings += check_start_dose(drug, dose, status)
    if previous_dose is not None:
        dose_findings += check_titration(
            drug,
            dose,
            previous_dose,
            hours_since_change=hours_since_change,
            origin=origin,
            increases_last_7_days=increases_last_7_days,
            phase=phase,
            region=region,
            # a single bolus (worded by dose_text) is no new running dose: however much smaller
            # than the running day, it is no decimal slip of it
            floor=floor and dose_text is None,
            dose_text=dose_text,
        )
    findings += [f.about(Subject.DOSE, drug.name) for f in dose_findings]
    if patient is not None and on is not None:
        direction = 1
        if previous_dose is not None and not starting:
            change = dose.canonical - previous_dose.canonical
            direction = (change > 0) - (change < 0)
        findings += [
            f.about(Subject.DOSE, drug.name) for f in check_patient(drug, patient, on, direction)
        ]
    elif drug.contraindications:
        findings.append(
            Finding(
                "contraindication",
                Verdict.OK,
                f"no patient facts given: the contraindications of {drug.name} are not checked",
                "the patient's facts",
                drug.contraindications[0].source,
                drug.contraindications[0].verified,
                Subject.DOSE,
                drug.name,
            )
        )
    findings += check_clinic_limits(
        drug,
        concentration,
        dose,
        extra_limits,
        previous_dose=previous_dose,
        hours_since_change=hours_since_change,
        dose_text=dose_text,
    )
    return Decision(tuple(findings))
