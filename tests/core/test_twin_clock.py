"""The twin keeps time as seconds since the epoch: a daylight-saving night or an instant written
with another UTC offset neither doubles nor drops a dose (hazard H-16 of docs/hazards.md)."""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from painpump.core.errors import Refusal
from painpump.core.twin import Result, Twin, load_scenario
from painpump.core.twin.quantum import QUANTA_PER_ML

# Europe/Berlin: clocks go from 02:00 (+01:00) to 03:00 (+02:00) on 2026-03-29 and back from
# 03:00 (+02:00) to 02:00 (+01:00) on 2026-10-25.
SPRING_EVE, SPRING_NOON = "2026-03-28T12:00:00+01:00", "2026-03-29T12:00:00+02:00"
AUTUMN_EVE, AUTUMN_NOON = "2026-10-24T12:00:00+02:00", "2026-10-25T12:00:00+01:00"


def scenario(start: str, until: str, **changes: Any) -> dict[str, Any]:
    """SynchroMed II 20 mL, morphine 10 mg/mL filled to 20 mL, 0.48 mL/day (0.02 mL an hour)."""
    return {
        "start": start,
        "until": until,
        "pump": {"model": "synchromed-ii-20", "alarm_volume": "2 mL"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "10 mg/mL"},
        "program": {"kind": "continuous", "rate": "0.48 mL/day"},
    } | changes


def run(data: dict[str, Any]) -> Result:
    return Twin(load_scenario(copy.deepcopy(data))).run()


def ml(quanta: int) -> Fraction:
    return Fraction(quanta, QUANTA_PER_ML)


@pytest.mark.parametrize(
    ("start", "until", "hours"),
    [
        pytest.param(SPRING_EVE, SPRING_NOON, 23, id="spring-forward-noon-to-noon-is-23-hours"),
        pytest.param(AUTUMN_EVE, AUTUMN_NOON, 25, id="fall-back-noon-to-noon-is-25-hours"),
    ],
)
def test_a_daylight_saving_night_delivers_for_the_hours_that_really_passed(
    start: str, until: str, hours: int
) -> None:
    result = run(scenario(start, until))
    assert ml(result.delivered) == Fraction(2, 100) * hours
    assert result.delivered_amounts()["morphine"].canonical == Decimal("200") * hours


def test_the_same_instant_written_with_another_offset_gives_the_same_delivery() -> None:
    in_utc = run(scenario("2026-03-28T11:00:00Z", "2026-03-29T10:00:00Z"))
    in_local_time = run(scenario(SPRING_EVE, SPRING_NOON))
    assert in_utc.delivered == in_local_time.delivered
    assert in_utc.reservoir_model == in_local_time.reservoir_model


def test_a_ptm_lockout_is_counted_in_real_time_across_the_spring_forward_night() -> None:
    """01:30 (+01:00) to 03:30 (+02:00) reads as two hours on the wall but is one: denied."""
    ptm = {
        "bolus": "0.05 mL",
        "duration": "2 min",
        "lockout": "3 hour",
        "max_per_day": 3,
        "requests": [
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:30:00+02:00",
            "2026-03-29T04:29:59+02:00",
            "2026-03-29T05:30:00+02:00",
        ],
    }
    result = run(scenario(SPRING_EVE, SPRING_NOON, ptm=ptm))
    assert [(r.granted, r.reason) for r in result.ptm] == [
        (True, None),
        (False, "lockout"),
        (False, "lockout"),
        (True, None),
    ]


def test_an_event_stamped_before_the_start_by_a_wrong_clock_is_refused_not_merged() -> None:
    data = scenario(
        SPRING_EVE,
        SPRING_NOON,
        event=[{"at": "2026-03-28T10:59:59Z", "kind": "refill", "volume": "20 mL"}],
    )
    with pytest.raises(Refusal) as refused:
        load_scenario(data)
    assert refused.value.field.startswith("event[0]")
    assert "between start and until" in refused.value.limit
