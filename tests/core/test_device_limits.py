"""A pump's rate range: a verified limit refuses, an unverified one warns with its source."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.device_limits import check_rate, check_volume_fits
from painpump.core.errors import Refusal
from painpump.core.units import Q

SM20 = catalog.pump("synchromed-ii-20")


def rate(value: str) -> Q:
    return Q(Decimal(value), "mL/day")


def test_rate_at_synchromed_minimum_is_allowed() -> None:
    check_rate(SM20, rate("0.048"))


def test_rate_below_verified_synchromed_minimum_is_refused() -> None:
    with pytest.raises(Refusal) as caught:
        check_rate(SM20, rate("0.0479"))
    assert caught.value.field == "rate"
    assert caught.value.limit == (
        ">= 0.048 mL/day (min_rate of synchromed-ii-20, hard: the device's range)"
    )
    assert "prialt.com" in caught.value.source


@pytest.mark.parametrize(
    ("model", "value", "rule", "at_edge"),
    [
        ("synchromed-ii-20", "24.1", "max_rate", "24"),
        ("prometra-ii-20", "0.04", "min_rate", "0.048"),
    ],
    ids=["synchromed-max-unverified", "prometra-min-placeholder-unverified"],
)
def test_rate_outside_an_unverified_device_range_is_still_refused_hard(
    model: str, value: str, rule: str, at_edge: str
) -> None:
    pump = catalog.pump(model)
    check_rate(pump, rate(at_edge))
    with pytest.raises(Refusal) as caught:
        check_rate(pump, rate(value))
    assert f"({rule} of {model}, hard: the device's range)" in caught.value.limit
    assert "(unverified: verify against the device labeling)" in caught.value.source


def test_fill_at_reservoir_volume_fits_and_above_is_refused() -> None:
    check_volume_fits(SM20, Q(Decimal(20), "mL"))
    with pytest.raises(Refusal) as caught:
        check_volume_fits(SM20, Q(Decimal("20.001"), "mL"))
    assert caught.value.problem == "overfills the pump"
