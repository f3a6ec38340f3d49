"""Catheter, priming and bridge volumes: the Prometra IFU formula, linearity, and refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.decision import Tier
from painpump.core.errors import Refusal
from painpump.core.units import Q
from painpump.core.volumes import (
    BRIDGE_SOURCE,
    bridge,
    catheter_volume_ml,
    implanted_length_cm,
    priming_volume_ml,
    priming_warning,
)

PROMETRA = catalog.catheter("prometra-catheter")


def cm(value: str) -> Q:
    return Q(Decimal(value), "cm")


@pytest.mark.parametrize(
    ("implanted", "trimmed", "length", "volume"),
    [
        ("45", None, "45", "0.117"),
        (None, "65", "45", "0.117"),
        (None, "0", "110", "0.286"),
        (None, "110", "0", "0"),
        ("110", None, "110", "0.286"),
    ],
    ids=["implanted-45", "trimmed-65-leaves-45", "untrimmed-110", "trimmed-all", "implanted-full"],
)
def test_prometra_catheter_volume_is_length_times_0_0026(
    implanted: str | None, trimmed: str | None, length: str, volume: str
) -> None:
    got = implanted_length_cm(
        PROMETRA,
        None if implanted is None else cm(implanted),
        None if trimmed is None else cm(trimmed),
    )
    assert got == Decimal(length)
    assert catheter_volume_ml(PROMETRA, got) == Decimal(volume)
    assert "Prometra II IFU p.33" in PROMETRA.volume_per_cm_source


@pytest.mark.parametrize(
    ("implanted", "trimmed", "field", "problem"),
    [
        ("45", "65", "implanted_length", "is ambiguous"),
        (None, None, "implanted_length", "is missing"),
        (None, "110.1", "trimmed_length", "is longer than the catheter"),
        ("111", None, "implanted_length", "is longer than the catheter"),
    ],
    ids=["both-given", "neither-given", "trimmed-over-full-length", "implanted-over-full-length"],
)
def test_catheter_lengths_are_refused_when_impossible(
    implanted: str | None, trimmed: str | None, field: str, problem: str
) -> None:
    with pytest.raises(Refusal) as caught:
        implanted_length_cm(
            PROMETRA,
            None if implanted is None else cm(implanted),
            None if trimmed is None else cm(trimmed),
        )
    assert caught.value.field == field
    assert caught.value.problem == problem


@given(
    st.decimals(min_value=Decimal(0), max_value=Decimal(55), places=2),
    st.decimals(min_value=Decimal(0), max_value=Decimal(55), places=2),
)
def test_catheter_volume_is_linear_in_length(a: Decimal, b: Decimal) -> None:
    assert catheter_volume_ml(PROMETRA, a + b) == catheter_volume_ml(
        PROMETRA, a
    ) + catheter_volume_ml(PROMETRA, b)
    assert catheter_volume_ml(PROMETRA, Decimal(0)) == 0


def test_priming_volume_adds_dead_volume_and_catheter() -> None:
    assert priming_volume_ml(Decimal("0.2"), Decimal("0.117")) == Decimal("0.317")
    warning = priming_warning()
    assert warning.verified is True
    assert warning.tier is Tier.SOFT  # acknowledged with a reason; the API read tier null
    assert "Priming Bolus" in warning.source
    assert "before the end of the priming bolus" in warning.message


def test_bridge_keeps_the_dose_at_the_old_concentration() -> None:
    b = bridge(
        Q(Decimal(10), "mg/mL"),
        Q(Decimal(20), "mg/mL"),
        Q(Decimal(4), "mg/day"),
        Q(Decimal("0.25"), "mL"),
    )
    assert b.bridge_volume == Q(Decimal("0.25"), "mL")
    assert b.bridge_rate == Q(Decimal("0.4"), "mL/day")
    assert b.bridge_duration == Q(Decimal(15), "hour")
    assert b.new_rate == Q(Decimal("0.2"), "mL/day")
    assert "UNCONFIRMED" in BRIDGE_SOURCE


@pytest.mark.parametrize(
    ("dead", "dose", "field"),
    [("0", "4", "dead_volume"), ("0.25", "0", "dose")],
    ids=["no-dead-volume", "no-dose"],
)
def test_bridge_refuses_nothing_to_bridge(dead: str, dose: str, field: str) -> None:
    with pytest.raises(Refusal) as caught:
        bridge(
            Q(Decimal(10), "mg/mL"),
            Q(Decimal(20), "mg/mL"),
            Q(Decimal(dose), "mg/day"),
            Q(Decimal(dead), "mL"),
        )
    assert caught.value.field == field


@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1), places=3),
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal(20000), places=1),
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal(20000), places=1),
)
def test_bridge_delivers_the_dead_volume_at_the_prescribed_dose(
    dead: Decimal, old_mcg_per_ml: Decimal, dose_mcg_per_day: Decimal
) -> None:
    b = bridge(
        Q(old_mcg_per_ml, "mcg/mL"),
        Q(old_mcg_per_ml * 2, "mcg/mL"),
        Q(dose_mcg_per_day, "mcg/day"),
        Q(dead, "mL"),
    )
    delivered_ml = b.bridge_rate.canonical * b.bridge_duration.to("day").value
    assert abs(delivered_ml - dead) < Decimal("1e-20")
    assert abs(b.bridge_rate.canonical * old_mcg_per_ml - dose_mcg_per_day) < Decimal("1e-20")
