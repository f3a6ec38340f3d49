"""Refill visits on the clinic's calendar (core.booking) and the clinic's local days
(core.locale, core.refill with a zone): slots within opening hours and capacity, never in the
past, the latest free one before the refill-by date or an urgent one after it, and calendar days
that are 23 or 25 hours long across a daylight-saving change."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from painpump.core import catalog
from painpump.core.booking import (
    BookingRules,
    day_slots,
    earliest_free_slot,
    free_slots,
    propose_visit,
)
from painpump.core.errors import Refusal
from painpump.core.locale import ClinicLocale, zone
from painpump.core.refill import StabilityLimit, plan_refill
from painpump.core.scheduling import ClinicCalendar
from painpump.core.units import of

BERLIN = ZoneInfo("Europe/Berlin")
CLINIC = ClinicLocale(BERLIN, ClinicCalendar("DE", "BE"), time(8, 0), time(16, 0))
RULES = BookingRules(visit_minutes=30, capacity_per_day=4)
MONDAY = date(2027, 3, 15)  # an ordinary week, two before the spring change (28 March 2027)
EARLY = datetime(2027, 3, 15, 6, 0, tzinfo=BERLIN)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    wall = datetime.combine(day, time(hour), tzinfo=BERLIN) + timedelta(minutes=minute)
    return wall.astimezone(UTC)


def test_a_day_has_its_capacity_of_slots_from_opening_one_visit_apart() -> None:
    assert day_slots(MONDAY, CLINIC, RULES) == tuple(berlin(MONDAY, 8, m) for m in (0, 30, 60, 90))
    assert day_slots(MONDAY + timedelta(days=5), CLINIC, RULES) == ()  # Saturday


def test_short_hours_cap_the_slots_before_the_capacity() -> None:
    short = ClinicLocale(BERLIN, ClinicCalendar("DE", "BE"), time(8, 0), time(9, 15))
    assert day_slots(MONDAY, short, RULES) == (berlin(MONDAY, 8), berlin(MONDAY, 8, 30))


def test_slots_after_the_spring_change_keep_the_wall_clock() -> None:
    tuesday_after = date(2027, 3, 30)  # Easter Monday the 29th is a holiday
    first = day_slots(tuesday_after, CLINIC, RULES)[0]
    assert first.astimezone(BERLIN).time() == time(8, 0)
    assert first.utcoffset() == timedelta(0) and first.hour == 6  # 08:00 CEST is 06:00 UTC


@pytest.mark.parametrize(
    ("taken", "now", "free"),
    [
        ((), EARLY, (8, 8.5, 9, 9.5)),
        ((berlin(MONDAY, 8, 30),), EARLY, (8, 9, 9.5)),
        ((berlin(MONDAY, 8, 40),), EARLY, (8, 9.5)),  # off the grid: blocks both slots it overlaps
        ((), berlin(MONDAY, 8, 45), (9, 9.5)),  # slots already begun are not offered
        ((berlin(MONDAY, 12),) * 4, EARLY, ()),  # a full day, wherever the visits were put
    ],
    ids=["empty", "one-taken", "off-grid", "morning-gone", "full"],
)
def test_free_slots_are_those_to_come_that_no_visit_overlaps(
    taken: tuple[datetime, ...], now: datetime, free: tuple[float, ...]
) -> None:
    found = free_slots(MONDAY, CLINIC, RULES, taken, now=now)
    assert found == tuple(berlin(MONDAY, int(h), int(h % 1 * 60)) for h in free)


def test_the_visit_is_the_latest_free_slot_on_or_before_the_refill_by_date() -> None:
    friday = MONDAY + timedelta(days=4)
    visit = propose_visit(
        friday + timedelta(days=1), now=EARLY, locale=CLINIC, rules=RULES, taken={}
    )
    assert (visit.day, visit.overdue) == (friday, False)
    assert visit.starts_at == berlin(friday, 8)
    (finding,) = visit.decision.findings
    assert finding.rule == "refill_appointment" and "latest free refill slot" in finding.message
    assert "refill visits a day" in finding.source


def test_a_full_day_sends_the_visit_to_the_open_day_before() -> None:
    friday = MONDAY + timedelta(days=4)
    taken = {friday: list(day_slots(friday, CLINIC, RULES))}
    visit = propose_visit(friday, now=EARLY, locale=CLINIC, rules=RULES, taken=taken)
    assert visit.day == friday - timedelta(days=1) and not visit.overdue


def test_good_friday_and_the_weekend_before_a_monday_refill_by_date_are_skipped() -> None:
    easter_monday = date(2027, 3, 29)
    thursday = date(2027, 3, 25)
    visit = propose_visit(easter_monday, now=EARLY, locale=CLINIC, rules=RULES, taken={})
    assert visit.day == thursday  # Good Friday and Easter Monday are Berlin holidays


def test_no_free_slot_in_time_is_urgent_at_the_nearest_free_slot_with_what_to_do() -> None:
    saturday = date(2027, 3, 27)  # the day before the spring change, Easter Saturday
    now = datetime.combine(saturday, time(10), tzinfo=BERLIN)
    visit = propose_visit(
        saturday + timedelta(days=1), now=now, locale=CLINIC, rules=RULES, taken={}, high_risk=True
    )
    assert visit.overdue and visit.day == date(2027, 3, 30)  # Easter Monday is closed
    (finding,) = visit.decision.findings
    assert finding.rule == "refill_overdue"
    assert "recorded reason" in finding.message and "extra slot" in finding.message
    assert "baclofen" in finding.source


def test_a_refill_by_date_in_the_past_is_never_proposed_in_the_past() -> None:
    now = berlin(MONDAY, 12)
    visit = propose_visit(MONDAY - timedelta(days=3), now=now, locale=CLINIC, rules=RULES, taken={})
    assert (
        visit.overdue
        and visit.starts_at > now
        and "has passed" in visit.decision.findings[0].message
    )


def test_a_clinic_with_no_refill_capacity_has_no_free_slot_and_says_so() -> None:
    no_room = BookingRules(30, 0)
    with pytest.raises(Refusal, match="has no free slot") as refused:
        earliest_free_slot(MONDAY, now=EARLY, locale=CLINIC, rules=no_room, taken={})
    assert refused.value.field == "calendar"


@pytest.mark.parametrize(
    ("minutes", "capacity", "field"),
    [
        (4, 8, "refill_visit_minutes"),
        (481, 8, "refill_visit_minutes"),
        (30, 201, "refill_capacity_per_day"),
    ],
)
def test_booking_rules_out_of_range_are_refused_naming_the_setting(
    minutes: int, capacity: int, field: str
) -> None:
    with pytest.raises(Refusal) as refused:
        BookingRules(minutes, capacity)
    assert refused.value.field == field and refused.value.source


def test_an_unknown_time_zone_is_refused_naming_the_field() -> None:
    with pytest.raises(Refusal, match="is not a known time zone") as refused:
        zone("Mars/Olympus")
    assert refused.value.field == "time_zone"


def test_a_clinic_that_closes_before_it_opens_is_refused() -> None:
    with pytest.raises(Refusal, match="does not leave the clinic open"):
        ClinicLocale(BERLIN, ClinicCalendar("DE"), time(16), time(8))


def test_the_clinic_s_day_is_its_wall_clock_day_not_utc_s() -> None:
    late_evening = datetime(2027, 3, 15, 23, 30, tzinfo=UTC)  # 00:30 on Tuesday in Berlin
    assert CLINIC.today(late_evening) == date(2027, 3, 16)
    assert CLINIC.day_start(date(2027, 3, 28)) == datetime(2027, 3, 27, 23, 0, tzinfo=UTC)
    assert CLINIC.day_start(date(2027, 3, 29)) - CLINIC.day_start(date(2027, 3, 28)) == timedelta(
        hours=23
    )


def test_ziconotide_s_14_day_first_fill_counts_calendar_days_across_the_spring_change() -> None:
    pump = catalog.pump("synchromed-ii-20")
    fill_at = datetime(2027, 3, 20, 23, 30, tzinfo=BERLIN)  # Saturday evening
    stability = StabilityLimit("ziconotide", "first fill", 14, True, "label")
    plan = plan_refill(
        pump,
        of(Decimal(20), "mL"),
        of(Decimal("0.1"), "mL/day"),
        fill_at=fill_at,
        stability=stability,
        tz=BERLIN,
    )
    assert (plan.limited_by, plan.refill_by) == ("stability", date(2027, 4, 3))
    in_utc = plan_refill(
        pump,
        of(Decimal(20), "mL"),
        of(Decimal("0.1"), "mL/day"),
        fill_at=fill_at,
        stability=stability,
    )
    assert in_utc.refill_by == date(2027, 4, 3)  # 22:30 UTC: the same day, counted in UTC


def test_the_margin_before_the_alarm_counts_calendar_days_in_the_clinic_s_zone() -> None:
    pump = catalog.pump("synchromed-ii-20")
    fill_at = datetime(2027, 3, 1, 0, 30, tzinfo=BERLIN)  # 23:30 UTC the day before
    plan = plan_refill(
        pump,
        of(Decimal(20), "mL"),
        of(Decimal("0.5"), "mL/day"),
        fill_at=fill_at,
        alarm_volume=of(Decimal(2), "mL"),
        margin_days=Decimal(7),
        tz=BERLIN,
    )
    alarm = plan.alarm_at.astimezone(BERLIN)  # 36 days after the fill, 01:30 CEST on 6 April
    assert alarm.date() == date(2027, 4, 6)
    assert plan.refill_by == date(2027, 3, 30)  # seven calendar days before, in Berlin


def test_regression_a_stability_date_beyond_the_calendar_is_refused_not_an_overflow() -> None:
    stability = StabilityLimit("ziconotide", "first fill", 14, True, "label")
    with pytest.raises(Refusal) as refused:
        plan_refill(
            catalog.pump("synchromed-ii-20"),
            of(Decimal(20), "mL"),
            of(Decimal("0.1"), "mL/day"),
            fill_at=datetime(9999, 12, 25, tzinfo=UTC),
            stability=stability,
            tz=BERLIN,
        )
    assert refused.value.field == "rate"
