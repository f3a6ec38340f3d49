"""A clinic's own catheter entry (core.clinic_catheters): the volume per cm is read with both its
units, in any volume and length unit; refused for a model the catalog holds (its sourced figure
stands), outside the unverified plausible range or finer than the record keeps, each refusal
naming the field, the value, the limit and its source."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.clinic_catheters import (
    ApprovedCatheter,
    check_entry,
    model_key,
    parse_volume_per_cm,
)
from painpump.core.errors import Refusal

SOURCE = "Medtronic IFU 8709SC rev C, page 12"


def entry(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "model": "8709SC",
        "name": "Intrathecal catheter 8709SC",
        "manufacturer": "Medtronic",
        "volume_per_cm": Decimal("0.0026"),
        "source": SOURCE,
    }
    return values | changes


@pytest.mark.parametrize(
    "typed", ["0.0026 mL/cm", "2.6 uL/cm", "2.6 µL / cm", "0.26 uL/mm", "0.00026 mL/mm"]
)
def test_a_volume_per_cm_is_read_in_any_volume_and_length_unit(typed: str) -> None:
    assert parse_volume_per_cm(typed) == Decimal("0.0026")


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("2.6 uL", "is not a volume per cm"),
        ("0.0026", "is not a volume per cm"),
        ("0.26 mL/m", "is not a volume per cm"),
        ("2.6 uL/cm/cm", "is not a volume per cm"),
        ("2.6 mg/cm", "is not a volume"),
        ("0 uL/cm", "is zero"),
        ("2,6 uL/cm", "uses a decimal comma"),
    ],
)
def test_a_volume_per_cm_without_both_its_units_is_refused_naming_the_field(
    typed: str, problem: str
) -> None:
    with pytest.raises(Refusal) as caught:
        parse_volume_per_cm(typed)
    assert (caught.value.field, caught.value.value) == ("volume_per_cm", repr(typed))
    assert problem in caught.value.problem


@pytest.mark.parametrize("model", ["prometra-catheter", " Prometra-Catheter "])
def test_an_entry_for_a_catalog_catheter_is_refused_because_its_sourced_figure_stands(
    model: str,
) -> None:
    with pytest.raises(Refusal) as caught:
        check_entry(**entry(model=model))  # type: ignore[arg-type]
    refusal = caught.value
    assert (refusal.field, refusal.value) == ("model", model.strip())
    assert refusal.problem == "is in the catheter catalog: its sourced figure stands"
    assert refusal.limit == "a catheter the catalog does not hold (it holds prometra-catheter)"
    assert refusal.source.startswith("prometra-ii-ifu")


@pytest.mark.parametrize(
    ("typed", "side", "shown"),
    [
        ("2.6 mL/cm", "more", "2.6 mL/cm (2600 uL/cm)"),  # uL typed as mL
        ("0.26 mL/cm", "more", "0.26 mL/cm (260 uL/cm)"),  # a figure per m typed per cm
        ("0.26 uL/cm", "less", "0.00026 mL/cm (0.26 uL/cm)"),  # a figure per mm typed per cm
        ("0.0101 mL/cm", "more", "0.0101 mL/cm (10.1 uL/cm)"),
        ("0.49 uL/cm", "less", "0.00049 mL/cm (0.49 uL/cm)"),
    ],
)
def test_an_implausible_volume_per_cm_is_refused_naming_the_value_the_range_and_its_source(
    typed: str, side: str, shown: str
) -> None:
    with pytest.raises(Refusal) as caught:
        check_entry(**entry(volume_per_cm=parse_volume_per_cm(typed)))  # type: ignore[arg-type]
    refusal = caught.value
    assert (refusal.field, refusal.value) == ("volume_per_cm", shown)
    assert refusal.limit == (
        "clinic settings, unverified: 0.0005 to 0.01 mL/cm (hard limit: no override)"
    )
    assert refusal.source.startswith("rule-clinic-setting: a plausibility guard")
    assert f"is {side} than an intrathecal catheter plausibly holds per cm" in refusal.problem


@pytest.mark.parametrize("typed", ["0.5 uL/cm", "10 uL/cm", "2.6 uL/cm"])
def test_the_ends_of_the_plausible_range_are_accepted(typed: str) -> None:
    checked = check_entry(**entry(volume_per_cm=parse_volume_per_cm(typed)))  # type: ignore[arg-type]
    assert checked.volume_per_cm == parse_volume_per_cm(typed)


def test_a_figure_finer_than_the_record_keeps_is_refused_not_rounded() -> None:
    with pytest.raises(Refusal) as caught:
        check_entry(**entry(volume_per_cm=parse_volume_per_cm("2.60001 uL/cm")))  # type: ignore[arg-type]
    assert caught.value.field == "volume_per_cm"
    assert "at most 4 decimal places of a uL/cm" in caught.value.limit


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", "8709SC;"),
        ("model", "8709\u200bSC"),
        ("model", "-8709"),
        ("model", ""),
        ("source", "IFU"),
        ("source", "   "),
        ("name", ""),
        ("manufacturer", "Med\ttronic"),
    ],
)
def test_a_model_or_text_missing_or_unprintable_is_refused_naming_the_field(
    field: str, value: str
) -> None:
    with pytest.raises(Refusal) as caught:
        check_entry(**entry(**{field: value}))  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.source.startswith("rule-clinic-setting")


def test_an_entry_is_kept_by_its_model_key_with_its_texts_trimmed() -> None:
    checked = check_entry(**entry(model="  Ascenda   8781 ", name=" Ascenda "))  # type: ignore[arg-type]
    assert (checked.model, checked.name, checked.source) == ("ascenda 8781", "Ascenda", SOURCE)
    assert model_key("8709SC") == model_key(" 8709sc ") == "8709sc"


def test_the_plausible_range_is_an_unverified_clinic_setting() -> None:
    rules = catalog.clinic_catheter_rules()
    assert (rules.volume_per_cm_min.value, rules.volume_per_cm_max.value) == (
        Decimal("0.0005"),
        Decimal("0.01"),
    )
    for value in (rules.volume_per_cm_min, rules.volume_per_cm_max):
        assert value.verified is False
        assert value.source.startswith("rule-clinic-setting")


def test_an_approved_entry_says_its_source_its_approver_and_painpump_did_not_verify_it() -> None:
    approved = ApprovedCatheter(
        "8709sc",
        "Intrathecal catheter 8709SC",
        "Medtronic",
        Decimal("0.0026"),
        SOURCE,
        "pharma.cist",
        "dr.house",
        date(2026, 11, 30),
        "entry-id",
        2,
    )
    assert approved.provenance() == (
        f"clinic catheter entry: {SOURCE} (entered by pharma.cist, approved by dr.house on "
        "2026-11-30; unverified by painpump)"
    )
