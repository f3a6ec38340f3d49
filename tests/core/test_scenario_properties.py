"""Bad input for the pump twin's scenario files (core.twin.scenario): a valid scenario with any
of its values replaced by something hostile (another type, NaN, a wrong unit, a huge number, an
empty string) loads and runs, or is refused naming the key. No silent acceptance: a scenario
that loads never overfills its reservoir, never holds a rate outside a verified pump range and
never reads a string as a yes/no flag."""

from __future__ import annotations

import copy
import math
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.errors import Refusal
from painpump.core.twin import Twin, load_scenario
from painpump.core.twin.scenario import Scenario
from strategies import cases, quantity_texts, scenarios

hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from((math.nan, math.inf, -math.inf, 1e308, -0.0)),
    st.floats(),
    st.text(max_size=12),
    quantity_texts,
    st.sampled_from(("", "false", "0", "yes", "NaN mL", "1e999999 mL", "-1 mL", "25 mg/mL")),
    st.lists(st.integers(), max_size=2),
    st.just({}),
    st.just({"kind": "continuous"}),
    st.sampled_from((date(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59))),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key of every table and every item of every list, as a path from the document."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        out.append((*path, key))
        if isinstance(value, dict | list):
            out.extend(_paths(value, (*path, key)))
    return out


@st.composite
def hostile_documents(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """A valid scenario with one to three of its values replaced or removed, and those paths."""
    document = copy.deepcopy(draw(scenarios(max_days=30, max_events=3)))
    changed = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(draw(hostile_values))  # st.just shares one
        changed.append(path)
        if not _paths(document):
            break
    return document, changed


def _flags_are_booleans(document: dict[str, Any]) -> None:
    """primed and bridge are yes/no: a loaded scenario never took another value for one."""
    primed = document.get("pump", {}).get("primed", False)
    assert isinstance(primed, bool), primed
    programs = [document.get("program")] + [
        e.get("program") for e in document.get("event", []) if isinstance(e, dict)
    ]
    for program in programs:
        if isinstance(program, dict) and "bridge" in program:
            assert isinstance(program["bridge"], bool), program["bridge"]


def _within_the_device(scenario: Scenario) -> None:
    reservoir = scenario.pump.reservoir_volume
    if reservoir.verified:
        assert scenario.capacity_ml <= reservoir.value.canonical
    assert 0 < scenario.fill_volume_ml <= scenario.capacity_ml
    assert 0 <= scenario.alarm_volume_ml < scenario.capacity_ml
    assert 0 <= scenario.accuracy <= 10 and 0 <= scenario.dead_volume_ml <= 5
    for event in scenario.events:
        if event.volume_ml is not None:
            assert 0 < event.volume_ml <= scenario.capacity_ml
        assert scenario.start <= event.at <= scenario.until


@cases(60)
@given(hostile_documents())
def test_a_hostile_scenario_runs_within_the_device_or_is_refused_naming_the_key(
    case: tuple[dict[str, Any], list[tuple[Any, ...]]],
) -> None:
    document, _ = case
    try:
        scenario = load_scenario(copy.deepcopy(document))
    except Refusal as refusal:
        assert refusal.field and refusal.limit and refusal.source
        return
    _flags_are_booleans(document)
    _within_the_device(scenario)
    result = Twin(scenario, keep_log=False).run()
    assert result.reservoir_true >= 0 and result.reservoir_model >= 0
    assert result.filled == result.aspirated + result.delivered + result.reservoir_true


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"pump": {"model": "synchromed-ii-20", "primed": "false"}}, "pump.primed"),
        ({"program": {"kind": "flex", "steps": ["00:00"]}}, "program.steps[0]"),
        ({"program": {"kind": "continuous", "dose": "5 mg/day", "bridge": "no"}}, "program.bridge"),
        ({"ptm": {"bolus": "0.1 mL", "lockout": "1 hour", "max_per_day": 4, "requests": 5}},
         "ptm.requests"),
        ({"fill": {"volume": "20 mL", "drugs": 7}}, "fill.drugs"),
        ({"fill": {"volume": "20 mL", "drugs": []}}, "fill.drugs"),
    ],
)  # fmt: skip
def test_a_scenario_value_of_the_wrong_type_is_refused_naming_the_key(
    patch: dict[str, Any], field: str
) -> None:
    """Defect: primed = "false" and bridge = "no" were read as true (any non-empty string is),
    a flex step that was not a table crashed with AttributeError, and requests = 5 or
    drugs = 7 crashed with TypeError; drugs = [] with a dose program crashed with IndexError."""
    document: dict[str, Any] = {
        "start": "2026-01-05T00:00:00Z",
        "until": "2026-01-10T00:00:00Z",
        "pump": {"model": "synchromed-ii-20"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "10 mg/mL"},
        "program": {"kind": "continuous", "rate": "0.5 mL/day"},
        **patch,
    }
    with pytest.raises(Refusal) as caught:
        load_scenario(document)
    assert caught.value.field == field
