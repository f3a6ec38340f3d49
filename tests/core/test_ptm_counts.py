"""The patient-bolus counts a refill records: required while patient boluses are prescribed,
and only counts the pump can have reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    Fill,
    LastFill,
    PtmCounts,
    PumpState,
    RefillEntries,
    RunningProgram,
    decide_refill,
)
from painpump.core.units import Kind, parse

FILLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
MORPHINE = (("morphine", Decimal(10_000)),)


def morphine_pump(per_day: int | None) -> PumpState:
    """Morphine 10 mg/mL at 5 mg/day, with `per_day` patient boluses allowed (None: none)."""
    rate = Decimal("0.5")
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        alarm_volume=parse("2 mL", Kind.VOLUME, "a"),
        last_fill=LastFill(
            at=FILLED,
            volume=parse("20 mL", Kind.VOLUME, "v"),
            drugs=MORPHINE,
            refill_by=(FILLED + timedelta(days=28)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((rate, FILLED, None),),
            ptm=() if per_day is None else ((per_day, FILLED, None),),
        ),
        running=RunningProgram(Decimal(5000), rate, FILLED),
    )


def refill_after(days: float, ptm: PtmCounts | None) -> RefillEntries:
    return RefillEntries(
        at=FILLED + timedelta(days=days),
        expected=parse("6 mL", Kind.VOLUME, "e"),
        aspirated=parse("6 mL", Kind.VOLUME, "a"),
        fill=Fill(
            (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),),
            parse("20 mL", Kind.VOLUME, "v"),
            "L1",
        ),
        dose=parse("5 mg/day", Kind.DOSE_RATE, "d"),
        ptm=ptm,
    )


def test_counts_within_the_settings_are_taken() -> None:
    decision = decide_refill(
        morphine_pump(4),
        refill_after(28, PtmCounts(90, 80)),
        RULES,
        now=FILLED + timedelta(days=28),
    )
    assert decision.stop is None


@pytest.mark.parametrize(
    ("per_day", "counts", "field", "words"),
    [
        (4, None, "ptm_given", "required while patient boluses are prescribed"),
        (4, PtmCounts(10, 11), "ptm_given", "more than were requested"),
        (4, PtmCounts(200, 113), "ptm_given", "<= 112 (4 a day over 28 days"),
        (None, PtmCounts(3, 1), "ptm_given", "<= 0 (no patient boluses prescribed since"),
        (4, PtmCounts(-1, 0), "ptm_requests", "is negative"),
    ],
)
def test_counts_the_pump_cannot_have_reported_are_refused_naming_the_field(
    per_day: int | None, counts: PtmCounts | None, field: str, words: str
) -> None:
    with pytest.raises(Refusal) as refused:
        decide_refill(
            morphine_pump(per_day), refill_after(28, counts), RULES, now=FILLED + timedelta(days=28)
        )
    assert refused.value.field == field
    assert words in str(refused.value)


def test_a_pump_without_patient_boluses_needs_no_counts() -> None:
    decision = decide_refill(
        morphine_pump(None), refill_after(28, None), RULES, now=FILLED + timedelta(days=28)
    )
    assert decision.stop is None


def test_each_setting_allows_its_boluses_only_for_its_own_stretch_since_the_fill() -> None:
    """PTM switched on two days before the refill (4 a day): at most 8; switched off two days
    before it after 26 days at 4 a day: a count of 100 still fits."""
    at = FILLED + timedelta(days=28)
    state = morphine_pump(None)
    assert state.last_fill is not None
    on_lately = replace(
        state, last_fill=replace(state.last_fill, ptm=((4, at - timedelta(days=2), None),))
    )
    with pytest.raises(Refusal) as refused:
        decide_refill(on_lately, refill_after(28, PtmCounts(20, 9)), RULES, now=at)
    assert "<= 8 (4 a day over 2 days)" in refused.value.limit
    off_lately = replace(
        state, last_fill=replace(state.last_fill, ptm=((4, FILLED, at - timedelta(days=2)),))
    )
    assert (
        decide_refill(off_lately, refill_after(28, PtmCounts(120, 100)), RULES, now=at).stop is None
    )
