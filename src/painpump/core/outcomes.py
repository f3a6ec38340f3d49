"""The modified Ashworth scale of muscle tone, the spasticity outcome painpump records per limb:
six grades, 0, 1, 1+, 2, 3 and 4. 1+ lies between 1 and 2, so it is stored as 1.5 (grades sort
and chart in order) and always shown as "1+"; no other value is a grade."""

from __future__ import annotations

from decimal import Decimal

from painpump.core.units import format_decimal

ASHWORTH_SOURCE = (
    "bohannon-smith-1987-modified-ashworth: Bohannon RW, Smith MB. Interrater reliability of a "
    "modified Ashworth scale of muscle spasticity. Phys Ther 1987;67(2):206-207"
)
ASHWORTH_GRADES: dict[Decimal, str] = {
    Decimal(0): "0",
    Decimal(1): "1",
    Decimal("1.5"): "1+",
    Decimal(2): "2",
    Decimal(3): "3",
    Decimal(4): "4",
}
"""Each grade as stored and as written on the scale."""


def is_ashworth_grade(value: Decimal) -> bool:
    return value.is_finite() and value in ASHWORTH_GRADES


def ashworth_label(value: Decimal) -> str:
    """The grade as the scale writes it ("1+" for the stored 1.5); a value that is no grade (none
    is accepted now) is shown as the plain number it is."""
    if is_ashworth_grade(value):
        return ASHWORTH_GRADES[value]
    return format_decimal(value)
