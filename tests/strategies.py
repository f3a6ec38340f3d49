"""Hypothesis strategies for valid scenario documents (the TOML structure as Python dicts, every
quantity a string with its unit), shared by the twin's property and stateful tests.

The second half holds the hostile input for the calculators' property tests (bad input: any text,
wrong units and prefixes, non-finite and huge numbers, unicode digits, calendar edges) and the
`thorough` profile (HYPOTHESIS_PROFILE=thorough: at least 2000 cases a property).

Scenarios start on a half-hour grid and every other instant is on the minute grid, so that the
reference simulation (tests/reference.py) with a step of `reference_step(document)` seconds sees
every flex step at a step boundary. Rates stay in the SynchroMed II range 0.048-24 mL/day."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from math import gcd
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.units import ALLOWED_UNIT_WORDS, DISPLAY_UNITS, Kind, Q

BASE = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
DAY = 86_400

PROGRAMMABLE = ("synchromed-ii-20", "synchromed-ii-40", "prometra-ii-20", "prometra-ii-40")
CAPACITY_ML = {
    "synchromed-ii-20": 20,
    "synchromed-ii-40": 40,
    "prometra-ii-20": 20,
    "prometra-ii-40": 40,
    "constant-flow": 30,
}
# (drug, concentrations in mcg/mL): the first drug of a fluid is the one doses refer to
DRUGS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("morphine", (1000, 2000, 10_000, 20_000, 25_000)),
    ("hydromorphone", (2000, 10_000)),
    ("baclofen", (500, 1000, 2000)),
    ("ziconotide", (25, 100)),
    ("clonidine", (100, 500)),
    ("bupivacaine", (5000, 20_000)),
    ("sufentanil", (10, 50)),
)
OFFSETS = ("+00:00", "+01:00", "-05:00", "+05:30", "+02:00")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def iso(seconds: int) -> str:
    """Epoch seconds as an ISO 8601 instant in UTC."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def text(value: Decimal) -> str:
    """A Decimal in plain notation (no exponent, no trailing zeros)."""
    out = format(value, "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


def ml(value: Decimal) -> str:
    return f"{text(value)} mL"


def epoch(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp())


def reference_step(document: dict[str, Any]) -> int:
    """A step for the reference at which every flex step of the scenario lies on the grid: the
    grid runs from start, the pump clock's days start at midnight (UTC + offset)."""
    offset = document.get("pump", {}).get("utc_offset", "+00:00")
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset.lstrip("+-").split(":")
    midnight = (epoch(document["start"]) + sign * (int(hours) * 3600 + int(minutes) * 60)) % DAY
    return gcd(1800, midnight) or 1800


# -- building blocks --------------------------------------------------------------------------

rates = st.one_of(st.integers(48, 2000), st.integers(2000, 6000), st.integers(6000, 24_000)).map(
    lambda thousandths: Decimal(thousandths) / 1000
)
"""A rate in mL/day with three decimals, mostly the everyday 0.048-2 mL/day."""


@st.composite
def fluids(draw: st.DrawFn) -> dict[str, Any]:
    """A fill's drug and concentration, now and then an admixture of two drugs."""
    picks = draw(st.lists(st.sampled_from(DRUGS), min_size=1, max_size=2, unique_by=lambda d: d[0]))
    if len(picks) == 1 or draw(st.integers(0, 3)):
        name, concentrations = picks[0]
        return {"drug": name, "concentration": f"{draw(st.sampled_from(concentrations))} mcg/mL"}
    return {
        "drugs": [
            {"drug": name, "concentration": f"{draw(st.sampled_from(concs))} mcg/mL"}
            for name, concs in picks
        ]
    }


def principal_mcg_per_ml(fluid: dict[str, Any]) -> int:
    first = fluid["drugs"][0] if "drugs" in fluid else fluid
    return int(first["concentration"].split()[0])


@st.composite
def rate_fields(draw: st.DrawFn, concentration: int) -> dict[str, str]:
    """{"rate": ...} or, at the given concentration, the equivalent {"dose": ...}."""
    rate = draw(rates)
    if draw(st.booleans()):
        return {"rate": f"{text(rate)} mL/day"}
    return {"dose": f"{text(rate * concentration)} mcg/day"}


@st.composite
def programs(draw: st.DrawFn, concentration: int, kinds: tuple[str, ...] = ()) -> dict[str, Any]:
    """A [program] table: continuous (rate or dose, maybe bridged), flex (steps on the half hour,
    maybe weekday overrides), stopped, or a single bolus."""
    kinds = kinds or ("continuous", "continuous", "continuous", "flex", "flex", "stopped", "bolus")
    kind = draw(st.sampled_from(kinds))
    if kind == "stopped":
        return {"kind": "stopped"}
    if kind == "bolus":
        return {"kind": "bolus", **draw(boluses(concentration, key="volume"))}
    if kind == "continuous":
        fields = draw(rate_fields(concentration))
        bridge = "dose" in fields and draw(st.booleans())
        return {"kind": "continuous", **fields, **({"bridge": True} if bridge else {})}

    def day() -> st.SearchStrategy[list[dict[str, str]]]:
        return st.lists(st.integers(1, 47), max_size=4, unique=True).flatmap(
            lambda halves: st.tuples(
                *[rate_fields(concentration) for _ in range(len(halves) + 1)]
            ).map(
                lambda fields: [
                    {"start": f"{h // 2:02d}:{30 * (h % 2):02d}", **f}
                    for h, f in zip([0, *sorted(halves)], fields, strict=True)
                ]
            )
        )

    program: dict[str, Any] = {"kind": "flex", "steps": draw(day())}
    overridden = draw(st.lists(st.sampled_from(WEEKDAYS), max_size=2, unique=True))
    if overridden:
        program["weekdays"] = {name: draw(day()) for name in overridden}
    return program


@st.composite
def boluses(draw: st.DrawFn, concentration: int, key: str = "bolus") -> dict[str, str]:
    """A bolus as a volume (0.005-1 mL) or the dose of that volume, over whole minutes."""
    volume = Decimal(draw(st.integers(5, 1000))) / 1000
    minutes = draw(st.sampled_from((1, 2, 5, 10, 30, 60, 90)))
    amount = ml(volume) if draw(st.booleans()) else f"{text(volume * concentration)} mcg"
    return {key: amount, "duration": f"{minutes} min"}


@st.composite
def ptm_tables(draw: st.DrawFn, concentration: int, start: int, until: int) -> dict[str, Any]:
    """A [ptm] table with explicit requests on the minute grid and/or daily request times."""
    table: dict[str, Any] = draw(boluses(concentration))
    duration_min = int(table["duration"].split()[0])
    lockout_min = duration_min + draw(st.sampled_from((0, 1, 30, 59, 60, 120, 180, 360)))
    table["lockout"] = f"{lockout_min} min"
    table["max_per_day"] = draw(st.integers(1, 12))
    # requests as a chain of gaps, often exactly at a boundary: the lockout, a minute short of
    # it, 24 hours (the rolling daily window)
    boundary = (lockout_min, max(lockout_min - 1, 0), 24 * 60, 24 * 60 - 1)
    gaps = draw(
        st.lists(st.one_of(st.sampled_from(boundary), st.integers(0, 12 * 60)), max_size=25)
    )
    first = draw(st.integers(0, (until - start) // 60))
    moments = [start + 60 * (first + sum(gaps[:i])) for i in range(len(gaps) + 1)]
    table["requests"] = [iso(m) for m in moments if m <= until]
    daily = draw(st.lists(st.integers(0, 24 * 60 - 1), max_size=4, unique=True))
    if daily:
        table["daily"] = [f"{m // 60:02d}:{m % 60:02d}" for m in daily]
    return table


# -- whole scenarios --------------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn, max_days: int = 90, max_events: int = 6) -> dict[str, Any]:
    """A valid scenario document: a SynchroMed II or Prometra II (now and then a constant-flow
    pump), a first fill, a program, maybe a PTM, and up to `max_events` clinical events."""
    start = epoch(BASE.isoformat()) + 1800 * draw(st.integers(0, 48 * 28))
    until = start + 60 * draw(st.integers(60, max_days * 24 * 60))
    model = draw(st.sampled_from((*PROGRAMMABLE, *PROGRAMMABLE, "constant-flow")))
    capacity = CAPACITY_ML[model]
    pump: dict[str, Any] = {"model": model}
    if draw(st.booleans()):
        pump["alarm_volume"] = ml(Decimal(draw(st.integers(1, 50))) / 10)
    if draw(st.booleans()):
        pump["accuracy"] = draw(st.integers(80, 130)) / 100
    if draw(st.booleans()):
        pump["dead_volume"] = ml(Decimal(draw(st.integers(1, 500))) / 1000)
        pump["primed"] = draw(st.booleans())
    if draw(st.booleans()):
        pump["utc_offset"] = draw(st.sampled_from(OFFSETS))
    fill = {
        "volume": ml(Decimal(draw(st.integers(5, capacity * 10))) / 10),
        **draw(fluids()),
    }
    document: dict[str, Any] = {
        "start": iso(start),
        "until": iso(until),
        "pump": pump,
        "fill": fill,
    }
    concentration = principal_mcg_per_ml(fill)
    fixed = model == "constant-flow"
    if fixed:
        pump["rate"] = f"{text(Decimal(draw(st.integers(100, 5000))) / 1000)} mL/day"
    else:
        document["program"] = draw(programs(concentration))
        if draw(st.booleans()):
            document["ptm"] = draw(ptm_tables(concentration, start, until))
    document["event"] = draw(events(model, start, until, concentration, max_events))
    return document


@st.composite
def events(
    draw: st.DrawFn, model: str, start: int, until: int, concentration: int, most: int = 6
) -> list[dict[str, Any]]:
    """Clinical events in time order; a dose is expressed at the concentration then in force."""
    kinds = ["refill", "refill", "accuracy", "bolus", "priming"]
    if model in PROGRAMMABLE:
        kinds += ["program", "program", "mri"]
    if model.startswith("prometra"):
        kinds += ["valve_reset"]
    if model.startswith("synchromed"):
        kinds += ["eri"]
    minutes = draw(st.lists(st.integers(0, (until - start) // 60), max_size=most))
    out: list[dict[str, Any]] = []
    for minute in sorted(minutes):
        kind = draw(st.sampled_from(kinds))
        if kind == "eri" and any(e["kind"] == "eri" for e in out):
            kind = "accuracy"
        item: dict[str, Any] = {"at": iso(start + 60 * minute), "kind": kind}
        item.update(draw(event_fields(kind, model, concentration)))
        if kind == "refill" and ("concentration" in item or "drugs" in item):
            concentration = principal_mcg_per_ml(item)
        out.append(item)
    return out


@st.composite
def event_fields(draw: st.DrawFn, kind: str, model: str, concentration: int) -> dict[str, Any]:
    """The fields of one event of `kind` (besides at and kind)."""
    fixed = model == "constant-flow"
    if kind == "refill":
        fields: dict[str, Any] = {
            "volume": ml(Decimal(draw(st.integers(5, CAPACITY_ML[model] * 10))) / 10)
        }
        # A new concentration comes with a program written for it (on a programmable pump): a
        # dose program carried over may fall outside the pump's rate range, which is refused.
        changed = draw(st.booleans())
        if changed:
            fields.update(draw(fluids()))
            concentration = principal_mcg_per_ml(fields)
        if not fixed and (changed or draw(st.booleans())):
            fields["program"] = draw(programs(concentration))
        return fields
    if kind == "program":
        return {"program": draw(programs(concentration))}
    if kind == "mri":
        hours = draw(st.sampled_from((1, 2)))
        fields = {"duration": f"{hours} hour"}
        if draw(st.booleans()):
            fields["resume_delay"] = f"{draw(st.sampled_from((0, 2, 24)))} hour"
        return fields
    if kind == "accuracy":
        return {"factor": draw(st.integers(80, 130)) / 100}
    if kind == "bolus":
        return draw(boluses(concentration, key="volume"))
    if kind == "priming":
        if draw(st.booleans()):
            return {}
        return {"volume": ml(Decimal(draw(st.integers(1, 500))) / 1000), "duration": "1 hour"}
    return {}


# -- profiles ---------------------------------------------------------------------------------

THOROUGH_EXAMPLES = 2000
settings.register_profile(
    "thorough",
    max_examples=THOROUGH_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# CI's runs: the same cases every time, so a landing is never blocked by a case found that run;
# the default (random) and thorough profiles find new cases, pinned with @example when fixed.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"


def cases(default: int) -> settings:
    """Settings for a property of the calculators: `default` cases a run (the CI budget), at
    least 2000 under HYPOTHESIS_PROFILE=thorough."""
    count = max(default, THOROUGH_EXAMPLES) if THOROUGH else default
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# -- hostile input for the calculators --------------------------------------------------------

NUMBER_TEXTS = (
    "0", "-0", "1", "-1", "0.5", ".5", "5.", "+5", "1e3", "1E-3", "2.5e1",
    "1e999999", "-1e999999", "1e-999999", "1e12", "999999999999", "1e-15", "1e-16",
    "0.0000000000000001", "12345678901234567890123456789012",
    "1_000", "\uff11\uff12", "\u0661\u0662", "\u0663\u066b\u0665", "\u0967\u0968",
    "1,5", "1.000,5", "1 000", "NaN", "nan", "inf", "Infinity", "-inf", "sNaN",
    "0x10", "", " ", "+", "--1", "1e", "e5", "\u00bd", "\u00b2", "1/2", "5%",
)  # fmt: skip
"""Numbers as someone might type them, and what is not a number at all."""

UNIT_TEXTS = (
    *sorted(ALLOWED_UNIT_WORDS), *DISPLAY_UNITS,
    "mg/day", "mcg/day", "ug/day", "\u00b5g/day", "mL/h", "ml/hr", "mL/min", "mcg/h", "mg/d",
    "mg/mL", "mcg/mL", "ug/mL", "\u00b5g/mL", "mg/L", "g/L", "ng/mL", "mcg/uL",
    "Mg", "MG", "mgs", "units", "IU", "%", "kg", "lb", "mL/mL", "mg mg", "mg/", "/mL",
    "mg/mL/day", "day/mL", "cm/day", "\uff4dL", "mL\x00", "", "mL;DROP TABLE",
)  # fmt: skip
"""Unit words painpump knows, spellings it may not, units of every kind, and nonsense."""

quantity_texts = st.one_of(
    st.builds(
        lambda number, space, unit: f"{number}{space}{unit}",
        st.one_of(
            st.sampled_from(NUMBER_TEXTS),
            st.decimals(allow_nan=False, allow_infinity=False).map(str),
            st.integers().map(str),
            st.floats().map(repr),
        ),
        st.sampled_from(("", " ", "  ", "\t", "\u00a0", "\n")),
        st.sampled_from(UNIT_TEXTS),
    ),
    st.text(max_size=24),
)
"""Any text where a quantity belongs, mostly number + unit."""

SPECIAL_DECIMALS = tuple(
    Decimal(x)
    for x in ("NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "1e999999", "-1e999999",
              "1e-999999", "1e12", "1e30", "-1", "-0", "0", "1e-16")
)  # fmt: skip
hostile_decimals = st.one_of(
    st.sampled_from(SPECIAL_DECIMALS),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-100, max_value=100, places=3),
)
"""Numbers a calculator may be handed directly: non-finite, huge, tiny, negative, ordinary."""

UNITS_OF: dict[Kind, tuple[str, ...]] = {
    kind: tuple(u for u, (k, _, _) in DISPLAY_UNITS.items() if k is kind) for kind in Kind
}


def magnitudes(low: Decimal = Decimal(0), high: Decimal = Decimal(10) ** 6) -> Any:
    """Decimals from `low` to `high`, mostly with few places, often at the ends."""
    return st.one_of(
        st.sampled_from((low, high)),
        st.decimals(min_value=low, max_value=high, places=3),
        st.decimals(min_value=low, max_value=min(high, low + 1), places=12),
    )


@st.composite
def quantities(
    draw: st.DrawFn,
    kind: Kind,
    low: Decimal = Decimal(0),
    high: Decimal = Decimal(10) ** 6,
    units: tuple[str, ...] = (),
) -> Q:
    """A quantity of `kind` in any unit of the kind, its canonical value from `low` to `high`:
    what a calculator receives from a form, a request or a file (units.parse returns exactly
    this for "<value> <unit>", test_units_properties proves it; built directly, as pint is slow)."""
    unit = draw(st.sampled_from(units or UNITS_OF[kind]))
    factor = DISPLAY_UNITS[unit][1]
    low_, high_ = low / factor, high / factor
    value = draw(
        st.one_of(
            st.decimals(min_value=low_, max_value=high_, places=3),
            st.decimals(min_value=low_, max_value=high_, places=9),
        )
    )
    return Q(value.normalize() if value else Decimal(0), unit)


def other_kinds(kind: Kind) -> Any:
    """A quantity of any kind but `kind` (a volume where a dose belongs)."""
    return st.sampled_from([k for k in Kind if k is not kind]).flatmap(quantities)


def with_wrong_kind(kind: Kind, low: Decimal = Decimal(0), high: Decimal = Decimal(10) ** 6) -> Any:
    """Mostly a quantity of `kind`, now and then one of another kind."""
    return st.one_of(quantities(kind, low, high), quantities(kind, low, high), other_kinds(kind))


ZONES = (None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12)))
any_dates = st.one_of(
    st.dates(),
    st.sampled_from((date.min, date.max, date(1, 1, 31), date(9999, 12, 1), date(2024, 2, 29))),
)
"""Any day of the calendar, often at its ends."""
any_datetimes = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.one_of(st.datetimes(), st.sampled_from((datetime.min, datetime.max))),
    st.sampled_from(ZONES),
)
"""Any moment, naive or with an offset as far as +14:00 and -12:00, often at the calendar's ends."""

pumps = st.sampled_from(sorted(catalog.pumps())).map(catalog.pump)
drugs = st.sampled_from(sorted(catalog.drugs())).map(catalog.drug)
hostile_names = st.one_of(
    st.text(max_size=16),
    st.sampled_from(("", " ", "MORPHINE", " baclofen ", "morphine\x00", "m\u043erphine")),
)
"""Names a catalog lookup may be asked for: case and spaces, homoglyphs, nonsense."""
