"""`{{ refill|syringe_reading }}`: a refill whose aspirated residual differs from the expected
one by no more than a syringe is read to (core.refill.SYRINGE_READING), as the chart and the
session PDFs word it: the difference in mL "within the 0.2 mL a syringe is read to" instead of a
delivery error in percent, which of a tiny delivery says nothing (5 minutes after a fill, 0.09 mL
is 900 %); the reconciliation judges such a difference as no finding. "" for any other refill."""

from __future__ import annotations

from typing import Protocol

from django import template

from painpump.core.refill import DeliveryFinding, syringe_reading_words, within_syringe_reading
from painpump.core.units import Q, of

register = template.Library()
NOT_MEANINGFUL = "not meaningful: the difference is within the syringe's reading"
"""The delivery error the refill session PDF prints for such a refill, in place of its
percentage (its verdict then gives the difference in mL)."""


class Reconciled(Protocol):
    """A refill as a page or report holds it: the stored finding and difference (aspirated -
    expected; None at a first fill)."""

    @property
    def finding(self) -> str: ...

    @property
    def difference(self) -> Q | None: ...


def within_reading(refill: Reconciled) -> bool:
    """No finding, and aspirated and expected differ by no more than a syringe is read to."""
    difference = refill.difference
    return (
        refill.finding == DeliveryFinding.NONE
        and difference is not None
        and within_syringe_reading(difference.canonical)
    )


def reading_words(difference: Q) -> str:
    """ "aspirated 0.09 mL less than expected, within the 0.2 mL a syringe is read to
    (unverified)"."""
    amount = of(abs(difference.canonical), "mL")
    if difference.canonical < 0:
        said = f"aspirated {amount} less than expected"
    elif difference.canonical > 0:
        said = f"aspirated {amount} more than expected"
    else:
        said = "0 mL difference"
    return f"{said}, within {syringe_reading_words()}"


@register.filter
def syringe_reading(refill: Reconciled) -> str:
    if not within_reading(refill) or refill.difference is None:
        return ""
    return reading_words(refill.difference)
