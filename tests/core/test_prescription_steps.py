"""A prescription cannot titrate faster through its flex steps or its patient boluses than its
day totals show: every stretch of the week is judged as a step from the running program's rate
then, the worst day with every allowed bolus as a step (or a start) from the running worst day;
a bolus bigger than a day's basal and a drug the pump is not approved for each need a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Tier
from painpump.core.dose_history import DoseChange
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    PatientBolus,
    PrescribedProgram,
    Prescription,
    flex_program,
    patient_bolus,
    step_row,
)
from painpump.core.prescription_decision import PrescriptionDecision, decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
)
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
FILLED = AT - timedelta(days=10)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
TOLERANT = PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def pump_running(
    drug: str,
    concentration: str,
    program: PrescribedProgram,
    ptm: PatientBolus | None = None,
    *,
    model: str = "synchromed-ii-20",
    origin: str | None = None,
) -> PumpState:
    """A pump filled ten days ago with `drug`, running `program` (and `ptm`) since."""
    conc = q(concentration, Kind.CONCENTRATION).canonical
    daily = program.largest_day.canonical
    return PumpState(
        pump=catalog.pump(model, "pump"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=LastFill(
            at=FILLED,
            volume=q("20 mL", Kind.VOLUME),
            drugs=((drug, conc),),
            refill_by=(FILLED + timedelta(days=40)).date(),
            limited_by=LimitedBy.RESERVOIR,
            programs=((daily / conc, FILLED, None),),
        ),
        running=RunningProgram(daily, daily / conc, FILLED, program, ptm),
        therapy=Therapy(patient=TOLERANT, origin=origin),
    )


def flex(*rows: tuple[str, str, str]) -> PrescribedProgram:
    return flex_program([step_row(*row, f"steps[{i}]") for i, row in enumerate(rows)])


BACLOFEN_400 = pump_running(
    "baclofen", "2000 mcg/mL", PrescribedProgram.continuous(q("400 mcg/day")), origin="spinal"
)


def baclofen(program: PrescribedProgram) -> PrescriptionDecision:
    prescription = Prescription((("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),), program)
    return decide_prescription(BACLOFEN_400, prescription, AT, RULES)


def test_a_day_total_within_the_step_passes_when_no_stretch_steps_further() -> None:
    assert baclofen(PrescribedProgram.continuous(q("520 mcg/day"))).stop is None


@pytest.mark.parametrize(
    ("program", "field"),
    [
        # 640 mcg/day from 12:00 each day: the day is 520 (+30 %), the afternoon +60 %
        (
            flex(("every day", "00:00", "400 mcg/day"), ("every day", "12:00", "640 mcg/day")),
            "program.days.mon[1].dose",
        ),
        # 300 by night, 640 by day: a day of 470, yet +60 % from noon
        (
            flex(("every day", "00:00", "300 mcg/day"), ("every day", "12:00", "640 mcg/day")),
            "program.days.mon[1].dose",
        ),
    ],
)
def test_a_flex_step_beyond_the_labels_titration_step_stops_though_the_day_is_within(
    program: PrescribedProgram, field: str
) -> None:
    decision = baclofen(program)
    assert decision.stop is not None
    assert decision.stop.field == field
    assert "max_step_percent" in decision.stop.message
    assert decision.stop.source.startswith("lioresal-label")


def test_a_continuous_dose_is_judged_against_the_running_flex_programs_lowest_stretch() -> None:
    # Monday to Saturday 400, Sunday 520: a continuous 676 is +30 % on Sunday, +69 % otherwise
    running = pump_running(
        "baclofen",
        "2000 mcg/mL",
        flex(
            ("mon", "00:00", "400 mcg/day"),
            ("tue", "00:00", "400 mcg/day"),
            ("wed", "00:00", "400 mcg/day"),
            ("thu", "00:00", "400 mcg/day"),
            ("fri", "00:00", "400 mcg/day"),
            ("sat", "00:00", "400 mcg/day"),
            ("sun", "00:00", "520 mcg/day"),
        ),
        origin="spinal",
    )
    prescription = Prescription(
        (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),),
        PrescribedProgram.continuous(q("676 mcg/day")),
    )
    decision = decide_prescription(running, prescription, AT, RULES)
    assert decision.stop is not None and "max_step_percent" in decision.stop.message
    assert decision.stop.field == "program.days.mon[0].dose"


def test_patient_boluses_are_judged_as_a_step_from_the_running_worst_day() -> None:
    # 400 mcg/day and 4 x 200 mcg a day: a worst day of 1200 mcg/day, +200 % (hard +30 %)
    decision = decide_prescription(
        BACLOFEN_400,
        Prescription(
            (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),),
            PrescribedProgram.continuous(q("400 mcg/day")),
            patient_bolus("200 mcg", "2 min", "3 hour", "4"),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None
    assert decision.stop.field == "ptm.max_per_day"
    assert "max_step_percent" in decision.stop.message


def test_patient_boluses_at_a_first_fill_are_judged_as_the_start_dose() -> None:
    empty = PumpState(
        pump=catalog.pump("synchromed-ii-20", "pump"),
        dead_volume=q("0.2 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=None,
        running=None,
        therapy=Therapy(patient=TOLERANT),
    )
    # ziconotide 2.4 mcg/day and 8 x 2 mcg: 18.4 mcg on day one, above the label's 2.4 start
    decision = decide_prescription(
        empty,
        Prescription(
            (("ziconotide", q("25 mcg/mL", Kind.CONCENTRATION)),),
            PrescribedProgram.continuous(q("2.4 mcg/day")),
            patient_bolus("2 mcg", "2 min", "3 hour", "8"),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None
    assert (decision.stop.field, "max_start_dose" in decision.stop.message) == (
        "ptm.max_per_day",
        True,
    )


def test_a_bolus_bigger_than_a_days_basal_dose_needs_a_reason() -> None:
    running = pump_running(
        "morphine",
        "10 mg/mL",
        PrescribedProgram.continuous(q("5 mg/day")),
        patient_bolus("2 mg", "2 min", "3 hour", "4"),
    )
    # 10 mg once a day (10 mcg meant?): the worst day stays 15 mg/day, yet one bolus is two days
    decision = decide_prescription(
        running,
        Prescription(
            (("morphine", q("10 mg/mL", Kind.CONCENTRATION)),),
            PrescribedProgram.continuous(q("5 mg/day")),
            patient_bolus("10 mg", "10 min", "24 hour", "1"),
        ),
        AT,
        RULES,
    )
    assert decision.stop is None
    (size,) = [w for w in decision.warnings if w.rule == "ptm_bolus_size"]
    assert size.tier is Tier.SOFT and "10 mg" in size.message and not size.verified


def test_a_drug_the_pump_is_not_approved_for_needs_a_reason() -> None:
    running = pump_running(
        "morphine", "10 mg/mL", PrescribedProgram.continuous(q("5 mg/day")), model="prometra-ii-20"
    )
    decision = decide_prescription(
        running,
        Prescription(
            (
                ("morphine", q("10 mg/mL", Kind.CONCENTRATION)),
                ("clonidine", q("500 mcg/mL", Kind.CONCENTRATION)),
            ),
            PrescribedProgram.continuous(q("5 mg/day")),
        ),
        AT,
        RULES,
    )
    approval = [w for w in decision.warnings if w.rule.endswith("pump_approval")]
    assert [w.drug for w in approval] == ["clonidine"]
    assert approval[0].tier is Tier.SOFT
    assert approval[0].source == catalog.pump("prometra-ii-20").approved_for_source


def test_opioid_boluses_for_a_patient_recorded_naive_who_receives_an_opioid_need_a_reason() -> None:
    running = pump_running("morphine", "10 mg/mL", PrescribedProgram.continuous(q("5 mg/day")))
    stale = replace(
        running, therapy=Therapy(patient=PatientFacts(opioid_status=OpioidStatus.NAIVE))
    )
    decision = decide_prescription(
        stale,
        Prescription(
            (("morphine", q("10 mg/mL", Kind.CONCENTRATION)),),
            PrescribedProgram.continuous(q("5 mg/day")),
            patient_bolus("0.2 mg", "2 min", "3 hour", "4"),
        ),
        AT,
        RULES,
    )
    assert decision.stop is None
    (stale_status,) = [w for w in decision.warnings if w.rule == "ptm_opioid_status"]
    assert "record the patient as opioid-tolerant" in stale_status.message


def test_a_step_raised_soon_after_another_change_is_spaced_like_any_increase() -> None:
    """Baclofen 330 by night and 470 by day since two hours ago: 280 by night and 520 by day
    keeps the day total (400), yet raises the day step again within 24 hours of that change
    (hard)."""
    running = pump_running(
        "baclofen",
        "2000 mcg/mL",
        flex(("every day", "00:00", "330 mcg/day"), ("every day", "12:00", "470 mcg/day")),
        origin="spinal",
    )
    assert running.running is not None
    # the recorded history knows day totals only: 400 since the fill ten days ago
    history = (DoseChange(FILLED, "baclofen", Decimal(400)),)
    recent = replace(
        running,
        running=replace(
            running.running,
            started_at=AT - timedelta(hours=2),
            raised_at=AT - timedelta(hours=2),  # its day step rose from 400 then
        ),
        therapy=replace(running.therapy, history=history),
    )
    decision = decide_prescription(
        recent,
        Prescription(
            (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),),
            flex(("every day", "00:00", "280 mcg/day"), ("every day", "12:00", "520 mcg/day")),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None
    assert decision.stop.field == "program.days.mon[1].dose"
    assert "min_hours_between_increases" in decision.stop.message


def test_the_largest_rise_in_dose_is_judged_as_well_as_the_largest_ratio() -> None:
    # ziconotide 1/5/5 mcg/day becomes 2.2/8.6/5: the morning rises by 3.6 mcg/day (hard 2.4)
    running = pump_running(
        "ziconotide",
        "25 mcg/mL",
        flex(
            ("every day", "00:00", "1 mcg/day"),
            ("every day", "08:00", "5 mcg/day"),
            ("every day", "16:00", "5 mcg/day"),
        ),
    )
    decision = decide_prescription(
        running,
        Prescription(
            (("ziconotide", q("25 mcg/mL", Kind.CONCENTRATION)),),
            flex(
                ("every day", "00:00", "2.2 mcg/day"),
                ("every day", "08:00", "8.6 mcg/day"),
                ("every day", "16:00", "5 mcg/day"),
            ),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None and decision.stop.field == "program.days.mon[1].dose"
    assert "max_step_absolute" in decision.stop.message


def test_a_program_recorded_before_prescriptions_is_stepped_from_as_continuous() -> None:
    assert BACLOFEN_400.running is not None
    legacy = replace(BACLOFEN_400, running=replace(BACLOFEN_400.running, program=None))
    decision = decide_prescription(
        legacy,
        Prescription(
            (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),),
            flex(("every day", "00:00", "400 mcg/day"), ("every day", "12:00", "640 mcg/day")),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None and "max_step_percent" in decision.stop.message


def test_a_first_fills_highest_step_is_judged_as_the_start_dose() -> None:
    empty = replace(BACLOFEN_400, last_fill=None, running=None)
    decision = decide_prescription(
        empty,
        Prescription(
            (("ziconotide", q("25 mcg/mL", Kind.CONCENTRATION)),),
            flex(("every day", "00:00", "1.6 mcg/day"), ("every day", "23:00", "19 mcg/day")),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None and decision.stop.field == "program.days.mon[1].dose"
    assert "max_start_dose" in decision.stop.message


def test_a_bolus_ten_times_the_running_one_is_refused_as_a_slip() -> None:
    running = pump_running(
        "morphine",
        "10 mg/mL",
        PrescribedProgram.continuous(q("5 mg/day")),
        patient_bolus("0.5 mg", "2 min", "2 hour", "10"),
    )
    decision = decide_prescription(
        running,
        Prescription(
            (("morphine", q("10 mg/mL", Kind.CONCENTRATION)),),
            PrescribedProgram.continuous(q("5 mg/day")),
            patient_bolus("5 mg", "2 min", "24 hour", "1"),
        ),
        AT,
        RULES,
    )
    assert decision.stop is not None
    assert (decision.stop.field, decision.stop.value) == (
        "ptm.dose",
        "morphine 10 mg/mL: a patient bolus of 5 mg",
    )
    assert "tenfold_bolus_step" in decision.stop.message


def test_a_step_after_a_refill_that_raised_nothing_is_spaced_from_the_last_increase() -> None:
    """The same program refilled two hours ago (nothing rose): a day step within the label's
    step passes; the last increase was ten days ago."""
    running = pump_running(
        "baclofen",
        "2000 mcg/mL",
        flex(("every day", "00:00", "330 mcg/day"), ("every day", "12:00", "470 mcg/day")),
        origin="spinal",
    )
    assert running.running is not None
    refilled = replace(
        running,
        running=replace(running.running, started_at=AT - timedelta(hours=2)),
        therapy=replace(running.therapy, history=(DoseChange(FILLED, "baclofen", Decimal(400)),)),
    )
    decision = decide_prescription(
        refilled,
        Prescription(
            (("baclofen", q("2000 mcg/mL", Kind.CONCENTRATION)),),
            flex(("every day", "00:00", "280 mcg/day"), ("every day", "12:00", "520 mcg/day")),
        ),
        AT,
        RULES,
    )
    assert decision.stop is None
