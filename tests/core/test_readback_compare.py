"""The programmer's readback beyond the prescription (rule-readback): the pump's own reservoir
estimate against the volume expected then (filled, filled less a priming bolus as it draws, or
between refills the twin's residual) within the clinic's tolerance, and the bridge or priming
bolus the refill ran against what the programmer shows of it. Each mismatch names the field,
the value entered and what was expected with the tolerance and its source."""

from __future__ import annotations

from decimal import Decimal

import pytest

from painpump.core.catalog import Sourced
from painpump.core.errors import Refusal
from painpump.core.prescription import FluidChange, PrescribedProgram, Prescription
from painpump.core.prescription_compare import (
    ExpectedReservoir,
    FluidChangeShown,
    Mismatch,
    Readback,
    compare_readback,
    filled_reservoir,
)
from painpump.core.readback_tolerance import FIELD, ceiling, tolerance
from painpump.core.units import Kind, Q, of, parse

BACLOFEN = Prescription(
    (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),),
    PrescribedProgram.continuous(parse("440 mcg/day", Kind.DOSE_RATE, "d")),
)
TOLERANCE = tolerance()
TOLD = "± 0.1 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"
PRIMING = FluidChangeShown(FluidChange.PRIMING, of(Decimal("0.25"), "mL"))
BRIDGE = FluidChangeShown(
    FluidChange.BRIDGE, of(Decimal("0.25"), "mL"), of(Decimal("0.166667"), "mL/day")
)


def ml(text: str) -> Q:
    return parse(text, Kind.VOLUME, "v")


def shown(reservoir: str, fluid_change: FluidChangeShown | None = None) -> Readback:
    """The programmer showing the prescription and `reservoir`."""
    return Readback(ml(reservoir), BACLOFEN.drugs, BACLOFEN.program, None, fluid_change)


def twin(least: str, most: str | None = None, tolerance: Sourced = TOLERANCE) -> ExpectedReservoir:
    basis = "the pump's twin at this readback"
    return ExpectedReservoir(ml(least), ml(most or least), basis, tolerance)


def differences(
    reservoir: ExpectedReservoir, read: Readback, ran: FluidChangeShown | None = None
) -> list[Mismatch]:
    return list(compare_readback(BACLOFEN, read, reservoir=reservoir, fluid_change=ran))


@pytest.mark.parametrize("read", ["7.998 mL", "8 mL", "8.098 mL", "7.898 mL", "7900 uL"])
def test_between_refills_a_reservoir_within_the_tolerance_of_the_twin_matches(read: str) -> None:
    assert differences(twin("7.998 mL"), shown(read)) == []


@pytest.mark.parametrize("read", ["7.897 mL", "8.099 mL", "5 mL"])
def test_between_refills_a_reservoir_beyond_the_tolerance_names_the_twin_and_tolerance(
    read: str,
) -> None:
    (found,) = differences(twin("7.998 mL"), shown(read))
    assert found.field == "reservoir" and found.against == "expected"
    assert found.message == (
        f"reservoir: entered {ml(read)}, expected 7.998 mL (the pump's twin at this readback) "
        f"{TOLD}"
    )
    assert found.as_json()["against"] == "expected"


def test_with_patient_boluses_unreported_the_twin_expects_a_range() -> None:
    expected = twin("6.5 mL", "7.2 mL")
    assert differences(expected, shown("6.4 mL")) == []
    assert differences(expected, shown("7.3 mL")) == []
    (found,) = differences(expected, shown("7.4 mL"))
    assert found.prescribed == f"6.5 mL to 7.2 mL (the pump's twin at this readback) {TOLD}"


def test_a_clinic_tolerance_of_zero_compares_exactly() -> None:
    exact = twin("8 mL", tolerance=tolerance(ml("0 mL")))
    assert differences(exact, shown("8 mL")) == []
    (found,) = differences(exact, shown("8.001 mL"))
    assert found.prescribed.endswith(
        "± 0 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"
    )


def test_after_a_fill_the_reservoir_is_the_volume_filled() -> None:
    expected = filled_reservoir(ml("20 mL"), None, TOLERANCE)
    assert differences(expected, shown("20 mL")) == []
    (found,) = differences(expected, shown("18 mL"))
    assert found.message == f"reservoir: entered 18 mL, expected 20 mL (filled) {TOLD}"


@pytest.mark.parametrize("read", ["20 mL", "19.9 mL", "19.75 mL", "19.65 mL"])
def test_after_a_priming_bolus_the_reservoir_may_show_it_drawn_or_not(read: str) -> None:
    expected = filled_reservoir(ml("20 mL"), PRIMING, TOLERANCE)
    assert differences(expected, shown(read, PRIMING), PRIMING) == []


def test_after_a_priming_bolus_a_reservoir_below_what_it_draws_is_a_mismatch() -> None:
    expected = filled_reservoir(ml("20 mL"), PRIMING, TOLERANCE)
    (found,) = differences(expected, shown("19.5 mL", PRIMING), PRIMING)
    assert found.prescribed == (
        "19.75 mL to 20 mL (20 mL filled, less the 0.25 mL priming bolus as the pump draws it) "
        + TOLD
    )


def test_a_bridge_shown_as_painpump_printed_it_matches_in_any_unit() -> None:
    expected = filled_reservoir(ml("20 mL"), BRIDGE, TOLERANCE)
    for rate in ("0.1667 mL/day", "0.16667 mL/day", "0.006944 mL/hour"):
        bridge = FluidChangeShown(
            FluidChange.BRIDGE, ml("0.25 mL"), parse(rate, Kind.VOLUME_RATE, "r")
        )
        assert differences(expected, shown("20 mL", bridge), BRIDGE) == [], rate


def test_a_bridge_shown_at_another_rate_or_volume_is_a_mismatch_each() -> None:
    wrong = FluidChangeShown(
        FluidChange.BRIDGE, ml("0.3 mL"), parse("0.2 mL/day", Kind.VOLUME_RATE, "r")
    )
    expected = filled_reservoir(ml("20 mL"), BRIDGE, TOLERANCE)
    found = differences(expected, shown("20 mL", wrong), BRIDGE)
    assert [m.message for m in found] == [
        "fluid_change.volume: entered 0.3 mL, prescribed 0.25 mL, the bridge the refill ran",
        "fluid_change.rate: entered 0.2 mL/day, prescribed 0.1667 mL/day, the bridge the refill "
        "ran",
    ]


def test_a_priming_bolus_shown_with_another_volume_is_a_mismatch() -> None:
    wrong = FluidChangeShown(FluidChange.PRIMING, ml("2.5 mL"))
    expected = filled_reservoir(ml("20 mL"), PRIMING, TOLERANCE)
    (found,) = differences(expected, shown("20 mL", wrong), PRIMING)
    assert found.message == (
        "fluid_change.volume: entered 2.5 mL, prescribed 0.25 mL, the priming bolus the refill ran"
    )


def test_a_priming_bolus_not_shown_or_shown_instead_of_a_bridge_is_a_mismatch() -> None:
    expected = filled_reservoir(ml("20 mL"), PRIMING, TOLERANCE)
    (missing,) = differences(expected, shown("20 mL"), PRIMING)
    assert missing.message == (
        "fluid_change: entered none, prescribed a priming bolus of 0.25 mL run by the refill"
    )
    bridged = filled_reservoir(ml("20 mL"), BRIDGE, TOLERANCE)
    (other,) = differences(bridged, shown("20 mL", PRIMING), BRIDGE)
    assert (other.field, other.entered) == ("fluid_change", "a priming bolus of 0.25 mL")
    assert other.prescribed == "a bridge of 0.25 mL at 0.1667 mL/day run by the refill"


def test_a_bridge_or_priming_shown_when_the_refill_ran_none_is_a_mismatch() -> None:
    (found,) = differences(twin("8 mL"), shown("8 mL", PRIMING))
    assert found.message == (
        "fluid_change: entered a priming bolus of 0.25 mL, prescribed none (the refill ran none)"
    )


def test_the_tolerance_is_a_clinic_choice_never_verified() -> None:
    assert TOLERANCE.value == of(Decimal("0.1"), "mL") and not TOLERANCE.verified
    assert TOLERANCE.source.startswith("rule-clinic-setting: a clinic choice")
    chosen = tolerance(ml("50 uL"))
    assert chosen.value == of(Decimal("0.05"), "mL") and not chosen.verified
    assert str(chosen.value) == "0.05 mL"


@pytest.mark.parametrize("value", [Q(Decimal("0"), "mL"), Q(Decimal("0.999"), "mL")])
def test_a_tolerance_from_zero_to_just_below_the_smallest_pocket_fill_threshold_is_accepted(
    value: Q,
) -> None:
    assert tolerance(value).value.canonical == value.canonical


def test_the_tolerance_ceiling_is_the_smallest_pocket_fill_threshold_of_the_catalog() -> None:
    smallest = ceiling()
    assert (str(smallest.value), smallest.verified) == ("1 mL", True)
    assert smallest.source.startswith("maino-2017")


@pytest.mark.parametrize(
    ("value", "shown", "limit", "source"),
    [
        (Q(Decimal("1"), "mL"), "1 mL", "< 1 mL", "maino-2017"),
        (Q(Decimal("1000"), "mcg"), "1000 mcg", "a volume", "painpump input rules"),
        (Q(Decimal("-0.1"), "mL"), "-0.1 mL", ">= 0 mL", "painpump input rules"),
        (Q(Decimal("0.0005"), "mL"), "0.0005 mL", "0.001 mL", "painpump input rules"),
    ],
)
def test_a_tolerance_that_could_pass_a_consequential_discrepancy_or_is_no_volume_is_refused(
    value: Q, shown: str, limit: str, source: str
) -> None:
    with pytest.raises(Refusal) as refused:
        tolerance(value)
    assert (refused.value.field, refused.value.value) == (FIELD, shown)
    assert limit in refused.value.limit and refused.value.source.startswith(source)


def test_a_refused_tolerance_names_the_field_it_was_typed_in() -> None:
    with pytest.raises(Refusal) as refused:
        tolerance(ml("2 mL"), "tolerance")
    assert refused.value.message.startswith("tolerance: 2 mL would pass a discrepancy")


@pytest.mark.parametrize(
    ("read", "matches"),
    [("20.1 mL", True), ("19.891 mL", True), ("20.1001 mL", False), ("19.8909 mL", False)],
)
def test_the_reservoir_edge_applied_is_the_one_the_message_shows(read: str, matches: bool) -> None:
    """The twin's 19.99996 mL is shown as 20 mL: 20.1 mL is within "19.991 mL to 20 mL ± 0.1
    mL" as read, and refused one step past it."""
    expected = ExpectedReservoir(
        of(Decimal("19.99104"), "mL"), of(Decimal("19.99996"), "mL"), "twin", TOLERANCE
    )
    assert expected.words.startswith("19.991 mL to 20 mL (twin) ± 0.1 mL")
    assert expected.holds(ml(read)) is matches
