"""Each implanted pump's dates (low-reservoir alarm, empty, expected residual) from running the twin
(core.twin) over the pump's recorded history, rather than the constant-rate closed form
(core.refill.plan_refill), so that flex programs, program changes and patient boluses count.

- The run starts at the last fill at or before `at`. Only what was recorded by `at` counts (fills,
  programs and bolus counts after it are left out): a forecast for a past moment is the one the
  clinic could have made then. The program running at the fill and those started since drive the
  twin. The reservoir is the one the pump computes (accuracy factor 1), as its own alarm does.
- A dose-based program delivers at the fill's principal concentration, as the twin recomputes a
  program at a refill. A constant-flow pump's program is its fixed rate, its first program's dose
  at the concentration that program was prescribed for; it takes no other rate (as scenario.py).
- Patient boluses: a BolusCount within the run spreads its count evenly over the time in it that a
  PTM was programmed (even spacing keeps the lockout wherever any placement of that many could).
  All other time, the future included, assumes every allotted bolus, as the pumps' refill-date
  rules do: `max_per_day` a day one lockout apart, each stretch under one PTM setting counting its
  days from its start. A bolus's volume is its dose over the fill's principal concentration. They
  enter the twin as bolus events: its PTM holds one setting a fill, a program here brings its own.
- A single bolus runs over its duration from the program's start, then the pump stops (its
  reservoir holds what is left: no alarm or empty date follows); a stopped pump gives nothing
  from its program's start.
- Flex steps are clinic wall-clock times in `tz`. Each program keeps the UTC offset in force when
  it started, as the pump's clock does: a daylight-saving change while it runs shifts its steps by
  an hour on the clinic's clock.
- A fill that ran a bridge drives the path's volume at the recorded bridge rate before its
  program; one that ran a priming bolus draws the path's volume over the bolus's duration at the
  fill (rule-fluid-change).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from operator import itemgetter

from painpump.core import catalog, fluid_change
from painpump.core.catalog import Pump
from painpump.core.device_limits import check_volume_fits
from painpump.core.errors import Refusal
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    ProgramKind,
    check_shape,
)
from painpump.core.projection import Point, Projection
from painpump.core.refill import (
    MARGIN_SOURCE,
    LimitedBy,
    StabilityLimit,
    fill_stability,
    first_of_drug,
    refill_day_for,
)
from painpump.core.twin import Scenario, Twin
from painpump.core.twin.quantum import SECONDS_PER_DAY, SECONDS_PER_WEEK, instant, ml
from painpump.core.twin.scenario import BolusSpec, Event, Fluid, ProgramSpec, Rate
from painpump.core.units import Kind, Q, expect, in_unit, of

RULES = "painpump forecast rules (core.pump_twin)"
HORIZON_DAYS = 1000
"""Beyond any fill at the slowest rate a pump runs (a 40 mL reservoir at 0.048 mL/day)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MARK = "forecast_at"
"""An event kind the twin does not know (so it does nothing): where the residual is read."""

Drugs = tuple[tuple[str, Decimal], ...]
"""Drug names with concentrations in mcg/mL, the principal first."""


@dataclass(frozen=True)
class RecordedFill:
    """A fill (first fill or refill) as recorded; `at` aware."""

    at: datetime
    volume_ml: Decimal
    drugs: Drugs
    bridge_rate_ml_per_day: Decimal | None = None
    """The bridge run from the fill (the path's old fluid at this rate first), if any."""
    priming: tuple[Decimal, int] | None = None
    """The priming bolus run at the fill: mL over seconds, if any."""


@dataclass(frozen=True)
class RecordedProgram:
    """A program the pump ran from `at` until the next one, prescribed for `drugs` (its doses are
    of the principal drug)."""

    at: datetime
    drugs: Drugs
    program: PrescribedProgram
    ptm: PatientBolus | None


@dataclass(frozen=True)
class BolusCount:
    """PTM boluses the pump reported as given between two moments (interrogated at a refill)."""

    since: datetime
    until: datetime
    given: int


@dataclass(frozen=True)
class PumpHistory:
    """An implanted pump's record; `tz` is the clinic's zone, in which flex steps are read."""

    pump: Pump
    alarm_volume_ml: Decimal
    dead_volume_ml: Decimal
    tz: tzinfo
    fills: tuple[RecordedFill, ...]
    programs: tuple[RecordedProgram, ...]
    boluses: tuple[BolusCount, ...] = ()


@dataclass(frozen=True)
class Forecast:
    """What the pump's computed reservoir holds at `at` (never negative), when it reaches the
    alarm volume and empties (None: not within the horizon), and how many PTM boluses it assumed
    (not from a count) up to then."""

    at: datetime
    residual_ml: Decimal
    alarm_at: datetime | None
    empty_at: datetime | None
    boluses_assumed: int
    marks: tuple[tuple[datetime, Decimal], ...] = ()
    """The residual (mL) at each moment asked for and at `at`, in time order (0 once empty)."""


class _Emptied(Exception):
    """The computed reservoir is empty: nothing later in the run (no fill) changes it."""


class _Watched(Twin):
    """The twin noting the instants its computed reservoir reaches the alarm volume and empties
    (a run without its log keeps counts only, and a constant-flow pump announces nothing) and
    what it holds at the mark; the run stops when it is empty."""

    __slots__ = ("alarm_s", "empty_s", "marked")

    def __init__(self, scenario: Scenario) -> None:
        self.alarm_s: int | None = None
        self.empty_s: int | None = None
        self.marked: dict[int, int] = {}
        super().__init__(scenario, keep_log=False)

    def _alarm(self, kind: str, **details: object) -> None:
        if kind == "low_reservoir":
            self.alarm_s = self.t
        elif kind == "empty":
            self.empty_s = self.t
            raise _Emptied
        super()._alarm(kind, **details)

    def _event(self, event: Event) -> None:
        if event.kind == _MARK:
            self.marked[self.t] = self.model
        else:
            super()._event(event)


Stretch = tuple[int, int, PatientBolus, BolusSpec]
"""From, to (epoch seconds), the PTM setting then and its bolus for the twin."""


def forecast(
    history: PumpHistory,
    at: datetime,
    *,
    horizon_days: int = 400,
    marks: Sequence[datetime] = (),
) -> Forecast:
    """The pump's residual at `at`, and its alarm and empty within `horizon_days` after `at`;
    with `marks`, the residual at each of those moments of the run too (a reservoir curve)."""
    now = _seconds(at, "at")
    if horizon_days < 0:
        raise Refusal("horizon_days", str(horizon_days), ">= 0 day", RULES, "is negative")
    until = now + horizon_days * SECONDS_PER_DAY
    fill_index, fill = _last_fill(history, now, at)
    start = _seconds(fill.at, f"fills[{fill_index}].at")
    runs = _runs(history, fill, start, now)
    specs = [_spec(history, index, recorded, fill) for index, recorded, _ in runs]
    if history.pump.fixed_rate:
        _check_rate_kept(history, runs, specs)
    if fill.bridge_rate_ml_per_day is not None and not history.pump.fixed_rate:
        specs[0] = replace(
            specs[0], bridge=True, bridge_rate_ml_per_day=fill.bridge_rate_ml_per_day
        )
    ptm = _ptm_stretches(runs, until)
    counted, covered = _counted(history, ptm, start, now)
    assumed = [
        (t, bolus)
        for begin, end in _gaps(covered, start, _emptied_by(start, until, fill, specs))
        for piece_start, piece_end, setting, bolus in _within(ptm, begin, end)
        for t in _allotted(piece_start, piece_end, setting)
    ]
    timed: list[tuple[int, int, ProgramSpec | BolusSpec | None]] = [
        (begin, 0, spec)
        for (_, _, begin), spec in zip(runs[1:], specs[1:], strict=True)
        if not history.pump.fixed_rate
    ]
    timed += [(t, 1, bolus) for t, bolus in counted + assumed]
    if fill.priming is not None:
        timed.append((start, 1, BolusSpec(fill.priming[0], None, fill.priming[1])))
    timed.append((now, 2, None))
    moments = {_seconds(m, f"marks[{i}]") for i, m in enumerate(marks)}
    timed += [(t, 2, None) for t in sorted(moments) if start <= t <= until and t != now]
    timed.sort(key=itemgetter(0, 1))
    scenario = Scenario(
        start=start,
        until=until,
        pump=history.pump,
        capacity_ml=history.pump.reservoir_volume.value.canonical,
        alarm_volume_ml=history.alarm_volume_ml,
        accuracy=Decimal(1),
        dead_volume_ml=history.dead_volume_ml,
        primed=True,
        offset_s=0,
        fill_volume_ml=fill.volume_ml,
        fill=Fluid(fill.drugs),
        program=specs[0],
        ptm=None,
        events=_events(timed),
        eri_to_stop_s=None,
        mri_resume_delay_s=0,
    )
    twin = _Watched(scenario)
    with suppress(_Emptied):
        twin.run()
    last = twin.empty_s if twin.empty_s is not None else until
    residuals = {t: twin.marked.get(t, 0) for t in moments | {now} if start <= t <= until}
    return Forecast(
        at=at.astimezone(UTC),
        residual_ml=ml(residuals[now]),
        alarm_at=None if twin.alarm_s is None else instant(twin.alarm_s),
        empty_at=None if twin.empty_s is None else instant(twin.empty_s),
        boluses_assumed=sum(1 for t, _ in assumed if t < last),
        marks=tuple((instant(t), ml(volume)) for t, volume in sorted(residuals.items())),
    )


def _seconds(moment: datetime, field: str) -> int:
    """An aware moment as whole epoch seconds (fractions floored, as the twin counts seconds)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Refusal(field, moment.isoformat(), "an aware moment (UTC)", RULES, "has no zone")
    return (moment - EPOCH) // timedelta(seconds=1)


def _last_fill(history: PumpHistory, now: int, at: datetime) -> tuple[int, RecordedFill]:
    fills = [(_seconds(fill.at, f"fills[{i}].at"), i, fill) for i, fill in enumerate(history.fills)]
    before = [entry for entry in fills if entry[0] <= now]
    if not before:
        first = min(fills, key=itemgetter(0), default=None)
        raise Refusal(
            "at",
            at.isoformat(),
            "a recorded fill"
            if first is None
            else f"at or after the first fill ({first[2].at.isoformat()})",
            RULES,
            "is before any fill",
        )
    _, index, fill = max(before, key=itemgetter(0, 1))
    field = f"fills[{index}]"
    if fill.volume_ml <= 0:
        raise Refusal(f"{field}.volume_ml", f"{fill.volume_ml} mL", "> 0 mL", RULES, "is no fill")
    check_volume_fits(history.pump, of(fill.volume_ml, "mL"), f"{field}.volume_ml")
    if not fill.drugs:
        raise Refusal(f"{field}.drugs", "none", "at least one drug", RULES, "is empty")
    return index, fill


def _runs(
    history: PumpHistory, fill: RecordedFill, start: int, now: int
) -> list[tuple[int, RecordedProgram, int]]:
    """(index, program, start in the run) of the program in force at the fill and of those
    started since, up to `now`, in time order."""
    known = sorted(
        (
            (_seconds(recorded.at, f"programs[{i}].at"), i, recorded)
            for i, recorded in enumerate(history.programs)
        ),
        key=itemgetter(0, 1),
    )
    at_fill = [entry for entry in known if entry[0] <= start]
    if not at_fill:
        raise Refusal(
            "programs",
            "none" if not known else f"the first from {known[0][2].at.isoformat()}",
            f"the program running at the fill of {fill.at.isoformat()}",
            RULES,
            "is missing",
        )
    first = at_fill[-1]
    since = [entry for entry in known if start < entry[0] <= now]
    return [(first[1], first[2], start)] + [(i, recorded, t) for t, i, recorded in since]


def _spec(
    history: PumpHistory, index: int, recorded: RecordedProgram, fill: RecordedFill
) -> ProgramSpec:
    """The twin's program for a recorded one: day patterns in UTC (the scenario's offset is 0)."""
    field = f"programs[{index}]"
    program = recorded.program
    check_shape(history.pump, program, recorded.ptm)
    if not recorded.drugs or recorded.drugs[0][0] != fill.drugs[0][0]:
        raise Refusal(
            f"{field}.drugs",
            recorded.drugs[0][0] if recorded.drugs else "none",
            f"{fill.drugs[0][0]}, the principal drug of the fill of {fill.at.isoformat()}",
            RULES,
            "is not the drug in the pump",
        )
    if recorded.ptm is not None:
        expect(recorded.ptm.dose, Kind.MASS, f"{field}.ptm.dose")
    days = tuple(
        tuple(
            (
                step.start_s,
                Rate(dose_mcg_per_day=expect(step.dose, Kind.DOSE_RATE, f"{field}.dose").canonical),
            )
            for step in day
        )
        for day in program.days
    )
    if history.pump.fixed_rate:
        dose = days[0][0][1].dose_mcg_per_day or Decimal(0)
        fixed = Rate(rate_ml_per_day=dose / recorded.drugs[0][1])
        return ProgramSpec("continuous", days=(((0, fixed),),) * 7)
    if program.kind is ProgramKind.CONTINUOUS:
        return ProgramSpec("continuous", days=days)
    if program.kind is ProgramKind.STOPPED:
        return ProgramSpec("stopped")
    if program.bolus is not None:  # then stopped; its days give nothing
        dose = expect(program.bolus.dose, Kind.MASS, f"{field}.bolus.dose").canonical
        bolus = BolusSpec(None, dose, program.bolus.duration_s)
        return ProgramSpec("bolus", days=days, bolus=bolus)
    offset = recorded.at.astimezone(history.tz).utcoffset()
    offset_s = int(offset.total_seconds()) if offset is not None else 0
    return ProgramSpec("flex", days=_utc_days(days, offset_s))


def _check_rate_kept(
    history: PumpHistory, runs: list[tuple[int, RecordedProgram, int]], specs: list[ProgramSpec]
) -> None:
    """A constant-flow pump's later programs must keep the rate of its first."""
    for (index, recorded, _), spec in zip(runs[1:], specs[1:], strict=True):
        if spec != specs[0]:
            drug = catalog.drug(recorded.drugs[0][0])
            raise Refusal(
                f"programs[{index}]",
                in_unit(recorded.program.days[0][0].dose, drug.dose_rate_unit),
                "the fixed rate of the pump's first program: a constant-flow pump's rate is "
                "set at manufacture",
                history.pump.flex_steps_per_day.source,
                "cannot be programmed",
            )


def _ptm_stretches(runs: list[tuple[int, RecordedProgram, int]], until: int) -> list[Stretch]:
    """The time each program with a PTM setting ran in the run."""
    ends = [begin for _, _, begin in runs[1:]] + [until]
    return [
        (begin, end, ptm, BolusSpec(None, ptm.dose.canonical, ptm.duration_s))
        for (_, recorded, begin), end in zip(runs, ends, strict=True)
        if (ptm := recorded.ptm) is not None and begin < end
    ]


def _utc_days(
    days: tuple[tuple[tuple[int, Rate], ...], ...], offset_s: int
) -> tuple[tuple[tuple[int, Rate], ...], ...]:
    """Seven day patterns on a clock at UTC + `offset_s` as the same week on the UTC clock."""
    steps = sorted(
        (
            ((weekday * SECONDS_PER_DAY + start - offset_s) % SECONDS_PER_WEEK, rate)
            for weekday, day in enumerate(days)
            for start, rate in day
        ),
        key=itemgetter(0),
    )
    rate = steps[-1][1]  # in force at Monday 00:00 UTC: the week's last step before it
    out: list[tuple[tuple[int, Rate], ...]] = []
    i = 0
    for weekday in range(7):
        midnight = weekday * SECONDS_PER_DAY
        starts_at_midnight = i < len(steps) and steps[i][0] == midnight
        day: list[tuple[int, Rate]] = [] if starts_at_midnight else [(0, rate)]
        while i < len(steps) and steps[i][0] < midnight + SECONDS_PER_DAY:
            start, rate = steps[i][0] - midnight, steps[i][1]
            day.append((start, rate))
            i += 1
        out.append(tuple(day))
    return tuple(out)


def _counted(
    history: PumpHistory, ptm: list[Stretch], start: int, now: int
) -> tuple[list[tuple[int, BolusSpec]], list[tuple[int, int]]]:
    """The boluses of the counts within the run, and the intervals those counts cover."""
    placed: list[tuple[int, BolusSpec]] = []
    covered: list[tuple[int, int]] = []
    for i, count in enumerate(history.boluses):
        since = _seconds(count.since, f"boluses[{i}].since")
        until = _seconds(count.until, f"boluses[{i}].until")
        if until <= since:
            raise Refusal(
                f"boluses[{i}].until",
                count.until.isoformat(),
                f"after since ({count.since.isoformat()})",
                RULES,
                "is not after since",
            )
        if count.given < 0:
            raise Refusal(f"boluses[{i}].given", str(count.given), ">= 0", RULES, "is negative")
        if since < start or until > now:
            continue
        if any(since < end and begin < until for begin, end in covered):
            raise Refusal(
                f"boluses[{i}].since",
                count.since.isoformat(),
                "no overlap with another count",
                RULES,
                "counts boluses twice",
            )
        covered.append((since, until))
        placed += _spread(count.given, _within(ptm, since, until), f"boluses[{i}].given")
    covered.sort()
    return placed, covered


def _spread(given: int, stretches: list[Stretch], field: str) -> list[tuple[int, BolusSpec]]:
    """`given` boluses evenly over the stretches' time, each at the middle of its share."""
    total = sum(end - begin for begin, end, _, _ in stretches)
    if given and not total:
        raise Refusal(
            field,
            str(given),
            "0 where no program allowed patient boluses",
            RULES,
            "counts boluses no program allowed",
        )
    placed: list[tuple[int, BolusSpec]] = []
    passed, index = 0, 0
    for k in range(given):
        position = (2 * k + 1) * total // (2 * given)
        begin, end, _, bolus = stretches[index]
        while position >= passed + end - begin:
            passed += end - begin
            index += 1
            begin, end, _, bolus = stretches[index]
        placed.append((begin + position - passed, bolus))
    return placed


def _within(ptm: list[Stretch], begin: int, end: int) -> list[Stretch]:
    """The PTM stretches cut to [begin, end)."""
    return [
        (max(b, begin), min(e, end), setting, bolus)
        for b, e, setting, bolus in ptm
        if max(b, begin) < min(e, end)
    ]


def _gaps(covered: list[tuple[int, int]], start: int, until: int) -> Iterator[tuple[int, int]]:
    """The parts of [start, until) no count covers (covered: sorted, not overlapping)."""
    cursor = start
    for begin, end in covered:
        if begin > cursor:
            yield cursor, begin
        cursor = end
    if cursor < until:
        yield cursor, until


def _allotted(begin: int, end: int, setting: PatientBolus) -> Iterator[int]:
    """Every bolus the setting allows in [begin, end): `max_per_day` a day, a lockout apart."""
    for day in range(begin, end, SECONDS_PER_DAY):
        for k in range(setting.max_per_day):
            t = day + k * setting.lockout_s
            if t >= end:
                return
            yield t


def _emptied_by(start: int, until: int, fill: RecordedFill, specs: list[ProgramSpec]) -> int:
    """`until`, or sooner a moment by which the computed reservoir has surely emptied: the fill at
    the slowest basal rate of the run's programs, boluses aside, and a day to spare (no bolus
    need be assumed after it)."""
    concentration = fill.drugs[0][1]
    slowest = min(
        rate.rate_ml_per_day
        if rate.rate_ml_per_day is not None
        else (rate.dose_mcg_per_day or Decimal(0)) / concentration
        for spec in specs
        for day in spec.days
        for _, rate in day
    )
    if slowest <= 0:
        return until
    return min(until, start + int(fill.volume_ml / slowest * SECONDS_PER_DAY) + SECONDS_PER_DAY)


def _events(timed: list[tuple[int, int, ProgramSpec | BolusSpec | None]]) -> tuple[Event, ...]:
    """Program changes, boluses and the mark at `at` as the twin's events, in time order."""
    return tuple(
        Event(t, "program", index, program=what)
        if isinstance(what, ProgramSpec)
        else Event(t, "bolus", index, bolus=what)
        if isinstance(what, BolusSpec)
        else Event(t, _MARK, index)
        for index, (t, _, what) in enumerate(timed)
    )


@dataclass(frozen=True)
class TwinDates:
    """A pump's dates as the clinic stores and shows them, all from one twin run: the alarm and
    empty instants, the clinic's day to refill by and what sets it, the residual at the moment
    asked for and the reservoir at each mark (a curve)."""

    fill_at: datetime
    alarm_at: datetime | None
    empty_at: datetime | None
    refill_by: date
    limited_by: LimitedBy
    residual_ml: Decimal
    boluses_assumed: int
    curve: tuple[tuple[datetime, Decimal], ...]


def dates(
    history: PumpHistory,
    at: datetime,
    *,
    margin_days: Decimal,
    stability: StabilityLimit | None,
    tz: tzinfo,
    marks: Sequence[datetime] = (),
    horizon_days: int = 400,
) -> TwinDates:
    """forecast, with the refill-by day from its alarm (core.refill.refill_day_for): the alarm
    less the margin, or the stability of the last fill's drugs counted from that fill, the
    earlier; a stopped pump whose drugs have no stability rule is dated by the library's
    interval for a fluid held in one (held_stability)."""
    found = forecast(history, at, horizon_days=horizon_days, marks=marks)
    _, fill = _last_fill(history, _seconds(at, "at"), at)
    alarm = found.alarm_at or at.astimezone(UTC) + timedelta(days=horizon_days)
    held = held_stability(history, fill, stability, found.alarm_at)
    refill_by, limited_by = refill_day_for(fill.at, alarm, margin_days, held, tz)
    if held is not stability and limited_by is LimitedBy.STABILITY:
        limited_by = LimitedBy.HELD
    return TwinDates(
        fill_at=fill.at,
        alarm_at=found.alarm_at,
        empty_at=found.empty_at,
        refill_by=refill_by,
        limited_by=limited_by,
        residual_ml=found.residual_ml,
        boluses_assumed=found.boluses_assumed,
        curve=found.marks,
    )


def stored_dates(history: PumpHistory, at: datetime, *, margin_days: Decimal) -> TwinDates:
    """The dates the clinic stores for the pump at `at` (at or after its last fill): the twin's
    run to HORIZON_DAYS, the refill-by day limited by the stability of the last fill's drugs (a
    drug new to the pump counts as a first fill), in the history's zone."""
    last = history.fills[-1]
    before = history.fills[-2].drugs if len(history.fills) > 1 else None
    stability, _ = fill_stability(last.drugs, first_fill=first_of_drug(before, last.drugs))
    return dates(
        history,
        max(at, last.at),
        margin_days=margin_days,
        stability=stability,
        tz=history.tz,
        horizon_days=HORIZON_DAYS,
    )


def with_fill(
    history: PumpHistory, at: datetime, volume_ml: Decimal, prescription: Prescription
) -> PumpHistory:
    """The history as it would be after a fill at `at` executing `prescription` (the bridge or
    priming it runs from the path's fluid, core.fluid_change)."""
    drugs = tuple((name, conc.canonical) for name, conc in prescription.drugs)
    path = history.fills[-1].drugs if history.fills else None
    bridge_rate, priming = fluid_change.at_fill(
        history.pump, of(history.dead_volume_ml, "mL"), path, prescription
    )
    fill = RecordedFill(
        at,
        volume_ml,
        drugs,
        bridge_rate,
        (priming.volume.canonical, priming.duration_s) if priming is not None else None,
    )
    return replace(with_program(history, at, prescription), fills=(*history.fills, fill))


def with_program(history: PumpHistory, at: datetime, prescription: Prescription) -> PumpHistory:
    """The history as it would be with the pump programmed at `at` as `prescription` says."""
    drugs = tuple((name, conc.canonical) for name, conc in prescription.drugs)
    program = RecordedProgram(at, drugs, prescription.program, prescription.ptm)
    return replace(history, programs=(*history.programs, program))


def held_stability(
    history: PumpHistory,
    fill: RecordedFill,
    stability: StabilityLimit | None,
    alarm_at: datetime | None,
) -> StabilityLimit | None:
    """The stability rule that dates the pump: its drugs', or, for a stopped pump (a stop, or a
    single bolus, last programmed) that never alarms and whose drugs have none, the library's
    interval for a fluid held in a stopped pump (catalog.held_in_stopped_pump)."""
    last = history.programs[-1].program if history.programs else None
    stops = last is not None and (last.kind is ProgramKind.STOPPED or last.bolus is not None)
    if stability is not None or alarm_at is not None or not stops:
        return stability
    held = catalog.held_in_stopped_pump()
    subject = " + ".join(name for name, _ in fill.drugs)
    return StabilityLimit(subject, held.rule, held.days, held.verified, held.source)


def projection(
    history: PumpHistory,
    at: datetime,
    *,
    margin_days: Decimal,
    stability: StabilityLimit | None,
    tz: tzinfo,
    horizon_days: int = 1000,
) -> Projection:
    """The last fill's reservoir as a curve for the chart, from the same twin run as `dates`: a
    point at the fill, at each program change since, at the alarm and empty, and once a day
    between where flex steps or patient boluses bend the line."""
    _, fill = _last_fill(history, _seconds(at, "at"), at)
    since = [p for p in history.programs if p.at > fill.at and p.at <= at]
    running = [p for p in history.programs if p.at <= fill.at][-1:] + since
    bent = any(p.ptm is not None or p.program.kind is not ProgramKind.CONTINUOUS for p in running)
    days = [fill.at + timedelta(days=n) for n in range(1, horizon_days)] if bent else []
    found = dates(
        history,
        at,
        margin_days=margin_days,
        stability=stability,
        tz=tz,
        marks=[fill.at, *(p.at for p in since), *days],
        horizon_days=horizon_days,
    )
    end = at.astimezone(UTC) + timedelta(days=horizon_days)
    alarm_at, empty_at = found.alarm_at or end, found.empty_at or end
    labels = {p.at.astimezone(UTC): "program change" for p in since}
    labels[fill.at.astimezone(UTC)] = "fill"
    points = [
        Point(moment, of(volume, "mL"), labels.get(moment, "computed"))
        for moment, volume in found.curve
        if moment < empty_at and (moment in labels or bent)
    ]
    last = running[-1]
    bolus = last.program.bolus if found.empty_at is None else None
    stopped_since = (
        last.at if found.empty_at is None and last.program.kind is ProgramKind.STOPPED else None
    )
    stopped = bolus is not None or stopped_since is not None
    if not stopped:
        points += [
            Point(alarm_at, of(history.alarm_volume_ml, "mL"), "low-reservoir alarm"),
            Point(empty_at, of(Decimal(0), "mL"), "empty"),
        ]
    points.sort(key=lambda point: point.at)
    principal = fill.drugs[0][1]
    daily = last.program.average_day.canonical / principal
    boluses = None
    if last.ptm is not None:
        boluses = of(last.ptm.worst_day.canonical / principal, "mL/day")
        daily += boluses.canonical
    return Projection(
        fill_at=fill.at.astimezone(UTC),
        fill_volume=of(fill.volume_ml, "mL"),
        alarm_volume=of(history.alarm_volume_ml, "mL"),
        daily_volume=of(daily, "mL/day"),
        points=tuple(points),
        alarm_at=alarm_at,
        empty_at=empty_at,
        refill_by=found.refill_by,
        limited_by=found.limited_by,
        stability=held_stability(history, fill, stability, found.alarm_at),
        margin=Q(margin_days, "day"),
        margin_source=MARGIN_SOURCE,
        warnings=(),
        stopped=stopped,
        bolus=bolus.run(last.at, at) if bolus is not None else None,
        patient_boluses=boluses,
        stopped_since=stopped_since,
    )
