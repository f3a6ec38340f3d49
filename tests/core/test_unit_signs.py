"""Regression (eighth outside attack): a trailing "%" was read as a factor of 0.01 ("25 mg/mL%"
gave 0.25 mg/mL, a rate 100 times too fast), because the unit parser took "%" for percent. A
quantity's unit is written with letters, digits, spaces and / * ^ ( ) . only; any other sign is
refused naming it."""

from __future__ import annotations

import pytest

from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse


@pytest.mark.parametrize(
    ("text", "kind", "sign"),
    [
        ("25 mg/mL%", Kind.CONCENTRATION, "%"),
        ("0.5 mL/day%", Kind.VOLUME_RATE, "%"),
        ("2000 mcg/day%", Kind.DOSE_RATE, "%"),
        ("4.3 mg/day %", Kind.DOSE_RATE, "%"),
        ("5 mg/day‰", Kind.DOSE_RATE, "‰"),
        ("5 mg+/day", Kind.DOSE_RATE, "+"),
        ("20 mL=", Kind.VOLUME, "="),
    ],
)
def test_regression_a_sign_in_a_unit_is_refused_naming_it(text: str, kind: Kind, sign: str) -> None:
    with pytest.raises(Refusal) as refused:
        parse(text, kind, "dose")
    assert refused.value.field == "dose"
    assert refused.value.value == repr(text)
    assert refused.value.problem == f"has the sign {sign!r} in its unit"
    assert refused.value.limit.startswith(f"a {kind.label} in known units, e.g. ")


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("25 mg/mL", Kind.CONCENTRATION, "25 mg/mL"),
        ("5 mg / day", Kind.DOSE_RATE, "5 mg/day"),
        ("0.5 mL/day", Kind.VOLUME_RATE, "0.5 mL/day"),
        ("200 mcg", Kind.MASS, "200 mcg"),
    ],
)
def test_units_written_as_clinicians_write_them_still_parse(
    text: str, kind: Kind, shown: str
) -> None:
    assert str(parse(text, kind, "dose")) == shown
