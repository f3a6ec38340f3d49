"""Quantities with explicit units. User text ("5 mg/day") is parsed with pint into exact Decimal
values in canonical units (mcg, mL, day, second); a bare number, an unknown unit or a unit of the
wrong kind is refused, so a mg/mcg or per-hour/per-day mix-up cannot pass silently."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any

from painpump.core.errors import Refusal

INPUT_RULES = "painpump input rules (units must be explicit)"
MAX_MAGNITUDE = Decimal(10) ** 12
MAX_PLACES = 15
NUMBER_LIMIT = f"a number below 10^12 with at most {MAX_PLACES} decimal places"
"""The numbers painpump computes with: Decimal arithmetic keeps 28 digits and exponents up to
999999, so a number typed as 1e999999 would overflow the first product it enters (a crash, not a
refusal). No dose, volume, rate or time comes near these bounds (40 years are 1.3e9 seconds)."""


class Kind(Enum):
    """What a quantity measures, with its canonical unit (pint spelling) and examples."""

    VOLUME = ("mL", "milliliter", "20 mL")
    MASS = ("mcg", "microgram", "0.1 mg, 50 mcg")
    DURATION = ("s", "second", "2 min, 3 hour, 1 day")
    VOLUME_RATE = ("mL/day", "milliliter / day", "0.5 mL/day")
    DOSE_RATE = ("mcg/day", "microgram / day", "5 mg/day, 2.4 mcg/day")
    CONCENTRATION = ("mcg/mL", "microgram / milliliter", "25 mg/mL, 500 mcg/mL")
    LENGTH = ("cm", "centimeter", "85 cm")

    def __init__(self, canonical: str, pint_unit: str, examples: str) -> None:
        self.canonical = canonical
        self.pint_unit = pint_unit
        self.examples = examples

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


# Unit words a user may type. Anything else ("Mg", "mgs", "units") is refused rather than guessed.
ALLOWED_UNIT_WORDS = frozenset(
    {
        "mcg",
        "µg",
        "ug",
        "mg",
        "g",
        "ng",
        "mL",
        "ml",
        "µL",
        "uL",
        "L",
        "cm",
        "mm",
        "s",
        "sec",
        "min",
        "h",
        "hr",
        "hour",
        "hours",
        "d",
        "day",
        "days",
        "week",
        "weeks",
    }
)

# Units printed by painpump, each with its factor to the canonical unit of its kind.
DISPLAY_UNITS: dict[str, tuple[Kind, Decimal, int]] = {
    # unit: (kind, canonical per unit, decimal places printed)
    "mL": (Kind.VOLUME, Decimal(1), 3),
    "mcg": (Kind.MASS, Decimal(1), 3),
    "mg": (Kind.MASS, Decimal(1000), 6),
    "mL/day": (Kind.VOLUME_RATE, Decimal(1), 4),
    "mL/hour": (Kind.VOLUME_RATE, Decimal(24), 6),
    "mcg/day": (Kind.DOSE_RATE, Decimal(1), 3),
    "mg/day": (Kind.DOSE_RATE, Decimal(1000), 6),
    "mcg/mL": (Kind.CONCENTRATION, Decimal(1), 3),
    "mg/mL": (Kind.CONCENTRATION, Decimal(1000), 6),
    "cm": (Kind.LENGTH, Decimal(1), 2),
    "s": (Kind.DURATION, Decimal(1), 0),
    "min": (Kind.DURATION, Decimal(60), 2),
    "hour": (Kind.DURATION, Decimal(3600), 2),
    "day": (Kind.DURATION, Decimal(86400), 2),
}

_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*$")
_UNIT_WORD = re.compile(r"[A-Za-zµ]+")
_UNIT_SIGN = re.compile(r"[^A-Za-zµ0-9\s/*^().]")
"""A character a unit is never written with: "%" would be read as a factor of 0.01, so "25 mg/mL%"
became 0.25 mg/mL."""


@cache
def _registry() -> Any:
    import pint

    return pint.UnitRegistry(non_int_type=Decimal)


@dataclass(frozen=True, order=True)
class Q:
    """A quantity in one of the display units: an exact Decimal and the unit it is in."""

    value: Decimal
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in DISPLAY_UNITS:
            raise ValueError(f"not a display unit: {self.unit}")
        if not self.value.is_finite():
            raise ValueError(f"not a finite quantity: {self.value} {self.unit}")

    @property
    def kind(self) -> Kind:
        return DISPLAY_UNITS[self.unit][0]

    @property
    def canonical(self) -> Decimal:
        """The value in the canonical unit of its kind (mL, mcg, s, mL/day, mcg/day, mcg/mL)."""
        return self.value * DISPLAY_UNITS[self.unit][1]

    def to(self, unit: str) -> Q:
        kind, factor, _ = DISPLAY_UNITS[unit]
        if kind is not self.kind:
            raise ValueError(f"cannot express {self.unit} in {unit}")
        return Q(self.canonical / factor, unit)

    def rounded(self) -> Decimal:
        """The value rounded to the places painpump prints for this unit (no float residue)."""
        places = DISPLAY_UNITS[self.unit][2]
        return round_places(self.value, places)

    def __str__(self) -> str:
        return f"{format_decimal(self.rounded())} {self.unit}"

    @property
    def typed(self) -> str:
        """Every digit of the value as entered ("39.8999 mL"), where `str` rounds to the places
        printed: an entry compared by value is shown by value."""
        return f"{format_decimal(self.value)} {self.unit}"

    def as_json(self) -> dict[str, Any]:
        return {"value": json_number(self.rounded()), "unit": self.unit}


def of(canonical_value: Decimal, unit: str) -> Q:
    """A display quantity from a canonical value (e.g. mcg/day) in `unit` (e.g. mg/day)."""
    return Q(canonical_value / DISPLAY_UNITS[unit][1], unit)


def mass_unit(quantity: Q) -> str:
    """The mass unit a dose, daily dose or concentration is written in ("mg" of 5 mg/mL)."""
    return quantity.unit.split("/")[0]


def in_unit(quantity: Q, unit: str) -> str:
    """`quantity` in `unit` (a drug's own) with the other beside it, led by the drug's unit or
    the unit typed, never by the mcg painpump computes in: morphine's computed "1.5 mg/day
    (= 1500 mcg/day)", clonidine's typed "150 mg/mL (= 150000 mcg/mL)"."""
    if quantity.unit == unit or quantity.value == 0:
        return str(quantity.to(unit))
    if quantity.unit == quantity.kind.canonical:
        return f"{quantity.to(unit)} (= {quantity})"
    return as_given(quantity, unit)


def as_given(quantity: Q, unit: str) -> str:
    """`quantity` as given (an entry), then in `unit` (a drug's own) when that is another unit:
    "1500 mcg/day (= 1.5 mg/day)"; zero alone."""
    if quantity.unit == unit or quantity.value == 0:
        return str(quantity)
    return f"{quantity} (= {quantity.to(unit)})"


def round_places(value: Decimal, places: int) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    return value.quantize(exponent, rounding=ROUND_HALF_EVEN)


PLAIN_DIGITS = 40
"""Beyond 10^40 (or below 10^-40) a number is written in scientific notation: no computed value
comes near, and a typed 1e999999 is never written out in a million digits."""


def format_decimal(value: Decimal) -> str:
    """Plain notation without trailing zeros: 0.2, 1200, 0.048."""
    if value.is_zero():
        return "0"
    if value.is_finite() and abs(value.adjusted()) > PLAIN_DIGITS:
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def side_by_side(quantities: Sequence[Q]) -> list[str]:
    """Quantities compared side by side (an expected and an aspirated volume), each rounded as
    painpump prints its unit and all to the same number of decimal places, the most any of them
    needs: 14.372 mL beside 14.220 mL, never beside 14.22 mL; 8 mL beside 6 mL stay whole."""
    rounded = [q.rounded() for q in quantities]
    places = max((_decimals(r) for r in rounded), default=0)
    shown = []
    for q, r in zip(quantities, rounded, strict=True):
        value = round_places(abs(r) if r == 0 else r, places)  # never "-0.000"
        shown.append(f"{format(value, 'f')} {q.unit}")
    return shown


def _decimals(value: Decimal) -> int:
    """The decimal places `value` needs (none for 20, two for 14.220)."""
    exponent = value.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def json_number(value: Decimal) -> int | float:
    """A JSON number for a rounded Decimal; floats print their shortest exact form (0.2, not
    0.20000000000000001), and whole numbers print as integers."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def check_number(value: Decimal, field: str, shown: str | None = None) -> Decimal:
    """`value` when painpump can compute with it (finite, below 10^12); anything else is refused,
    naming the field. Computed values pass this check; typed ones also `_check_typed`."""
    given = shown if shown is not None else str(value)
    if not value.is_finite():
        raise Refusal(field, given, "a finite number", INPUT_RULES, "is not a number")
    if value.copy_abs() >= MAX_MAGNITUDE:  # copy_abs, unlike abs, cannot overflow (1e1000000)
        raise Refusal(field, given, NUMBER_LIMIT, INPUT_RULES, "is out of range")
    return value


def _check_typed(value: Decimal, field: str, shown: str) -> Decimal:
    """A number as typed: `check_number`, and at most 15 decimal places (1e-999999 would
    underflow to nothing in the first product)."""
    check_number(value, field, shown)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise Refusal(field, shown, NUMBER_LIMIT, INPUT_RULES, "is out of range")
    return value


def expect(quantity: Q, kind: Kind, field: str) -> Q:
    """`quantity` when it is a `kind`; one of another kind (a dose where a concentration belongs)
    is refused, never read as if it were one."""
    if quantity.kind is not kind:
        raise Refusal(
            field,
            str(quantity),
            f"a {kind.label}, e.g. {kind.examples}",
            INPUT_RULES,
            f"is not a {kind.label}",
        )
    return quantity


def parse_decimal(text: str, field: str) -> Decimal:
    """A plain number (no unit), as for counts and ratios."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise Refusal(
            field, repr(text), "a plain number such as 300 or 1.5", INPUT_RULES, "is not a number"
        ) from None
    return _check_typed(value, field, repr(text))


def _check_characters(raw: str, kind: Kind, field: str) -> None:
    """Refuse digits other than 0-9 (the Bengali four looks like an 8) and control or invisible
    characters (a NUL, a zero-width space), which no one types on purpose into a quantity."""
    for character in raw:
        if character.isdigit() and not "0" <= character <= "9":
            raise Refusal(
                field,
                repr(raw),
                f"a {kind.label} written with the digits 0-9, e.g. {kind.examples}",
                INPUT_RULES,
                f"uses the digit {character!r} ({unicodedata.name(character, 'unnamed')})",
            )
        if unicodedata.category(character) in ("Cc", "Cf") and not character.isspace():
            raise Refusal(
                field,
                repr(raw),
                f"a {kind.label} of visible characters, e.g. {kind.examples}",
                INPUT_RULES,
                f"contains the control character U+{ord(character):04X}",
            )


def parse(text: object, kind: Kind, field: str, *, positive: bool = False) -> Q:
    """Parse user text such as "5 mg/day" as a quantity of `kind`.

    The result is expressed in the unit the user wrote when painpump prints that unit (so a dose
    given in mg stays in mg), otherwise in the canonical unit. Refuses a missing or unknown unit, a
    unit of another kind, a non-finite or negative number, and zero when `positive` is set.
    """
    raw = str(text)
    _check_characters(raw, kind, field)
    if "," in raw and "." not in raw and re.search(r"\d,\d", raw):
        raise Refusal(
            field,
            repr(raw),
            f"a {kind.label} with a decimal point, e.g. {kind.examples}",
            INPUT_RULES,
            "uses a decimal comma",
        )
    if re.search(r"\d,|,\d", raw):
        raise Refusal(
            field,
            repr(raw),
            f"a {kind.label} with a decimal point and no thousands separator, e.g. {kind.examples}",
            INPUT_RULES,
            "uses a comma (a decimal comma or a thousands separator)",
        )
    match = _NUMBER.match(raw)
    if not match:
        raise Refusal(
            field,
            repr(raw),
            f"a {kind.label}: a number and a unit, e.g. {kind.examples}",
            INPUT_RULES,
            "is not a quantity",
        )
    number_text, unit_text = match.groups()
    if not unit_text:
        raise Refusal(
            field,
            repr(raw),
            f"a {kind.label} with its unit, e.g. {kind.examples}",
            INPUT_RULES,
            "has no unit",
        )
    sign = _UNIT_SIGN.search(unit_text)
    if sign is not None:
        raise Refusal(
            field,
            repr(raw),
            f"a {kind.label} in known units, e.g. {kind.examples}",
            INPUT_RULES,
            f"has the sign {sign.group()!r} in its unit",
        )
    for word in _UNIT_WORD.findall(unit_text):
        if word not in ALLOWED_UNIT_WORDS:
            raise Refusal(
                field,
                repr(raw),
                f"a {kind.label} in known units, e.g. {kind.examples}",
                INPUT_RULES,
                f"has an unknown unit {word!r}",
            )
    try:
        number = Decimal(number_text)
    except InvalidOperation:  # an exponent beyond the decimal module's range
        raise Refusal(field, repr(raw), NUMBER_LIMIT, INPUT_RULES, "is out of range") from None
    value = _check_typed(number, field, repr(raw))
    registry = _registry()
    try:
        quantity = registry.Quantity(value, unit_text.replace("µ", "u"))
        canonical = quantity.to(kind.pint_unit).magnitude
    except Exception:
        raise Refusal(
            field,
            repr(raw),
            f"a {kind.label}, e.g. {kind.examples}",
            INPUT_RULES,
            f"is not a {kind.label}",
        ) from None
    canonical = Decimal(canonical)
    unit = _display_unit(kind, unit_text)
    if canonical < 0:
        raise Refusal(
            field, repr(raw), f"a {kind.label} of at least 0 {unit}", INPUT_RULES, "is negative"
        )
    if positive and canonical == 0:
        raise Refusal(field, repr(raw), f"a {kind.label} above 0 {unit}", INPUT_RULES, "is zero")
    return of(canonical.normalize() if canonical != 0 else Decimal(0), unit)


def _display_unit(kind: Kind, unit_text: str) -> str:
    """The display unit the user wrote (µg/ml is mcg/mL, h is hour), else the kind's canonical."""
    spelled = unit_text.replace(" ", "").replace("ml", "mL").replace("µ", "u").replace("ug", "mcg")
    for unit, (unit_kind, _, _) in DISPLAY_UNITS.items():
        if unit_kind is kind and unit.replace("hour", "h") == spelled.replace("hour", "h"):
            return unit
    return kind.canonical
