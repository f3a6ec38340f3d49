"""A slow, obviously-correct reference simulation of the pump twin, written from docs/scenarios.md
alone (it shares only the parsed Scenario and the catalog with the twin).

It walks the horizon in fixed steps of `dt` seconds (a step is also cut at every happening: an
event, a PTM request, the end of a stall or of a bridge). In a step, the pump drives the volume of
the basal rate in force at the start of the step plus the share of each bolus that falls in it
(boluses are spread evenly over their duration). Volumes are exact Fractions of a mL. A threshold
crossed inside a step (low reservoir, computed empty, true empty, end of a bridge) is found at the
second by bisection over the step, which is exact because the programmed volume only grows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction

from painpump.core.twin.scenario import (
    NO_DRUG,
    BolusSpec,
    Event,
    Fluid,
    ProgramSpec,
    Rate,
    Scenario,
)

DAY = 86_400
ZERO = Fraction(0)


@dataclass
class Bolus:
    """A volume spread evenly from start to end (seconds)."""

    start: int
    end: int
    volume: Fraction

    def share(self, a: int, b: int) -> Fraction:
        """The part of the volume that falls between instants a and b."""
        overlap = min(b, self.end) - max(a, self.start)
        return self.volume * overlap / (self.end - self.start) if overlap > 0 else ZERO


@dataclass
class Outcome:
    """What the reference computed. Volumes in mL, times in epoch seconds."""

    alarms: list[tuple[str, int]] = field(default_factory=list)
    events: list[tuple[str, int, dict[str, Fraction]]] = field(default_factory=list)
    ptm: list[tuple[int, bool, str | None]] = field(default_factory=list)
    reservoir_model: Fraction = ZERO
    reservoir_true: Fraction = ZERO
    filled: Fraction = ZERO
    aspirated: Fraction = ZERO
    pumped: Fraction = ZERO
    at_tip: dict[Fluid, Fraction] = field(default_factory=dict)
    tubing: list[list[object]] = field(default_factory=list)

    def drug_delivered(self) -> dict[str, Fraction]:
        """Each drug's amount (mcg) that left the catheter tip."""
        out: dict[str, Fraction] = {}
        for fluid, volume in self.at_tip.items():
            for name, concentration in fluid.drugs:
                out[name] = out.get(name, ZERO) + volume * Fraction(concentration)
        return out


class Reference:
    def __init__(self, scenario: Scenario, dt: int = 60) -> None:
        s = self.s = scenario
        self.dt = dt
        self.out = Outcome()
        self.t = s.start
        self.fluid = s.fill
        self.model = self.true = Fraction(s.fill_volume_ml)
        self.out.filled = self.model
        self.factor = Fraction(s.accuracy)
        self.alarm_volume = Fraction(s.alarm_volume_ml)
        self.dead = Fraction(s.dead_volume_ml)
        self.tubing: list[list[object]] = [[s.fill if s.primed else NO_DRUG, self.dead]]
        if not self.dead:
            self.tubing = []
        self.boluses: list[Bolus] = []
        # The program: its spec, the concentration its doses are converted with, a bridge (rate,
        # volume still to pass) and, for a single bolus, when it ends.
        self.program = ProgramSpec("stopped")
        self.concentration = ZERO
        self.bridge: tuple[Fraction, Fraction] | None = None
        self.bolus_program_end: int | None = None
        self.stall_until: int | None = None
        self.valve_closed = False
        self.end_of_service: int | None = None
        self.low_armed = self.empty_armed = True
        self.true_empty = False
        self.grants: list[int] = []
        self.apply_program(s.program, old_fluid=s.fill, announce=False)
        self.check_levels()

    # -- the walk ---------------------------------------------------------------------------

    def run(self) -> Outcome:
        s = self.s
        requests = list(s.ptm.requests) if s.ptm else []
        events = list(s.events)
        while True:
            self.pump_timers()
            while events and events[0].at == self.t:
                self.event(events.pop(0))
            while requests and requests[0] == self.t:
                self.request(requests.pop(0))
            if self.t >= s.until:
                break
            grid = s.start + ((self.t - s.start) // self.dt + 1) * self.dt
            upcoming = [grid, s.until]
            upcoming += [e.at for e in events[:1]] + requests[:1]
            upcoming += [x for x in self.timer_times() if x > self.t]
            self.step(min(upcoming))
        out = self.out
        out.reservoir_model, out.reservoir_true = self.model, self.true
        out.tubing = self.tubing
        return out

    def timer_times(self) -> list[int]:
        times = [self.stall_until, self.end_of_service, self.bolus_program_end]
        return [x for x in times if x is not None]

    def pump_timers(self) -> None:
        """The pump's own timers due now: end of a stall, end of service, end of a single bolus."""
        if self.stall_until == self.t:
            self.stall_until = None
            self.log("motor_stall_recovered")
        if self.end_of_service == self.t:
            self.alarm("end_of_service")
            self.log("pump_stopped")
        if self.bolus_program_end == self.t:
            self.bolus_program_end = None
            self.program = ProgramSpec("stopped")

    def halted(self) -> bool:
        stalled = self.stall_until is not None and self.t < self.stall_until
        ended = self.end_of_service is not None and self.t >= self.end_of_service
        return stalled or self.valve_closed or ended

    def basal_rate(self) -> Fraction:
        """The basal rate (mL/day) in force now."""
        if self.bridge is not None:
            return self.bridge[0]
        if self.program.kind not in ("continuous", "flex"):
            return ZERO
        local = self.t + self.s.offset_s
        weekday = datetime.fromtimestamp(local, UTC).weekday()
        second_of_day = local % DAY
        rate = [r for start, r in self.program.days[weekday] if start <= second_of_day][-1]
        return self.ml_per_day(rate)

    def ml_per_day(self, rate: Rate) -> Fraction:
        if rate.rate_ml_per_day is not None:
            return Fraction(rate.rate_ml_per_day)
        return Fraction(rate.dose_mcg_per_day or 0) / self.concentration

    def step(self, t1: int) -> None:
        """Deliver from now to t1 (or to the end of a bridge, if it comes first)."""
        t0 = self.t
        if self.halted():
            self.t = t1
            return
        rate = self.basal_rate()

        def programmed(t: int) -> Fraction:
            return rate * (t - t0) / DAY + sum((b.share(t0, t) for b in self.boluses), ZERO)

        def first_second(condition: Callable[[Fraction], bool]) -> int | None:
            """The first second in (t0, t1] at which condition(programmed) holds."""
            if not condition(programmed(t1)):
                return None
            lo, hi = t0 + 1, t1
            while lo < hi:
                mid = (lo + hi) // 2
                if condition(programmed(mid)):
                    hi = mid
                else:
                    lo = mid + 1
            return lo

        if self.bridge is not None:
            left = self.bridge[1]
            end = first_second(lambda p: p >= left)
            if end is not None:
                t1 = end
        crossings: list[tuple[int, str]] = []
        model, true = self.model, self.true
        if self.low_armed and model > self.alarm_volume:
            at = first_second(lambda p: model - p <= self.alarm_volume)
            crossings += [(at, "low_reservoir")] if at is not None else []
        if self.empty_armed and model > 0:
            at = first_second(lambda p: p >= model)
            crossings += [(at, "empty")] if at is not None else []
        if not self.true_empty and self.factor > 0:
            at = first_second(lambda p: p * self.factor >= true)
            crossings += [(at, "reservoir_empty")] if at is not None else []
        amount = programmed(t1)
        self.model = max(model - amount, ZERO)
        pushed = min(amount * self.factor, true)
        self.true -= pushed
        self.out.pumped += pushed
        self.push(pushed)
        for at, kind in sorted(crossings):
            self.t = at
            if kind == "reservoir_empty":
                self.true_empty = True
                self.log(kind)
            else:
                self.low_armed = self.low_armed and kind != "low_reservoir"
                self.empty_armed = self.empty_armed and kind != "empty"
                self.alarm(kind)
        self.t = t1
        self.check_levels()
        if self.bridge is not None:
            left = self.bridge[1] - amount
            self.bridge = (self.bridge[0], left)
            if left <= 0:
                self.bridge = None
                self.log("bridge_end")

    def push(self, volume: Fraction) -> None:
        """Plug flow: the volume enters the tubing at the pump, as much leaves at the tip."""
        tip = self.out.at_tip
        if not self.tubing:
            tip[self.fluid] = tip.get(self.fluid, ZERO) + volume
            return
        self.tubing.append([self.fluid, volume])
        while volume > 0:
            fluid, inside = self.tubing[0]
            assert isinstance(fluid, Fluid) and isinstance(inside, Fraction)
            leaving = min(inside, volume)
            tip[fluid] = tip.get(fluid, ZERO) + leaving
            volume -= leaving
            if leaving == inside:
                self.tubing.pop(0)
            else:
                self.tubing[0][1] = inside - leaving
        self.tubing = [segment for segment in self.tubing if segment[1]]

    # -- alarms and logs --------------------------------------------------------------------

    def check_levels(self) -> None:
        if self.low_armed and self.model <= self.alarm_volume:
            self.low_armed = False
            self.alarm("low_reservoir")
        if self.empty_armed and self.model == 0:
            self.empty_armed = False
            self.alarm("empty")
        if not self.true_empty and self.true == 0:
            self.true_empty = True
            self.log("reservoir_empty")

    def alarm(self, kind: str) -> None:
        if self.s.pump.announces_alarms:
            self.out.alarms.append((kind, self.t))

    def log(self, kind: str, **details: Fraction) -> None:
        self.out.events.append((kind, self.t, details))

    # -- happenings -------------------------------------------------------------------------

    def bolus_volume(self, spec: BolusSpec) -> Fraction:
        if spec.volume_ml is not None:
            return Fraction(spec.volume_ml)
        return Fraction(spec.dose_mcg or 0) / Fraction(self.fluid.principal[1])

    def start_bolus(self, volume: Fraction, duration: int) -> None:
        if volume > 0:
            self.boluses.append(Bolus(self.t, self.t + max(duration, 1), volume))
        self.boluses = [b for b in self.boluses if b.end > self.t]

    def request(self, t: int) -> None:
        ptm = self.s.ptm
        assert ptm is not None
        volume = self.bolus_volume(ptm.bolus)
        reason: str | None = None
        if self.halted() or self.program.kind == "stopped":
            reason = "stopped"
        elif self.model < volume:
            reason = "empty"
        elif self.grants and t - self.grants[-1] < ptm.lockout_s:
            reason = "lockout"
        elif len([g for g in self.grants if g > t - DAY]) >= ptm.max_per_day:
            reason = "max_per_day"
        if reason is None:
            self.grants.append(t)
            self.start_bolus(volume, ptm.bolus.duration_s)
        self.out.ptm.append((t, reason is None, reason))

    def event(self, e: Event) -> None:
        if e.kind == "refill":
            self.refill(e)
        elif e.kind == "program":
            assert e.program is not None
            self.apply_program(e.program, old_fluid=self.fluid)
        elif e.kind == "mri" and self.s.pump.mri == "motor_stall":
            self.alarm("motor_stall")
            until = self.t + e.duration_s + e.resume_delay_s
            self.stall_until = max(until, self.stall_until or until)
        elif e.kind == "mri":
            self.valve_closed = True
        elif e.kind == "valve_reset":
            self.valve_closed = False
        elif e.kind == "eri":
            self.alarm("eri")
            assert self.s.eri_to_stop_s is not None
            self.end_of_service = self.t + self.s.eri_to_stop_s
        elif e.kind == "accuracy":
            assert e.factor is not None
            self.factor = Fraction(e.factor)
        elif e.kind in ("bolus", "priming"):
            assert e.bolus is not None
            spec = e.bolus
            default = e.kind == "priming" and spec.volume_ml is None and spec.dose_mcg is None
            self.start_bolus(self.dead if default else self.bolus_volume(spec), spec.duration_s)

    def refill(self, e: Event) -> None:
        assert e.volume_ml is not None and e.fluid is not None
        volume = Fraction(e.volume_ml)
        self.log("refill", expected=self.model, aspirated=self.true, volume=volume)
        self.out.aspirated += self.true
        self.out.filled += volume
        old_fluid, self.fluid = self.fluid, e.fluid
        self.model = self.true = volume
        self.low_armed = self.empty_armed = True
        self.true_empty = False
        if e.program is not None:
            self.apply_program(e.program, old_fluid=old_fluid)
        elif self.program.kind in ("continuous", "flex"):
            # the same program, its doses converted at the new concentration; a bridge is over
            self.concentration = Fraction(self.fluid.principal[1])
            self.bridge = None
        self.check_levels()

    def apply_program(self, spec: ProgramSpec, *, old_fluid: Fluid, announce: bool = True) -> None:
        self.program = spec
        self.concentration = Fraction(self.fluid.principal[1])
        self.bridge = None
        if self.bolus_program_end is not None and self.bolus_program_end > self.t:
            self.boluses = []  # a new program ends a single bolus still running
        self.bolus_program_end = None
        if spec.kind == "stopped":
            self.boluses = []
        elif spec.kind == "bolus":
            assert spec.bolus is not None
            self.start_bolus(self.bolus_volume(spec.bolus), spec.bolus.duration_s)
            self.bolus_program_end = self.t + max(spec.bolus.duration_s, 1)
        elif spec.bridge and self.dead:
            # the dose at the concentration now in the dead volume, until that volume has passed
            dose = spec.days[0][0][1].dose_mcg_per_day
            assert dose is not None
            tip = self.tubing[0][0]
            assert isinstance(tip, Fluid)
            now_inside = tip if tip.drugs else old_fluid
            rate = Fraction(dose) / Fraction(now_inside.principal[1])
            self.bridge = (rate, self.dead)


def simulate(scenario: Scenario, dt: int = 60) -> Outcome:
    """Run the reference over a scenario with a step of dt seconds."""
    return Reference(scenario, dt).run()
