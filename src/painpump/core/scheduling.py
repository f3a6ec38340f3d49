"""Refill appointments: the latest working day of the clinic on or before the refill-by date
(never before today), or, when there is none, the earliest working day flagged overdue with a
warning; and the order in which patients due for a refill come (overdue, nearest alarm,
baclofen first among equals).

Working days come from a `ClinicCalendar`: opening weekdays, the public holidays of the clinic's
country (and region) from the `holidays` package, and the clinic's own closing days. Pure
functions: "today" is always a parameter."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo
from functools import cache

import holidays

from painpump.core import catalog
from painpump.core.decision import Decision, Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.refill import RefillPlan

CALENDAR_SOURCE = (
    "clinic setting: opening weekdays, the country's public holidays (holidays package) and the "
    "clinic's closing days; issue 3: refill appointments avoid weekends and holidays"
)
REFILL_BY_SOURCE = (
    "uw-health-pump-refills, rule-conservative-default: refill by the earlier of (alarm - margin) "
    "and the drug's stability limit; Medtronic advises not relying on the low-reservoir alarm "
    "alone (UW Health nursing hub)"
)
BACLOFEN_SOURCE = (
    "baclofen-intrathecal-openfda-label: boxed warning: abrupt discontinuation of intrathecal "
    "baclofen can cause high fever, altered mental status, rebound spasticity, rhabdomyolysis, "
    "organ failure and death; prevention includes refill scheduling (openFDA set id "
    "e05080ef-53d9-4060-aaa4-86a6935467de, a generic baclofen injection label; the same boxed "
    "warning is in the Gablofen label)"
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SEARCH_DAYS = 366
"""How far a search for a working day goes (a calendar closed a whole year is refused)."""


@cache
def _public_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """The public holidays of one year (name by date); refused for an unknown country/region."""
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as err:
        raise Refusal(
            "country" if subdivision is None else "subdivision",
            country if subdivision is None else f"{country}-{subdivision}",
            "an ISO 3166 country code (and subdivision) known to the holidays package",
            CALENDAR_SOURCE,
            f"is unknown ({err})",
        ) from None
    return {day: str(name) for day, name in found.items()}


@dataclass(frozen=True)
class ClinicCalendar:
    """The clinic's working days: opening weekdays (Monday = 0), the country's public holidays
    (ISO 3166 code, optional subdivision such as "BY") and its own closing days."""

    country: str
    subdivision: str | None = None
    open_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.open_weekdays or not self.open_weekdays <= frozenset(range(7)):
            raise Refusal(
                "open_weekdays",
                str(sorted(self.open_weekdays)),
                "a non-empty set of weekdays 0 (Monday) to 6 (Sunday)",
                CALENDAR_SOURCE,
                "is not a set of opening weekdays",
            )
        _public_holidays(self.country, self.subdivision, 2000)  # refuses an unknown country

    def closed_because(self, day: date) -> str | None:
        """Why the clinic is closed on `day` (weekday, holiday name, clinic closure), or None."""
        why = []
        if day.weekday() not in self.open_weekdays:
            why.append(f"closed on {WEEKDAYS[day.weekday()]}")
        name = _public_holidays(self.country, self.subdivision, day.year).get(day)
        if name is not None:
            why.append(f"public holiday ({name})")
        if day in self.closed_dates:
            why.append("clinic closed")
        return "; ".join(why) or None

    def is_working_day(self, day: date) -> bool:
        return self.closed_because(day) is None


@dataclass(frozen=True)
class Proposal:
    """A proposed refill appointment: the day, whether it is after the refill-by date
    (overdue), the days skipped and why, and the findings behind it."""

    day: date
    refill_by: date
    today: date
    overdue: bool
    skipped: tuple[tuple[date, str], ...]
    decision: Decision

    @property
    def days_late(self) -> int:
        """Days after the refill-by date (0 when on time)."""
        return max(0, (self.day - self.refill_by).days)


def propose_appointment(refill_by: date, *, today: date, calendar: ClinicCalendar) -> Proposal:
    """The latest working day on or before `refill_by` and not before `today`; if none, the
    earliest working day from today, flagged overdue with a warning."""
    skipped: list[tuple[date, str]] = []
    for offset in range(min((refill_by - today).days, SEARCH_DAYS) + 1):
        day = refill_by - timedelta(days=offset)
        why = calendar.closed_because(day)
        if why is None:
            reason = f"latest working day on or before the refill-by date {refill_by.isoformat()}"
            if skipped:
                reason += "; skipped " + ", ".join(f"{d.isoformat()} ({w})" for d, w in skipped)
            finding = Finding(
                "refill_appointment",
                Verdict.OK,
                f"{day.isoformat()}: {reason}",
                f"on or before {refill_by.isoformat()}",
                f"{REFILL_BY_SOURCE}; {CALENDAR_SOURCE}",
            )
            return Proposal(day, refill_by, today, False, tuple(skipped), Decision((finding,)))
        skipped.append((day, why))
    if (refill_by - today).days > SEARCH_DAYS:
        raise Refusal(
            "calendar",
            f"{calendar.country} before {refill_by.isoformat()}",
            f"a working day within {SEARCH_DAYS} day before the refill-by date",
            CALENDAR_SOURCE,
            "has no working day",
        )
    late = earliest_working_day(today, calendar)
    if refill_by < today:
        cause = f"the refill-by date {refill_by.isoformat()} is already past"
    else:
        cause = (
            f"no working day from today {today.isoformat()} to the refill-by date "
            f"{refill_by.isoformat()} ("
            + ", ".join(f"{d.isoformat()} {w}" for d, w in skipped)
            + ")"
        )
    finding = Finding(
        "refill_overdue",
        Verdict.WARN,
        f"OVERDUE: {cause}; earliest working day {late.isoformat()} is "
        f"{days_words((late - refill_by).days)} after it: refill at once (an emergency refill "
        "outside opening days if the alarm or empty date comes first)",
        f"on or before {refill_by.isoformat()}",
        f"{REFILL_BY_SOURCE}; {CALENDAR_SOURCE}",
    )
    return Proposal(late, refill_by, today, True, tuple(skipped), Decision((finding,)))


def days_words(count: int) -> str:
    """ "1 day", "41 days"."""
    return f"{count} day" if count == 1 else f"{count} days"


def earliest_working_day(start: date, calendar: ClinicCalendar) -> date:
    """The first working day on or after `start` (refused if the clinic is closed a year, or
    until the calendar's end)."""
    for offset in range(min(SEARCH_DAYS, (date.max - start).days) + 1):
        day = start + timedelta(days=offset)
        if calendar.is_working_day(day):
            return day
    raise Refusal(
        "calendar",
        f"{calendar.country} from {start.isoformat()}",
        f"a working day within {SEARCH_DAYS} day",
        CALENDAR_SOURCE,
        "has no working day",
    )


@dataclass(frozen=True)
class DueRefill:
    """A patient due for a refill: the drugs in the pump (catalog names), the projected
    low-reservoir alarm date and the refill-by date (dates in the clinic's time zone)."""

    patient_id: str
    drug_names: tuple[str, ...]
    alarm_date: date
    refill_by: date
    empty_date: date | None = None

    def __post_init__(self) -> None:
        if not self.drug_names:
            raise Refusal(
                "drug_names", "()", "at least one drug in the pump", catalog.CATALOG, "is empty"
            )
        for index, name in enumerate(self.drug_names):
            catalog.drug(name, f"drug_names[{index}]")  # an unknown name could hide baclofen

    @property
    def high_risk(self) -> bool:
        """Baclofen in the pump: running out risks life-threatening withdrawal."""
        return any(catalog.drug(n).name == "baclofen" for n in self.drug_names)

    @classmethod
    def from_plan(
        cls, patient_id: str, drug_names: Sequence[str], plan: RefillPlan, tz: tzinfo = UTC
    ) -> DueRefill:
        """From refill.py's plan: alarm and empty dates in the clinic's zone `tz`."""
        return cls(
            patient_id,
            tuple(drug_names),
            plan.alarm_at.astimezone(tz).date(),
            plan.refill_by,
            plan.empty_at.astimezone(tz).date(),
        )


@dataclass(frozen=True)
class Priority:
    """One patient's place in the refill list: the sort key's parts, the proposal, why."""

    due: DueRefill
    overdue: bool
    days_to_alarm: int
    high_risk: bool
    proposal: Proposal
    reasons: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def sort_key(self) -> tuple[int, int, int, date, str]:
        """(overdue first, fewest days to alarm, baclofen first, earlier refill-by, patient id):
        the last two only make the order total and stable."""
        return (
            0 if self.overdue else 1,
            self.days_to_alarm,
            0 if self.high_risk else 1,
            self.due.refill_by,
            self.due.patient_id,
        )


def prioritise(
    due: Iterable[DueRefill], *, today: date, calendar: ClinicCalendar
) -> list[Priority]:
    """Patients due for a refill, most urgent first: overdue (no working day in time) before
    all, then nearest alarm date, then baclofen (high risk) before others at equal urgency."""
    ranked = [_priority(d, today, calendar) for d in due]
    return sorted(ranked, key=lambda p: p.sort_key)


def _priority(due: DueRefill, today: date, calendar: ClinicCalendar) -> Priority:
    """One patient's proposal, urgency and the findings that explain its place."""
    proposal = propose_appointment(due.refill_by, today=today, calendar=calendar)
    reasons = list(proposal.decision.findings)
    if due.high_risk:
        reasons.append(
            Finding(
                "baclofen_high_risk",
                Verdict.WARN if proposal.overdue else Verdict.OK,
                "baclofen in the pump: high risk, withdrawal after an empty reservoir can be "
                "life-threatening; placed first among patients of equal urgency",
                "refill before the low-reservoir alarm",
                BACLOFEN_SOURCE,
            )
        )
    return Priority(
        due=due,
        overdue=proposal.overdue,
        days_to_alarm=(due.alarm_date - today).days,
        high_risk=due.high_risk,
        proposal=proposal,
        reasons=tuple(reasons),
    )
