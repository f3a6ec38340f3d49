"""Equianalgesic conversion between routes (oral, iv, intrathecal) with the ratios of the drug
library, each direction with its own ratio where the sources differ (leaving the intrathecal route
takes the lower, safer one); a ratio the library does not hold must be given by the user, never
guessed. The dose keeps the kind the user gave (an amount in mg, or a daily dose in mg/day)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from painpump.core import catalog
from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, check_number, format_decimal

# Routes from the one needing the largest dose to the one needing the smallest; a ratio N means
# dose on the earlier route : dose on the later route = N : 1 (e.g. oral : intrathecal = 300 : 1).
ROUTES = ("oral", "iv", "intrathecal")
USER_RATIO = "user-supplied ratio"
INPUT_RULES = "painpump input rules"


FROM_INTRATHECAL_SOURCE = (
    "am-j-hosp-palliat-care-2004-conversion: from intrathecal to oral morphine, the ratios in use "
    "range from 300:1 (Krames) to 90:1 (a commercial calculator) and 12:1 (a case report); the "
    "authors advise caution with any fixed ratio"
)


@dataclass(frozen=True)
class Converted:
    """A converted dose with the ratio used and where it comes from, and the caution its
    direction needs (None when none)."""

    dose: Q
    ratio: Decimal
    ratio_text: str
    source: str
    verified: bool
    caution: Finding | None = None


TO_INTRATHECAL_SOURCE = (
    "infumorph-label, am-j-hosp-palliat-care-2004-conversion: intrathecal therapy starts at the "
    "label's start dose (opioid-naive 0.2-1 mg/day, tolerant 1-10 mg/day) and is titrated; a "
    "converted systemic dose is a ceiling to compare with, not a start"
)


def _caution(source_route: str, target_route: str) -> Finding | None:
    """Leaving the intrathecal route multiplies the dose by the ratio: a fixed ratio can give a
    systemic dose far from what the patient needs, so the result is a starting point only.
    Towards it, the start dose decides, not the conversion."""
    if target_route == "intrathecal":
        return Finding(
            "conversion_to_intrathecal",
            Verdict.WARN,
            f"{source_route} to intrathecal: start at the intrathecal start dose and titrate; "
            "the converted dose is only a ceiling to compare with",
            "the intrathecal start dose, not the converted one",
            TO_INTRATHECAL_SOURCE,
            verified=False,
        )
    if source_route != "intrathecal":
        return None
    return Finding(
        "conversion_from_intrathecal",
        Verdict.WARN,
        f"intrathecal to {target_route}: the sources' ratios differ widely, so this dose is only a "
        "starting point; start lower, titrate to effect and watch for overdose and withdrawal",
        "a starting point, not an equivalent dose",
        FROM_INTRATHECAL_SOURCE,
        verified=True,
    )


def _route(route: str, field: str) -> str:
    """A known route name, or a refusal naming the field."""
    name = str(route).strip().lower()
    if name not in ROUTES:
        raise Refusal(
            field, repr(route), f"one of {', '.join(ROUTES)}", INPUT_RULES, "is not a known route"
        )
    return name


def _ordered(a: str, b: str) -> tuple[str, str]:
    """The two routes as (larger-dose route, smaller-dose route)."""
    return (a, b) if ROUTES.index(a) < ROUTES.index(b) else (b, a)


def library_ratio(drug_name: str, from_route: str, to_route: str) -> tuple[Decimal, str, bool]:
    """The drug library's ratio N between two routes (larger-dose route : smaller = N : 1), read
    from an entry in either direction."""
    drug = catalog.drug(drug_name, "drug")
    high, low = _ordered(from_route, to_route)
    pair = [c for c in drug.conversions if {c.from_route, c.to_route} == {high, low}]
    chosen = [c for c in pair if c.towards == to_route] or [c for c in pair if c.towards is None]
    for c in chosen:
        if (c.from_route, c.to_route) == (high, low):
            return c.ratio, c.source, c.verified
        return 1 / c.ratio, c.source, c.verified
    raise Refusal(
        "ratio",
        "not given",
        f"a sourced {high}:{low} ratio for {drug.name} (none in the drug library), or --ratio N",
        catalog.CATALOG,
        "is required",
    )


def convert(
    drug_name: str, dose: Q, from_route: str, to_route: str, ratio: Decimal | None = None
) -> Converted:
    """Convert a dose between routes: divide by N towards the more potent route, multiply by N
    away from it (N from the drug library, or --ratio)."""
    catalog.drug(drug_name, "drug")
    source_route = _route(from_route, "from_route")
    target_route = _route(to_route, "to_route")
    if source_route == target_route:
        raise Refusal(
            "to_route",
            repr(to_route),
            f"a route other than {source_route}",
            INPUT_RULES,
            "is the same route as --from",
        )
    if dose.kind not in (Kind.MASS, Kind.DOSE_RATE):
        raise Refusal(
            "dose",
            str(dose),
            "an amount (mg, mcg) or a daily dose (mg/day)",
            INPUT_RULES,
            "is not a dose",
        )
    if ratio is not None:
        check_number(ratio, "ratio")
        if ratio <= 0:
            raise Refusal("ratio", str(ratio), "> 0", INPUT_RULES, "is not a ratio")
        used, source, verified = ratio, USER_RATIO, False
    else:
        used, source, verified = library_ratio(drug_name, source_route, target_route)
    high, low = _ordered(source_route, target_route)
    try:
        value = dose.value / used if source_route == high else dose.value * used
    except ArithmeticError:  # decimal.Overflow or Underflow: a ratio beyond any real one
        raise Refusal(
            "ratio",
            str(used),
            f"a ratio that gives a dose {dose} can be converted with",
            INPUT_RULES,
            "is out of range",
        ) from None
    text = f"{high} : {low} = {format_decimal(used)} : 1"
    return Converted(
        Q(value, dose.unit), used, text, source, verified, _caution(source_route, target_route)
    )
