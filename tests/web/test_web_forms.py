"""Quantities typed into the web forms are parsed by the core's unit rules: the unit is kept,
a bare number, a unit of the wrong kind and a decimal comma are refused with the rule and its
source; a service refusal lands next to the field it names."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django import forms

from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q
from painpump.web.forms import QuantityField, show_refusal


class Fill(forms.Form):
    volume = QuantityField(Kind.VOLUME, label="Volume", positive=True)
    concentration = QuantityField(Kind.CONCENTRATION, label="Concentration", required=False)


def test_a_quantity_keeps_the_unit_the_nurse_typed() -> None:
    form = Fill({"volume": "20 mL", "concentration": "2 mg/mL"})
    assert form.is_valid()
    assert form.cleaned_data["volume"] == Q(Decimal("20"), "mL")
    assert form.cleaned_data["concentration"] == Q(Decimal("2"), "mg/mL")


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("20", "has no unit"),
        ("20 mg", "mL"),
        ("2,5 mL", "uses a decimal comma"),
        ("0 mL", "zero"),
        ("<script>alert(1)</script>", "a number and a unit"),
    ],
)
def test_a_volume_without_a_valid_unit_is_refused_with_the_rule(typed: str, reason: str) -> None:
    form = Fill({"volume": typed})
    assert not form.is_valid()
    message = form.errors["volume"][0]
    assert "Volume" in message
    assert "source:" in message
    assert reason in message


def test_a_service_refusal_is_shown_next_to_the_field_it_names() -> None:
    form = Fill({"volume": "20 mL"})
    assert form.is_valid()
    refusal = Refusal("fill volume", "45 mL", "at most 20 mL", "device catalog", "exceeds")
    show_refusal(form, refusal, {"fill volume": "volume"})
    assert "at most 20 mL" in form.errors["volume"][0]
    show_refusal(form, Refusal("other", "x", "y"))
    assert "other" in form.non_field_errors()[0]
