"""ITB screening sequence and starting dose, with the label's reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core.baclofen import (
    ScreeningBolus,
    next_screening_step,
    starting_daily_dose,
)
from painpump.core.errors import Refusal
from painpump.core.units import Q

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


def mcg(value: int) -> Q:
    return Q(Decimal(value), "mcg")


@pytest.mark.parametrize(
    ("bolus", "hours", "daily", "factor", "reason"),
    [
        (mcg(50), "6", "100", 2, "not more than 8 h: 2 x"),
        (mcg(50), "8", "100", 2, "not more than 8 h: 2 x"),
        (mcg(50), "8.1", "50", 1, "more than 8 h: 1 x"),
        (mcg(75), "4", "150", 2, "2 x"),
        (mcg(100), "12", "100", 1, "1 x"),
        (Q(Decimal("0.025"), "mg"), "4", "50", 2, "2 x"),
    ],
    ids=[
        "50-mcg-6h-doubles",
        "50-mcg-exactly-8h-still-doubles",
        "50-mcg-over-8h-same-dose",
        "75-mcg-doubles",
        "100-mcg-12h-same-dose",
        "25-mcg-given-in-mg",
    ],
)
def test_starting_dose_from_effective_bolus(
    bolus: Q, hours: str, daily: str, factor: int, reason: str
) -> None:
    start = starting_daily_dose(bolus, Decimal(hours))
    assert start.daily_dose == Q(Decimal(daily), "mcg/day")
    assert start.factor == factor
    assert reason in start.reason
    assert "Lioresal label" in start.source


@pytest.mark.parametrize(
    ("bolus", "hours", "field"),
    [
        (mcg(101), "4", "effective_bolus"),
        (mcg(0), "4", "effective_bolus"),
        (mcg(50), "-1", "effect_hours"),
    ],
    ids=["above-100-mcg", "zero", "negative-hours"],
)
def test_starting_dose_refuses_non_screening_input(bolus: Q, hours: str, field: str) -> None:
    with pytest.raises(Refusal) as caught:
        starting_daily_dose(bolus, Decimal(hours))
    assert caught.value.field == field


def test_screening_starts_at_50_mcg() -> None:
    step = next_screening_step([])
    assert (step.action, step.dose) == ("give", mcg(50))
    assert "50 mcg, then 75 mcg, then 100 mcg" in step.source


def test_screening_escalates_24_hours_after_a_negative_bolus() -> None:
    step = next_screening_step([ScreeningBolus(mcg(50), False, T0)])
    assert (step.action, step.dose) == ("give", mcg(75))
    assert step.not_before == T0 + timedelta(hours=24)
    step = next_screening_step(
        [ScreeningBolus(mcg(50), False, T0), ScreeningBolus(mcg(75), False, T0)]
    )
    assert step.dose == mcg(100)


def test_no_response_to_100_mcg_is_not_a_candidate() -> None:
    history = [ScreeningBolus(mcg(d), False) for d in (50, 75, 100)]
    step = next_screening_step(history)
    assert step.action == "not_candidate"
    assert "100 mcg" in step.reason
    assert step.verified is True


def test_positive_response_makes_a_candidate() -> None:
    step = next_screening_step([ScreeningBolus(mcg(50), False), ScreeningBolus(mcg(75), True)])
    assert step.action == "candidate"
    assert "75 mcg" in step.reason


def test_small_patient_starts_at_25_then_continues_unverified() -> None:
    first = next_screening_step([], small_patient=True)
    assert first.dose == mcg(25)
    assert "Boster" in first.source
    second = next_screening_step([ScreeningBolus(mcg(25), False)], small_patient=True)
    assert second.dose == mcg(50)
    assert second.verified is False


@pytest.mark.parametrize(
    "history",
    [
        [ScreeningBolus(mcg(100), False)],
        [ScreeningBolus(mcg(50), True), ScreeningBolus(mcg(75), False)],
        [ScreeningBolus(mcg(d), False) for d in (50, 75, 100, 100)],
    ],
    ids=["skipped-steps", "bolus-after-positive", "beyond-100"],
)
def test_history_off_the_sequence_is_refused(history: list[ScreeningBolus]) -> None:
    with pytest.raises(Refusal) as caught:
        next_screening_step(history)
    assert caught.value.field.startswith("history[")
