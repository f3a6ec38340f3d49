"""Bad input for the equianalgesic conversions (core.opioids): any drug, dose, route and ratio
gives a converted dose or a Refusal naming the field. A conversion there and back returns the
dose; towards intrathecal the dose shrinks by the ratio, never grows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.catalog import Drug
from painpump.core.errors import Refusal
from painpump.core.opioids import ROUTES, convert
from painpump.core.units import Kind, Q
from strategies import cases, drugs, hostile_decimals, hostile_names, with_wrong_kind

routes = st.one_of(
    st.sampled_from(ROUTES), st.sampled_from(("ORAL", " iv ", "IT", "")), hostile_names
)
FIELDS = ("drug", "from_route", "to_route", "dose", "ratio")


@cases(150)
@given(
    drugs,
    with_wrong_kind(Kind.MASS, high=Decimal(10) ** 6),
    routes,
    routes,
    st.one_of(st.none(), hostile_decimals),
)
@example(  # dividing by the smallest ratio overflowed the arithmetic: an internal error
    catalog.drug("baclofen"), Q(Decimal(10), "mcg"), "oral", "iv", Decimal("1E-999999")
)
def test_any_conversion_answers_or_refuses_naming_the_field(
    drug: Drug, dose: Q, a: str, b: str, ratio: Decimal | None
) -> None:
    try:
        out = convert(drug.name, dose, a, b, ratio)
    except Refusal as refusal:
        assert refusal.field in FIELDS
        return
    assert dose.kind in (Kind.MASS, Kind.DOSE_RATE) and out.dose.unit == dose.unit
    assert out.ratio > 0 and out.dose.value >= 0
    towards_intrathecal = ROUTES.index(b.strip().lower()) > ROUTES.index(a.strip().lower())
    if towards_intrathecal:
        assert out.dose.value == dose.value / out.ratio  # smaller by N, N from library or user
    else:
        assert out.dose.value == dose.value * out.ratio
    assert out.verified is False or ratio is None  # a user's ratio is never shown as verified


@cases(100)
@given(
    st.sampled_from(("mg", "mcg", "mg/day", "mcg/day")),
    st.integers(1, 10**6),
    st.sampled_from(ROUTES),
    st.sampled_from(ROUTES),
)
def test_morphine_there_and_back_never_raises_the_dose(
    unit: str, thousandths: int, a: str, b: str
) -> None:
    """Each direction through the intrathecal route has its conservative ratio: a round trip
    returns the dose or less, never more; between oral and IV it returns it."""
    if a == b:
        return
    dose = Q(Decimal(thousandths) / 1000, unit)
    there = convert("morphine", dose, a, b)
    back = convert("morphine", there.dose, b, a)
    assert back.dose.value <= dose.value * (1 + Decimal("1e-25"))
    if "intrathecal" not in (a, b):
        assert abs(back.dose.value - dose.value) <= dose.value * Decimal("1e-25")
    assert back.dose.unit == dose.unit


def test_a_huge_user_ratio_is_refused_not_overflowed() -> None:
    """Defect: --ratio 1e999999 crashed convert() with decimal.Overflow."""
    with pytest.raises(Refusal) as caught:
        convert("fentanyl", Q(Decimal(98), "mcg/day"), "iv", "oral", Decimal("1e999999"))
    assert caught.value.field == "ratio"
