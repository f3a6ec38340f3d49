"""Bad input for the baclofen screening and starting dose (core.baclofen): any history of
boluses gives the label's next step or a Refusal naming the bolus; the starting dose is 1 or 2 x
an effective screening bolus of at most 100 mcg, whatever is typed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.baclofen import (
    SEQUENCE_MCG,
    SMALL_START_MCG,
    ScreeningBolus,
    next_screening_step,
    starting_daily_dose,
)
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q
from strategies import cases, hostile_decimals, with_wrong_kind

LABEL_DOSES = (SMALL_START_MCG, *SEQUENCE_MCG)
boluses = st.builds(
    ScreeningBolus,
    st.one_of(
        st.sampled_from(LABEL_DOSES).map(lambda mcg: Q(mcg, "mcg")),
        st.sampled_from(LABEL_DOSES).map(lambda mcg: Q(mcg / 1000, "mg")),
        st.sampled_from(LABEL_DOSES).map(lambda mcg: Q(mcg, "mg")),  # a thousand-fold slip
        with_wrong_kind(Kind.MASS, high=Decimal(200)),
    ),
    st.booleans(),
    st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
)


@cases(100)
@given(st.lists(boluses, max_size=5), st.booleans())
def test_the_next_step_follows_the_label_sequence_or_names_the_bolus(
    history: list[ScreeningBolus], small: bool
) -> None:
    try:
        step = next_screening_step(history, small_patient=small)
    except Refusal as refusal:
        assert refusal.field.startswith("history[")
        return
    sequence = ((SMALL_START_MCG,) if small else ()) + SEQUENCE_MCG
    # no silent acceptance: every bolus given was the label's dose at its place, in mcg
    assert [b.dose.canonical for b in history] == list(sequence[: len(history)])
    assert all(b.dose.kind is Kind.MASS for b in history)
    assert not any(b.positive for b in history[:-1])
    if step.action == "give":
        assert step.dose is not None and step.dose.canonical == sequence[len(history)]
    elif step.action == "candidate":
        assert history and history[-1].positive
    else:
        assert step.action == "not_candidate" and len(history) == len(sequence)


@cases(70)
@given(with_wrong_kind(Kind.MASS, high=Decimal(10) ** 6), hostile_decimals)
def test_the_starting_dose_is_one_or_two_times_a_screening_bolus(
    bolus: Q, effect_hours: Decimal
) -> None:
    try:
        start = starting_daily_dose(bolus, effect_hours)
    except Refusal as refusal:
        assert refusal.field in ("effective_bolus", "effect_hours")
        return
    assert bolus.kind is Kind.MASS and 0 < bolus.canonical <= SEQUENCE_MCG[-1]
    assert start.factor == (1 if effect_hours > 8 else 2)
    assert start.daily_dose.canonical == bolus.canonical * start.factor
    assert start.daily_dose.unit == "mcg/day"


def test_a_screening_bolus_in_millilitres_is_refused() -> None:
    """Defect: a 50 mL bolus was read as the label's 50 mcg (the canonical numbers matched)."""
    with pytest.raises(Refusal) as caught:
        next_screening_step([ScreeningBolus(Q(Decimal(50), "mL"), False, datetime(2026, 1, 5))])
    assert caught.value.field == "history[0]"


def test_a_nan_effect_duration_is_refused() -> None:
    """Defect: effect_hours=NaN crashed starting_daily_dose with decimal.InvalidOperation."""
    with pytest.raises(Refusal) as caught:
        starting_daily_dose(Q(Decimal(50), "mcg"), Decimal("NaN"))
    assert caught.value.field == "effect_hours"
