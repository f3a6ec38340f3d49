"""A physician's prescription for a pump, as values: the drugs with their concentrations (the
principal first), the program (continuous, or flex: day patterns of steps per weekday), the
patient-bolus (PTM) settings and the phase; what each day of it delivers and the worst day, with
every allowed patient bolus given."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from painpump.core import catalog
from painpump.core.dose_history import Phase
from painpump.core.dosing import rate_ml_per_day
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, format_decimal, mass_unit, of, parse

RULES = "rule-prescription"
SECONDS_PER_DAY = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ProgramKind(StrEnum):
    CONTINUOUS = "continuous"
    FLEX = "flex"
    SINGLE_BOLUS = "single_bolus"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        """The kind in words ("single bolus", "stopped pump"), never its stored name."""
        return "stopped pump" if self is ProgramKind.STOPPED else self.value.replace("_", " ")


STOPPING = (ProgramKind.SINGLE_BOLUS.value, ProgramKind.STOPPED.value)
"""The program kinds that stop the pump: a single bolus (after it), a stopped pump."""


class FluidChange(StrEnum):
    """How the old fluid in the pump tubing and catheter reaches the patient when a fill of
    another fluid (or a first fill) starts this prescription (rule-fluid-change): at the new
    program's rate, as a bridge (at the rate that keeps the prescribed dose of the old
    concentration) or pushed through by a priming bolus."""

    NONE = "none"
    BRIDGE = "bridge"
    PRIMING = "priming"


@dataclass(frozen=True)
class Step:
    """From `start_s` (seconds after midnight, clinic time) to the next step, the principal drug
    at `dose` per day."""

    start_s: int
    dose: Q

    @property
    def start(self) -> str:
        return f"{self.start_s // 3600:02d}:{self.start_s % 3600 // 60:02d}"


@dataclass(frozen=True)
class PatientBolus:
    """The PTM settings: a bolus of the principal drug over a duration, at most `max_per_day`
    in 24 hours, each at least `lockout_s` after the one before."""

    dose: Q
    duration_s: int
    lockout_s: int
    max_per_day: int

    @property
    def worst_day(self) -> Q:
        """The principal drug all allowed boluses of a day give."""
        return of(self.dose.canonical * self.max_per_day, "mcg/day")

    @property
    def words(self) -> str:
        """ "50 mcg over 2 min, lockout 3 h, at most 4 a day"."""
        return (
            f"{self.dose} over {duration_words(self.duration_s)}, lockout "
            f"{duration_words(self.lockout_s)}, at most {self.max_per_day} a day"
        )


@dataclass(frozen=True)
class SingleBolus:
    """A single bolus of the principal drug over a duration, after which the pump stops."""

    dose: Q
    duration_s: int

    @property
    def words(self) -> str:
        """ "100 mcg over 1 h, then the pump stops"."""
        return f"{self.dose} over {duration_words(self.duration_s)}, then the pump stops"

    def delivery(self, drug: str, concentration_mcg_per_ml: Decimal) -> BolusDelivery:
        """This bolus drawn from a fluid of `drug` at the concentration: its dose in the drug's
        unit, the volume it draws and the rate it runs at while it lasts."""
        volume_ml = self.dose.canonical / concentration_mcg_per_ml
        return BolusDelivery(
            of(self.dose.canonical, catalog.drug(drug).dose_unit),
            self.duration_s,
            of(volume_ml, "mL"),
            of(volume_ml * SECONDS_PER_DAY / self.duration_s, "mL/hour"),
        )

    def ends_at(self, started_at: datetime) -> datetime:
        """When this bolus, programmed at `started_at`, ends and the pump stops."""
        return started_at + timedelta(seconds=self.duration_s)

    def run(self, started_at: datetime, now: datetime) -> BolusRun:
        """This bolus programmed at `started_at`, as it stands at `now`: running until its
        duration has passed, the pump stopped from then on."""
        ends_at = self.ends_at(started_at)
        state = BolusState.RUNNING if now < ends_at else BolusState.STOPPED
        return BolusRun(started_at, ends_at, state)


@dataclass(frozen=True)
class BolusDelivery:
    """A single bolus as the pump gives it from its fluid: `volume` at `rate` over its
    duration, then nothing."""

    dose: Q
    duration_s: int
    volume: Q
    rate: Q

    @property
    def rate_words(self) -> str:
        """ "0.9 mL/h", as a programmer shows a bolus rate."""
        return f"{format_decimal(self.rate.rounded())} mL/h"

    @property
    def words(self) -> str:
        """ "single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)"."""
        return (
            f"single bolus {self.dose} over {duration_words(self.duration_s)} "
            f"({self.volume}, at {self.rate_words})"
        )


class BolusState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"

    @property
    def words(self) -> str:
        """What precedes the bolus's end: "bolus running until", "stopped since"."""
        return "bolus running until" if self is BolusState.RUNNING else "stopped since"


@dataclass(frozen=True)
class BolusRun:
    """A single bolus programmed at `started_at`: it runs until `ends_at`, then the pump stops;
    `state` at the moment it was asked for."""

    started_at: datetime
    ends_at: datetime
    state: BolusState


def duration_words(seconds: int) -> str:
    """A duration as a programmer shows it: whole hours, else whole minutes, else seconds."""
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


@dataclass(frozen=True)
class PrescribedProgram:
    """Seven day patterns, Monday first, each a list of steps starting at 00:00; a continuous
    program is one step a day at the same dose; a single bolus runs no basal (its days hold one
    step of nothing) and gives its `bolus` once; a stopped pump gives nothing (the device's
    "stopped pump" mode) until another program is programmed."""

    kind: ProgramKind
    days: tuple[tuple[Step, ...], ...]
    bolus: SingleBolus | None = None

    @classmethod
    def continuous(cls, dose: Q) -> PrescribedProgram:
        return cls(ProgramKind.CONTINUOUS, ((Step(0, dose),),) * 7)

    @classmethod
    def single_bolus(cls, bolus: SingleBolus) -> PrescribedProgram:
        return cls(ProgramKind.SINGLE_BOLUS, ((Step(0, of(Decimal(0), "mcg/day")),),) * 7, bolus)

    @classmethod
    def stopped(cls) -> PrescribedProgram:
        return cls(ProgramKind.STOPPED, ((Step(0, of(Decimal(0), "mcg/day")),),) * 7)

    @classmethod
    def flex(cls, days: tuple[tuple[Step, ...], ...]) -> PrescribedProgram:
        return cls(ProgramKind.FLEX, days)

    def steps(self) -> Iterator[tuple[str, int, Step]]:
        """Every step as (weekday, index in its day, step)."""
        for weekday, day in zip(WEEKDAYS, self.days, strict=True):
            for index, step in enumerate(day):
                yield weekday, index, step

    def day_dose(self, weekday: int) -> Decimal:
        """mcg the principal drug's steps give over the whole day."""
        day = self.days[weekday]
        if not day:  # refused by check_shape; nothing to give meanwhile
            return Decimal(0)
        ends = [step.start_s for step in day[1:]] + [SECONDS_PER_DAY]
        total = sum(
            (
                step.dose.canonical * (end - step.start_s)
                for step, end in zip(day, ends, strict=True)
            ),
            Decimal(0),
        )
        return total / SECONDS_PER_DAY

    @property
    def largest_day(self) -> Q:
        """The daily dose of the day that gives most (a continuous program's dose; a single
        bolus's dose, given within its day)."""
        if self.bolus is not None:
            return of(self.bolus.dose.canonical, "mcg/day")
        return of(max(self.day_dose(i) for i in range(7)), "mcg/day")

    @property
    def average_day(self) -> Q:
        return of(sum((self.day_dose(i) for i in range(7)), Decimal(0)) / 7, "mcg/day")

    @property
    def words(self) -> str:
        """The day patterns in words, weekdays with one pattern together: "mon-fri: 00:00 1.2
        mcg/day, 08:00 2.4 mcg/day; sat-sun: 00:00 1.2 mcg/day"."""
        groups: list[tuple[list[str], tuple[Step, ...]]] = []
        for name, day in zip(WEEKDAYS, self.days, strict=True):
            if groups and groups[-1][1] == day:
                groups[-1][0].append(name)
            else:
                groups.append(([name], day))
        if self.bolus is not None:
            return f"single bolus {self.bolus.words}"
        if self.kind is ProgramKind.STOPPED:
            return STOPPED_WORDS
        if len(groups) == 1:
            return _steps_words(groups[0][1])
        return "; ".join(
            f"{names[0]}-{names[-1] if len(names) > 1 else ''}".rstrip("-")
            + f": {_steps_words(day)}"
            for names, day in groups
        )

    @property
    def highest_step(self) -> Q:
        return max((step.dose for _, _, step in self.steps()), key=lambda q: q.canonical)


@dataclass(frozen=True)
class Prescription:
    drugs: tuple[tuple[str, Q], ...]
    program: PrescribedProgram
    ptm: PatientBolus | None = None
    phase: Phase | None = None
    fluid_change: FluidChange = FluidChange.NONE

    @property
    def principal(self) -> tuple[str, Q]:
        return self.drugs[0]

    @property
    def daily_dose(self) -> Q:
        """The basal dose of the day that gives most, as the checks judge it."""
        return self.program.largest_day

    @property
    def bolus_delivery(self) -> BolusDelivery | None:
        """A single bolus drawn from the principal drug's fluid (None: a basal program)."""
        bolus = self.program.bolus
        if bolus is None:
            return None
        drug, concentration = self.principal
        return bolus.delivery(drug, concentration.canonical)

    @property
    def worst_day(self) -> Q:
        """The largest day's basal dose with every allowed patient bolus given."""
        extra = self.ptm.worst_day.canonical if self.ptm else Decimal(0)
        return of(self.daily_dose.canonical + extra, "mcg/day")

    def rate_ml_per_day(self, dose: Q) -> Decimal:
        """The volume rate that gives `dose` of the principal drug at its concentration."""
        concentration = self.principal[1]
        return rate_ml_per_day(
            dose.canonical,
            concentration.canonical,
            "drugs[0].concentration",
            mass_unit(concentration),
        )

    @property
    def average_rate_ml_per_day(self) -> Decimal:
        """The basal rate averaged over the week: what the pump delivers without boluses."""
        return self.rate_ml_per_day(self.program.average_day)

    @property
    def high_alert(self) -> bool:
        """Needs an independent double-check before programming (rule-double-check):
        intrathecal opioids, ziconotide, baclofen and every admixture."""
        if len(self.drugs) > 1:
            return True
        drug = catalog.drug(self.principal[0])
        return drug.drug_class == "opioid" or drug.name in HIGH_ALERT


STOPPED_WORDS = "stopped: the pump gives nothing until another program is programmed"

HIGH_ALERT = frozenset({"ziconotide", "baclofen"})
"""Besides the opioids and admixtures (rule-double-check)."""


def check_shape(pump: catalog.Pump, program: PrescribedProgram, ptm: PatientBolus | None) -> None:
    """The program and PTM settings are ones the pump can run: each day starts at 00:00 with
    steps in order and no more than the pump's rate changes a day (hard: the device's range);
    a constant-flow pump takes neither a flex program nor patient boluses."""
    steps_allowed = pump.flex_steps_per_day
    if program.kind is not ProgramKind.CONTINUOUS and pump.fixed_rate:
        raise Refusal(
            "program.kind",
            program.kind.value,
            "continuous: the rate of a constant-flow pump is fixed at manufacture",
            steps_allowed.source,
            "cannot be programmed",
        )
    if program.kind is ProgramKind.SINGLE_BOLUS:
        _check_single_bolus(program.bolus, ptm)
        return
    if program.kind is ProgramKind.STOPPED:
        if ptm is not None:
            raise Refusal(
                "ptm",
                "patient boluses",
                "none with a stopped pump: it gives nothing",
                RULES,
                "cannot be given",
            )
        return
    if len(program.days) != 7:
        raise Refusal(
            "program.days", f"{len(program.days)} days", "7 (Monday to Sunday)", RULES, "is wrong"
        )
    for weekday, day in zip(WEEKDAYS, program.days, strict=True):
        where = f"program.days.{weekday}"
        if not day:
            raise Refusal(where, "no steps", "at least one step from 00:00", RULES, "is empty")
        if day[0].start_s != 0:
            raise Refusal(
                f"{where}[0].start",
                day[0].start,
                "00:00 for the first step of a day",
                RULES,
                "leaves the start of the day unprogrammed",
            )
        for index, step in enumerate(day):
            if not 0 <= step.start_s < SECONDS_PER_DAY or step.start_s % 60:
                raise Refusal(
                    f"{where}[{index}].start",
                    _time_words(step.start_s),
                    "a whole minute from 00:00 to 23:59",
                    RULES,
                    "is not a time of day",
                )
            if index and step.start_s <= day[index - 1].start_s:
                raise Refusal(
                    f"{where}[{index}].start",
                    step.start,
                    f"later than the step before ({day[index - 1].start})",
                    RULES,
                    "is out of order",
                )
        if len(day) > steps_allowed.value:
            raise Refusal(
                where,
                f"{len(day)} steps",
                f"at most {steps_allowed.value} a day (hard: the device's range)",
                steps_allowed.source,
                "exceeds the pump's rate changes per day",
            )
    if ptm is None:
        return
    if pump.fixed_rate:
        raise Refusal(
            "ptm",
            "patient boluses",
            "none for a constant-flow pump",
            steps_allowed.source,
            "cannot be given",
        )
    if ptm.duration_s <= 0:
        raise Refusal(
            "ptm.duration", duration_words(ptm.duration_s), "above 0 s", RULES, "is not a time"
        )
    if ptm.lockout_s < ptm.duration_s:
        raise Refusal(
            "ptm.lockout",
            duration_words(ptm.lockout_s),
            f"at least the bolus duration ({duration_words(ptm.duration_s)})",
            RULES,
            "is shorter than the bolus",
        )
    if not 1 <= ptm.max_per_day <= SECONDS_PER_DAY // ptm.lockout_s:
        raise Refusal(
            "ptm.max_per_day",
            str(ptm.max_per_day),
            f"1 to {SECONDS_PER_DAY // ptm.lockout_s} (24 h divided by the lockout of "
            f"{duration_words(ptm.lockout_s)})",
            RULES,
            "is not a number of boluses a day",
        )
    if ptm.dose.canonical <= 0:
        raise Refusal("ptm.dose", str(ptm.dose), "above 0", RULES, "gives no bolus")


def _time_words(seconds: int) -> str:
    """A step's start as a clock shows it ("08:30:15"), or how far outside the day it lies
    ("25 h after 00:00")."""
    if seconds < 0:
        return f"{duration_words(-seconds)} before 00:00"
    if seconds >= SECONDS_PER_DAY:
        return f"{duration_words(seconds)} after 00:00"
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _check_single_bolus(bolus: SingleBolus | None, ptm: PatientBolus | None) -> None:
    """A single bolus gives a dose over at most a day and is the whole program: the pump stops
    after it, so it takes no patient boluses."""
    if bolus is None:
        raise Refusal("program.bolus", "missing", "a dose and a duration", RULES, "is required")
    if bolus.dose.canonical <= 0:
        raise Refusal("program.bolus.dose", str(bolus.dose), "above 0", RULES, "gives no bolus")
    if not 0 < bolus.duration_s <= SECONDS_PER_DAY:
        raise Refusal(
            "program.bolus.duration",
            duration_words(bolus.duration_s),
            "above 0 and at most 24 h (the bolus is judged as its day's dose)",
            RULES,
            "is not a bolus's duration",
        )
    if ptm is not None:
        raise Refusal(
            "ptm",
            "patient boluses",
            "none with a single bolus: the pump stops after it",
            RULES,
            "cannot be given",
        )


def single_bolus(dose: str, duration: str) -> SingleBolus:
    """A single bolus from its entries ("100 mcg", "1 hour")."""
    seconds = parse(duration, Kind.DURATION, "program.bolus.duration", positive=True).canonical
    if seconds != seconds.to_integral_value():
        raise Refusal(
            "program.bolus.duration",
            repr(duration),
            "whole seconds",
            RULES,
            "has fractions of a second",
        )
    return SingleBolus(parse(dose, Kind.MASS, "program.bolus.dose", positive=True), int(seconds))


WEEKDAY_SETS: dict[str, frozenset[int]] = {
    "every day": frozenset(range(7)),
    "mon-fri": frozenset(range(5)),
    "sat-sun": frozenset({5, 6}),
    **{name: frozenset({index}) for index, name in enumerate(WEEKDAYS)},
}
"""The weekdays a flex step may be given for, as forms and the API name them."""


@dataclass(frozen=True)
class StepRow:
    """A flex step as a form or the API gives it: the weekdays it is for, its start, its dose."""

    weekdays: frozenset[int]
    start_s: int
    dose: Q


def step_row(days: str, start: str, dose: str, field: str) -> StepRow:
    """A step row from its entries ("mon-fri", "08:00", "2.4 mcg/day")."""
    weekdays = WEEKDAY_SETS.get(days.strip().lower())
    if weekdays is None:
        raise Refusal(
            f"{field}.days", repr(days), "one of " + ", ".join(WEEKDAY_SETS), RULES, "is unknown"
        )
    return StepRow(
        weekdays, clock_time(start, f"{field}.start"), parse(dose, Kind.DOSE_RATE, f"{field}.dose")
    )


def clock_time(text: str, field: str) -> int:
    """A time of day "HH:MM" as seconds after midnight."""
    parts = text.strip().split(":")
    if (
        len(parts) == 2
        and all(p.isascii() and p.isdigit() for p in parts)
        and len(parts[0]) in (1, 2)
        and len(parts[1]) == 2
    ):
        hours, minutes = int(parts[0]), int(parts[1])
        if hours < 24 and minutes < 60:
            return hours * 3600 + minutes * 60
    raise Refusal(
        field, repr(text), "a time of day HH:MM from 00:00 to 23:59", RULES, "is not a time"
    )


def flex_program(rows: Sequence[StepRow]) -> PrescribedProgram:
    """The seven day patterns the rows give: each weekday's steps are the rows for it, by start;
    a weekday with two steps at one time is refused."""
    days = []
    for weekday, name in enumerate(WEEKDAYS):
        mine = sorted(
            ((i, row) for i, row in enumerate(rows) if weekday in row.weekdays),
            key=lambda pair: pair[1].start_s,
        )
        for (_, a), (index, b) in pairwise(mine):
            if a.start_s == b.start_s:
                raise Refusal(
                    f"steps[{index}].start",
                    Step(b.start_s, b.dose).start,
                    f"one step at a time on {name}",
                    RULES,
                    "is given twice",
                )
        days.append(tuple(Step(row.start_s, row.dose) for _, row in mine))
    return PrescribedProgram.flex(tuple(days))


def patient_bolus(dose: str, duration: str, lockout: str, max_per_day: str) -> PatientBolus:
    """PTM settings from their entries ("50 mcg", "2 min", "3 hour", "4")."""
    seconds = []
    for text, field in ((duration, "ptm.duration"), (lockout, "ptm.lockout")):
        value = parse(text, Kind.DURATION, field, positive=True).canonical
        if value != value.to_integral_value():
            raise Refusal(field, repr(text), "whole seconds", RULES, "has fractions of a second")
        seconds.append(int(value))
    count = max_per_day.strip()
    if not (count.isascii() and count.isdigit()) or len(count) > 5:
        raise Refusal(
            "ptm.max_per_day",
            repr(max_per_day),
            "a whole number of boluses",
            RULES,
            "is not a count",
        )
    return PatientBolus(
        parse(dose, Kind.MASS, "ptm.dose", positive=True), seconds[0], seconds[1], int(count)
    )


def moments(old: PrescribedProgram, new: PrescribedProgram) -> Iterator[tuple[str, int, Q, Q]]:
    """Each stretch of the week in which both programs hold one rate: (weekday, start, the old
    program's dose then, the new one's). The steps of a change are judged stretch by stretch, so
    a program cannot step up by more than its day total shows (a higher rate at night, or a
    block across midnight)."""
    for weekday, name in enumerate(WEEKDAYS):
        starts = sorted(
            {s.start_s for s in old.days[weekday]} | {s.start_s for s in new.days[weekday]}
        )
        for start in starts:
            yield (
                name,
                start,
                _rate_at(old.days[weekday], start),
                _rate_at(new.days[weekday], start),
            )


def lowest(old: PrescribedProgram, new: PrescribedProgram) -> PrescribedProgram:
    """The program that gives, at each moment of the week, the lower of `old` and `new`: what a
    restart after a stop is judged from, so each stretch above the program before the stop is a
    step from it and none below it is a cut."""
    days: list[list[Step]] = [[] for _ in WEEKDAYS]
    for weekday, start, before, after in moments(old, new):
        dose = min(before, after, key=lambda q: q.canonical)
        day = days[WEEKDAYS.index(weekday)]
        if not day or day[-1].dose.canonical != dose.canonical:
            day.append(Step(start, dose))
    return PrescribedProgram.flex(tuple(tuple(day) for day in days))


def _rate_at(day: tuple[Step, ...], second: int) -> Q:
    return [step.dose for step in day if step.start_s <= second][-1]


def _steps_words(day: tuple[Step, ...]) -> str:
    if len(day) == 1:
        return str(day[0].dose)
    return ", ".join(f"{step.start} {step.dose}" for step in day)


def raises(
    old: PrescribedProgram,
    old_ptm: PatientBolus | None,
    new: PrescribedProgram,
    new_ptm: PatientBolus | None,
) -> bool:
    """True when `new` gives more than `old` at some moment of the week, or more on its worst
    day with every allowed patient bolus: an increase, though its day total may not show it."""
    if any(after.canonical > before.canonical for _, _, before, after in moments(old, new)):
        return True
    worst_old = old.largest_day.canonical + (old_ptm.worst_day.canonical if old_ptm else 0)
    worst_new = new.largest_day.canonical + (new_ptm.worst_day.canonical if new_ptm else 0)
    return worst_new > worst_old
