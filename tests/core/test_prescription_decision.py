"""A prescription judged whole before any pump is programmed with it (every step, the worst day
with every patient bolus, patient boluses of an opioid), and the independent entries of the
double-check (the whole order: concentrations, the program step by step, the PTM settings) and
the programmer's readback compared with it: equal quantities in any unit match, every difference
is named by field with entered and prescribed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Tier
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    flex_program,
    patient_bolus,
    step_row,
)
from painpump.core.prescription_compare import (
    CheckEntries,
    ExpectedReservoir,
    Mismatch,
    Readback,
    compare_check,
    compare_readback,
    filled_reservoir,
)
from painpump.core.prescription_decision import decide_prescription
from painpump.core.readback_tolerance import tolerance
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
)
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def conc(text: str) -> Q:
    return q(text, Kind.CONCENTRATION)


def empty_pump(status: OpioidStatus = OpioidStatus.TOLERANT) -> PumpState:
    """A SynchroMed II 20 mL before its first fill, for a patient of the given opioid status."""
    return PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=None,
        running=None,
        therapy=Therapy(patient=PatientFacts(opioid_status=status, psychosis_history=False)),
    )


def ziconotide_pump(dose: str = "1.8 mcg/day") -> PumpState:
    """Ziconotide 25 mcg/mL filled ten days ago, running `dose` since."""
    filled = AT - timedelta(days=10)
    rate = q(dose).canonical / Decimal(25)
    return replace(
        empty_pump(),
        last_fill=LastFill(
            at=filled,
            volume=q("20 mL", Kind.VOLUME),
            drugs=(("ziconotide", Decimal(25)),),
            refill_by=(filled + timedelta(days=14)).date(),
            limited_by=LimitedBy.STABILITY,
            programs=((rate, filled, None),),
        ),
        running=RunningProgram(q(dose).canonical, rate, filled),
    )


def morphine(program: PrescribedProgram, ptm: PatientBolus | None = None) -> Prescription:
    return Prescription((("morphine", conc("10 mg/mL")),), program, ptm)


def ziconotide(*rows: tuple[str, str, str]) -> Prescription:
    program = flex_program([step_row(*row, f"steps[{i}]") for i, row in enumerate(rows)])
    return Prescription((("ziconotide", conc("25 mcg/mL")),), program)


def test_a_flex_program_within_every_limit_passes_with_its_largest_day_as_the_dose() -> None:
    prescription = ziconotide(
        ("every day", "00:00", "1.8 mcg/day"), ("mon-fri", "08:00", "2.4 mcg/day")
    )
    decision = decide_prescription(ziconotide_pump(), prescription, AT, RULES)
    assert decision.stop is None and decision.warnings == ()
    # weekdays: 1.8 for 8 h, 2.4 for 16 h
    assert prescription.daily_dose.canonical == Decimal("2.2")
    assert decision.rate_ml_per_day == Decimal("2.2") / 25


def test_a_flex_step_above_the_label_maximum_stops_though_its_day_stays_below() -> None:
    # 1 hour at 24 mcg/day (1 mcg/h, above the label's 0.8 mcg/h) in a day of 2.75 mcg
    prescription = ziconotide(
        ("every day", "00:00", "1.8 mcg/day"),
        ("every day", "12:00", "24 mcg/day"),
        ("every day", "13:00", "1.8 mcg/day"),
    )
    decision = decide_prescription(ziconotide_pump("2.4 mcg/day"), prescription, AT, RULES)
    assert decision.stop is not None
    assert decision.stop.field == "program.days.mon[1].dose"  # the step, as a step and a maximum
    assert "max_daily_dose" in decision.stop.message
    assert decision.stop.source.startswith("prialt-us-label")


def test_a_flex_step_below_the_pumps_lowest_rate_is_refused_naming_the_step() -> None:
    # 0.5 mcg/day at 25 mcg/mL is 0.02 mL/day, below SynchroMed II's 0.048 mL/day
    prescription = ziconotide(
        ("every day", "00:00", "1.8 mcg/day"), ("sat-sun", "22:00", "0.5 mcg/day")
    )
    decision = decide_prescription(ziconotide_pump(), prescription, AT, RULES)
    assert decision.stop is not None
    assert decision.stop.field == "program.days.sat[1].dose"
    assert "below the pump's range" in decision.stop.message


def test_the_titration_step_is_judged_on_the_largest_day_against_the_running_dose() -> None:
    # from 1.8 to 4.4 mcg/day on weekdays: a step of 2.6, above the label's 2.4 (hard)
    bigger = Prescription(
        (("ziconotide", conc("25 mcg/mL")),),
        flex_program(
            [
                step_row("mon-fri", "00:00", "4.4 mcg/day", "steps[0]"),
                step_row("sat-sun", "00:00", "1.8 mcg/day", "steps[1]"),
            ]
        ),
    )
    decision = decide_prescription(ziconotide_pump(), bigger, AT, RULES)
    assert decision.stop is not None
    assert "max_step_absolute" in decision.stop.message


@pytest.mark.parametrize(
    ("status", "stops", "warns"),
    [
        (OpioidStatus.NAIVE, True, False),
        (OpioidStatus.UNKNOWN, True, False),
        (OpioidStatus.TOLERANT, False, False),
    ],
)
def test_patient_boluses_of_an_opioid_are_contraindicated_for_an_opioid_naive_patient(
    status: OpioidStatus, stops: bool, warns: bool
) -> None:
    prescription = morphine(
        PrescribedProgram.continuous(q("1 mg/day")), patient_bolus("0.1 mg", "2 min", "3 hour", "4")
    )
    decision = decide_prescription(empty_pump(status), prescription, AT, RULES)
    assert (decision.stop is not None) is stops
    if stops:
        assert decision.stop is not None and decision.stop.field == "ptm"
        assert decision.stop.source.startswith("medtronic-tdd-cancer-pain")
    rules = {w.rule for w in decision.warnings}
    assert ("ptm_opioid_status_unknown" in rules) is warns


def test_the_worst_day_with_every_patient_bolus_warns_above_a_soft_maximum() -> None:
    # 9 mg/day basal (within the 10 mg/day start for tolerant patients) and 8 x 1 mg a day:
    # a worst day of 17 mg/day, above the PACC 15 mg/day (soft)
    prescription = morphine(
        PrescribedProgram.continuous(q("9 mg/day")), patient_bolus("1 mg", "2 min", "2 hour", "8")
    )
    decision = decide_prescription(empty_pump(), prescription, AT, RULES)
    assert decision.stop is None
    over = [w for w in decision.warnings if w.rule == "max_daily_dose"]
    assert over and all(w.tier is Tier.SOFT for w in over)
    assert any("17" in w.message for w in over)
    without_ptm = decide_prescription(empty_pump(), replace(prescription, ptm=None), AT, RULES)
    assert "max_daily_dose" not in {w.rule for w in without_ptm.warnings}


def test_the_worst_day_above_a_hard_maximum_stops_naming_the_patient_boluses() -> None:
    prescription = Prescription(
        (("ziconotide", conc("25 mcg/mL")),),
        PrescribedProgram.continuous(q("1.8 mcg/day")),
        patient_bolus("3 mcg", "2 min", "1 hour", "6"),
    )
    decision = decide_prescription(ziconotide_pump(), prescription, AT, RULES)
    assert decision.stop is not None
    assert decision.stop.field == "ptm.max_per_day"
    assert decision.stop.value == "ziconotide 25 mcg/mL, 19.8 mcg/day"


def test_a_drug_named_twice_or_unknown_stops_before_any_dose_is_judged() -> None:
    twice = Prescription(
        (("morphine", conc("10 mg/mL")), ("Morphine ", conc("1 mg/mL"))),
        PrescribedProgram.continuous(q("1 mg/day")),
    )
    decision = decide_prescription(empty_pump(), twice, AT, RULES)
    assert decision.stop is not None and decision.stop.field == "drugs[1]"


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def flex(*rows: tuple[str, str, str]) -> PrescribedProgram:
    return flex_program([step_row(*row, f"steps[{i}]") for i, row in enumerate(rows)])


BACLOFEN = Prescription(
    (("baclofen", conc("2000 mcg/mL")),), PrescribedProgram.continuous(q("400 mcg/day"))
)
WEEKDAY_MORNINGS = flex(
    ("every day", "00:00", "1.0 mcg/day"),
    ("mon-fri", "07:00", "3.0 mcg/day"),
    ("sat-sun", "09:00", "2.0 mcg/day"),
)
ZICONOTIDE = Prescription(
    (("ziconotide", conc("25 mcg/mL")),),
    WEEKDAY_MORNINGS,
    patient_bolus("10 mcg", "2 min", "3 hour", "4"),
)


def entries_of(prescription: Prescription) -> CheckEntries:
    return CheckEntries(prescription.drugs, prescription.program, prescription.ptm)


def named(found: tuple[Mismatch, ...]) -> dict[str, tuple[str, str]]:
    return {m.field: (m.entered, m.prescribed) for m in found}


def test_independent_entries_equal_in_any_unit_match_the_prescription() -> None:
    entries = CheckEntries(
        (("Baclofen", conc("2 mg/mL")),), PrescribedProgram.continuous(q("0.4 mg/day")), None
    )
    assert compare_check(BACLOFEN, entries) == ()


def test_flex_steps_and_patient_boluses_entered_in_other_units_match() -> None:
    entries = CheckEntries(
        (("ziconotide", conc("0.025 mg/mL")),),
        flex(
            ("mon-fri", "07:00", "0.003 mg/day"),
            ("every day", "00:00", "1 mcg/day"),
            ("sat", "09:00", "2 mcg/day"),
            ("sun", "09:00", "0.002 mg/day"),
        ),
        patient_bolus("0.01 mg", "120 s", "180 min", "4"),
    )
    assert compare_check(ZICONOTIDE, entries) == ()


def test_a_flex_day_whose_largest_day_is_a_repeating_decimal_is_accepted_step_by_step() -> None:
    program = flex(("every day", "00:00", "1.0 mcg/day"), ("every day", "07:00", "3.0 mcg/day"))
    prescription = Prescription((("ziconotide", conc("25 mcg/mL")),), program)
    assert str(prescription.daily_dose.canonical).startswith("2.416666")  # no entry equals it
    entries = CheckEntries(
        prescription.drugs,
        flex(("every day", "00:00", "1 mcg/day"), ("every day", "07:00", "3 mcg/day")),
        None,
    )
    assert compare_check(prescription, entries) == ()


def test_independent_entries_that_differ_are_each_named_with_what_was_prescribed() -> None:
    entries = CheckEntries(
        (("baclofen", conc("500 mcg/mL")),), PrescribedProgram.continuous(q("4000 mcg/day")), None
    )
    found = named(compare_check(BACLOFEN, entries))
    assert found.pop("concentrations.baclofen") == ("500 mcg/mL", "2000 mcg/mL")
    assert found == {
        f"program.days.{day}": ("00:00 4000 mcg/day", "00:00 400 mcg/day") for day in WEEK
    }


def test_a_drug_left_out_or_added_at_the_double_check_is_a_difference() -> None:
    entries = replace(entries_of(BACLOFEN), concentrations=(("morphine", conc("10 mg/mL")),))
    fields = {m.field for m in compare_check(BACLOFEN, entries)}
    assert fields == {"concentrations.baclofen", "concentrations.morphine", "concentrations[0]"}


def test_a_flex_step_entered_at_another_time_is_named_on_each_day_it_gives() -> None:
    entries = replace(
        entries_of(ZICONOTIDE),
        program=flex(
            ("every day", "00:00", "1.0 mcg/day"),
            ("mon-fri", "08:00", "3.0 mcg/day"),
            ("sat-sun", "09:00", "2.0 mcg/day"),
        ),
    )
    found = named(compare_check(ZICONOTIDE, entries))
    assert set(found) == {f"program.days.{day}" for day in WEEK[:5]}
    assert found["program.days.wed"] == (
        "00:00 1 mcg/day, 08:00 3 mcg/day",
        "00:00 1 mcg/day, 07:00 3 mcg/day",
    )


def test_a_flex_step_entered_at_another_dose_is_named_on_its_day_only() -> None:
    entries = replace(
        entries_of(ZICONOTIDE),
        program=flex(
            ("every day", "00:00", "1.0 mcg/day"),
            ("mon-fri", "07:00", "3.0 mcg/day"),
            ("sat", "09:00", "2.0 mcg/day"),
            ("sun", "09:00", "20 mcg/day"),
        ),
    )
    assert named(compare_check(ZICONOTIDE, entries)) == {
        "program.days.sun": (
            "00:00 1 mcg/day, 09:00 20 mcg/day",
            "00:00 1 mcg/day, 09:00 2 mcg/day",
        )
    }


def test_a_flex_order_entered_as_continuous_names_the_kind_and_each_day() -> None:
    entries = replace(entries_of(ZICONOTIDE), program=PrescribedProgram.continuous(q("3 mcg/day")))
    found = named(compare_check(ZICONOTIDE, entries))
    assert found["program.kind"] == ("continuous", "flex")
    assert set(found) == {"program.kind"} | {f"program.days.{day}" for day in WEEK}


def test_a_patient_bolus_in_mg_for_mcg_is_caught_naming_the_dose() -> None:
    entries = replace(entries_of(ZICONOTIDE), ptm=patient_bolus("10 mg", "2 min", "3 hour", "4"))
    assert named(compare_check(ZICONOTIDE, entries)) == {"ptm.dose": ("10 mg", "10 mcg")}


def test_patient_boluses_allowed_more_often_are_named_by_their_lockout_and_count() -> None:
    entries = replace(entries_of(ZICONOTIDE), ptm=patient_bolus("10 mcg", "2 min", "1 hour", "8"))
    assert named(compare_check(ZICONOTIDE, entries)) == {
        "ptm.lockout": ("1 h", "3 h"),
        "ptm.max_per_day": ("8", "4"),
    }


def test_patient_boluses_entered_when_none_are_prescribed_are_named_with_their_settings() -> None:
    entries = replace(entries_of(BACLOFEN), ptm=patient_bolus("50 mcg", "2 min", "3 hour", "2"))
    assert named(compare_check(BACLOFEN, entries)) == {
        "ptm": ("50 mcg over 2 min, lockout 3 h, at most 2 a day", "off")
    }


def test_patient_boluses_prescribed_but_entered_as_off_are_named() -> None:
    entries = replace(entries_of(ZICONOTIDE), ptm=None)
    assert named(compare_check(ZICONOTIDE, entries)) == {
        "ptm": ("off", "10 mcg over 2 min, lockout 3 h, at most 4 a day")
    }


def readback_of(prescription: Prescription, reservoir: str = "20 mL") -> Readback:
    return Readback(
        q(reservoir, Kind.VOLUME), prescription.drugs, prescription.program, prescription.ptm
    )


def filled(volume: str = "20 mL") -> ExpectedReservoir:
    return filled_reservoir(q(volume, Kind.VOLUME), None, tolerance())


def test_a_readback_as_prescribed_and_filled_matches() -> None:
    found = compare_readback(BACLOFEN, readback_of(BACLOFEN), reservoir=filled(), fluid_change=None)
    assert found == ()


def test_a_readback_naming_another_volume_step_or_bolus_setting_is_a_mismatch_each() -> None:
    prescribed = morphine(
        PrescribedProgram.continuous(q("5 mg/day")), patient_bolus("0.1 mg", "2 min", "3 hour", "4")
    )
    read = Readback(
        q("18 mL", Kind.VOLUME),
        prescribed.drugs,
        PrescribedProgram.continuous(q("50 mg/day")),
        patient_bolus("0.1 mg", "2 min", "1 hour", "4"),
    )
    found = named(compare_readback(prescribed, read, reservoir=filled(), fluid_change=None))
    assert found["reservoir"] == (
        "18 mL",
        "20 mL (filled) ± 0.1 mL (the clinic's readback tolerance, unverified: "
        "rule-clinic-setting)",
    )
    assert found["program.days.mon"] == ("00:00 50 mg/day", "00:00 5 mg/day")
    assert found["ptm.lockout"] == ("1 h", "3 h")
    assert set(found) == {"reservoir", "ptm.lockout"} | {f"program.days.{d}" for d in WEEK}


def test_patient_boluses_on_the_programmer_but_not_prescribed_are_a_mismatch() -> None:
    read = replace(readback_of(BACLOFEN), ptm=patient_bolus("50 mcg", "2 min", "3 hour", "2"))
    assert named(compare_readback(BACLOFEN, read, reservoir=filled(), fluid_change=None)) == {
        "ptm": ("50 mcg over 2 min, lockout 3 h, at most 2 a day", "off")
    }


def test_the_double_check_names_a_principal_drug_entered_second() -> None:
    prescribed = Prescription(
        (("clonidine", conc("100 mcg/mL")), ("baclofen", conc("2000 mcg/mL"))),
        PrescribedProgram.continuous(q("40 mcg/day")),
    )
    swapped = CheckEntries(
        (("baclofen", conc("2000 mcg/mL")), ("clonidine", conc("100 mcg/mL"))),
        prescribed.program,
        None,
    )
    assert [m.field for m in compare_check(prescribed, swapped)] == ["concentrations[0]"]
