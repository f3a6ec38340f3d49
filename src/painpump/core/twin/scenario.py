"""Scenario files for the twin: what pump, what fill, what program, which PTM requests and which
events over which horizon. Parsed from a TOML document (already read into a dict) into validated,
unit-explicit values; anything wrong is refused with the key, the value and the limit."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from painpump.core import catalog
from painpump.core.catalog import VERIFY_NOTE, Pump
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit
from painpump.core.errors import Refusal
from painpump.core.prescription import duration_words
from painpump.core.twin.quantum import SECONDS_PER_DAY
from painpump.core.units import Kind, format_decimal, parse, parse_decimal

RULES = "painpump scenario format (docs/scenarios.md)"
MAX_HORIZON_DAYS = 40 * 366
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVENT_KINDS = ("refill", "program", "mri", "eri", "accuracy", "bolus", "priming", "valve_reset")


@dataclass(frozen=True)
class Fluid:
    """What is in a syringe or the reservoir: drugs with concentrations (mcg/mL), the first being
    the one a dose-based program or bolus is expressed in."""

    drugs: tuple[tuple[str, Decimal], ...]

    @property
    def principal(self) -> tuple[str, Decimal]:
        return self.drugs[0]

    @property
    def label(self) -> str:
        return " + ".join(name for name, _ in self.drugs) if self.drugs else "no drug"


NO_DRUG = Fluid(())
"""The fluid in an unprimed catheter and pump tubing (saline or CSF)."""


@dataclass(frozen=True)
class Rate:
    """A programmed rate, either as a volume rate or as a daily dose of the principal drug."""

    rate_ml_per_day: Decimal | None = None
    dose_mcg_per_day: Decimal | None = None


@dataclass(frozen=True)
class BolusSpec:
    """A bolus as a volume or a dose of the principal drug, delivered evenly over a duration."""

    volume_ml: Decimal | None
    dose_mcg: Decimal | None
    duration_s: int


@dataclass(frozen=True)
class ProgramSpec:
    """stopped, continuous (one step every day), flex (day patterns, per weekday) or bolus (a
    single bolus, then stopped). `bridge`: first the dead volume at the old concentration, at
    `bridge_rate_ml_per_day` when given (else the first step's dose at the old concentration)."""

    kind: str
    days: tuple[tuple[tuple[int, Rate], ...], ...] = ()
    bolus: BolusSpec | None = None
    bridge: bool = False
    bridge_rate_ml_per_day: Decimal | None = None


@dataclass(frozen=True)
class PtmSpec:
    bolus: BolusSpec
    lockout_s: int
    max_per_day: int
    requests: tuple[int, ...]


@dataclass(frozen=True)
class Event:
    at: int
    kind: str
    index: int
    volume_ml: Decimal | None = None
    fluid: Fluid | None = None
    program: ProgramSpec | None = None
    duration_s: int = 0
    resume_delay_s: int = 0
    factor: Decimal | None = None
    bolus: BolusSpec | None = None


@dataclass(frozen=True)
class Scenario:
    start: int
    until: int
    pump: Pump
    capacity_ml: Decimal
    alarm_volume_ml: Decimal
    accuracy: Decimal
    dead_volume_ml: Decimal
    primed: bool
    offset_s: int
    fill_volume_ml: Decimal
    fill: Fluid
    program: ProgramSpec
    ptm: PtmSpec | None
    events: tuple[Event, ...]
    eri_to_stop_s: int | None
    mri_resume_delay_s: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def load_scenario_text(text: str) -> Scenario:
    """Parse a scenario from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise Refusal(
            "scenario", "the file", "valid TOML", RULES, f"is not valid TOML ({error})"
        ) from None
    return load_scenario(data)


def load_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a scenario document and resolve it against the catalog."""
    return _Parser(data).scenario()


def _table(data: dict[str, Any], key: str, where: str, required: bool = True) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise Refusal(f"{where}{key}", "missing", f"a [{key}] table", RULES, "is required")
        return {}
    return _as_table(value, f"{where}{key}", f"a [{key}] table")


def _as_table(value: Any, field_name: str, expected: str) -> dict[str, Any]:
    """`value`, refused unless it is a TOML table."""
    if not isinstance(value, dict):
        raise Refusal(field_name, repr(value), expected, RULES, "is not a table")
    return value


def _flag(table: dict[str, Any], key: str, field_name: str) -> bool:
    """A yes/no key: TOML true or false only ("false" is a non-empty string, which Python reads
    as true; it is refused, never guessed)."""
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise Refusal(field_name, repr(value), "true or false", RULES, "is not a boolean")
    return value


def _list(table: dict[str, Any], key: str, field_name: str) -> list[Any]:
    """A list-valued key (missing: empty)."""
    value = table.get(key, [])
    if not isinstance(value, list):
        raise Refusal(field_name, repr(value), "a list", RULES, "is not a list")
    return value


def parse_instant(value: Any, field_name: str) -> int:
    """An ISO 8601 date or date-time (UTC unless an offset is given) as epoch seconds."""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Refusal(
                field_name,
                repr(value),
                "an ISO 8601 date-time, e.g. 2026-03-01T08:00:00Z",
                RULES,
                "is not a date-time",
            ) from None
    else:
        raise Refusal(field_name, repr(value), "an ISO 8601 date-time", RULES, "is not a date-time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.microsecond:
        raise Refusal(field_name, repr(value), "whole seconds", RULES, "has fractions of a second")
    return int(moment.timestamp())


def parse_clock(value: Any, field_name: str) -> int:
    """A time of day "HH:MM" as seconds after midnight."""
    try:
        hours, minutes = str(value).split(":")
        parsed = int(hours) * 3600 + int(minutes) * 60
        if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
            raise ValueError
    except ValueError:
        raise Refusal(
            field_name,
            repr(value),
            "a time of day HH:MM from 00:00 to 23:59",
            RULES,
            "is not a time of day",
        ) from None
    return parsed


def _duration(value: Any, field_name: str, *, positive: bool = True) -> int:
    seconds = parse(value, Kind.DURATION, field_name, positive=positive).canonical
    if seconds != seconds.to_integral_value():
        raise Refusal(field_name, repr(value), "whole seconds", RULES, "has fractions of a second")
    return int(seconds)


def _offset(value: Any, field_name: str) -> int:
    text = str(value).strip()
    try:
        sign = -1 if text.startswith("-") else 1
        hours, minutes = text.lstrip("+-").split(":")
        offset = sign * (int(hours) * 3600 + int(minutes) * 60)
        if abs(offset) > 14 * 3600:
            raise ValueError
    except ValueError:
        raise Refusal(
            field_name,
            repr(value),
            "a UTC offset such as +01:00, within +/-14:00",
            RULES,
            "is not a UTC offset",
        ) from None
    return offset


class _Parser:
    """Walks one scenario document; keeps the warnings about unverified limits it relied on."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.warnings: list[str] = []
        self.pump: Pump

    def scenario(self) -> Scenario:
        data = self.data
        for key in ("start", "until"):
            if key not in data:
                raise Refusal(key, "missing", "an ISO 8601 date-time", RULES, "is required")
        start = parse_instant(data["start"], "start")
        until = parse_instant(data["until"], "until")
        if until <= start:
            raise Refusal(
                "until",
                str(data["until"]),
                f"after start ({data['start']})",
                RULES,
                "is not after start",
            )
        if until - start > MAX_HORIZON_DAYS * SECONDS_PER_DAY:
            raise Refusal(
                "until",
                str(data["until"]),
                f"at most {MAX_HORIZON_DAYS} days after start",
                RULES,
                "is too far from start",
            )
        self.start, self.until = start, until

        pump_table = _table(data, "pump", "")
        if "model" not in pump_table:
            raise Refusal("pump.model", "missing", "a pump model", RULES, "is required")
        self.pump = pump = catalog.pump(pump_table["model"], "pump.model")
        capacity = self._capacity(pump_table)
        self.capacity = capacity
        alarm = pump.low_reservoir_alarm
        if "alarm_volume" in pump_table:
            alarm_ml = parse(pump_table["alarm_volume"], Kind.VOLUME, "pump.alarm_volume").canonical
        else:
            alarm_ml = alarm.value.canonical
            if not alarm.verified:
                self.warn(f"low reservoir alarm {alarm.value} for {pump.model}: {alarm.source}")
        if alarm_ml >= capacity:
            raise Refusal(
                "pump.alarm_volume",
                f"{format_decimal(alarm_ml)} mL",
                f"below the reservoir volume {format_decimal(capacity)} mL",
                pump.reservoir_volume.source,
                "is too large",
            )
        accuracy = parse_decimal(pump_table.get("accuracy", "1"), "pump.accuracy")
        if not Decimal(0) <= accuracy <= Decimal(10):
            raise Refusal(
                "pump.accuracy",
                str(accuracy),
                "a delivery factor from 0 to 10 (1 = as programmed, 1.2 = 20 % over-infusion)",
                RULES,
                "is out of range",
            )
        dead = Decimal(0)
        if "dead_volume" in pump_table:
            dead = parse(pump_table["dead_volume"], Kind.VOLUME, "pump.dead_volume").canonical
        if dead > 5:
            raise Refusal(
                "pump.dead_volume",
                f"{format_decimal(dead)} mL",
                "at most 5 mL (pump tubing and catheter)",
                RULES,
                "is implausibly large",
            )
        primed = _flag(pump_table, "primed", "pump.primed")
        offset = (
            _offset(pump_table["utc_offset"], "pump.utc_offset")
            if ("utc_offset" in pump_table)
            else 0
        )
        self.offset = offset

        fill_table = _table(data, "fill", "")
        fill_volume = self._fill_volume(fill_table.get("volume"), "fill.volume")
        fill = self._fluid(fill_table, "fill")
        self.fill = fill

        if pump.fixed_rate:
            program = self._fixed_rate_program(pump_table, data.get("program"))
        else:
            program = self._program(_table(data, "program", ""), "program", fill)
        self.program = program

        ptm = self._ptm(_table(data, "ptm", "", required=False), fill)

        events = self._events(data.get("event", []))
        eri = pump.extras.get("eri_to_stop")
        resume = pump.extras.get("mri_resume_delay")
        return Scenario(
            start=start,
            until=until,
            pump=pump,
            capacity_ml=capacity,
            alarm_volume_ml=alarm_ml,
            accuracy=accuracy,
            dead_volume_ml=dead,
            primed=primed,
            offset_s=offset,
            fill_volume_ml=fill_volume,
            fill=fill,
            program=program,
            ptm=ptm,
            events=events,
            eri_to_stop_s=int(eri.value.canonical) if eri else None,
            mri_resume_delay_s=int(resume.value.canonical) if resume else 0,
            warnings=tuple(dict.fromkeys(self.warnings)),
        )

    def warn(self, text: str) -> None:
        self.warnings.append(f"{text} ({VERIFY_NOTE})")

    def _capacity(self, pump_table: dict[str, Any]) -> Decimal:
        reservoir = self.pump.reservoir_volume
        if "reservoir_volume" in pump_table:
            given = parse(
                pump_table["reservoir_volume"], Kind.VOLUME, "pump.reservoir_volume", positive=True
            ).canonical
            if reservoir.verified and given > reservoir.value.canonical:
                raise Refusal(
                    "pump.reservoir_volume",
                    f"{format_decimal(given)} mL",
                    f"at most {reservoir.value}",
                    reservoir.source,
                    "exceeds the model",
                )
            return given
        if not reservoir.verified:
            self.warn(
                f"reservoir volume {reservoir.value} for {self.pump.model}: {reservoir.source}"
            )
        return reservoir.value.canonical

    def _fill_volume(self, value: Any, field_name: str) -> Decimal:
        if value is None:
            raise Refusal(field_name, "missing", "a volume such as 20 mL", RULES, "is required")
        volume = parse(value, Kind.VOLUME, field_name, positive=True).canonical
        if volume > self.capacity:
            raise Refusal(
                field_name,
                str(value),
                f"at most {format_decimal(self.capacity)} mL (reservoir of {self.pump.model})",
                self.pump.reservoir_volume.source,
                "would overfill the reservoir",
            )
        return volume

    def _fluid(self, table: dict[str, Any], where: str) -> Fluid:
        entries: list[tuple[Any, Any, str]] = []
        if "drugs" in table:
            if not _list(table, "drugs", f"{where}.drugs"):
                raise Refusal(
                    f"{where}.drugs",
                    "[]",
                    "at least one drug",
                    RULES,
                    "is empty: a fluid of no drug",
                )
            for i, listed in enumerate(table["drugs"]):
                item = _as_table(
                    listed, f"{where}.drugs[{i}]", "a table with drug and concentration"
                )
                entries.append((item.get("drug"), item.get("concentration"), f"{where}.drugs[{i}]"))
        else:
            entries.append((table.get("drug"), table.get("concentration"), where))
        drugs: list[tuple[str, Decimal]] = []
        for name, concentration, prefix in entries:
            if name is None:
                raise Refusal(f"{prefix}.drug", "missing", "a drug name", RULES, "is required")
            drug = catalog.drug(name, f"{prefix}.drug")
            if concentration is None:
                raise Refusal(
                    f"{prefix}.concentration",
                    "missing",
                    "a concentration such as 25 mg/mL",
                    RULES,
                    "is required",
                )
            conc = parse(
                concentration, Kind.CONCENTRATION, f"{prefix}.concentration", positive=True
            ).canonical
            if any(existing == drug.name for existing, _ in drugs):
                raise Refusal(
                    f"{prefix}.drug",
                    drug.name,
                    "each drug once per fluid",
                    RULES,
                    "is listed twice",
                )
            drugs.append((drug.name, conc))
        return Fluid(tuple(drugs))

    def _rate(self, table: dict[str, Any], where: str, fluid: Fluid) -> Rate:
        has_rate, has_dose = "rate" in table, "dose" in table
        if has_rate == has_dose:
            raise Refusal(
                where,
                "rate and dose" if has_rate else "neither",
                "exactly one of rate (mL/day) or dose (e.g. mg/day)",
                RULES,
                "is ambiguous",
            )
        if has_rate:
            ml_day = parse(table["rate"], Kind.VOLUME_RATE, f"{where}.rate").canonical
            self._check_rate(ml_day, f"{where}.rate", str(table["rate"]))
            return Rate(rate_ml_per_day=ml_day)
        dose = parse(table["dose"], Kind.DOSE_RATE, f"{where}.dose").canonical
        ml_day = dose / fluid.principal[1]
        self._check_rate(ml_day, f"{where}.dose", str(table["dose"]))
        return Rate(dose_mcg_per_day=dose)

    def _check_rate(self, ml_day: Decimal, field_name: str, shown: str) -> None:
        if ml_day == 0:
            return
        for bound, below in ((self.pump.min_rate, True), (self.pump.max_rate, False)):
            limit = bound.value.canonical
            outside = ml_day < limit if below else ml_day > limit
            if not outside:
                continue
            word = "at least" if below else "at most"
            if bound.verified:
                raise Refusal(
                    field_name,
                    f"{shown} ({format_decimal(ml_day)} mL/day)",
                    f"{word} {bound.value} for {self.pump.model}",
                    bound.source,
                    "is outside the pump's rate range",
                )
            self.warn(
                f"{field_name} {shown} is outside the unverified rate range "
                f"({word} {bound.value}) of {self.pump.model}: {bound.source}"
            )

    def _bolus(self, table: dict[str, Any], where: str, *, key: str = "bolus") -> BolusSpec:
        if key not in table and "volume" not in table:
            raise Refusal(
                f"{where}.{key}",
                "missing",
                "a bolus volume (mL) or dose (mg, mcg)",
                RULES,
                "is required",
            )
        raw = table.get(key, table.get("volume"))
        duration = _duration(table.get("duration", "1 min"), f"{where}.duration")
        try:
            volume = parse(raw, Kind.VOLUME, f"{where}.{key}", positive=True).canonical
            return BolusSpec(volume, None, duration)
        except Refusal:
            dose = parse(raw, Kind.MASS, f"{where}.{key}", positive=True).canonical
            return BolusSpec(None, dose, duration)

    def _program(self, value: Any, where: str, fluid: Fluid) -> ProgramSpec:
        table = _as_table(
            value, where, 'a program table, e.g. { kind = "continuous", dose = "5 mg/day" }'
        )
        kind = table.get("kind", "continuous")
        bridge = _flag(table, "bridge", f"{where}.bridge")
        if kind == "stopped":
            return ProgramSpec("stopped")
        if kind == "bolus":
            return ProgramSpec("bolus", bolus=self._bolus(table, where, key="volume"))
        if kind == "continuous":
            rate = self._rate(table, where, fluid)
            if bridge and rate.dose_mcg_per_day is None:
                raise Refusal(
                    f"{where}.bridge",
                    "true",
                    "a dose-based continuous program (the "
                    "bridge keeps the prescribed dose at the old concentration)",
                    RULES,
                    "needs a dose",
                )
            return ProgramSpec("continuous", days=((((0, rate),),) * 7), bridge=bridge)
        if kind == "flex":
            default = self._steps(table.get("steps"), f"{where}.steps", fluid)
            weekdays = _as_table(
                table.get("weekdays", {}), f"{where}.weekdays", "a table of weekday patterns"
            )
            unknown = sorted(set(weekdays) - set(WEEKDAYS))
            if unknown:
                raise Refusal(
                    f"{where}.weekdays.{unknown[0]}",
                    unknown[0],
                    f"one of {', '.join(WEEKDAYS)}",
                    RULES,
                    "is not a weekday",
                )
            days = tuple(
                self._steps(weekdays[day], f"{where}.weekdays.{day}", fluid)
                if day in weekdays
                else default
                for day in WEEKDAYS
            )
            if bridge:
                raise Refusal(
                    f"{where}.bridge",
                    "true",
                    "a continuous program",
                    RULES,
                    "is not supported with flex programs",
                )
            return ProgramSpec("flex", days=days)
        raise Refusal(
            f"{where}.kind",
            repr(kind),
            "stopped, continuous, flex or bolus",
            RULES,
            "is not a program kind",
        )

    def _steps(self, steps: Any, where: str, fluid: Fluid) -> tuple[tuple[int, Rate], ...]:
        if not isinstance(steps, list) or not steps:
            raise Refusal(
                where,
                repr(steps),
                "a list of steps with start (HH:MM) and rate or dose",
                RULES,
                "is missing or empty",
            )
        out: list[tuple[int, Rate]] = []
        for i, listed in enumerate(steps):
            step = _as_table(
                listed, f"{where}[{i}]", "a step table with start (HH:MM) and rate or dose"
            )
            start = parse_clock(step.get("start"), f"{where}[{i}].start")
            if i == 0 and start != 0:
                raise Refusal(
                    f"{where}[0].start",
                    str(step.get("start")),
                    "00:00 for the first step of a day",
                    RULES,
                    "leaves the start of the day unprogrammed",
                )
            if out and start <= out[-1][0]:
                raise Refusal(
                    f"{where}[{i}].start",
                    str(step.get("start")),
                    "later than the step before",
                    RULES,
                    "is out of order",
                )
            out.append((start, self._rate(step, f"{where}[{i}]", fluid)))
        allowed = self.pump.flex_steps_per_day
        if len(out) > allowed.value:
            if allowed.verified:
                raise Refusal(
                    where,
                    f"{len(out)} steps",
                    f"at most {allowed.value} per day",
                    allowed.source,
                    "exceeds the pump's rate changes per day",
                )
            self.warn(
                f"{where} has {len(out)} steps, more than the unverified {allowed.value} "
                f"of {self.pump.model}: {allowed.source}"
            )
        return tuple(out)

    def _fixed_rate_program(self, pump_table: dict[str, Any], program: Any) -> ProgramSpec:
        if program is not None:
            raise Refusal(
                "program",
                "a [program] table",
                "none: the rate of a constant-flow pump is fixed at manufacture; give [pump] rate",
                self.pump.flex_steps_per_day.source,
                "cannot be programmed",
            )
        if "rate" not in pump_table:
            raise Refusal(
                "pump.rate",
                "missing",
                "the device's fixed rate, e.g. 1 mL/day",
                RULES,
                "is required for a constant-flow pump",
            )
        return self._program({"kind": "continuous", "rate": pump_table["rate"]}, "pump", self.fill)

    def _ptm(self, table: dict[str, Any], fluid: Fluid) -> PtmSpec | None:
        if not table:
            return None
        if self.pump.fixed_rate:
            raise Refusal(
                "ptm",
                "a [ptm] table",
                "none for a constant-flow pump",
                self.pump.flex_steps_per_day.source,
                "cannot be used",
            )
        bolus = self._bolus(table, "ptm")
        lockout = _duration(table.get("lockout"), "ptm.lockout")
        if lockout < bolus.duration_s:
            raise Refusal(
                "ptm.lockout",
                str(table.get("lockout")),
                f"at least the bolus duration ({duration_words(bolus.duration_s)})",
                RULES,
                "is shorter than the bolus",
            )
        max_per_day = table.get("max_per_day")
        if not isinstance(max_per_day, int) or isinstance(max_per_day, bool) or max_per_day < 1:
            raise Refusal(
                "ptm.max_per_day",
                repr(max_per_day),
                "a whole number of at least 1",
                RULES,
                "is not a count",
            )
        requests = [
            parse_instant(r, f"ptm.requests[{i}]")
            for i, r in enumerate(_list(table, "requests", "ptm.requests"))
        ]
        daily = [
            parse_clock(c, f"ptm.daily[{i}]")
            for i, c in enumerate(_list(table, "daily", "ptm.daily"))
        ]
        if daily:
            day0 = (self.start + self.offset) // SECONDS_PER_DAY * SECONDS_PER_DAY - self.offset
            day = day0
            while day < self.until:
                requests.extend(day + c for c in daily if self.start <= day + c <= self.until)
                day += SECONDS_PER_DAY
        for i, at in enumerate(requests):
            if not self.start <= at <= self.until:
                raise Refusal(
                    f"ptm.requests[{i}]",
                    str(table["requests"][i]),
                    "between start and until",
                    RULES,
                    "is outside the scenario",
                )
        return PtmSpec(bolus, lockout, max_per_day, tuple(sorted(requests)))

    def _events(self, raw: Any) -> tuple[Event, ...]:
        if not isinstance(raw, list):
            raise Refusal("event", repr(raw), "a list of [[event]] tables", RULES, "is not a list")
        timed: list[tuple[int, int, dict[str, Any], str]] = []
        for i, listed in enumerate(raw):
            where = f"event[{i}]"
            item = _as_table(listed, where, "an [[event]] table")
            kind = item.get("kind")
            if kind not in EVENT_KINDS:
                raise Refusal(
                    f"{where}.kind",
                    repr(kind),
                    ", ".join(EVENT_KINDS),
                    RULES,
                    "is not an event kind",
                )
            if "at" not in item:
                raise Refusal(
                    f"{where}.at", "missing", "an ISO 8601 date-time", RULES, "is required"
                )
            at = parse_instant(item["at"], f"{where}.at")
            if not self.start <= at <= self.until:
                raise Refusal(
                    f"{where}.at",
                    str(item["at"]),
                    "between start and until",
                    RULES,
                    "is outside the scenario",
                )
            timed.append((at, i, item, kind))
        # In time order, so that every dose is checked against the fluid in the pump by then.
        events: list[Event] = []
        fluid, program = self.fill, self.program
        for at, i, item, kind in sorted(timed, key=lambda entry: (entry[0], entry[1])):
            event = self._event(item, kind, at, i, f"event[{i}]", fluid)
            if event.program is not None:
                program = event.program
            if kind == "refill" and event.fluid is not None:
                if event.program is None and event.fluid != fluid:
                    self._recheck(program, event.fluid, f"event[{i}]")
                fluid = event.fluid
            events.append(event)
        return tuple(events)

    def _recheck(self, program: ProgramSpec, fluid: Fluid, where: str) -> None:
        """A dose-based program recomputed for a new concentration must still fit the pump."""
        name, concentration = fluid.principal
        for day in program.days:
            for _, rate in day:
                if rate.dose_mcg_per_day is not None:
                    self._check_rate(
                        rate.dose_mcg_per_day / concentration,
                        f"{where}.concentration",
                        f"{dose_in_drug_unit(name, rate.dose_mcg_per_day).typed} at "
                        f"{concentration_in_drug_unit(name, concentration).typed}",
                    )

    def _event(
        self, item: dict[str, Any], kind: str, at: int, i: int, where: str, fluid: Fluid
    ) -> Event:
        if kind == "refill":
            volume = self._fill_volume(item.get("volume"), f"{where}.volume")
            new_fluid = self._fluid(item, where) if ("drug" in item or "drugs" in item) else fluid
            program = None
            if "program" in item:
                program = self._program(item["program"], f"{where}.program", new_fluid)
            return Event(at, kind, i, volume_ml=volume, fluid=new_fluid, program=program)
        if kind == "program":
            if self.pump.fixed_rate:
                raise Refusal(
                    f"{where}.kind",
                    "program",
                    "no programming of a constant-flow pump",
                    self.pump.flex_steps_per_day.source,
                    "cannot be used",
                )
            # The event's own `kind` is "program", so the program's kind cannot share that key:
            # `program = { kind = ... }` as in a refill, or the bare fields of a continuous one.
            if "program" in item:
                table, where = item["program"], f"{where}.program"
            else:
                table = {k: v for k, v in item.items() if k not in ("at", "kind")}
            return Event(at, kind, i, program=self._program(table, where, fluid))
        if kind == "mri":
            if self.pump.mri == "none":
                raise Refusal(
                    f"{where}.kind",
                    "mri",
                    "a pump whose MRI behaviour is modelled "
                    "(SynchroMed II: motor stall; Prometra II: valve shut-off)",
                    self.pump.approved_for_source,
                    "is not modelled for this pump",
                )
            duration = _duration(item.get("duration", "1 hour"), f"{where}.duration")
            default_delay = self.pump.extras.get("mri_resume_delay")
            delay = (
                _duration(item["resume_delay"], f"{where}.resume_delay", positive=False)
                if ("resume_delay" in item)
                else int(default_delay.value.canonical)
                if (default_delay)
                else 0
            )
            return Event(at, kind, i, duration_s=duration, resume_delay_s=delay)
        if kind == "eri":
            if "eri_to_stop" not in self.pump.extras:
                raise Refusal(
                    f"{where}.kind",
                    "eri",
                    "a pump with an elective replacement indicator in the catalog (SynchroMed II)",
                    RULES,
                    "is not modelled for this pump",
                )
            return Event(at, kind, i)
        if kind == "accuracy":
            factor = parse_decimal(item.get("factor", "1"), f"{where}.factor")
            if not Decimal(0) <= factor <= Decimal(10):
                raise Refusal(
                    f"{where}.factor",
                    str(factor),
                    "a delivery factor from 0 to 10",
                    RULES,
                    "is out of range",
                )
            return Event(at, kind, i, factor=factor)
        if kind in ("bolus", "priming"):
            if kind == "bolus" and "volume" not in item and "bolus" not in item:
                raise Refusal(
                    f"{where}.volume", "missing", "a bolus volume or dose", RULES, "is required"
                )
            if kind == "priming" and "volume" not in item:
                return Event(
                    at,
                    kind,
                    i,
                    bolus=BolusSpec(
                        None, None, _duration(item.get("duration", "1 hour"), f"{where}.duration")
                    ),
                )
            return Event(at, kind, i, bolus=self._bolus(item, where, key="volume"))
        return Event(at, kind, i)
