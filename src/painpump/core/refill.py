"""Refill arithmetic: when a filled reservoir reaches its low-reservoir alarm and runs empty, by
when to refill (the reservoir or the drug's stability, whichever comes first), and the
reconciliation of the volume aspirated at refill against what the pump should have held.

Times are UTC datetimes. A projection is floored to the whole second and a refill date to the
day, so that rounding only ever moves a date earlier, never later."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from painpump.core import catalog
from painpump.core.catalog import VERIFY_NOTE, Pump, Sourced, SourcedNumber
from painpump.core.decision import Finding, Verdict
from painpump.core.device_limits import check_volume_fits
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, check_number, expect, format_decimal, of

if TYPE_CHECKING:
    from painpump.core.twin_residual import TwinGap

SECONDS_PER_DAY = Decimal(86400)

DEFAULT_MARGIN_DAYS = Decimal(7)
MARGIN_SOURCE = (
    "rule-clinic-setting: clinic setting (painpump default, no guideline gives a number): "
    "schedule refills ahead of the expected low-reservoir alarm, Medtronic advises not relying on "
    "the alarm alone (uw-health-pump-refills, refill procedure step 8: UW Health nursing hub)"
)
BOLUS_RULE_SOURCE = (
    "prometra-ptc-guide, rule-conservative-default: every allotted patient bolus assumed "
    "delivered, as the Prometra PTC Guide p.5 computes its Date of Next Refill"
)
RESIDUAL_RULES = "painpump refill rules: a program delivers, it never adds to the reservoir"
EMPTY_SOURCE = "kent-2025-two-needle"
ADVERSE_ACCURACY_SOURCE = (
    "ecri-2014-synchromed-overinfusion, medtronic-fsn-2016-fa596: ECRI 2014 / Medtronic FSN 2016: "
    "aspirated volume less than expected suggests overinfusion"
)
SYRINGE_READING = SourcedNumber(
    Decimal("0.2"),
    "rule-clinic-setting: no source gives the volume a syringe is read to at aspiration; "
    "painpump's placeholder (mL), not yet a setting of the clinic: a difference between the "
    "aspirated and the expected residual no larger is within, whatever percentage of a small "
    "delivery it makes",
    verified=False,
)
"""The volume (mL) an aspirating syringe is read to: a smaller residual difference is within."""


@dataclass(frozen=True)
class StabilityLimit:
    """The refill-interval rule that applies to what is in the pump (a drug or an admixture)."""

    subject: str
    rule: str
    days: int
    verified: bool
    source: str

    def as_json(self) -> dict[str, object]:
        """The rule with its source, for output."""
        return {
            "subject": self.subject,
            "rule": self.rule,
            "days": {"value": self.days, "unit": "day"},
            "source": self.source,
            "verified": self.verified,
        }


def daily_volume_ml(basal_ml_per_day: Decimal, bolus_ml: Decimal, boluses_per_day: int) -> Decimal:
    """Volume used per day: basal rate plus every allotted bolus (conservative, PTC refill rule)."""
    return basal_ml_per_day + bolus_ml * boluses_per_day


def _ziconotide_rule(first_fill: bool, diluted: bool | None) -> str:
    """Which Prialt stability rule applies: first fill, then diluted or undiluted; the shorter
    (diluted) one when whether it is diluted is not known."""
    if first_fill:
        return "first_refill"
    return "max_interval_undiluted" if diluted is False else "max_interval_diluted"


def first_of_drug(
    previous: Sequence[tuple[str, Decimal]] | None, drugs: Sequence[tuple[str, object]]
) -> bool:
    """True when a drug of the fill is new to the pump: a new pump (no `previous` fill) or one
    whose last fill held no such drug (a switch or an added drug: the Prialt label's first
    fill, whose refill is due sooner)."""
    held = {name for name, _ in previous or ()}
    return previous is None or any(name not in held for name, _ in drugs)


def fill_stability(
    drugs: Sequence[tuple[str, Decimal]], *, first_fill: bool
) -> tuple[StabilityLimit | None, list[Finding]]:
    """The stability rule of a fill of `drugs` (mcg/mL) and the library's notes where it has
    none: a drug whose stability depends on dilution (ziconotide) is diluted when its own
    concentration is none of its products', wherever it stands in an admixture."""
    dependent = [(n, c) for n, c in drugs if n == "ziconotide"] or [drugs[0]]
    name, conc = dependent[0]
    products = {p.canonical for p in catalog.drug(name).products}
    return stability_limit(
        [n for n, _ in drugs], first_fill=first_fill, diluted=conc not in products
    )


def stability_limit(
    drug_names: Sequence[str], *, first_fill: bool = False, diluted: bool | None = None
) -> tuple[StabilityLimit | None, list[Finding]]:
    """The shortest refill interval allowed by the stability rules of the drugs (and admixture)
    in the pump, with notes where the drug library has no rule. `diluted` None: not known, so
    the shorter rule of a drug whose stability depends on it applies (and a note says so)."""
    notes: list[Finding] = []
    candidates: list[StabilityLimit] = []
    for name in drug_names:
        drug = catalog.drug(name, "drug")
        wanted = _ziconotide_rule(first_fill, diluted) if drug.name == "ziconotide" else None
        if wanted == "max_interval_diluted" and diluted is None:
            notes.append(
                Finding(
                    "stability",
                    Verdict.WARN,
                    "whether the ziconotide is diluted is not known: the shorter stability rule "
                    "(diluted) applies; say whether it is diluted for the undiluted rule",
                    "diluted unless known to be undiluted",
                    "rule-conservative-default",
                    verified=True,
                )
            )
        rule = drug.stability_rule(wanted) if wanted else drug.stability_rule("max_interval")
        if rule is None:
            notes.append(
                Finding(
                    "stability",
                    Verdict.WARN,
                    f"the drug library has no stability rule for {drug.name}: the low-reservoir "
                    "alarm sets the refill date, or, while the pump is stopped and never alarms, "
                    "the library's interval for a fluid held in a stopped pump",
                    "none in the drug library",
                    catalog.CATALOG,
                    verified=False,
                )
            )
            continue
        candidates.append(
            StabilityLimit(drug.name, rule.rule, rule.days, rule.verified, rule.source)
        )
    names = frozenset(catalog.drug(n, "drug").name for n in drug_names)
    if len(names) > 1:
        mix = catalog.admixture_for(names)
        if mix is None:
            notes.append(
                Finding(
                    "stability",
                    Verdict.WARN,
                    f"the drug library has no stability data for the admixture "
                    f"{' + '.join(sorted(names))}: only each drug's own rule is applied",
                    "none in the drug library",
                    catalog.CATALOG,
                    verified=False,
                )
            )
        else:
            candidates.extend(
                StabilityLimit(mix.name, s.rule, s.days, s.verified, s.source)
                for s in mix.stability
            )
    if not candidates:
        return None, notes
    return min(candidates, key=lambda c: c.days), notes


class LimitedBy(StrEnum):
    """What sets a refill-by date: the reservoir reaching its alarm (less the margin), the
    stability of what is in the pump, or, for a stopped pump whose drugs have no stability rule,
    the library's interval for a fluid held in one."""

    RESERVOIR = "reservoir"
    STABILITY = "stability"
    HELD = "held"

    @property
    def words(self) -> str:
        return {
            LimitedBy.RESERVOIR: "low-reservoir alarm",
            LimitedBy.STABILITY: "drug's stability",
            LimitedBy.HELD: "longest time a fluid with no stability rule stays in a stopped pump",
        }[self]


@dataclass(frozen=True)
class RefillPlan:
    """A refill projection: alarm and empty times, the refill date and what limits it."""

    fill_at: datetime
    fill_volume: Q
    alarm_volume: Q
    alarm_volume_source: str
    daily_volume: Q
    days_to_alarm: Q
    alarm_at: datetime
    days_to_empty: Q
    empty_at: datetime
    margin: Q
    margin_source: str
    refill_by: date
    limited_by: LimitedBy
    stability: StabilityLimit | None
    warnings: tuple[Finding, ...]


def after_days(start: datetime, days: Decimal) -> datetime:
    """`start` plus a number of days, floored to the whole second (never later than exact)."""
    seconds = (days * SECONDS_PER_DAY).to_integral_value(rounding=ROUND_FLOOR)
    return start + timedelta(seconds=int(seconds))


def _wall_days_before(moment: datetime, days: Decimal, tz: tzinfo) -> datetime:
    """`moment` less `days` on the wall clock of `tz` (whole days are calendar days, 23 or 25
    hours across a daylight-saving change; a fraction is exact seconds, rounded up so the result
    is never later than exact), in UTC."""
    whole = int(days)
    seconds = ((days - whole) * SECONDS_PER_DAY).to_integral_value(rounding=ROUND_CEILING)
    wall = moment.astimezone(tz) - timedelta(days=whole)
    return wall.astimezone(UTC) - timedelta(seconds=int(seconds))


def refill_day_for(
    fill_at: datetime,
    alarm_at: datetime,
    margin_days: Decimal,
    stability: StabilityLimit | None,
    tz: tzinfo,
) -> tuple[date, LimitedBy]:
    """The clinic's day to refill by and what sets it: the alarm less the margin on the clinic's
    wall clock, clamped at the fill (a margin longer than the time to the alarm makes the refill
    due at once, and more volume never refills sooner), or the drug's stability counted in
    calendar days from the fill, the earlier."""
    reservoir_by = max(fill_at, _wall_days_before(alarm_at, margin_days, tz))
    stable_until = (
        None
        if stability is None
        else (fill_at.astimezone(tz) + timedelta(days=stability.days)).astimezone(UTC)
    )
    if stable_until is not None and stable_until < reservoir_by:
        return stable_until.astimezone(tz).date(), LimitedBy.STABILITY
    return reservoir_by.astimezone(tz).date(), LimitedBy.RESERVOIR


def as_utc(moment: datetime | date, field: str = "fill_at") -> datetime:
    """A UTC datetime: a date means the start of that day in UTC (the earliest reading, so a
    projection from it is never late); a naive datetime is taken as UTC. A moment whose UTC
    reading falls outside the calendar (years 1 to 9999) is refused."""
    if not isinstance(moment, datetime):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise Refusal(
            field,
            moment.isoformat(),
            "a moment whose UTC time lies within the calendar (years 1 to 9999)",
            "painpump refill rules",
            "is out of range",
        ) from None


def plan_refill(
    pump: Pump,
    fill_volume: Q,
    daily_volume: Q,
    *,
    fill_at: datetime,
    alarm_volume: Q | None = None,
    margin_days: Decimal = DEFAULT_MARGIN_DAYS,
    stability: StabilityLimit | None = None,
    tz: tzinfo = UTC,
    alarm_source: str | None = None,
) -> RefillPlan:
    """Project when the fill reaches the alarm volume and runs empty, and the date to refill by:
    the earlier of (alarm - margin, not before the fill) and the drug's stability limit. Alarm
    and empty are exact instants; the margin and the stability limit count calendar days on the
    clinic's wall clock in `tz`, and the refill-by date is the clinic's day. `alarm_source`: where
    a given `alarm_volume` comes from when it is the pump's own (an implant's record), not one a
    user typed; a fill not above it is then the fill volume's fault, as with the default alarm."""
    expect(fill_volume, Kind.VOLUME, "volume")
    expect(daily_volume, Kind.VOLUME_RATE, "rate")
    if alarm_volume is not None:
        expect(alarm_volume, Kind.VOLUME, "alarm_volume")
    check_number(margin_days, "margin_days")
    check_volume_fits(pump, fill_volume, "volume")
    warnings: list[Finding] = []
    if alarm_volume is None:
        alarm = pump.low_reservoir_alarm
        alarm_volume, alarm_field = alarm.value, "volume"
        alarm_source = alarm.source
        if not alarm.verified:
            warnings.append(_unverified("low_reservoir_alarm", alarm, pump))
    else:
        alarm_field = "volume" if alarm_source else "alarm_volume"
        alarm_source = alarm_source or "user-supplied alarm volume"
    if alarm_volume.canonical >= fill_volume.canonical:
        if alarm_field == "alarm_volume":
            raise Refusal(
                "alarm_volume",
                str(alarm_volume),
                f"< {fill_volume} (the fill volume)",
                "painpump refill rules",
                "is not below the fill volume",
            )
        raise Refusal(
            "volume",
            str(fill_volume),
            f"> {alarm_volume} (low-reservoir alarm of {pump.model})",
            alarm_source,
            f"does not exceed the low-reservoir alarm volume {alarm_volume} of {pump.model}",
        )
    if daily_volume.canonical <= 0:
        raise Refusal(
            "rate",
            str(daily_volume),
            "> 0 mL/day (daily volume: basal rate plus boluses)",
            "painpump refill rules",
            "uses no volume, so no refill date exists",
        )
    if margin_days < 0:
        raise Refusal("margin_days", str(margin_days), ">= 0 day", MARGIN_SOURCE, "is negative")
    fill_at = as_utc(fill_at, "fill_at")
    per_day = daily_volume.canonical
    days_alarm = (fill_volume.canonical - alarm_volume.canonical) / per_day
    days_empty = fill_volume.canonical / per_day
    try:
        alarm_at = after_days(fill_at, days_alarm)
        empty_at = after_days(fill_at, days_empty)
        refill_day, limited_by = refill_day_for(fill_at, alarm_at, margin_days, stability, tz)
    except OverflowError:
        raise Refusal(
            "rate",
            f"{format_decimal(daily_volume.value)} {daily_volume.unit}",
            f"a daily volume that empties {fill_volume} filled on {fill_at.date().isoformat()} "
            f"within the calendar (by {datetime.max.date().isoformat()})",
            "painpump refill rules",
            "gives no alarm or empty date within the calendar",
        ) from None
    if days_alarm < margin_days:
        warnings.append(
            Finding(
                "refill_margin",
                Verdict.WARN,
                f"the low-reservoir alarm comes {Q(days_alarm, 'day')} after the fill, within "
                f"the {Q(margin_days, 'day')} margin: the refill is due at once; fill more or "
                "choose a smaller refill margin",
                f">= {Q(margin_days, 'day')} between fill and refill",
                MARGIN_SOURCE,
                verified=False,
            )
        )
    if limited_by is LimitedBy.STABILITY and stability is not None and not stability.verified:
        warnings.append(
            Finding(
                "stability_unverified",
                Verdict.WARN,
                f"the refill-by date is set by the stability rule of {stability.subject} "
                f"({stability.days} days from the fill), which the sources do not confirm: "
                f"{VERIFY_NOTE}",
                f"{stability.days} day",
                stability.source,
                verified=False,
            )
        )
    return RefillPlan(
        fill_at=fill_at,
        fill_volume=fill_volume,
        alarm_volume=alarm_volume,
        alarm_volume_source=alarm_source,
        daily_volume=daily_volume,
        days_to_alarm=Q(days_alarm, "day"),
        alarm_at=alarm_at,
        days_to_empty=Q(days_empty, "day"),
        empty_at=empty_at,
        margin=Q(margin_days, "day"),
        margin_source=MARGIN_SOURCE,
        refill_by=refill_day,
        limited_by=limited_by,
        stability=stability,
        warnings=tuple(warnings),
    )


def _unverified(rule: str, value: Sourced, pump: Pump) -> Finding:
    """A warning that a device default the projection relies on is not confirmed."""
    return Finding(
        rule,
        Verdict.WARN,
        f"{rule.replace('_', ' ')} {value.value} of {pump.model} is not confirmed: {VERIFY_NOTE}",
        str(value.value),
        value.source,
        verified=False,
    )


class DeliveryFinding(StrEnum):
    """What a refill's reconciliation says of the delivery since the last fill."""

    NONE = "none"
    """Within the pump's accuracy."""
    OVERINFUSION = "overinfusion"
    UNDERINFUSION = "underinfusion"
    EMPTY = "empty"
    """Nothing to aspirate: delivery stopped at an unknown time, the error is a lower bound."""


@dataclass(frozen=True)
class Reconciliation:
    """What the volume aspirated at refill says about the delivery since the last fill."""

    difference: Q
    actual_delivered: Q
    delivery_error_percent: Decimal
    accuracy_percent: Decimal
    accuracy_verified: bool
    accuracy_source: str
    within_accuracy: bool
    finding: DeliveryFinding
    message: str
    consequential: bool | None
    consequential_limit: Sourced | None
    twin: Finding | None = None
    """The warning that the residual is beyond what the pump's twin expects
    (core.twin_residual), when the decision had the pump's history to compare with."""
    against_twin: TwinGap | None = None
    """The aspirated residual beyond the twin's figure too, worded in `message` and judged in
    this reconciliation's warning (one reason for one aspirate; core.twin_residual)."""
    within_reading: bool = False
    """Beyond the pump's accuracy, but the difference is within SYRINGE_READING."""

    @property
    def warns(self) -> bool:
        """Beyond the pump's accuracy, empty or a possible pocket fill: a warning."""
        return self.finding is not DeliveryFinding.NONE or bool(self.consequential)


def within_syringe_reading(difference_ml: Decimal) -> bool:
    """True when aspirated and expected differ by no more than a syringe is read to."""
    return abs(difference_ml) <= SYRINGE_READING.value


def syringe_reading_words() -> str:
    """The syringe-reading floor as messages word it: "the 0.2 mL a syringe is read to
    (unverified)"."""
    shown = of(SYRINGE_READING.value, "mL")
    return f"the {shown} a syringe is read to" + (
        "" if SYRINGE_READING.verified else " (unverified)"
    )


def beyond_pocket_fill(threshold: Q | None, difference_ml: Decimal) -> bool:
    """True when the aspirated and expected residuals differ by more than the pump's pocket-fill
    threshold (Maino 2017), whatever the percentage error says."""
    return threshold is not None and abs(difference_ml) > threshold.canonical


def delivery_error_percent(
    expected_ml: Decimal, aspirated_ml: Decimal, programmed_ml: Decimal
) -> Decimal:
    """(actual - programmed) / programmed x 100, where actual = programmed + expected - aspirated;
    positive means the pump delivered more than programmed (overinfusion)."""
    return (expected_ml - aspirated_ml) / programmed_ml * 100


def delivered_against_program(error_percent: Decimal) -> str:
    """The delivery error in plain words ("the pump delivered 25.00 % less than programmed"),
    the percentage to two places and without a sign: the words say which side it is."""
    shown = abs(error_percent).quantize(Decimal("0.01"))
    if shown == 0:
        return "the pump delivered as programmed (0.00 %)"
    side = "more" if error_percent > 0 else "less"
    return f"the pump delivered {shown} % {side} than programmed"


def reconcile(pump: Pump, expected: Q, aspirated: Q, delivered_programmed: Q) -> Reconciliation:
    """Compare the aspirated residual volume with the expected one: the delivery error against
    the pump's accuracy, and a difference large enough to suggest a pocket fill (Maino 2017)."""
    expect(expected, Kind.VOLUME, "expected")
    expect(aspirated, Kind.VOLUME, "aspirated")
    expect(delivered_programmed, Kind.VOLUME, "delivered_programmed")
    check_volume_fits(pump, expected, "expected")
    check_volume_fits(pump, aspirated, "aspirated")
    if delivered_programmed.canonical <= 0:
        raise Refusal(
            "delivered_programmed",
            str(delivered_programmed),
            "> 0 mL (volume programmed since the last fill)",
            "painpump refill rules",
            "cannot give a delivery error",
        )
    programmed = delivered_programmed.canonical
    reservoir = pump.reservoir_volume
    if expected.canonical + programmed > reservoir.value.canonical:
        raise Refusal(
            "expected",
            f"{expected} (+ {delivered_programmed} programmed since the last fill)",
            f"<= {reservoir.value} together (the fill they come from, reservoir of {pump.model})",
            reservoir.source,
            "is more than the pump could have held",
        )
    difference = aspirated.canonical - expected.canonical
    actual = programmed + expected.canonical - aspirated.canonical
    error = delivery_error_percent(expected.canonical, aspirated.canonical, programmed)
    side = pump.accuracy_percent
    if error < 0 and pump.accuracy_under_percent is not None:
        side = pump.accuracy_under_percent
    # an empty reservoir is never within the accuracy: its error is only a lower bound
    by_reading = abs(error) > side.value and within_syringe_reading(difference)
    within = (abs(error) <= side.value or by_reading) and aspirated.canonical > 0
    if aspirated.canonical == 0:
        finding = DeliveryFinding.EMPTY
    elif within:
        finding = DeliveryFinding.NONE
    elif error > 0:
        finding = DeliveryFinding.OVERINFUSION
    else:
        finding = DeliveryFinding.UNDERINFUSION
    delivered = delivered_against_program(error)
    tolerance = f"+/-{side.value} %" + ("" if side.verified else f" (unverified: {VERIFY_NOTE})")
    if finding is DeliveryFinding.EMPTY:
        message = (
            f"the reservoir was found empty (nothing to aspirate, {expected} expected): delivery "
            f"stopped at an unknown time since the last fill, so the computed error ({delivered}) "
            "is only a lower bound; examine the patient for withdrawal, check the pump and "
            "catheter, and confirm the needle in the port without backflow (two-needle "
            f"technique, {EMPTY_SOURCE})"
        )
    elif finding is DeliveryFinding.NONE and by_reading:
        message = (
            f"{delivered}, beyond {tolerance}, but the difference {of(abs(difference), 'mL')} "
            f"is within {syringe_reading_words()}"
        )
    elif finding is DeliveryFinding.NONE:
        message = f"{delivered}, within the pump accuracy {tolerance}"
    elif finding is DeliveryFinding.OVERINFUSION:
        message = (
            f"aspirated {of(-difference, 'mL')} less than expected: {delivered}, beyond "
            f"{tolerance}; suspect overinfusion ({ADVERSE_ACCURACY_SOURCE})"
        )
    else:
        message = (
            f"aspirated {of(difference, 'mL')} more than expected: {delivered}, beyond "
            f"{tolerance}; suspect underinfusion (catheter occlusion, motor stall or incomplete "
            "aspiration)"
        )
    threshold = pump.extras.get("pocket_fill_threshold")
    consequential = None if threshold is None else beyond_pocket_fill(threshold.value, difference)
    if threshold is not None and consequential:
        message += (
            f"; the difference {of(abs(difference), 'mL')} exceeds {threshold.value}: potentially "
            "consequential (possible pocket fill), Maino 2017"
        )
    return Reconciliation(
        difference=of(difference, "mL"),
        actual_delivered=of(actual, "mL"),
        delivery_error_percent=error,
        accuracy_percent=side.value,
        accuracy_verified=side.verified,
        accuracy_source=side.source,
        within_accuracy=within,
        finding=finding,
        message=message,
        consequential=consequential,
        consequential_limit=threshold,
        within_reading=finding is DeliveryFinding.NONE and by_reading,
    )


def residual_ml(
    fill_volume_ml: Decimal,
    programs: Sequence[tuple[Decimal, datetime, datetime | None]],
    at: datetime,
) -> Decimal:
    """The volume the pump computes as left at `at`: the fill less what each program (rate in
    mL/day, start, end or None while running) delivered since; never below 0 (as the pump)."""
    check_number(fill_volume_ml, "fill_volume")
    if fill_volume_ml < 0:
        raise Refusal(
            "fill_volume", f"{fill_volume_ml} mL", ">= 0 mL", RESIDUAL_RULES, "is negative"
        )
    used = Decimal(0)
    for index, (rate_ml_per_day, start, end) in enumerate(programs):
        check_number(rate_ml_per_day, f"programs[{index}].rate")
        if rate_ml_per_day < 0:
            raise Refusal(
                f"programs[{index}].rate",
                f"{rate_ml_per_day} mL/day",
                ">= 0 mL/day",
                RESIDUAL_RULES,
                "is negative",
            )
        stop = min(end or at, at)
        if stop > start:
            used += rate_ml_per_day * Decimal((stop - start).total_seconds()) / SECONDS_PER_DAY
    # clamped both ways: a fill with more digits than the context keeps rounds in the subtraction
    return min(max(fill_volume_ml - used, Decimal(0)), fill_volume_ml)


def programmed_since_fill(last_fill: Q, expected: Q, field: str = "expected") -> Q:
    """The volume the pump was programmed to deliver since the last fill (what it expected to be
    left subtracted from what was filled); refused unless something was delivered."""
    expect(last_fill, Kind.VOLUME, "last_fill")
    expect(expected, Kind.VOLUME, field)
    delivered = last_fill.canonical - expected.canonical
    if delivered <= 0:
        raise Refusal(
            field,
            str(expected),
            f"< {last_fill} (last fill)",
            "painpump refill rules",
            "is not below the last fill volume",
        )
    return of(delivered, "mL")


def hours_between(start: datetime, end: datetime) -> Decimal:
    """Elapsed hours from start to end, exactly (titration rules count hours since a change)."""
    return Decimal(int((end - start).total_seconds())) / 3600
