"""Bad input for refill scheduling (core.scheduling): any refill-by date and today, anywhere in
the calendar, give a working day or a Refusal; a proposal is never a weekend, a public holiday or
a closing day, never after the refill-by date unless flagged overdue, and the refill list is a
total, stable order that does not depend on the order patients come in."""

from __future__ import annotations

import random
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.scheduling import ClinicCalendar, DueRefill, prioritise, propose_appointment
from strategies import any_dates, cases, hostile_names

calendars = st.builds(
    ClinicCalendar,
    st.sampled_from(("DE", "AT", "US", "FR")),
    st.none(),
    st.sets(st.integers(0, 6), min_size=1).map(frozenset),
    st.sets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=20).map(frozenset),
)
near = st.dates(date(2025, 6, 1), date(2027, 6, 1))


@cases(70)
@given(calendars, st.one_of(near, any_dates), st.one_of(near, any_dates))
def test_a_proposal_is_a_working_day_in_time_or_flagged_overdue(
    calendar: ClinicCalendar, refill_by: date, today: date
) -> None:
    try:
        proposal = propose_appointment(refill_by, today=today, calendar=calendar)
    except Refusal as refusal:
        assert refusal.field == "calendar"
        return
    day = proposal.day
    assert calendar.is_working_day(day)  # never a weekend, a public holiday or a closing day
    assert day.weekday() in calendar.open_weekdays and day not in calendar.closed_dates
    assert day >= today
    if proposal.overdue:
        assert day > refill_by or refill_by < today
        span = (refill_by - today).days
        assert not any(
            calendar.is_working_day(today + timedelta(days=n)) for n in range(max(span + 1, 0))
        )
    else:
        assert day <= refill_by  # never after the refill-by date, so never after the alarm


@cases(50)
@given(
    st.text(max_size=4),
    st.one_of(st.none(), st.text(max_size=4)),
    st.sets(st.integers(-2, 8)).map(frozenset),
)
def test_an_unknown_country_region_or_weekday_is_refused_naming_it(
    country: str, subdivision: str | None, weekdays: frozenset[int]
) -> None:
    try:
        ClinicCalendar(country, subdivision, weekdays)
    except Refusal as refusal:
        assert refusal.field in ("country", "subdivision", "open_weekdays")
        return
    assert weekdays and weekdays <= frozenset(range(7))


@st.composite
def refill_lists(draw: st.DrawFn) -> tuple[list[DueRefill], date]:
    today = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from((("baclofen",), ("morphine",), ("ziconotide", "clonidine"),
                                 ("Baclofen ",))),
                st.integers(-30, 90),
                st.integers(0, 14),
            ),
            max_size=12,
        )
    )  # fmt: skip
    due = [
        DueRefill(f"p{i % 5}", drugs, today + timedelta(alarm), today + timedelta(alarm - margin))
        for i, (drugs, alarm, margin) in enumerate(rows)
    ]
    return due, today


@cases(50)
@given(refill_lists(), st.randoms(use_true_random=False))
def test_the_refill_list_is_a_total_stable_order_whatever_the_input_order(
    case: tuple[list[DueRefill], date], shuffler: random.Random
) -> None:
    due, today = case
    calendar = ClinicCalendar("DE")
    ranked = prioritise(due, today=today, calendar=calendar)
    keys = [p.sort_key for p in ranked]
    assert keys == sorted(keys)
    shuffled = list(due)
    shuffler.shuffle(shuffled)
    again = prioritise(shuffled, today=today, calendar=calendar)
    assert [p.sort_key for p in again] == keys
    # overdue patients before all others, baclofen first among equal urgency
    overdue = [p.overdue for p in ranked]
    assert overdue == sorted(overdue, reverse=True)
    for p in ranked:
        names = {catalog.drug(n).name for n in p.due.drug_names}
        assert p.high_risk == ("baclofen" in names)


@cases(50)
@given(st.lists(st.one_of(hostile_names, st.sampled_from(sorted(catalog.drugs()))), max_size=3))
def test_a_due_refill_refuses_an_unknown_drug_that_could_hide_baclofen(names: list[str]) -> None:
    try:
        DueRefill("p", tuple(names), date(2026, 1, 1), date(2026, 1, 1))
    except Refusal as refusal:
        assert refusal.field == "drug_names" or refusal.field.startswith("drug_names[")
        return
    assert names and all(n.strip().lower() in catalog.drugs() for n in names)


def test_the_earliest_working_day_at_the_calendars_end_is_refused_not_overflowed() -> None:
    """Defect: a calendar closed on the last days of 9999 made earliest_working_day step past
    date.max and raise OverflowError."""
    calendar = ClinicCalendar("DE", open_weekdays=frozenset({0}))
    try:
        propose_appointment(date(9999, 12, 30), today=date.max, calendar=calendar)
    except Refusal as refusal:
        assert refusal.field == "calendar"
    else:
        raise AssertionError("9999-12-31 is a Friday: no Monday is left in the calendar")
