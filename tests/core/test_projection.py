"""The reservoir projection of a fill: the same alarm, empty and refill-by as plan_refill for one
program, a point at each program change, the alarm and empty found in whichever run they fall,
the drug's stability counted from the fill, and the curve cross-checked against the pump twin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.projection import ProgramRun, project
from painpump.core.refill import plan_refill, stability_limit
from painpump.core.twin import Twin, load_scenario
from painpump.core.units import Q

FILL = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SM20 = catalog.pump("synchromed-ii-20")
MARGIN = Decimal(7)


def ml(value: str) -> Q:
    return Q(Decimal(value), "mL")


def runs(*changes: tuple[float, str]) -> list[ProgramRun]:
    """Runs starting `days` after the fill at `rate` mL/day."""
    return [ProgramRun(Decimal(rate), FILL + timedelta(days=days)) for days, rate in changes]


def test_one_program_gives_plan_refills_dates_and_three_points() -> None:
    found = project(
        SM20,
        fill_at=FILL,
        fill_volume=ml("20"),
        runs=runs((0, "0.5")),
        alarm_volume=ml("2"),
        margin_days=MARGIN,
        stability=None,
    )
    plan = plan_refill(
        SM20, ml("20"), Q(Decimal("0.5"), "mL/day"), fill_at=FILL, alarm_volume=ml("2")
    )
    assert (found.alarm_at, found.empty_at, found.refill_by) == (
        plan.alarm_at,
        plan.empty_at,
        plan.refill_by,
    )
    assert found.alarm_at == FILL + timedelta(days=36)
    assert [(p.label, p.volume) for p in found.points] == [
        ("fill", ml("20")),
        ("low-reservoir alarm", ml("2")),
        ("empty", ml("0")),
    ]
    assert found.limited_by == "reservoir"
    assert found.daily_volume == Q(Decimal("0.5"), "mL/day")


def test_a_dose_change_adds_a_point_and_moves_the_alarm() -> None:
    # 20 mL at 0.5 mL/day for 10 days leaves 15 mL; then 1 mL/day: alarm 13 days later.
    found = project(
        SM20,
        fill_at=FILL,
        fill_volume=ml("20"),
        runs=runs((0, "0.5"), (10, "1")),
        alarm_volume=ml("2"),
        margin_days=MARGIN,
        stability=None,
    )
    change = found.points[1]
    assert change.label == "program change"
    assert change.at == FILL + timedelta(days=10)
    assert change.volume.canonical == Decimal(15)
    assert found.alarm_at == FILL + timedelta(days=23)
    assert found.empty_at == FILL + timedelta(days=25)
    assert found.refill_by == (FILL + timedelta(days=16)).date()
    assert found.daily_volume == Q(Decimal(1), "mL/day")


def test_an_alarm_before_a_later_change_is_kept_and_the_empty_time_follows_the_new_rate() -> None:
    # Alarm at day 36 at 0.5 mL/day; at day 38 (1 mL left) the rate halves: empty 4 days later.
    found = project(
        SM20,
        fill_at=FILL,
        fill_volume=ml("20"),
        runs=runs((0, "0.5"), (38, "0.25")),
        alarm_volume=ml("2"),
        margin_days=MARGIN,
        stability=None,
    )
    assert found.alarm_at == FILL + timedelta(days=36)
    assert found.empty_at == FILL + timedelta(days=42)
    assert [p.label for p in found.points] == [
        "fill",
        "low-reservoir alarm",
        "program change",
        "empty",
    ]


def test_ziconotides_first_refill_limit_counts_from_the_fill_after_a_titration() -> None:
    stability, _ = stability_limit(["ziconotide"], first_fill=True)
    assert stability is not None and stability.days == 14
    found = project(
        SM20,
        fill_at=FILL,
        fill_volume=ml("20"),
        runs=runs((0, "0.1"), (5, "0.12")),
        alarm_volume=ml("2"),
        margin_days=MARGIN,
        stability=stability,
    )
    assert found.limited_by == "stability"
    assert found.refill_by == date(2026, 3, 15)
    assert found.alarm_at > datetime(2026, 4, 1, tzinfo=UTC)


def test_no_program_or_one_not_started_at_the_fill_is_refused() -> None:
    common: dict[str, Any] = {
        "fill_at": FILL,
        "fill_volume": ml("20"),
        "alarm_volume": ml("2"),
        "margin_days": MARGIN,
        "stability": None,
    }
    with pytest.raises(Refusal, match="is empty"):
        project(SM20, runs=[], **common)
    with pytest.raises(Refusal, match="does not start at the fill"):
        project(SM20, runs=runs((1, "0.5")), **common)


def _twin_alarms(changes: list[tuple[float, str]], days: int) -> dict[str, datetime]:
    events = [
        {
            "at": (FILL + timedelta(days=at)).isoformat(),
            "kind": "program",
            "program": {"kind": "continuous", "rate": f"{rate} mL/day"},
        }
        for at, rate in changes[1:]
    ]
    scenario = load_scenario(
        {
            "start": FILL.isoformat(),
            "until": (FILL + timedelta(days=days)).isoformat(),
            "pump": {"model": "synchromed-ii-20", "alarm_volume": "2 mL"},
            "fill": {"volume": "20 mL", "drug": "baclofen", "concentration": "2000 mcg/mL"},
            "program": {"kind": "continuous", "rate": f"{changes[0][1]} mL/day"},
            "event": events,
        }
    )
    result = Twin(scenario).run()
    return {a.kind: datetime.fromtimestamp(a.at, UTC) for a in result.alarms}


@settings(max_examples=40, deadline=None)
# regressions: the alarm (2 mL left) and the empty reservoir reached the very second a run ends
@example(rates=[Decimal("1.000"), Decimal("0.500")], gaps=[18, 1, 1])
@example(rates=[Decimal("1.000"), Decimal("0.500")], gaps=[20, 1, 1])
@given(
    rates=st.lists(
        st.decimals(min_value=Decimal("0.05"), max_value=Decimal("1.5"), places=3),
        min_size=1,
        max_size=4,
    ),
    gaps=st.lists(st.integers(min_value=1, max_value=20), min_size=3, max_size=3),
)
def test_the_projection_agrees_with_the_pump_twin_to_the_second(
    rates: list[Decimal], gaps: list[int]
) -> None:
    starts = [0, *(sum(gaps[: i + 1]) for i in range(len(rates) - 1))]
    changes = [(float(s), str(r)) for s, r in zip(starts, rates, strict=True)]
    found = project(
        SM20,
        fill_at=FILL,
        fill_volume=ml("20"),
        runs=runs(*changes),
        alarm_volume=ml("2"),
        margin_days=MARGIN,
        stability=None,
    )
    twin = _twin_alarms(changes, days=500)
    assert abs((twin["low_reservoir"] - found.alarm_at).total_seconds()) <= 1
    assert abs((twin["empty"] - found.empty_at).total_seconds()) <= 1
    times = [p.at for p in found.points]
    volumes = [p.volume.canonical for p in found.points]
    assert times == sorted(times)
    assert volumes == sorted(volumes, reverse=True)
    assert volumes[-1] == 0
