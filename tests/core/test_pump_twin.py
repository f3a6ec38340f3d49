"""Each pump's forecast from its recorded history (core.pump_twin): the closed form where it
applies (a continuous program without patient boluses), and worked examples, computed by hand, of
what only the twin sees: flex days, assumed and counted patient boluses, program changes, the
pump's clock across a daylight-saving change, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.prescription import PatientBolus, PrescribedProgram, Step
from painpump.core.pump_twin import (
    RULES,
    BolusCount,
    PumpHistory,
    RecordedFill,
    RecordedProgram,
    dates,
    forecast,
    projection,
)
from painpump.core.refill import LimitedBy, StabilityLimit, plan_refill, residual_ml
from painpump.core.twin import Scenario, Twin
from painpump.core.twin.quantum import ml
from painpump.core.twin.scenario import Fluid, ProgramSpec, Rate
from painpump.core.units import Q, of
from strategies import BASE, DAY, PROGRAMMABLE, cases

FILL = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
HOUR = 3600
MORPHINE = (("morphine", Decimal(10_000)),)
ZICONOTIDE = (("ziconotide", Decimal(25)),)
PTM = PatientBolus(of(Decimal(100), "mcg"), 60, 3 * HOUR, 4)  # 0.01 mL of morphine 10 mg/mL


def dose(mcg_per_day: int | Decimal) -> Q:
    return of(Decimal(mcg_per_day), "mcg/day")


def history(
    *programs: RecordedProgram,
    fills: tuple[RecordedFill, ...] = (RecordedFill(FILL, Decimal(20), MORPHINE),),
    boluses: tuple[BolusCount, ...] = (),
    model: str = "synchromed-ii-20",
    tz: timezone | ZoneInfo = UTC,
) -> PumpHistory:
    """Alarm at 2 mL, dead volume 0.25 mL; by default morphine 10 mg/mL filled to 20 mL."""
    return PumpHistory(
        catalog.pump(model), Decimal(2), Decimal("0.25"), tz, fills, programs, boluses
    )


def continuous(
    mcg_per_day: int | Decimal,
    at: datetime = FILL,
    ptm: PatientBolus | None = None,
    drugs: tuple[tuple[str, Decimal], ...] = MORPHINE,
) -> RecordedProgram:
    return RecordedProgram(at, drugs, PrescribedProgram.continuous(dose(mcg_per_day)), ptm)


def after(days: float = 0, *, hours: float = 0, seconds: int = 0) -> datetime:
    return FILL + timedelta(days=days, hours=hours, seconds=seconds)


# -- the closed form ----------------------------------------------------------------------------


@st.composite
def continuous_histories(draw: st.DrawFn) -> tuple[PumpHistory, Decimal, datetime]:
    """A continuous program without PTM on any programmable or constant-flow pump: the history,
    its rate in mL/day and a moment within 60 days of the fill."""
    model = draw(st.sampled_from((*PROGRAMMABLE, "constant-flow")))
    pump = catalog.pump(model)
    low, high = (100, 5000) if pump.fixed_rate else (48, 24_000)
    rate = Decimal(draw(st.integers(low, high))) / 1000
    concentration = Decimal(draw(st.sampled_from((1000, 2000, 10_000, 25_000))))
    drugs = (("morphine", concentration),)
    capacity = int(pump.reservoir_volume.value.canonical * 1000)
    fill_milli = draw(st.integers(2, capacity))
    alarm = Decimal(draw(st.integers(0, fill_milli - 1))) / 1000
    fill_at = BASE + timedelta(seconds=draw(st.integers(0, 400 * DAY)))
    at = fill_at + timedelta(seconds=draw(st.integers(0, 60 * DAY)))
    program = RecordedProgram(
        fill_at - timedelta(seconds=draw(st.integers(0, 30 * DAY))),
        drugs,
        PrescribedProgram.continuous(dose(rate * concentration)),
        None,
    )
    fill = RecordedFill(fill_at, Decimal(fill_milli) / 1000, drugs)
    recorded = PumpHistory(pump, alarm, Decimal("0.25"), UTC, (fill,), (program,))
    return recorded, rate, at


@cases(150)
@given(continuous_histories())
def test_a_continuous_program_without_ptm_agrees_with_the_closed_form_to_the_second(
    case: tuple[PumpHistory, Decimal, datetime],
) -> None:
    recorded, rate, at = case
    fill = recorded.fills[0]
    result = forecast(recorded, at, horizon_days=900)
    plan = plan_refill(
        recorded.pump,
        of(fill.volume_ml, "mL"),
        of(rate, "mL/day"),
        fill_at=fill.at,
        alarm_volume=of(recorded.alarm_volume_ml, "mL"),
    )
    assert result.alarm_at is not None and result.empty_at is not None
    # the closed form floors to the second, the twin finds the first second at or past the volume
    assert timedelta(0) <= result.alarm_at - plan.alarm_at <= timedelta(seconds=1)
    assert timedelta(0) <= result.empty_at - plan.empty_at <= timedelta(seconds=1)
    expected = residual_ml(fill.volume_ml, [(rate, fill.at, None)], at)
    assert abs(result.residual_ml - expected) < Decimal("1e-15")
    assert result.boluses_assumed == 0


# -- what only the twin sees --------------------------------------------------------------------


def test_a_weekend_lower_ziconotide_flex_program_alarms_later_than_at_the_weekday_dose() -> None:
    weekday, weekend = (Step(0, dose(Decimal("2.4"))),), (Step(0, dose(Decimal("1.2"))),)
    flex = PrescribedProgram.flex((weekday,) * 5 + (weekend,) * 2)
    recorded = history(
        RecordedProgram(FILL, ZICONOTIDE, flex, None),
        fills=(RecordedFill(FILL, Decimal(20), ZICONOTIDE),),
    )
    result = forecast(recorded, FILL)
    # 0.096 mL a weekday, 0.048 a weekend day: 0.576 mL a week. 18 mL to the alarm: 31 weeks
    # (17.856 mL), then Monday (0.096) and half of Tuesday (0.048).
    assert result.alarm_at == after(31 * 7 + 1.5)
    at_weekday_dose = plan_refill(
        recorded.pump,
        of(Decimal(20), "mL"),
        of(Decimal("0.096"), "mL/day"),
        fill_at=FILL,
        alarm_volume=of(Decimal(2), "mL"),
    )
    assert at_weekday_dose.alarm_at == after(187.5)
    assert result.alarm_at > at_weekday_dose.alarm_at


def test_assumed_patient_boluses_bring_the_alarm_earlier_by_exactly_their_volume() -> None:
    without = forecast(history(continuous(5000)), FILL)
    result = forecast(history(continuous(5000, ptm=PTM)), FILL)
    assert without.alarm_at == after(36) and without.empty_at == after(40)
    # 0.5 mL/day and four 0.01 mL boluses a day (at 00:00, 03:00, 06:00, 09:00): 33 days give
    # 17.82 mL; on day 34 the alarm falls at 07:12, after its third bolus. 135 boluses, 1.35 mL:
    # 2.7 days of the 0.5 mL/day basal earlier.
    assert result.alarm_at == after(33, hours=7.2)
    assert without.alarm_at - result.alarm_at == timedelta(days=2.7)
    # 37 days give 19.98 mL; day 38's first bolus and 28.8 minutes of basal give the rest.
    assert result.empty_at == after(37, seconds=1728)
    assert result.boluses_assumed == 37 * 4 + 1


def test_the_residual_at_a_refill_accounts_for_the_boluses_the_pump_reports_given() -> None:
    refill = after(20)
    counted = forecast(
        history(continuous(5000, ptm=PTM), boluses=(BolusCount(FILL, refill, 30),)), refill
    )
    assumed = forecast(history(continuous(5000, ptm=PTM)), refill)
    # 10 mL of basal, and 30 boluses reported against the 80 allotted in 20 days
    assert counted.residual_ml == Decimal("9.7")
    assert assumed.residual_ml == Decimal("9.2")
    assert counted.alarm_at is not None and assumed.alarm_at is not None
    assert counted.alarm_at > assumed.alarm_at
    # only the future is assumed once the past is counted
    assert counted.boluses_assumed < assumed.boluses_assumed


def test_a_count_places_its_boluses_where_a_ptm_was_programmed() -> None:
    # PTM only in the first 10 of 20 days: the 30 reported boluses all fall there
    recorded = history(
        continuous(5000, ptm=PTM),
        continuous(5000, after(10)),
        boluses=(BolusCount(FILL, after(20), 30),),
    )
    assert forecast(recorded, after(20)).residual_ml == Decimal("9.7")
    # at day 10 the count is not yet known: all 40 allotted boluses are assumed
    assert forecast(recorded, after(10)).residual_ml == Decimal("14.6")


def test_a_program_change_mid_fill_drives_the_rest_of_the_fill() -> None:
    recorded = history(continuous(5000), continuous(10_000, after(10)))
    result = forecast(recorded, after(12))
    # 0.5 mL/day for 10 days (15 mL left), then 1 mL/day: 13 mL to the alarm
    assert result.residual_ml == Decimal(13)
    assert result.alarm_at == after(23) and result.empty_at == after(25)
    # before the change was recorded, the forecast is the one the clinic could make then
    earlier = forecast(recorded, after(5))
    assert earlier.alarm_at == after(36) and earlier.residual_ml == Decimal("17.5")


def test_the_program_recorded_at_a_refill_replaces_the_one_before() -> None:
    recorded = history(continuous(10_000, FILL - timedelta(days=30)), continuous(5000))
    assert forecast(recorded, FILL).alarm_at == after(36)


def test_a_daylight_saving_change_keeps_a_program_on_the_pump_clock_it_started_with() -> None:
    """Europe/Berlin goes from +01:00 to +02:00 on 29 March 2026. 0.2 mL/day from 00:00, 0.8 from
    08:00 on the clinic's clock."""
    berlin = ZoneInfo("Europe/Berlin")
    flex = PrescribedProgram.flex(((Step(0, dose(2000)), Step(8 * HOUR, dose(8000))),) * 7)
    fill_at = datetime(2026, 4, 1, tzinfo=UTC)
    fills = (RecordedFill(fill_at, Decimal(20), MORPHINE),)
    winter = datetime(2026, 3, 20, tzinfo=UTC)
    at = fill_at + timedelta(hours=7.5)
    started_in_winter = history(
        RecordedProgram(winter, MORPHINE, flex, None), fills=fills, tz=berlin
    )
    started_in_summer = history(
        RecordedProgram(fill_at, MORPHINE, flex, None), fills=fills, tz=berlin
    )
    # winter: the 08:00 step at 07:00 UTC (7 h at 0.2, then 0.5 h at 0.8); summer: at 06:00 UTC
    # (6 h at 0.2, then 1.5 h at 0.8)
    assert forecast(started_in_winter, at).residual_ml == Decimal("19.925")
    assert forecast(started_in_summer, at).residual_ml == Decimal("19.9")


@st.composite
def flex_days(draw: st.DrawFn) -> tuple[tuple[Step, ...], ...]:
    """Seven day patterns of one to three steps on whole minutes, 0.048-2 mL/day at 10 mg/mL."""
    days = []
    for _ in range(7):
        starts = sorted(draw(st.sets(st.integers(1, 24 * 60 - 1), max_size=2)))
        doses = draw(st.lists(st.integers(480, 20_000), min_size=len(starts) + 1,
                              max_size=len(starts) + 1))  # fmt: skip
        days.append(tuple(Step(s * 60, dose(d)) for s, d in zip([0, *starts], doses, strict=True)))
    return tuple(days)


@cases(60)
@given(
    flex_days(),
    st.sampled_from((0, 60, -300, 330, 840, -720)),
    st.integers(0, 30 * DAY),
    st.integers(0, 7 * DAY),
)
def test_a_flex_program_on_a_fixed_offset_agrees_with_the_twin_on_that_pump_clock(
    days: tuple[tuple[Step, ...], ...], offset_minutes: int, elapsed: int, fill_shift: int
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    fill_at = BASE + timedelta(seconds=fill_shift)
    flex = PrescribedProgram.flex(days)
    recorded = history(
        RecordedProgram(fill_at, MORPHINE, flex, None),
        fills=(RecordedFill(fill_at, Decimal(20), MORPHINE),),
        tz=zone,
    )
    start = int(fill_at.timestamp())
    local = tuple(
        tuple((step.start_s, Rate(dose_mcg_per_day=step.dose.canonical)) for step in day)
        for day in days
    )
    pump = recorded.pump
    reference = Scenario(
        start=start,
        until=start + elapsed,
        pump=pump,
        capacity_ml=pump.reservoir_volume.value.canonical,
        alarm_volume_ml=Decimal(2),
        accuracy=Decimal(1),
        dead_volume_ml=Decimal("0.25"),
        primed=True,
        offset_s=offset_minutes * 60,
        fill_volume_ml=Decimal(20),
        fill=Fluid(MORPHINE),
        program=ProgramSpec("flex", days=local),
        ptm=None,
        events=(),
        eri_to_stop_s=None,
        mri_resume_delay_s=0,
    )
    expected = ml(Twin(reference, keep_log=False).run().reservoir_model)
    at = fill_at + timedelta(seconds=elapsed)
    assert forecast(recorded, at).residual_ml == expected


def test_a_dose_program_follows_the_fill_but_a_constant_flow_pump_keeps_its_rate() -> None:
    prescribed_for = (("morphine", Decimal(1000)),)
    fills = (RecordedFill(FILL, Decimal(20), (("morphine", Decimal(2000)),)),)
    program = continuous(1000, drugs=prescribed_for)  # 1 mL/day at 1 mg/mL
    programmable = forecast(history(program, fills=fills), FILL)
    constant = forecast(history(program, fills=fills, model="constant-flow"), FILL)
    # the programmable pump delivers 1 mg/day at 2 mg/mL (0.5 mL/day); the constant-flow pump
    # keeps its 1 mL/day, and its computed reservoir reaches the alarm though it announces none
    assert programmable.alarm_at == after(36)
    assert constant.alarm_at == after(18) and constant.empty_at == after(20)


def test_the_horizon_bounds_the_dates() -> None:
    result = forecast(history(continuous(5000)), FILL, horizon_days=30)
    assert result.alarm_at is None and result.empty_at is None
    assert forecast(history(continuous(5000)), after(50)).residual_ml == 0


# -- refusals -----------------------------------------------------------------------------------


def test_a_moment_before_any_fill_is_refused_naming_the_first_fill() -> None:
    before = FILL - timedelta(seconds=1)
    with pytest.raises(Refusal) as refused:
        forecast(history(continuous(5000)), before)
    assert refused.value.field == "at"
    assert refused.value.value == before.isoformat()
    assert refused.value.limit == f"at or after the first fill ({FILL.isoformat()})"
    assert refused.value.source == RULES


@pytest.mark.parametrize(
    ("recorded", "field"),
    [
        (history(continuous(5000, after(1))), "programs"),
        (history(continuous(5000, drugs=ZICONOTIDE)), "programs[0].drugs"),
        (
            history(
                continuous(5000, ptm=PTM),
                boluses=(BolusCount(FILL, after(5), 3), BolusCount(after(4), after(6), 3)),
            ),
            "boluses[1].since",
        ),
        (history(continuous(5000), boluses=(BolusCount(FILL, after(5), 3),)), "boluses[0].given"),
        (history(continuous(5000), boluses=(BolusCount(after(5), FILL, 3),)), "boluses[0].until"),
        (
            history(continuous(1000), continuous(2000, after(1)), model="constant-flow"),
            "programs[1]",
        ),
        (history(continuous(5000, ptm=PTM), model="constant-flow"), "ptm"),
        (
            history(continuous(5000), fills=(RecordedFill(FILL, Decimal(21), MORPHINE),)),
            "fills[0].volume_ml",
        ),
    ],
    ids=[
        "no program at the fill",
        "another drug",
        "overlapping counts",
        "count without ptm",
        "count backwards",
        "constant-flow rate change",
        "constant-flow ptm",
        "overfill",
    ],
)
def test_an_inconsistent_history_is_refused_naming_the_field(
    recorded: PumpHistory, field: str
) -> None:
    with pytest.raises(Refusal) as refused:
        forecast(recorded, after(10))
    assert refused.value.field == field


def test_a_moment_without_a_zone_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        forecast(history(continuous(5000)), datetime(2026, 2, 1))
    assert refused.value.field == "at"


# -- the dates the clinic stores ----------------------------------------------------------------


def test_the_refill_by_day_is_the_alarm_less_the_margin_or_the_drugs_stability() -> None:
    # morphine 10 mg/mL at 5 mg/day is 0.5 mL/day: the alarm at 2 mL is 36 days after the fill
    recorded = history(continuous(5000))
    found = dates(recorded, after(1), margin_days=Decimal(7), stability=None, tz=UTC)
    assert found.alarm_at == after(36)
    assert found.refill_by == after(29).date() and found.limited_by is LimitedBy.RESERVOIR
    stable = StabilityLimit("morphine", "max_interval", 14, True, "test-source")
    limited = dates(recorded, after(1), margin_days=Decimal(7), stability=stable, tz=UTC)
    assert limited.refill_by == after(14).date() and limited.limited_by is LimitedBy.STABILITY


def test_the_curve_gives_the_residual_at_each_mark_and_nothing_once_empty() -> None:
    recorded = history(continuous(5000))
    marks = [after(days) for days in (0, 10, 20, 40, 50)]
    found = dates(recorded, after(1), margin_days=Decimal(7), stability=None, tz=UTC, marks=marks)
    assert dict(found.curve) == {
        after(0): Decimal(20),
        after(1): Decimal("19.5"),
        after(10): Decimal(15),
        after(20): Decimal(10),
        after(40): Decimal(0),
        after(50): Decimal(0),
    }
    assert found.residual_ml == Decimal("19.5")


def test_the_chart_curve_of_a_continuous_fill_is_the_closed_forms_straight_lines() -> None:
    recorded = history(continuous(5000), continuous(2500, at=after(10)))
    curve = projection(recorded, after(11), margin_days=Decimal(7), stability=None, tz=UTC)
    assert [(p.at, p.volume.canonical, p.label) for p in curve.points] == [
        (after(0), Decimal(20), "fill"),
        (after(10), Decimal(15), "program change"),
        (after(62), Decimal(2), "low-reservoir alarm"),
        (after(70), Decimal(0), "empty"),
    ]
    assert curve.refill_by == after(55).date()
    assert curve.daily_volume.canonical == Decimal("0.25")


def test_the_chart_curve_of_a_fill_with_patient_boluses_follows_the_twin_day_by_day() -> None:
    recorded = history(continuous(5000, ptm=PTM))
    curve = projection(recorded, after(1), margin_days=Decimal(7), stability=None, tz=UTC)
    daily = [p for p in curve.points if p.label == "computed"]
    assert daily[0].at == after(1)
    # 0.5 mL/day basal and 4 boluses of 0.01 mL a day
    assert daily[0].volume.canonical == Decimal("19.46")
    found = dates(recorded, after(1), margin_days=Decimal(7), stability=None, tz=UTC)
    assert curve.alarm_at == found.alarm_at and curve.refill_by == found.refill_by
    assert curve.daily_volume.canonical == Decimal("0.54")
