"""The implant's dead volume against its catheter: never less than the catalog says the
implanted catheter holds (a slip: hard), more only with a reason (the pump's own path volume is
in no source: soft), within a plausible range for any catheter (hard), and a catheter the
catalog does not know recorded unchecked with a warning (soft). The limits shown are the limits
applied, each naming the computed volume and its source. A clinic's approved entry for a model
the catalog does not hold is judged alike, named as the clinic's and unverified by painpump."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from painpump.core import catalog
from painpump.core.clinic_catheters import ApprovedCatheter
from painpump.core.dead_volume import (
    ABOVE_CATHETER,
    UNCHECKED,
    WITHIN_CATHETER,
    Basis,
    catheter_holds,
    figure_for,
    judge_dead_volume,
)
from painpump.core.decision import Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, of, parse

PROMETRA = "prometra-catheter"


def cm(text: str) -> Q:
    return parse(text, Kind.LENGTH, "catheter_length")


def ml(text: str) -> Q:
    return parse(text, Kind.VOLUME, "dead_volume")


def test_the_catalog_computes_what_the_implanted_catheter_holds() -> None:
    held = catheter_holds(PROMETRA, cm("60 cm"))
    assert held is not None
    assert held[1].canonical == Decimal("0.156")  # 60 cm x 0.0026 mL/cm (prometra-ii-ifu)
    assert catheter_holds("8709SC", cm("60 cm")) is None


@pytest.mark.parametrize("entered", ["0.156 mL", "0.16 mL", "0.141 mL", "0.171 mL", "156 uL"])
def test_a_dead_volume_within_the_tolerance_of_the_catheter_passes_with_its_computed_volume(
    entered: str,
) -> None:
    (note,) = judge_dead_volume(PROMETRA, cm("60 cm"), ml(entered)).findings
    assert (note.rule, note.verdict) == (WITHIN_CATHETER, Verdict.OK)
    assert "the 0.156 mL the prometra-catheter holds (60 cm x 0.0026 mL/cm)" in note.message
    assert note.limit == "0.141 mL to 0.171 mL"


# (case, catheter, length, dead volume, field, value, text in the limit, text in the source,
#  text in the problem)
REFUSED = [
    (
        "below the catheter",
        PROMETRA,
        "60 cm",
        "0.14 mL",
        "dead_volume",
        "0.14 mL",
        ">= 0.141 mL: 10 % below the 0.156 mL the prometra-catheter holds (60 cm x 0.0026 mL/cm)",
        "prometra-ii-ifu: Prometra II IFU p.33",
        "is less than the implanted catheter alone holds: a unit or typing slip?",
    ),
    (
        "a tenth of the catheter",
        PROMETRA,
        "45 cm",
        "0.0117 mL",
        "dead_volume",
        "0.0117 mL",
        "0.02 mL to 2 mL (clinic settings, unverified; hard limit: no override)",
        "rule-clinic-setting: a plausibility guard",
        "is less than any pump outlet and catheter plausibly hold",
    ),
    (
        "microlitres typed as mL, unknown catheter",
        "8709SC",
        "60 cm",
        "250 mL",
        "dead_volume",
        "250 mL",
        "0.02 mL to 2 mL",
        "rule-clinic-setting: a plausibility guard",
        "is more than any pump outlet and catheter plausibly hold",
    ),
    (
        "nothing in the path",
        "8709SC",
        "60 cm",
        "0 mL",
        "dead_volume",
        "0 mL",
        "0.02 mL to 2 mL",
        "rule-clinic-setting",
        "is less than any pump outlet and catheter plausibly hold",
    ),
    (
        "longer than the catheter",
        PROMETRA,
        "120 cm",
        "0.3 mL",
        "catheter_length",
        "120 cm",
        "<= 110 cm (full length of prometra-catheter)",
        "prometra-ii-ifu",
        "is longer than the catheter",
    ),
]


@pytest.mark.parametrize(
    ("model", "length", "entered", "field", "value", "limit", "source", "problem"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_dead_volume_the_catheter_rules_out_is_refused_naming_the_computed_volume(
    model: str,
    length: str,
    entered: str,
    field: str,
    value: str,
    limit: str,
    source: str,
    problem: str,
) -> None:
    with pytest.raises(Refusal) as caught:
        judge_dead_volume(model, cm(length), ml(entered))
    refusal = caught.value
    assert (refusal.field, refusal.value) == (field, value)
    assert limit in refusal.limit
    assert source in refusal.source
    assert problem in refusal.problem


def test_more_than_the_catheter_holds_warns_naming_the_excess_as_the_pumps_own_path() -> None:
    (warning,) = judge_dead_volume(PROMETRA, cm("60 cm"), ml("0.172 mL")).findings
    assert (warning.rule, warning.verdict, warning.tier) == (
        ABOVE_CATHETER,
        Verdict.WARN,
        Tier.SOFT,
    )
    assert "0.016 mL more than the 0.156 mL the prometra-catheter holds" in warning.message
    assert "the pump's own path volume, which no source gives" in warning.message
    assert warning.limit.startswith("<= 0.171 mL (10 % above")
    assert not warning.verified


@pytest.mark.parametrize(
    ("model", "entered"),
    [("8709SC", "0.2 mL"), ("8709SC", "0.25 mL"), ("8781 Ascenda", "0.3 mL")],
    ids=["bench", "fixtures-and-drills", "demo"],
)
def test_a_catheter_the_catalog_does_not_know_is_recorded_unchecked_with_a_warning(
    model: str, entered: str
) -> None:
    """The benchmark's (8709SC, 60 cm, 0.2 mL), the fixtures' and drills' (0.25 mL) and the
    demo's Medtronic implants pass every hard check and carry this warning."""
    (warning,) = judge_dead_volume(model, cm("60 cm"), ml(entered)).findings
    assert (warning.rule, warning.verdict, warning.tier) == (UNCHECKED, Verdict.WARN, Tier.SOFT)
    assert f"the catheter catalog has no {model!r} (it knows prometra-catheter)" in warning.message
    assert f"the dead volume {entered} is not checked" in warning.message
    assert warning.source.startswith("rule-explicit-dead-volumes")


def test_the_tolerance_and_the_plausible_range_are_unverified_clinic_settings() -> None:
    rules = catalog.dead_volume_rules()
    assert rules.tolerance_percent.value == Decimal(10)
    for value in (rules.tolerance_percent, rules.plausible_min, rules.plausible_max):
        assert value.verified is False
        assert value.source.startswith("rule-clinic-setting")


CLINIC = ApprovedCatheter(
    model="8709sc",
    name="Intrathecal catheter 8709SC",
    manufacturer="Medtronic",
    volume_per_cm=Decimal("0.0026"),
    source="IFU 8709SC rev C, page 12",
    entered_by="pharma.cist",
    approved_by="dr.house",
    approved_on=date(2026, 11, 30),
    entry="entry-id",
    version=2,
)
CLINICS = "the clinic's figure approved by dr.house, unverified by painpump"


def test_a_dead_volume_within_a_clinic_entry_passes_naming_the_figure_as_the_clinics() -> None:
    (note,) = judge_dead_volume("8709SC", cm("60 cm"), ml("0.156 mL"), CLINIC).findings
    assert (note.rule, note.verdict, note.verified) == (WITHIN_CATHETER, Verdict.OK, False)
    assert f"the 0.156 mL the 8709sc holds (60 cm x 0.0026 mL/cm, {CLINICS})" in note.message
    assert note.limit == "0.141 mL to 0.171 mL"
    assert note.source.startswith(
        "clinic catheter entry: IFU 8709SC rev C, page 12 (entered by pharma.cist, approved by "
        "dr.house on 2026-11-30; unverified by painpump); rule-clinic-setting"
    )


def test_a_dead_volume_below_a_clinic_entry_is_refused_as_below_a_catalog_catheter() -> None:
    with pytest.raises(Refusal) as caught:
        judge_dead_volume("8709SC", cm("60 cm"), ml("0.14 mL"), CLINIC)
    refusal = caught.value
    assert (refusal.field, refusal.value) == ("dead_volume", "0.14 mL")
    assert refusal.limit == (
        f">= 0.141 mL: 10 % below the 0.156 mL the 8709sc holds (60 cm x 0.0026 mL/cm, "
        f"{CLINICS}) (hard limit: no override)"
    )
    assert refusal.source.startswith("clinic catheter entry: IFU 8709SC rev C, page 12")
    assert "is less than the implanted catheter alone holds" in refusal.problem


def test_a_dead_volume_above_a_clinic_entry_warns_as_above_a_catalog_catheter() -> None:
    (warning,) = judge_dead_volume("8709SC", cm("60 cm"), ml("0.25 mL"), CLINIC).findings
    assert (warning.rule, warning.verdict, warning.tier) == (
        ABOVE_CATHETER,
        Verdict.WARN,
        Tier.SOFT,
    )
    assert (
        f"0.094 mL more than the 0.156 mL the 8709sc holds (60 cm x 0.0026 mL/cm, {CLINICS})"
        in (warning.message)
    )
    assert not warning.verified


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(min_value=8, max_value=110),
    microlitres=st.integers(min_value=20, max_value=2000),
)
def test_a_clinic_entry_is_judged_with_the_same_tolerance_as_the_catalog_catheter_it_matches(
    length: int, microlitres: int
) -> None:
    """An approved entry of the Prometra catheter's 0.0026 mL/cm for another model gives the
    same verdict and the same limits as the catalog's Prometra catheter, at any length and dead
    volume: only whose figure it is differs."""
    twin = ApprovedCatheter(**{**vars(CLINIC), "model": "twin"})
    entered = of(Decimal(microlitres) / 1000, "mL")
    implanted = cm(f"{length} cm")

    def judged(model: str, clinic: ApprovedCatheter | None) -> tuple[str, ...]:
        try:
            (found,) = judge_dead_volume(model, implanted, entered, clinic).findings
        except Refusal as refusal:
            return ("refused", refusal.field, refusal.limit.split(":")[0].split(" (")[0])
        return (found.rule, found.verdict.value, found.limit.split(" (")[0])

    assert judged("twin", twin) == judged(PROMETRA, None)


def test_the_catalogs_figure_stands_over_a_clinic_entry_for_the_same_model() -> None:
    same = ApprovedCatheter(**{**vars(CLINIC), "model": PROMETRA, "volume_per_cm": Decimal("0.01")})
    figure = figure_for(PROMETRA, same)
    assert figure is not None and figure.basis is Basis.CATALOG
    assert figure.volume_per_cm == Decimal("0.0026") and figure.clinic is None
    (note,) = judge_dead_volume(PROMETRA, cm("60 cm"), ml("0.156 mL"), same).findings
    assert note.rule == WITHIN_CATHETER and "clinic" not in note.message


def test_a_clinic_entry_of_another_model_leaves_the_unchecked_path_as_it_was() -> None:
    assert figure_for("8731SC", CLINIC) is None
    (warning,) = judge_dead_volume("8731SC", cm("60 cm"), ml("0.25 mL"), CLINIC).findings
    assert (warning.rule, warning.verdict, warning.tier) == (UNCHECKED, Verdict.WARN, Tier.SOFT)
    assert "the catheter catalog has no '8731SC' (it knows prometra-catheter)" in warning.message


def test_the_figure_used_is_recorded_with_whose_it_is() -> None:
    clinic = figure_for("8709SC", CLINIC)
    assert clinic is not None and clinic.as_record() == {
        "basis": "clinic",
        "model": "8709sc",
        "volume_per_cm": "0.0026 mL/cm",
        "source": CLINIC.provenance(),
        "verified": False,
        "entry": "entry-id",
        "entry_version": 2,
        "approved_by": "dr.house",
        "words": f"0.0026 mL/cm, {CLINICS}",
    }
    packaged = figure_for(PROMETRA)
    assert packaged is not None
    assert packaged.as_record()["basis"] == "catalog"
    assert packaged.as_record()["words"] == "0.0026 mL/cm, the catalog's"
    assert packaged.as_record()["verified"] is True
