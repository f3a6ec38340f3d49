"""Route conversion: library ratios in both directions with their sources, user ratios, and the
refusal when no sourced ratio exists."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.opioids import USER_RATIO, convert
from painpump.core.units import Q


@pytest.mark.parametrize(
    ("dose", "from_route", "to_route", "expected", "ratio", "verified", "source"),
    [
        (
            Q(Decimal(300), "mg/day"),
            "oral",
            "intrathecal",
            Q(Decimal(1), "mg/day"),
            "300",
            True,
            "Krames 300:1",
        ),
        (
            Q(Decimal(1), "mg/day"),
            "intrathecal",
            "oral",
            Q(Decimal(100), "mg/day"),
            "100",
            False,
            "the lower ratio gives the lower oral dose",
        ),
        (Q(Decimal(30), "mg"), "oral", "iv", Q(Decimal(10), "mg"), "3", True, "3:1"),
        (Q(Decimal(10), "mg"), "iv", "oral", Q(Decimal(30), "mg"), "3", True, "3:1"),
        (
            Q(Decimal(1), "mg/day"),
            "intrathecal",
            "iv",
            Q(Decimal(33), "mg/day"),
            "33",
            False,
            "leaving the intrathecal route",
        ),
        (
            Q(Decimal(600), "mcg"),
            "oral",
            "intrathecal",
            Q(Decimal(2), "mcg"),
            "300",
            True,
            "Krames",
        ),
    ],
    ids=[
        "oral-300-mg-day-to-it-1",
        "it-1-mg-day-to-oral-300",
        "oral-30-mg-to-iv-10-keeps-amount-kind",
        "iv-10-mg-to-oral-30",
        "it-to-iv-derived-100-unverified",
        "mcg-stays-mcg",
    ],
)
def test_morphine_library_ratios_either_direction(
    dose: Q, from_route: str, to_route: str, expected: Q, ratio: str, verified: bool, source: str
) -> None:
    c = convert("morphine", dose, from_route, to_route)
    assert c.dose == expected
    assert c.dose.unit == dose.unit
    assert c.ratio == Decimal(ratio)
    assert c.verified is verified
    assert source in c.source


def test_ratio_text_reads_larger_dose_route_first() -> None:
    c = convert("morphine", Q(Decimal(1), "mg/day"), "intrathecal", "oral")
    assert c.ratio_text == "oral : intrathecal = 100 : 1"


def test_user_ratio_overrides_and_is_named() -> None:
    c = convert("morphine", Q(Decimal(200), "mg/day"), "oral", "intrathecal", Decimal(100))
    assert c.dose == Q(Decimal(2), "mg/day")
    assert c.source == USER_RATIO
    assert c.verified is False


def test_drug_without_sourced_ratio_is_refused_naming_the_missing_ratio() -> None:
    with pytest.raises(Refusal) as caught:
        convert("hydromorphone", Q(Decimal(1), "mg"), "oral", "intrathecal")
    assert caught.value.field == "ratio"
    assert "oral:intrathecal ratio for hydromorphone" in caught.value.limit


def test_hydromorphone_converts_with_a_user_ratio() -> None:
    c = convert("hydromorphone", Q(Decimal(10), "mg"), "oral", "intrathecal", Decimal(100))
    assert c.dose == Q(Decimal("0.1"), "mg")


@pytest.mark.parametrize(
    ("from_route", "to_route", "ratio", "field"),
    [
        ("rectal", "oral", None, "from_route"),
        ("oral", "epidural", None, "to_route"),
        ("oral", "oral", None, "to_route"),
        ("oral", "intrathecal", Decimal(0), "ratio"),
    ],
    ids=["unknown-from", "unknown-to", "same-route", "zero-ratio"],
)
def test_bad_routes_and_ratios_are_refused(
    from_route: str, to_route: str, ratio: Decimal | None, field: str
) -> None:
    with pytest.raises(Refusal) as caught:
        convert("morphine", Q(Decimal(10), "mg"), from_route, to_route, ratio)
    assert caught.value.field == field


def test_a_volume_is_not_a_dose() -> None:
    with pytest.raises(Refusal) as caught:
        convert("morphine", Q(Decimal(5), "mL"), "oral", "iv")
    assert caught.value.field == "dose"


@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10000), places=3),
    st.sampled_from(["oral", "iv", "intrathecal"]),
    st.sampled_from(["oral", "iv", "intrathecal"]),
)
def test_there_and_back_never_gives_more_than_the_start(amount: Decimal, a: str, b: str) -> None:
    """Each direction takes its conservative ratio, so a round trip never raises the dose (and
    returns it exactly where both directions share one ratio, oral and IV)."""
    if a == b:
        return
    there = convert("morphine", Q(amount, "mg"), a, b)
    back = convert("morphine", there.dose, b, a)
    assert back.dose.value <= amount + Decimal("1e-20")
    if {a, b} == {"oral", "iv"}:
        assert abs(back.dose.value - amount) < Decimal("1e-20")


@pytest.mark.parametrize(
    ("source", "target", "cautioned"),
    [
        ("intrathecal", "oral", "only a starting point"),
        ("intrathecal", "iv", "only a starting point"),
        ("oral", "intrathecal", "start at the intrathecal start dose"),
        ("iv", "intrathecal", "start at the intrathecal start dose"),
        ("iv", "oral", None),
    ],
)
def test_each_direction_through_the_intrathecal_route_carries_its_caution(
    source: str, target: str, cautioned: str | None
) -> None:
    out = convert("morphine", Q(Decimal(1), "mg/day"), source, target)
    assert (out.caution is not None) is (cautioned is not None)
    if out.caution is not None and cautioned is not None:
        assert out.caution.verdict is Verdict.WARN
        assert "am-j-hosp-palliat-care-2004-conversion" in out.caution.source
        assert cautioned in out.caution.message
