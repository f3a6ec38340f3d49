"""The twin's engine: advances one pump from event to event, integrating its piecewise-constant
rates exactly (integer quanta, no time step). Between events it jumps in O(log steps); only when a
threshold (low reservoir, computed empty, true empty) is crossed does it search for the second.

The pump computes its reservoir from the program (alarms come from that, as on SynchroMed II);
the true reservoir follows the program times an accuracy factor and may run dry first."""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from painpump.core.errors import Refusal
from painpump.core.refill import reconcile
from painpump.core.twin.basal import Basal
from painpump.core.twin.quantum import (
    QUANTA_PER_ML,
    SECONDS_PER_DAY,
    fl_per_day,
    ml,
    quanta,
)
from painpump.core.twin.result import Announcement, PtmRecord, Result
from painpump.core.twin.scenario import (
    NO_DRUG,
    BolusSpec,
    Event,
    Fluid,
    ProgramSpec,
    Scenario,
)
from painpump.core.twin.tubing import Tubing
from painpump.core.units import Q, of, round_places

_NEVER = 2**63


class Twin:
    """One pump over one scenario. `run()` returns a Result; `keep_log=False` keeps only counts,
    so that memory does not grow with the horizon (population runs)."""

    __slots__ = (
        "alarm_counts",
        "alarm_level",
        "alarms",
        "aspirated",
        "basal",
        "basal_cache",
        "bolus_duration_s",
        "boluses",
        "bridge_left",
        "bridge_target",
        "carry",
        "cum_t",
        "delivered",
        "den",
        "empty_armed",
        "event_index",
        "events",
        "filled",
        "fluid",
        "fluids",
        "grants",
        "halted",
        "keep_log",
        "last_fill",
        "last_grant",
        "lockout_s",
        "low_armed",
        "max_per_day",
        "mode",
        "model",
        "next_due",
        "num",
        "pending",
        "program",
        "program_token",
        "ptm_denied",
        "ptm_granted",
        "ptm_log",
        "ptm_volume",
        "scenario",
        "stall_until",
        "t",
        "timer_seq",
        "timers",
        "true",
        "true_empty",
        "tubing",
    )

    def __init__(self, scenario: Scenario, *, keep_log: bool = True) -> None:
        s = scenario
        self.scenario = s
        self.keep_log = keep_log
        self.t = s.start
        self.fluids: list[Fluid] = [NO_DRUG]
        self.fluid = self._fluid_id(s.fill)
        self.alarm_level = quanta(s.alarm_volume_ml)
        self.model = self.true = self.filled = self.last_fill = quanta(s.fill_volume_ml)
        self.aspirated = 0
        self.delivered = 0
        self.carry = 0
        self.num, self.den = self._ratio(s.accuracy)
        self.tubing = Tubing(quanta(s.dead_volume_ml), self.fluid if s.primed else 0)
        self.basal: Basal | None = None
        self.cum_t = 0
        self.mode = "stopped"
        self.program: ProgramSpec = ProgramSpec("stopped")
        self.boluses: list[tuple[int, int, int]] = []
        self.pending = 0
        self.halted: set[str] = set()
        self.basal_cache: dict[tuple[object, ...], Basal] = {}
        self.low_armed = True
        self.empty_armed = True
        self.true_empty = False
        self.alarms: list[Announcement] = []
        self.events: list[Announcement] = []
        self.ptm_log: list[PtmRecord] = []
        self.ptm_granted = 0
        self.ptm_denied = 0
        self.grants: deque[int] = deque()
        self.last_grant = -(2**62)  # no bolus granted yet: no lockout running
        self.timers: list[tuple[int, int, str, object]] = []
        self.timer_seq = itertools.count()
        self.event_index = 0
        self.program_token = 0
        # A bridge: the programmed volume still to pass before the target program takes over.
        self.bridge_left = 0
        self.bridge_target: ProgramSpec | None = None
        self.next_due = 0
        self.alarm_counts: Counter[str] = Counter()
        self.stall_until = 0
        self.ptm_volume = self._bolus_quanta(s.ptm.bolus) if s.ptm else 0
        self.lockout_s = s.ptm.lockout_s if s.ptm else 0
        self.max_per_day = s.ptm.max_per_day if s.ptm else 0
        self.bolus_duration_s = s.ptm.bolus.duration_s if s.ptm else 0
        self._apply_program(s.program, announce=False)
        self._check_levels()

    # -- public -----------------------------------------------------------------------------

    def run(self) -> Result:
        s = self.scenario
        if s.ptm:
            self._answer_requests(s.ptm.requests)
        self._catch_up(s.until)
        self.advance(s.until)
        return Result(
            alarms=self.alarms,
            events=self.events,
            ptm=self.ptm_log,
            ptm_granted=self.ptm_granted,
            ptm_denied=self.ptm_denied,
            alarm_counts=dict(self.alarm_counts),
            fluids=self.fluids,
            delivered_by_fluid=dict(self.tubing.delivered),
            reservoir_model=self.model,
            reservoir_true=self.true,
            filled=self.filled,
            aspirated=self.aspirated,
            delivered=self.delivered,
            tubing=self.tubing.contents(),
            warnings=s.warnings,
        )

    def _catch_up(self, at: int) -> None:
        """Handle every timer and clinical event due at or before `at`, in time order (timers
        first at the same second, then events in file order)."""
        events, timers = self.scenario.events, self.timers
        while True:
            timer_at = timers[0][0] if timers else None
            event_at = events[self.event_index].at if self.event_index < len(events) else None
            if (
                timer_at is not None
                and timer_at <= at
                and (event_at is None or timer_at <= event_at)
            ):
                _, _, kind, payload = heapq.heappop(timers)
                self.advance(timer_at)
                self._timer(kind, payload)
            elif event_at is not None and event_at <= at:
                self.advance(event_at)
                self._event(events[self.event_index])
                self.event_index += 1
            else:
                break
        self._set_next_due()

    def _set_next_due(self) -> None:
        events = self.scenario.events
        due = events[self.event_index].at if self.event_index < len(events) else _NEVER
        if self.timers and self.timers[0][0] < due:
            due = self.timers[0][0]
        self.next_due = due

    # -- integration ------------------------------------------------------------------------

    def advance(self, t1: int) -> None:
        """Deliver everything due from now to t1, announcing each threshold at its second."""
        while self.t < t1:
            if self.halted:
                self._move(t1)
                return
            t0 = self.t
            cum1, programmed = self._programmed(t1)
            if programmed == 0:
                self._move(t1, cum1)
                return
            need = self._next_need()
            if need is None or programmed < need:
                self._deliver(programmed, t1, cum1)
                return
            lo, hi = t0 + 1, t1
            while lo < hi:
                mid = (lo + hi) // 2
                if self._programmed(mid)[1] >= need:
                    hi = mid
                else:
                    lo = mid + 1
            cum, amount = self._programmed(lo)
            self._deliver(amount, lo, cum)

    def _programmed(self, t: int) -> tuple[int, int]:
        """(basal cumulative at t, quanta the pump drives from self.t to t)."""
        basal = self.basal
        cum = basal.cumulative(t) if basal is not None else 0
        amount = cum - self.cum_t
        t0 = self.t
        for start, end, volume in self.boluses:
            if start >= t0 and end <= t:
                amount += volume
                continue
            duration = end - start
            e1 = t - start
            e1 = 0 if e1 < 0 else duration if e1 > duration else e1
            e0 = t0 - start
            e0 = 0 if e0 < 0 else duration if e0 > duration else e0
            if e1 != e0:
                amount += volume * e1 // duration - volume * e0 // duration
        return cum, amount

    def _next_need(self) -> int | None:
        """The smallest programmed amount from now that crosses a threshold, if any."""
        need: int | None = None
        if self.empty_armed:
            need = self.model
        if self.low_armed and self.model > self.alarm_level:
            gap = self.model - self.alarm_level
            need = gap if need is None or gap < need else need
        if not self.true_empty and self.num:
            gap = -((self.carry - self.true * self.den) // self.num)
            need = gap if need is None or gap < need else need
        if self.bridge_left and (need is None or self.bridge_left < need):
            need = self.bridge_left
        return need

    def _deliver(self, programmed: int, t: int, cum: int) -> None:
        self.model = self.model - programmed if self.model > programmed else 0
        if self.den == 1:
            actual = programmed * self.num
        else:
            total = self.carry + programmed * self.num
            actual, self.carry = divmod(total, self.den)
        if actual >= self.true:
            actual = self.true
        if actual:
            self.true -= actual
            self.delivered += actual
            self.tubing.push(self.fluid, actual)
        self._move(t, cum)
        self._check_levels()
        if self.bridge_left:
            # The bridge ends when the pump has driven the dead volume (basal and boluses alike;
            # nothing passes while it is halted), not at a fixed time.
            self.bridge_left = max(self.bridge_left - programmed, 0)
            if not self.bridge_left and self.bridge_target is not None:
                self._apply_program(self.bridge_target, announce=False)
                self._event_log("bridge_end")

    def _move(self, t: int, cum: int | None = None) -> None:
        self.t = t
        if cum is None:
            self.cum_t = self.basal.cumulative(t) if self.basal is not None else 0
        else:
            self.cum_t = cum
        if self.boluses:
            self.boluses = [b for b in self.boluses if b[1] > t]
            self.pending = sum(b[2] for b in self.boluses)

    def _check_levels(self) -> None:
        if self.low_armed and self.model <= self.alarm_level:
            self.low_armed = False
            self._alarm("low_reservoir", reservoir_model=self._ml(self.model))
        if self.empty_armed and self.model == 0:
            self.empty_armed = False
            self._alarm("empty")
        if not self.true_empty and self.true == 0:
            self.true_empty = True
            self._event_log("reservoir_empty", reservoir_model=self._ml(self.model))

    # -- happenings -------------------------------------------------------------------------

    def _answer_requests(self, requests: tuple[int, ...]) -> None:
        """Decide every PTM request in time order, as the pump decides: on its computed
        reservoir, with the clinical events and timers due before each request handled first.

        Requests are the hot path of long and population runs, so the state they change lives
        in locals between integrations. The twin integrates lazily: it advances to a request
        only when a lower bound of the computed reservoir then (all that the program and the
        pending boluses could deliver) does not cover a bolus, during a bridge (which may end
        and speed the rate up), or when many boluses are pending."""
        until = self.scenario.until
        lockout, max_per_day, duration = self.lockout_s, self.max_per_day, self.bolus_duration_s
        volume, pending, model, now, fastest, accepting, careful, boluses = self._state()
        last = self.last_grant
        grants = self.grants
        log = self.ptm_log if self.keep_log else None
        granted = denied = 0
        for t in requests:
            if t > until:
                break
            if t >= self.next_due:
                self.pending = pending
                self._catch_up(t)
                volume, pending, model, now, fastest, accepting, careful, boluses = self._state()
            empty = False
            if careful or model - pending - fastest * (t - now) < volume or len(boluses) > 32:
                self.pending = pending
                self.advance(t)
                volume, pending, model, now, fastest, accepting, careful, boluses = self._state()
                empty = model < volume
            reason: str | None
            if not accepting:
                reason = "stopped"
            elif empty:
                reason = "empty"
            elif t - last < lockout:
                reason = "lockout"
            else:
                horizon = t - SECONDS_PER_DAY
                while grants and grants[0] <= horizon:
                    grants.popleft()
                reason = "max_per_day" if len(grants) >= max_per_day else None
            if reason is None:
                if volume > 0:
                    boluses.append((t, t + duration, volume))
                    pending += volume
                last = t
                grants.append(t)
                granted += 1
            else:
                denied += 1
            if log is not None:
                log.append(PtmRecord(t, reason is None, reason))
        self.pending, self.last_grant = pending, last
        self.ptm_granted += granted
        self.ptm_denied += denied

    def _state(self) -> tuple[int, int, int, int, int, bool, bool, list[tuple[int, int, int]]]:
        """What deciding a request reads from the pump, taken after each integration: bolus
        volume, pending bolus volume, computed reservoir, time, fastest basal rate, whether the
        pump accepts boluses, whether a bridge runs, and the running boluses."""
        basal = self.basal
        return (
            self.ptm_volume,
            self.pending,
            self.model,
            self.t,
            basal.max_rate if basal is not None else 0,
            not self.halted and self.mode != "stopped",
            bool(self.bridge_left),
            self.boluses,
        )

    def _event(self, event: Event) -> None:
        kind = event.kind
        if kind == "refill":
            self._refill(event)
        elif kind == "program":
            assert event.program is not None
            self._apply_program(event.program)
        elif kind == "mri":
            self._mri(event)
        elif kind == "eri":
            self._alarm("eri")
            assert self.scenario.eri_to_stop_s is not None
            self._schedule(self.t + self.scenario.eri_to_stop_s, "end_of_service", None)
        elif kind == "accuracy":
            assert event.factor is not None
            self.num, self.den = self._ratio(event.factor)
            self.carry = 0
            self._event_log("accuracy", factor=event.factor)
        elif kind in ("bolus", "priming"):
            assert event.bolus is not None
            spec = event.bolus
            volume = (
                self.tubing.volume
                if kind == "priming" and spec.volume_ml is None and (spec.dose_mcg is None)
                else self._bolus_quanta(spec)
            )
            self._start_bolus(self.t, volume, spec.duration_s)
            self._event_log(kind, volume=self._ml(volume), duration=self._hours(spec.duration_s))
        elif kind == "valve_reset":
            self.halted.discard("valve")
            self._event_log("valve_reset")
            self._move(self.t)

    def _timer(self, kind: str, payload: object) -> None:
        if kind == "resume":
            if self.t >= self.stall_until and "stall" in self.halted:
                self.halted.discard("stall")
                self._event_log("motor_stall_recovered")
                self._move(self.t)
        elif kind == "end_of_service":
            self.halted.add("end_of_service")
            self._alarm("end_of_service")
            self._event_log("pump_stopped", reason="end_of_service")
        elif kind == "bolus_end" and payload == self.program_token:
            self._set_mode_stopped()

    def _refill(self, event: Event) -> None:
        assert event.volume_ml is not None and event.fluid is not None
        expected, aspirated = self.model, self.true
        volume = quanta(event.volume_ml)
        old_concentration = self.fluids[self.fluid]
        self.aspirated += aspirated
        self.filled += volume
        self.model = self.true = volume
        self.carry = 0
        self.fluid = self._fluid_id(event.fluid)
        self.low_armed = self.empty_armed = True
        self.true_empty = False
        self._event_log(
            "refill",
            expected=self._ml(expected),
            aspirated=self._ml(aspirated),
            difference=self._ml(aspirated - expected),
            volume=self._ml(volume),
            drug=event.fluid.label,
            **self._verdict(expected, aspirated),
        )
        self.last_fill = volume
        if self.scenario.ptm:
            self.ptm_volume = self._bolus_quanta(self.scenario.ptm.bolus)
        if event.program is not None:
            self._apply_program(event.program, bridge_from=old_concentration)
        elif self.program.kind in ("continuous", "flex"):
            self._apply_program(replace(self.program, bridge=False), announce=False)
        self._check_levels()

    def _verdict(self, expected: int, aspirated: int) -> dict[str, object]:
        """The reconciliation a clinic would record at this refill (core.refill.reconcile, as
        `painpump calc discrepancy` gives it); none when nothing was programmed since the fill or
        the volumes are beyond what the catalog's pump holds."""
        programmed = self.last_fill - expected
        if programmed <= 0:
            return {}
        try:
            check = reconcile(
                self.scenario.pump, self._ml(expected), self._ml(aspirated), self._ml(programmed)
            )
        except Refusal:
            return {}
        return {
            "finding": check.finding,
            "within_accuracy": check.within_accuracy,
            "delivery_error_percent": round_places(check.delivery_error_percent, 3),
        }

    def _mri(self, event: Event) -> None:
        if self.scenario.pump.mri == "motor_stall":
            self._alarm("motor_stall")
            self._event_log(
                "mri",
                duration=self._hours(event.duration_s),
                resume_delay=self._hours(event.resume_delay_s),
            )
            self.halted.add("stall")
            resume = self.t + event.duration_s + event.resume_delay_s
            self.stall_until = max(self.stall_until, resume)
            self._schedule(resume, "resume", None)
        else:
            self.halted.add("valve")
            self._event_log("mri", duration=self._hours(event.duration_s))
            self._event_log("valve_closed", until="valve_reset")

    # -- programs and boluses ---------------------------------------------------------------

    def _apply_program(
        self, spec: ProgramSpec, *, announce: bool = True, bridge_from: Fluid | None = None
    ) -> None:
        if self.mode == "bolus":  # a new program ends a single bolus still running
            self.boluses, self.pending = [], 0
        self.program = spec
        self.program_token += 1
        self.bridge_left, self.bridge_target = 0, None
        if spec.kind == "stopped":
            self._set_basal(None)
            self.mode = "stopped"
            self.boluses = []
            self.pending = 0
        elif spec.kind == "bolus":
            assert spec.bolus is not None
            self._set_basal(None)
            self.mode = "bolus"
            self._start_bolus(self.t, self._bolus_quanta(spec.bolus), spec.bolus.duration_s)
            # A timer, so that the pump is stopped at the bolus's end (not at the next advance).
            self._schedule(self.t + max(spec.bolus.duration_s, 1), "bolus_end", self.program_token)
        else:
            self.mode = spec.kind
            target = self._basal_for(spec)
            if spec.bridge and self.tubing.volume:
                bridge_rate = (
                    fl_per_day(spec.bridge_rate_ml_per_day)
                    if spec.bridge_rate_ml_per_day is not None
                    else self._bridge_rate(spec, bridge_from)
                )
                if bridge_rate:
                    self._set_basal(Basal.constant(bridge_rate))
                    seconds = -(-self.tubing.volume // bridge_rate)
                    self.bridge_left = self.tubing.volume
                    self.bridge_target = ProgramSpec(spec.kind, spec.days)
                    if announce:
                        self._event_log(
                            "program",
                            program=spec.kind,
                            bridge=True,
                            bridge_rate=of(ml(bridge_rate * SECONDS_PER_DAY), "mL/day"),
                            bridge_duration=self._hours(seconds),
                        )
                    return
            self._set_basal(target)
        if announce:
            self._event_log("program", program=spec.kind)

    def _bridge_rate(self, spec: ProgramSpec, bridge_from: Fluid | None) -> int:
        """The rate that gives the first step's dose at the concentration at the catheter tip
        (else the fluid bridged from): 0 when no drug is there."""
        old = bridge_from if bridge_from is not None else self.fluids[self.fluid]
        dose = spec.days[0][0][1].dose_mcg_per_day
        assert dose is not None
        tip = self.fluids[self.tubing.fluid_at_tip() or 0]
        old = tip if tip.drugs else old
        return fl_per_day(dose / old.principal[1]) if old.drugs else 0

    def _basal_for(self, spec: ProgramSpec) -> Basal:
        """The weekly table of a program for the fluid in the reservoir (cached: refills with the
        same fluid and program reuse it)."""
        key = (spec.days, spec.kind, self.fluid)
        cached = self.basal_cache.get(key)
        if cached is None:
            cached = self.basal_cache[key] = self._build_basal(spec)
        return cached

    def _build_basal(self, spec: ProgramSpec) -> Basal:
        concentration = self.fluids[self.fluid].principal[1]
        days = tuple(
            tuple(
                (
                    start,
                    fl_per_day(
                        rate.rate_ml_per_day
                        if rate.rate_ml_per_day is not None
                        else Decimal(rate.dose_mcg_per_day or 0) / concentration
                    ),
                )
                for start, rate in day
            )
            for day in spec.days
        )
        if spec.kind == "continuous":
            return Basal.constant(days[0][0][1])
        return Basal.weekly(days, self.scenario.offset_s)

    def _set_basal(self, basal: Basal | None) -> None:
        self.basal = basal
        self.cum_t = basal.cumulative(self.t) if basal is not None else 0

    def _set_mode_stopped(self) -> None:
        self.mode = "stopped"
        self.program = ProgramSpec("stopped")
        self._event_log("program", program="stopped", after="single bolus")

    def _start_bolus(self, t: int, volume: int, duration_s: int) -> None:
        if volume > 0:
            self.boluses.append((t, t + max(duration_s, 1), volume))
            self.pending += volume

    def _bolus_quanta(self, spec: BolusSpec) -> int:
        if spec.volume_ml is not None:
            return quanta(spec.volume_ml)
        concentration = self.fluids[self.fluid].principal[1]
        return quanta(Decimal(spec.dose_mcg or 0) / concentration)

    # -- bookkeeping ------------------------------------------------------------------------

    def _fluid_id(self, fluid: Fluid) -> int:
        if fluid in self.fluids:
            return self.fluids.index(fluid)
        self.fluids.append(fluid)
        return len(self.fluids) - 1

    def _schedule(self, at: int, kind: str, payload: object) -> None:
        heapq.heappush(self.timers, (at, next(self.timer_seq), kind, payload))
        self.next_due = min(self.next_due, at)

    def _alarm(self, kind: str, **details: object) -> None:
        if not self.scenario.pump.announces_alarms:
            return
        self.alarm_counts[kind] += 1
        if self.keep_log:
            self.alarms.append(Announcement(kind, self.t, dict(details)))

    def _event_log(self, kind: str, **details: object) -> None:
        if self.keep_log:
            self.events.append(Announcement(kind, self.t, dict(details)))

    @staticmethod
    def _ratio(factor: Decimal) -> tuple[int, int]:
        fraction = Fraction(factor)
        return fraction.numerator, fraction.denominator

    @staticmethod
    def _ml(volume_quanta: int) -> Q:
        return of(Decimal(volume_quanta) / QUANTA_PER_ML, "mL")

    @staticmethod
    def _hours(seconds: int) -> Q:
        return of(Decimal(seconds), "hour")
