"""A fill that leaves the low-reservoir alarm within the clinic's refill margin (the next refill
due at once) is a soft warning of the refill decision, worded in the drug's terms, with the alarm
moment and the refill-by day in the clinic's zone and whether an open day lies before it; and a
fill not above the pump's alarm volume is refused as the fill volume's fault (the review's
baclofen case: SynchroMed II 20 mL, baclofen 2000 mcg/mL at 485 mcg/day, 2.5 mL filled)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from painpump.core import catalog
from painpump.core.decision import Subject, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.locale import ClinicLocale, DateFormat
from painpump.core.refill import LimitedBy, plan_refill
from painpump.core.refill_decision import (
    DosingRules,
    Fill,
    LastFill,
    PumpState,
    RefillEntries,
    RunningProgram,
    decide_refill,
)
from painpump.core.scheduling import ClinicCalendar
from painpump.core.units import Kind, Q, parse

BERLIN = ZoneInfo("Europe/Berlin")
LOCALE = ClinicLocale(
    zone=BERLIN, calendar=ClinicCalendar("DE"), date_format=DateFormat.DAY_MONTH_YEAR_DOTS
)
RULES = DosingRules(region="eu", clinic_limits=(), margin_days=Decimal(7), tz=BERLIN, locale=LOCALE)
FILLED = datetime(2026, 10, 3, 8, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 12, 6, 6, 19, tzinfo=UTC)
"""The refill of the review: Sunday 6 December 2026, 07:19 in Berlin (the clinic is closed)."""
MONDAY = datetime(2026, 12, 7, 6, 19, tzinfo=UTC)
RATE = Decimal(485) / Decimal(2000)
"""485 mcg/day at 2000 mcg/mL: 0.2425 mL/day."""
PUMP = catalog.pump("synchromed-ii-20", "pump_model")


def q(text: str, kind: Kind) -> Q:
    return parse(text, kind, "test")


def pump(alarm: str = "2 mL") -> PumpState:
    """A SynchroMed II 20 mL filled with 20 mL baclofen 2000 mcg/mL, running 485 mcg/day."""
    return PumpState(
        pump=PUMP,
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q(alarm, Kind.VOLUME),
        last_fill=LastFill(
            at=FILLED,
            volume=q("20 mL", Kind.VOLUME),
            drugs=(("baclofen", Decimal(2000)),),
            refill_by=(FILLED + timedelta(days=60)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((RATE, FILLED, None),),
        ),
        running=RunningProgram(Decimal(485), RATE, FILLED),
    )


def refill(volume: str, at: datetime = SUNDAY) -> RefillEntries:
    return RefillEntries(
        at=at,
        expected=q("4.55 mL", Kind.VOLUME),
        aspirated=q("4.5 mL", Kind.VOLUME),
        fill=Fill(
            (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),), q(volume, Kind.VOLUME), "L1"
        ),
        dose=q("485 mcg/day", Kind.DOSE_RATE),
    )


def test_a_fill_that_leaves_the_alarm_within_the_margin_warns_in_baclofens_terms() -> None:
    decision = decide_refill(pump(), refill("2.5 mL"), RULES, now=SUNDAY)
    assert decision.stop is None
    (warning,) = decision.warnings
    assert (warning.rule, warning.verdict, warning.tier) == (
        "refill_margin",
        Verdict.WARN,
        Tier.SOFT,
    )
    assert (warning.subject, warning.drug) == (Subject.VOLUME, "baclofen")
    assert warning.message == (
        "this fill of 2.5 mL reaches the low-reservoir alarm (2 mL) 2.06 day after the fill, on "
        "Tue 08.12.2026 08:48 CET, within the clinic's refill margin of 7 day: the next refill "
        "is due at once (refill by Sun 06.12.2026); no open day of the clinic lies from this "
        "fill to the refill-by date (Sun 06.12.2026: closed on Sunday): the first open day, Mon "
        "07.12.2026, is before the day of the alarm; baclofen stops abruptly when the reservoir "
        "runs empty, and abrupt withdrawal can be life-threatening (high fever, altered mental "
        "status, rebound spasticity, muscle rigidity, rhabdomyolysis, death: boxed warning). "
        "Fill more, or give the reason and book the next refill before the alarm"
    )
    assert warning.limit == (
        ">= 7 day from the fill to the low-reservoir alarm (the clinic's refill margin)"
    )
    assert warning.source.startswith("rule-clinic-setting")
    assert "lioresal-label" in warning.source
    assert decision.needs_verification
    assert decision.outcome is not None
    assert decision.outcome.plan.refill_by.isoformat() == "2026-12-06"
    assert all(note.rule != "refill_margin" for note in decision.outcome.notes)


def test_on_an_open_day_the_warning_says_nothing_of_closed_days() -> None:
    decision = decide_refill(pump(), refill("2.5 mL", MONDAY), RULES, now=MONDAY)
    (warning,) = decision.warnings
    assert "refill by Mon 07.12.2026" in warning.message
    assert "no open day" not in warning.message


def test_without_the_clinics_locale_the_dates_are_iso_in_its_zone() -> None:
    rules = replace(RULES, locale=None)
    (warning,) = decide_refill(pump(), refill("2.5 mL"), rules, now=SUNDAY).warnings
    assert "on Tue 2026-12-08 08:48 CET" in warning.message
    assert "(refill by Sun 2026-12-06)" in warning.message
    assert "no open day" not in warning.message


def test_a_fill_that_lasts_beyond_the_margin_has_no_such_warning() -> None:
    decision = decide_refill(pump(), refill("20 mL"), RULES, now=SUNDAY)
    assert decision.stop is None and decision.warnings == ()
    assert not decision.needs_verification


@pytest.mark.parametrize("volume", ["1 mL", "2 mL"])
def test_a_fill_not_above_the_pumps_alarm_is_the_fill_volumes_fault(volume: str) -> None:
    stop = decide_refill(pump(), refill(volume), RULES, now=SUNDAY).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("volume", volume)
    assert stop.limit == "> 2 mL (low-reservoir alarm of synchromed-ii-20)"
    assert stop.problem == "does not exceed the low-reservoir alarm volume 2 mL of synchromed-ii-20"
    assert stop.source == PUMP.low_reservoir_alarm.source


def test_an_alarm_volume_set_at_implantation_is_named_as_such() -> None:
    stop = decide_refill(pump("3 mL"), refill("2.5 mL"), RULES, now=SUNDAY).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("volume", "2.5 mL")
    assert stop.limit == "> 3 mL (low-reservoir alarm of synchromed-ii-20)"
    assert (
        stop.source
        == "the low-reservoir alarm volume set for this synchromed-ii-20 at implantation"
    )


def test_an_alarm_volume_typed_into_the_calculator_is_refused_as_typed() -> None:
    with pytest.raises(Refusal) as refused:
        plan_refill(
            PUMP,
            q("1 mL", Kind.VOLUME),
            q("0.2425 mL/day", Kind.VOLUME_RATE),
            fill_at=SUNDAY,
            alarm_volume=q("2 mL", Kind.VOLUME),
        )
    assert (refused.value.field, refused.value.value) == ("alarm_volume", "2 mL")
    assert refused.value.limit == "< 1 mL (the fill volume)"
    assert refused.value.problem == "is not below the fill volume"


def test_the_calculator_still_warns_of_a_refill_due_at_once() -> None:
    plan = plan_refill(
        PUMP, q("2.5 mL", Kind.VOLUME), q("0.2425 mL/day", Kind.VOLUME_RATE), fill_at=SUNDAY
    )
    assert [w.rule for w in plan.warnings] == ["refill_margin"]
    assert "the refill is due at once" in plan.warnings[0].message
