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
    assert check_rate(SM20, rate("0.048")) == []


def test_rate_below_verified_synchromed_minimum_is_refused() -> None:
    with pytest.raises(Refusal) as caught:
        check_rate(SM20, rate("0.0479"))
    assert caught.value.field == "rate"
    assert caught.value.limit == ">= 0.048 mL/day (min_rate of synchromed-ii-20)"
    assert "prialt.com" in caught.value.source


@pytest.mark.parametrize(
    ("model", "value", "rule"),
    [("synchromed-ii-20", "24.1", "max_rate"), ("prometra-ii-20", "0.04", "min_rate")],
    ids=["synchromed-max-unverified", "prometra-min-placeholder-unverified"],
)
def test_rate_outside_unverified_limit_warns_and_asks_to_verify(
    model: str, value: str, rule: str
) -> None:
    warnings = check_rate(catalog.pump(model), rate(value))
    assert [w.rule for w in warnings] == [rule]
    assert warnings[0].verified is False
    assert "verify against the device labeling" in warnings[0].message


def test_fill_at_reservoir_volume_fits_and_above_is_refused() -> None:
    check_volume_fits(SM20, Q(Decimal(20), "mL"))
    with pytest.raises(Refusal) as caught:
        check_volume_fits(SM20, Q(Decimal("20.001"), "mL"))
    assert caught.value.problem == "overfills the pump"
