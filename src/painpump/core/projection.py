"""The reservoir of a filled pump as a curve: the volume at the fill, at every program change
since, at the low-reservoir alarm and when it runs empty, with the refill-by date. The numbers are
the refill arithmetic's (plan_refill, residual_ml), so a chart drawn from them agrees with the
dates the refill and titration services store.

Between two points the volume falls at one constant rate (a continuous program), so the straight
lines between the points are the exact curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

from painpump.core.catalog import Pump
from painpump.core.decision import Finding
from painpump.core.errors import Refusal
from painpump.core.prescription import BolusRun
from painpump.core.refill import (
    LimitedBy,
    RefillPlan,
    StabilityLimit,
    as_utc,
    plan_refill,
    residual_ml,
)
from painpump.core.units import Q, of

RULES = "painpump projection rules"


@dataclass(frozen=True)
class ProgramRun:
    """A continuous program that ran (or runs) in the pump: its rate, start and end (None while
    it runs)."""

    rate_ml_per_day: Decimal
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Point:
    """The volume the pump computes in its reservoir at an instant, and what happens then."""

    at: datetime
    volume: Q
    label: str


@dataclass(frozen=True)
class Projection:
    """A fill's reservoir from the fill to empty under its programs."""

    fill_at: datetime
    fill_volume: Q
    alarm_volume: Q
    daily_volume: Q
    points: tuple[Point, ...]
    alarm_at: datetime
    empty_at: datetime
    refill_by: date
    limited_by: LimitedBy
    stability: StabilityLimit | None
    margin: Q
    margin_source: str
    warnings: tuple[Finding, ...]
    stopped: bool = False
    """The pump stops after a single bolus, or is programmed stopped: it holds what is left
    (alarm and empty are the horizon's end, never reached)."""
    bolus: BolusRun | None = None
    """That single bolus: running until its end, or the pump stopped since."""
    stopped_since: datetime | None = None
    """When a stopped-pump program stopped it (None: it runs, or a single bolus stops it)."""
    patient_boluses: Q | None = None
    """The part of `daily_volume` that every allowed patient bolus of a day draws (None: no
    patient boluses are prescribed)."""

    @property
    def program_volume(self) -> Q:
        """What the program alone draws a day, without patient boluses."""
        extra = self.patient_boluses.canonical if self.patient_boluses else 0
        return of(self.daily_volume.canonical - extra, "mL/day")


def _runs(fill_at: datetime, runs: Sequence[ProgramRun]) -> list[ProgramRun]:
    """The runs in time order, each ending where the next starts, the first at the fill."""
    ordered = sorted(runs, key=lambda r: as_utc(r.start, "programs"))
    if not ordered:
        raise Refusal("programs", "none", "the program running since the fill", RULES, "is empty")
    if as_utc(ordered[0].start, "programs") != fill_at:
        raise Refusal(
            "programs",
            ordered[0].start.isoformat(),
            f"a program started at the fill ({fill_at.isoformat()})",
            RULES,
            "does not start at the fill",
        )
    out = []
    for index, run in enumerate(ordered):
        end = as_utc(ordered[index + 1].start, "programs") if index + 1 < len(ordered) else None
        out.append(ProgramRun(run.rate_ml_per_day, as_utc(run.start, "programs"), end))
    return out


def project(
    pump: Pump,
    *,
    fill_at: datetime,
    fill_volume: Q,
    runs: Sequence[ProgramRun],
    alarm_volume: Q,
    margin_days: Decimal,
    stability: StabilityLimit | None,
    tz: tzinfo = UTC,
) -> Projection:
    """The reservoir from the fill to empty: a point at the fill, at each program change, at the
    alarm and at empty. The refill-by date is the alarm less the margin (plan_refill, from the
    run in which the alarm falls) or the drug's stability counted from the fill, the earlier."""
    fill_at = as_utc(fill_at, "fill_at")
    ordered = _runs(fill_at, runs)
    history = [(r.rate_ml_per_day, r.start, r.end) for r in ordered]
    first = plan_refill(
        pump,
        fill_volume,
        of(ordered[0].rate_ml_per_day, "mL/day"),
        fill_at=fill_at,
        alarm_volume=alarm_volume,
        margin_days=margin_days,
        stability=stability,
        tz=tz,
    )
    points = [Point(fill_at, fill_volume, "fill")]
    alarm_plan: RefillPlan | None = None
    empty_at: datetime | None = None
    for index, run in enumerate(ordered):
        left = residual_ml(fill_volume.canonical, history, run.start)
        if index:
            points.append(Point(run.start, of(left, "mL"), "program change"))
        if left <= 0:
            break
        if alarm_plan is None:
            plan = first if index == 0 else _plan(pump, left, run, alarm_volume, margin_days, tz)
            # a threshold reached the very second a run ends belongs to that run
            if run.end is None or plan.alarm_at <= run.end:
                alarm_plan = plan
                points.append(Point(plan.alarm_at, alarm_volume, "low-reservoir alarm"))
                if run.end is None or plan.empty_at <= run.end:
                    empty_at = plan.empty_at
                    break
                continue
        else:
            emptied = _plan(pump, left, run, of(Decimal(0), "mL"), margin_days, tz).empty_at
            if run.end is None or emptied <= run.end:
                empty_at = emptied
                break
    assert alarm_plan is not None and empty_at is not None  # the last run never ends
    points.append(Point(empty_at, of(Decimal(0), "mL"), "empty"))
    refill_by, limited_by = alarm_plan.refill_by, alarm_plan.limited_by
    stable_first = first.limited_by is LimitedBy.STABILITY
    if alarm_plan is not first and stable_first and first.refill_by < refill_by:
        refill_by, limited_by = first.refill_by, LimitedBy.STABILITY  # counted from the fill
    return Projection(
        fill_at=fill_at,
        fill_volume=fill_volume,
        alarm_volume=alarm_volume,
        daily_volume=of(ordered[-1].rate_ml_per_day, "mL/day"),
        points=tuple(points),
        alarm_at=alarm_plan.alarm_at,
        empty_at=empty_at,
        refill_by=refill_by,
        limited_by=limited_by,
        stability=stability,
        margin=first.margin,
        margin_source=first.margin_source,
        warnings=alarm_plan.warnings,
    )


def _plan(
    pump: Pump,
    left_ml: Decimal,
    run: ProgramRun,
    alarm_volume: Q,
    margin_days: Decimal,
    tz: tzinfo,
) -> RefillPlan:
    """plan_refill from the volume left when a run starts, as if filled then (a zero alarm volume
    when the alarm has passed and only the empty time is wanted)."""
    return plan_refill(
        pump,
        of(left_ml, "mL"),
        of(run.rate_ml_per_day, "mL/day"),
        fill_at=run.start,
        alarm_volume=alarm_volume,
        margin_days=margin_days,
        tz=tz,
    )
