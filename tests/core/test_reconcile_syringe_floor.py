"""Clinical review finding C: a refill a minute after a fill (0.01 mL delivered) aspirating
0.04 mL less than expected is 400 % off by percentage, but within the volume a syringe is read
to (0.2 mL, a clinic placeholder, unverified): within, said so, and no warning. A difference
beyond it is judged by the accuracy as before. The same floor is the least the twin allows an
aspirate (a pump without a pocket-fill threshold). Also finding D's wording of a concentration
judged at a flex program's largest day."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from painpump.core import catalog
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import Prescription, flex_program, step_row
from painpump.core.prescription_decision import decide_prescription
from painpump.core.refill import SYRINGE_READING, DeliveryFinding, reconcile
from painpump.core.refill_decision import DosingRules, PumpState, Therapy, reconciliation_warning
from painpump.core.twin_residual import Compared, TwinResidual, gap, twin_warning
from painpump.core.units import Kind, Q, parse

SYNCHROMED = catalog.pump("synchromed-ii-20", "pump_model")
CADD = catalog.pump("cadd-micro", "pump_model")  # no pocket-fill threshold
MORPHINE = (("morphine", Decimal(20_000)),)


def ml(text: str) -> Q:
    return parse(text, Kind.VOLUME, "test")


def test_the_syringe_floor_is_an_unverified_clinic_placeholder() -> None:
    assert SYRINGE_READING.value == Decimal("0.2")
    assert not SYRINGE_READING.verified
    assert SYRINGE_READING.source.startswith("rule-clinic-setting: ")


def test_a_tiny_delivery_off_by_less_than_a_syringe_reads_is_within() -> None:
    check = reconcile(SYNCHROMED, ml("19.99 mL"), ml("19.95 mL"), ml("0.01 mL"))
    assert check.delivery_error_percent == Decimal(400)
    assert check.within_accuracy and check.within_reading
    assert check.finding is DeliveryFinding.NONE and not check.warns
    assert check.message == (
        "the pump delivered 400.00 % more than programmed, beyond +/-14.5 %, but the difference "
        "0.04 mL is within the 0.2 mL a syringe is read to (unverified)"
    )
    assert reconciliation_warning(check) is None


def test_the_floor_itself_is_within_and_just_beyond_it_the_accuracy_judges() -> None:
    at = reconcile(SYNCHROMED, ml("19.99 mL"), ml("19.79 mL"), ml("0.01 mL"))
    assert at.within_accuracy and at.within_reading
    past = reconcile(SYNCHROMED, ml("19.99 mL"), ml("19.789 mL"), ml("0.01 mL"))
    assert not past.within_accuracy and not past.within_reading
    assert past.finding is DeliveryFinding.OVERINFUSION
    assert "suspect overinfusion" in past.message


def test_within_the_accuracy_the_floor_is_not_mentioned() -> None:
    check = reconcile(SYNCHROMED, ml("10 mL"), ml("9.9 mL"), ml("10 mL"))
    assert check.within_accuracy and not check.within_reading
    assert (
        check.message
        == "the pump delivered 1.00 % more than programmed, within the pump accuracy +/-14.5 %"
    )


def test_an_empty_reservoir_is_never_within_by_the_floor() -> None:
    check = reconcile(SYNCHROMED, ml("0.1 mL"), ml("0 mL"), ml("19.9 mL"))
    assert check.finding is DeliveryFinding.EMPTY and not check.within_accuracy


def test_the_twin_allows_an_aspirate_at_least_the_syringe_floor() -> None:
    """A CADD pump has no pocket-fill threshold: 0.1 mL delivered (6 %: 0.006 mL), the twin
    allows an aspirate 0.2 mL off, not the pump's own figure."""
    twin = TwinResidual(ml("49.9 mL"), ml("49.9 mL"), ml("50 mL"))
    assert gap(CADD, twin, Compared.ASPIRATED, ml("49.7 mL")) is None
    beyond = gap(CADD, twin, Compared.ASPIRATED, ml("49.699 mL"))
    assert beyond is not None and beyond.by_reading and not beyond.verified
    assert "at least the 0.2 mL a syringe is read to (unverified)" in beyond.limit
    assert SYRINGE_READING.source in beyond.source
    reported = gap(CADD, twin, Compared.EXPECTED, ml("49.7 mL"))
    assert reported is not None and not reported.by_reading  # a figure, not a syringe reading
    warned = twin_warning(
        CADD, twin, ml("49.9 mL"), ml("49.699 mL"), MORPHINE, reconciliation_warned=False
    )
    assert warned is not None and "0.201 mL less" in warned.message


def test_a_synchromed_gap_does_not_name_the_floor_below_its_pocket_fill_threshold() -> None:
    twin = TwinResidual(ml("19.9 mL"), ml("19.9 mL"), ml("20 mL"))
    beyond = gap(SYNCHROMED, twin, Compared.ASPIRATED, ml("18.8 mL"))
    assert beyond is not None and not beyond.by_reading
    assert "syringe" not in beyond.limit


def test_a_concentration_judged_at_a_flex_programs_largest_day_is_the_orders() -> None:
    state = PumpState(
        pump=SYNCHROMED,
        dead_volume=ml("0.2 mL"),
        alarm_volume=ml("2 mL"),
        last_fill=None,
        running=None,
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
        ),
    )
    program = flex_program(
        [
            step_row("every day", "00:00", "2 mg/day", "steps[0]"),
            step_row("every day", "07:00", "3 mg/day", "steps[1]"),
        ]
    )
    order = Prescription((("morphine", parse("25 mg/mL", Kind.CONCENTRATION, "c")),), program)
    rules = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
    decision = decide_prescription(state, order, datetime(2026, 3, 2, 9, tzinfo=UTC), rules)
    (concentration,) = [w for w in decision.warnings if w.rule == "max_concentration"]
    assert concentration.message.startswith(
        "the concentration of the order: 25 mg/mL exceeds the maximum concentration 20 mg/mL"
    )
    assert "day's total" not in concentration.message
