"""Clinical review finding A (the Adler case): the pump's twin expects 35.024 mL, the pump
reports 35 mL and 30 mL is aspirated. The reconciliation warns (overinfusion, a possible pocket
fill) and its one warning also carries the twin's figure, the drug the 5.024 mL holds (100.5 mg
of morphine) and the advice to watch the patient for an overdose: one reason asked for one
aspirate, never two warnings. Drug amounts in these messages are rounded (finding D)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from painpump.core import catalog
from painpump.core.prescription import PrescribedProgram
from painpump.core.pump_twin import PumpHistory, RecordedFill, RecordedProgram
from painpump.core.refill import DeliveryFinding, LimitedBy, reconcile
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RefillDecision,
    RefillEntries,
    RunningProgram,
    decide_refill,
)
from painpump.core.twin_residual import (
    TwinResidual,
    drug_amounts,
    significant,
    twin_warning,
    with_twin,
)
from painpump.core.units import Kind, Q, of, parse

FILLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ADLER = FILLED + timedelta(seconds=1_719_705)
"""When the twin expects 35.024 mL of the 40 mL filled (4.976 mL at 0.25 mL/day)."""
MORPHINE = (("morphine", Decimal(20_000)),)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
SYNCHROMED_40 = catalog.pump("synchromed-ii-40", "pump_model")
PROGRAM = PrescribedProgram.continuous(of(Decimal(5000), "mcg/day"))
OVERDOSE = (
    "less is left than the recorded history allows: suspect overinfusion, a mis-programmed "
    "pump or a pocket fill, and watch the patient for an overdose"
)


def ml(text: str) -> Q:
    return parse(text, Kind.VOLUME, "test")


def adler(expected: str = "35 mL", aspirated: str = "30 mL") -> RefillDecision:
    """A SynchroMed II 40 mL filled with 40 mL morphine 20 mg/mL at 5 mg/day, refilled at ADLER."""
    rate = Decimal("0.25")
    history = PumpHistory(
        SYNCHROMED_40,
        Decimal(2),
        rate,
        UTC,
        (RecordedFill(FILLED, Decimal(40), MORPHINE),),
        (RecordedProgram(FILLED, MORPHINE, PROGRAM, None),),
    )
    state = PumpState(
        pump=SYNCHROMED_40,
        dead_volume=ml("0.25 mL"),
        alarm_volume=ml("2 mL"),
        last_fill=LastFill(
            FILLED,
            ml("40 mL"),
            MORPHINE,
            (FILLED + timedelta(days=60)).date(),
            LimitedBy.RESERVOIR,
            ((rate, FILLED, None),),
        ),
        running=RunningProgram(Decimal(5000), rate, FILLED, PROGRAM),
        history=history,
    )
    entries = RefillEntries(ADLER, ml(expected), ml(aspirated))
    return decide_refill(state, entries, RULES, now=ADLER)


def test_the_adler_case_is_one_warning_with_the_twin_the_amount_and_the_overdose_advice() -> None:
    decision = adler()
    assert decision.twin is not None and str(decision.twin.least) == "35.024 mL"
    (warning,) = decision.warnings  # one reason asked, not two
    assert warning.rule == "reconciliation"
    assert "suspect overinfusion" in warning.message
    assert (
        "the pump's twin expects 35.024 mL from the recorded history: 30 mL was aspirated, "
        "5.024 mL less (100.5 mg of morphine at 20 mg/mL)" in warning.message
    )
    assert warning.message.endswith(OVERDOSE)
    assert "a difference of at most 2 mL (+/-14.5 % of the 4.976 mL delivered" in warning.limit
    assert "rule-pump-twin" in warning.source
    assert warning.source.count("maino-2017") == 1  # the sources are named once each
    check = decision.reconciliation
    assert check is not None and check.finding is DeliveryFinding.OVERINFUSION
    assert check.against_twin is not None and check.twin is None
    assert check.message == warning.message
    assert decision.needs_verification


def test_more_aspirated_than_the_twin_allows_gives_the_underinfusion_advice() -> None:
    (warning,) = adler("35 mL", "38 mL").warnings
    assert warning.rule == "reconciliation"
    assert "38 mL was aspirated, 2.976 mL more (59.52 mg of morphine at 20 mg/mL)" in (
        warning.message
    )
    assert "more is left than the recorded history allows: suspect underinfusion" in (
        warning.message
    )


def test_the_pumps_own_figure_off_the_twin_stays_the_twins_warning_without_the_aspirate() -> None:
    """The pump reports 38 mL (2.976 mL off the twin), 30 mL aspirated: the reconciliation
    carries the aspirate against the twin, the twin's warning the pump's own figure alone."""
    decision = adler("38 mL", "30 mL")
    assert [w.rule for w in decision.warnings] == ["reconciliation", "twin_residual"]
    reconciliation, twin = decision.warnings
    assert "30 mL was aspirated, 5.024 mL less (100.5 mg" in reconciliation.message
    assert "was aspirated" not in twin.message
    assert "the pump reports 38 mL expected, 2.976 mL more" in twin.message


def test_an_aspirate_the_reconciliation_passes_is_still_judged_against_the_twin() -> None:
    """The pump reports 31 mL, 30 mL aspirated: within the accuracy of each other (1 mL of 9
    mL), both far from the twin: the twin's one warning names both."""
    decision = adler("31 mL", "30 mL")
    (warning,) = decision.warnings
    assert warning.rule == "twin_residual"
    assert "30 mL was aspirated, 5.024 mL less (100.5 mg of morphine" in warning.message
    assert OVERDOSE in warning.message


def test_with_twin_leaves_a_reconciliation_alone_when_it_passes_or_the_twin_agrees() -> None:
    twin = TwinResidual(ml("35.024 mL"), ml("35.024 mL"), ml("40 mL"))
    passing = reconcile(SYNCHROMED_40, ml("35 mL"), ml("34.9 mL"), ml("5 mL"))
    assert with_twin(passing, SYNCHROMED_40, twin, ml("34.9 mL"), MORPHINE) == passing
    near = TwinResidual(ml("30.5 mL"), ml("30.5 mL"), ml("40 mL"))
    warned = reconcile(SYNCHROMED_40, ml("35 mL"), ml("30 mL"), ml("5 mL"))
    assert with_twin(warned, SYNCHROMED_40, near, ml("30 mL"), MORPHINE) == warned
    assert with_twin(warned, SYNCHROMED_40, None, ml("30 mL"), MORPHINE) == warned
    assert (
        twin_warning(
            SYNCHROMED_40, twin, ml("35 mL"), ml("30 mL"), MORPHINE, reconciliation_warned=True
        )
        is None
    )


def test_drug_amounts_keep_four_significant_digits_or_the_volumes_own() -> None:
    assert drug_amounts(of(Decimal("-5.0236835"), "mL"), MORPHINE) == (
        "100.5 mg of morphine at 20 mg/mL"
    )
    assert drug_amounts(of(Decimal("0.8927218"), "mL"), MORPHINE) == (
        "17.85 mg of morphine at 20 mg/mL"
    )
    assert drug_amounts(of(Decimal("12.345"), "mL"), MORPHINE) == (
        "246.9 mg of morphine at 20 mg/mL"
    )
    # a volume printed with five significant digits keeps five in the amount
    assert drug_amounts(of(Decimal("12.345"), "mL"), (("morphine", Decimal(1000)),)) == (
        "12.345 mg of morphine at 1 mg/mL"
    )
    assert drug_amounts(of(Decimal("1.5"), "mL"), (("baclofen", Decimal(2000)),)) == (
        "3000 mcg of baclofen at 2000 mcg/mL"
    )
    assert significant(Decimal("100.47367"), 4) == Decimal("100.5")
    assert significant(Decimal("123456"), 4) == Decimal("1.235E+5")
    assert significant(Decimal(0), 4) == 0
