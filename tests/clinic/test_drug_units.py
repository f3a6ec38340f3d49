"""A drug's quantities in one unit, exactly (clinic.reads.drug_units): the drug library's unit
whatever unit a value was typed or stored in, every digit a stored value holds (never rounded to
the places painpump prints), words painpump stored or a clinician typed re-expressed drug by drug,
and a prescription typed in the other unit showing no change against the same order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.clinic.reads import drug_units
from painpump.clinic.reads.prescription_history import changes, settings_of
from painpump.core import prescription as rx
from painpump.core.units import Kind, Q, parse


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


@pytest.mark.parametrize(
    ("drug", "typed", "shown"),
    [
        ("morphine", "4000 mcg/day", "4 mg/day"),
        ("morphine", "1234.5678 mcg/day", "1.2345678 mg/day"),  # str() rounds: 1.234568 mg/day
        ("baclofen", "0.44 mg/day", "440 mcg/day"),
        ("baclofen", "135.8016 mcg/day", "135.8016 mcg/day"),  # str() rounds: 135.802 mcg/day
        ("baclofen", "0.000001 mcg/day", "0.000001 mcg/day"),  # the finest the clinic stores
        ("hydromorphone", "500 mcg/day", "0.5 mg/day"),
        ("clonidine", "0.15 mg/day", "150 mcg/day"),
    ],
)
def test_a_dose_is_shown_in_its_drugs_unit_with_every_digit_typed(
    drug: str, typed: str, shown: str
) -> None:
    assert drug_units.shown(drug, dose(typed)) == shown


def test_every_kind_of_a_drugs_quantity_takes_its_unit_and_others_keep_theirs() -> None:
    assert drug_units.shown("morphine", parse("20000 mcg/mL", Kind.CONCENTRATION, "c")) == (
        "20 mg/mL"
    )
    assert drug_units.shown("morphine", parse("100 mcg", Kind.MASS, "m")) == "0.1 mg"
    assert drug_units.shown("baclofen", parse("0.25 mL", Kind.VOLUME, "v")) == "0.25 mL"
    assert drug_units.unit_of("baclofen", Kind.VOLUME_RATE) is None


def test_a_drug_the_library_does_not_hold_keeps_the_unit_recorded() -> None:
    assert drug_units.unit_of("aspirin", Kind.DOSE_RATE) is None
    assert drug_units.shown("aspirin", dose("4000 mcg/day")) == "4000 mcg/day"


def test_a_computed_value_finer_than_the_clinic_stores_is_printed_as_painpump_prints_it() -> None:
    """A flex day's mean (4 mg for 8 h, 4.4 mg for 16 h) has no end of digits."""
    mean = Q(Decimal(12800) / 3, "mcg/day")
    assert drug_units.shown("morphine", mean) == "4.266667 mg/day"
    assert drug_units.shown("baclofen", mean) == "4266.667 mcg/day"


def test_stored_and_typed_words_are_reworded_drug_by_drug() -> None:
    """The drug named before a quantity is its drug, else the principal; numbers that are no
    amount, dose or concentration (a volume, a count, a time) stay as they are."""
    assert drug_units.reworded("morphine 20000 mcg/mL, clonidine 1 mg/mL", "morphine") == (
        "morphine 20 mg/mL, clonidine 1000 mcg/mL"
    )
    assert drug_units.reworded(
        "ptm.dose: entered 200 mcg, prescribed 100 mcg; reservoir: entered 15 mL", "morphine"
    ) == ("ptm.dose: entered 0.2 mg, prescribed 0.1 mg; reservoir: entered 15 mL")
    assert drug_units.reworded("00:00 0.4 mg/day, 08:00 440 mcg/day x4/day", "baclofen") == (
        "00:00 400 mcg/day, 08:00 440 mcg/day x4/day"
    )
    assert drug_units.reworded("at most 4 a day over 10 min", "morphine") == (
        "at most 4 a day over 10 min"
    )


def test_a_concentration_entry_is_of_the_drug_its_field_names() -> None:
    assert drug_units.entry("concentrations.clonidine", "1 mg/mL", "morphine") == "1000 mcg/mL"
    assert drug_units.entry("drugs.clonidine", "1 mg/mL", "morphine") == "1000 mcg/mL"
    assert drug_units.entry("ptm.dose", "100 mcg", "morphine") == "0.1 mg"
    found = {"field": "ptm.dose", "entered": "200 mcg", "prescribed": "100 mcg"}
    assert drug_units.entry_texts(found, "morphine", typed={"entered"}) == {
        "field": "ptm.dose",
        "entered": "200 mcg",
        "prescribed": "0.1 mg",
    }
    assert drug_units.entry_texts(found, None) == found


def _titration(unit: str) -> rx.Prescription:
    """Morphine 20 mg/mL, 4 mg/day with 4.4 mg/day on weekdays from 08:00, a 0.1 mg bolus, each
    typed in mg or mcg."""
    mg = unit == "mg"
    program = rx.flex_program(
        [
            rx.step_row("every day", "00:00", "4 mg/day" if mg else "4000 mcg/day", "s"),
            rx.step_row("mon-fri", "08:00", "4.4 mg/day" if mg else "4400 mcg/day", "s"),
        ]
    )
    concentration = parse("20 mg/mL" if mg else "20000 mcg/mL", Kind.CONCENTRATION, "c")
    ptm = rx.patient_bolus("0.1 mg" if mg else "100 mcg", "10 min", "4 hour", "4")
    return rx.Prescription((("morphine", concentration),), program, ptm)


def test_an_order_typed_in_the_other_unit_is_shown_alike_and_changes_nothing() -> None:
    """Was: the same order typed in mcg listed its concentration, steps and patient bolus as
    changed against the one stored, and showed them in mcg."""
    in_mg, in_mcg = _titration("mg"), _titration("mcg")
    assert settings_of(in_mcg) == settings_of(in_mg)
    assert changes(in_mg, in_mcg) == ()
    shown = settings_of(in_mcg)
    assert shown["drug 1"] == "morphine 20 mg/mL"
    assert shown["daily dose (largest day)"] == "4.266667 mg/day"
    assert shown["steps mon"] == "00:00 4 mg/day, 08:00 4.4 mg/day"
    assert shown["patient bolus"] == "0.1 mg"


def test_program_and_bolus_words_are_in_the_principal_drugs_unit() -> None:
    value = _titration("mcg")
    assert drug_units.program("morphine", value.program) == (
        "mon-fri: 00:00 4 mg/day, 08:00 4.4 mg/day; sat-sun: 00:00 4 mg/day"
    )
    assert value.ptm is not None
    assert drug_units.patient_bolus("morphine", value.ptm) == (
        "0.1 mg over 10 min, lockout 4 h, at most 4 a day"
    )
    bolus = rx.single_bolus("1500 mcg", "5 min")
    assert drug_units.single_bolus("morphine", bolus) == "1.5 mg over 5 min, then the pump stops"
    delivery = bolus.delivery("morphine", Decimal(20000))
    assert drug_units.bolus_delivery("morphine", delivery) == (
        "single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)"
    )


def test_an_incidents_words_take_each_differences_drug() -> None:
    said = (
        "Programmer readback differs from prescription #2: drugs.clonidine: entered 1 mg/mL, "
        "prescribed 2000 mcg/mL; ptm.dose: entered 200 mcg, prescribed 100 mcg; reservoir: "
        "entered 15 mL, expected 13.2 mL (the pump's twin at this readback) ± 0.1 mL"
    )
    assert drug_units.summary_words(said, "morphine") == (
        "Programmer readback differs from prescription #2: drugs.clonidine: entered 1000 mcg/mL, "
        "prescribed 2000 mcg/mL; ptm.dose: entered 0.2 mg, prescribed 0.1 mg; reservoir: "
        "entered 15 mL, expected 13.2 mL (the pump's twin at this readback) ± 0.1 mL"
    )
