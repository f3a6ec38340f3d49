"""`{{ setting.dose|dose }}`: a daily dose as the pages write it. Every digit of a dose its unit
prints in full (a prescribed 412.5 mcg/day, 1012.5 mcg/day, 0.125 mg/day, as str(Q) prints
it); a computed one finer than that (a flex day's mean over its steps, stored as 4266.666667
mcg/day: 4.266666667 mg/day) to four significant digits, as the twin's drug amounts are
written (core.twin_residual), its whole part never rounded: 4.267 mg/day. The value itself,
and every comparison of it, stays exact."""

from __future__ import annotations

from django import template

from painpump.core.twin_residual import AMOUNT_DIGITS, significant
from painpump.core.units import Q, format_decimal

register = template.Library()


def shown_dose(quantity: Q) -> str:
    if quantity.value == quantity.rounded():  # its unit prints every digit of it
        return str(quantity)
    digits = max(AMOUNT_DIGITS, quantity.value.adjusted() + 1)
    return f"{format_decimal(significant(quantity.value, digits))} {quantity.unit}"


@register.filter
def dose(value: Q | None) -> str:
    return "" if value is None else shown_dose(value)
