"""A prescription as values: what each day of a flex program gives, the worst day with every
patient bolus, the shapes a pump can run, the rows forms and the API give, and which
prescriptions are high-alert (rule-double-check)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    Step,
    check_shape,
    clock_time,
    flex_program,
    patient_bolus,
    raises,
    step_row,
)
from painpump.core.units import Kind, Q, parse

SYNCHROMED = catalog.pump("synchromed-ii-20", "pump")


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def ziconotide_weekend_lower() -> PrescribedProgram:
    """1.2 mcg/day at night, 2.4 from 08:00 to 20:00 on weekdays; 1.2 all day at the weekend."""
    return flex_program(
        [
            step_row("mon-fri", "00:00", "1.2 mcg/day", "steps[0]"),
            step_row("mon-fri", "08:00", "2.4 mcg/day", "steps[1]"),
            step_row("mon-fri", "20:00", "1.2 mcg/day", "steps[2]"),
            step_row("sat-sun", "00:00", "1.2 mcg/day", "steps[3]"),
        ]
    )


def test_a_flex_day_gives_each_step_for_the_hours_it_runs() -> None:
    program = ziconotide_weekend_lower()
    # 1.2 x 8/24 + 2.4 x 12/24 + 1.2 x 4/24 = 0.4 + 1.2 + 0.2
    assert program.day_dose(0) == Decimal("1.8")
    assert program.day_dose(5) == Decimal("1.2")
    assert program.largest_day.canonical == Decimal("1.8")
    assert program.average_day.canonical == (5 * Decimal("1.8") + 2 * Decimal("1.2")) / 7
    assert program.highest_step.canonical == Decimal("2.4")


def test_the_rows_give_each_weekday_its_own_pattern_in_time_order() -> None:
    program = ziconotide_weekend_lower()
    assert [s.start for s in program.days[2]] == ["00:00", "08:00", "20:00"]
    assert [s.start for s in program.days[6]] == ["00:00"]


@given(st.decimals(min_value=Decimal("0.1"), max_value=Decimal(5000), places=3))
def test_a_continuous_program_gives_its_dose_every_day(dose: Decimal) -> None:
    program = PrescribedProgram.continuous(q(f"{dose} mcg/day"))
    assert {program.day_dose(i) for i in range(7)} == {dose}
    assert program.largest_day.canonical == program.average_day.canonical == dose


def test_the_worst_day_adds_every_allowed_patient_bolus_to_the_largest_day() -> None:
    ptm = patient_bolus("0.1 mg", "2 min", "3 hour", "4")
    morphine = Prescription(
        (("morphine", q("10 mg/mL", Kind.CONCENTRATION)),),
        PrescribedProgram.continuous(q("5 mg/day")),
        ptm,
    )
    assert (ptm.dose.canonical, ptm.duration_s, ptm.lockout_s, ptm.max_per_day) == (
        Decimal(100),
        120,
        10_800,
        4,
    )
    assert morphine.daily_dose.canonical == Decimal(5000)
    assert morphine.worst_day.canonical == Decimal(5400)
    assert morphine.average_rate_ml_per_day == Decimal("0.5")


@pytest.mark.parametrize(
    ("drugs", "high_alert"),
    [
        (("morphine",), True),
        (("hydromorphone",), True),
        (("ziconotide",), True),
        (("baclofen",), True),
        (("clonidine",), False),
        (("bupivacaine",), False),
        (("bupivacaine", "clonidine"), True),
    ],
)
def test_opioids_ziconotide_baclofen_and_admixtures_are_high_alert(
    drugs: tuple[str, ...], high_alert: bool
) -> None:
    prescription = Prescription(
        tuple((name, q("1 mg/mL", Kind.CONCENTRATION)) for name in drugs),
        PrescribedProgram.continuous(q("100 mcg/day")),
    )
    assert prescription.high_alert is high_alert


def test_a_day_beginning_after_midnight_is_refused_naming_its_first_step() -> None:
    program = PrescribedProgram.flex(((Step(3600, q("1 mcg/day")),),) * 7)
    with pytest.raises(Refusal) as refused:
        check_shape(SYNCHROMED, program, None)
    assert refused.value.field == "program.days.mon[0].start"
    assert "leaves the start of the day unprogrammed" in str(refused.value)


def test_more_steps_a_day_than_the_pump_can_run_are_refused_as_a_hard_device_limit() -> None:
    rows = [step_row("every day", f"{h:02d}:00", "100 mcg/day", f"steps[{h}]") for h in range(14)]
    with pytest.raises(Refusal) as refused:
        check_shape(SYNCHROMED, flex_program(rows), None)
    assert refused.value.field == "program.days.mon"
    assert refused.value.value == "14 steps"
    assert "at most 13 a day (hard" in refused.value.limit
    assert refused.value.source.startswith("medtronic-uk-synchromed-ii-page")


def test_a_constant_flow_pump_takes_neither_a_flex_program_nor_patient_boluses() -> None:
    fixed = next(p for p in catalog.pumps().values() if p.fixed_rate)
    with pytest.raises(Refusal) as refused:
        check_shape(fixed, ziconotide_weekend_lower(), None)
    assert refused.value.field == "program.kind"
    continuous = PrescribedProgram.continuous(q("1 mg/day"))
    with pytest.raises(Refusal) as refused:
        check_shape(fixed, continuous, patient_bolus("0.1 mg", "2 min", "3 hour", "4"))
    assert refused.value.field == "ptm"


@pytest.mark.parametrize(
    ("ptm", "field", "words"),
    [
        (
            PatientBolus(q("50 mcg", Kind.MASS), 600, 300, 2),
            "ptm.lockout",
            "shorter than the bolus",
        ),
        (PatientBolus(q("50 mcg", Kind.MASS), 120, 3600, 25), "ptm.max_per_day", "1 to 24"),
        (PatientBolus(q("50 mcg", Kind.MASS), 120, 3600, 0), "ptm.max_per_day", "1 to 24"),
    ],
)
def test_patient_bolus_settings_a_pump_cannot_keep_are_refused(
    ptm: PatientBolus, field: str, words: str
) -> None:
    with pytest.raises(Refusal) as refused:
        check_shape(SYNCHROMED, PrescribedProgram.continuous(q("1 mg/day")), ptm)
    assert refused.value.field == field
    assert words in str(refused.value)


def test_two_steps_at_one_time_on_a_day_are_refused_naming_the_second() -> None:
    rows = [
        step_row("every day", "00:00", "1 mcg/day", "steps[0]"),
        step_row("sat-sun", "00:00", "2 mcg/day", "steps[1]"),
    ]
    with pytest.raises(Refusal) as refused:
        flex_program(rows)
    assert refused.value.field == "steps[1].start"
    assert "one step at a time on sat" in refused.value.limit


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (("weekends", "00:00", "1 mcg/day"), "steps[0].days"),
        (("mon", "24:00", "1 mcg/day"), "steps[0].start"),
        (("mon", "8h", "1 mcg/day"), "steps[0].start"),
        (("mon", "08:00", "1 mcg"), "steps[0].dose"),
        (("mon", "08:00", "1"), "steps[0].dose"),
    ],
)
def test_a_step_row_with_an_unknown_day_time_or_unit_is_refused_naming_it(
    entry: tuple[str, str, str], field: str
) -> None:
    with pytest.raises(Refusal) as refused:
        step_row(*entry, "steps[0]")
    assert refused.value.field == field


def test_a_time_of_day_takes_one_or_two_digit_hours() -> None:
    assert clock_time("8:05", "t") == clock_time("08:05", "t") == 8 * 3600 + 300


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        (("50 mcg/day", "2 min", "3 hour", "4"), "ptm.dose"),
        (("50 mcg", "2", "3 hour", "4"), "ptm.duration"),
        (("50 mcg", "2 min", "0 hour", "4"), "ptm.lockout"),
        (("50 mcg", "2 min", "3 hour", "four"), "ptm.max_per_day"),
        (("50 mcg", "1.5 s", "3 hour", "4"), "ptm.duration"),
        (("50 mcg", "2 min", "3 hour", "\u00b2"), "ptm.max_per_day"),
        (("50 mcg", "2 min", "3 hour", "\u0664"), "ptm.max_per_day"),
    ],
)
def test_patient_bolus_entries_without_their_unit_or_count_are_refused(
    entries: tuple[str, str, str, str], field: str
) -> None:
    with pytest.raises(Refusal) as refused:
        patient_bolus(*entries)
    assert refused.value.field == field


def test_a_week_with_days_left_without_steps_is_refused_naming_the_first_such_day() -> None:
    program = flex_program([step_row("mon-fri", "00:00", "100 mcg/day", "steps[0]")])
    assert program.day_dose(5) == 0  # nothing to give, and nothing to crash on
    with pytest.raises(Refusal) as refused:
        check_shape(SYNCHROMED, program, None)
    assert refused.value.field == "program.days.sat"
    assert "is empty" in str(refused.value)


def test_a_program_raises_when_any_moment_or_its_worst_day_gives_more() -> None:
    flat = PrescribedProgram.continuous(q("400 mcg/day"))
    night = flex_program(
        [
            step_row("every day", "00:00", "330 mcg/day", "s[0]"),
            step_row("every day", "12:00", "470 mcg/day", "s[1]"),
        ]
    )
    assert raises(flat, None, night, None)  # the afternoon rose, the day did not
    assert raises(night, None, flat, None)  # the night rose from 330 to 400
    assert not raises(flat, None, flat, None)
    assert raises(flat, None, flat, patient_bolus("10 mcg", "2 min", "3 hour", "1"))
