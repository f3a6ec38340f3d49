"""A refill's residual judged against the pump's twin (issue 13, the clinical pharmacist's case):
the expected residual the pump reports and the volume aspirated, each against what the twin
computes from the recorded history, beyond the pump's accuracy over the volume the twin says was
delivered or beyond the pocket-fill threshold, as the reconciliation judges aspirated against
expected; a soft warning naming the figures, the difference, the drug it holds, the limit and
its source, which a second clinician then verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog
from painpump.core.decision import Subject, Tier, Verdict
from painpump.core.prescription import PatientBolus, PrescribedProgram
from painpump.core.pump_twin import PumpHistory, RecordedFill, RecordedProgram
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RefillDecision,
    RefillEntries,
    RunningProgram,
    decide_refill,
)
from painpump.core.twin_residual import TwinResidual, twin_residual, twin_warning
from painpump.core.units import Kind, Q, of, parse

FILLED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REVIEWED = FILLED + timedelta(days=38, hours=23, minutes=31, seconds=12)
"""When the twin expects 10.255 mL: 9.745 mL delivered at 0.25 mL/day (the pharmacist's case)."""
DAY_20 = FILLED + timedelta(days=20)
"""When the twin expects 15 mL: 5 mL delivered, whose 14.5 % (0.725 mL) is below 1 mL."""
MORPHINE = (("morphine", Decimal(20_000)),)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
SYNCHROMED = catalog.pump("synchromed-ii-20", "pump_model")
PROGRAM = PrescribedProgram.continuous(of(Decimal(5000), "mcg/day"))
PTM = PatientBolus(of(Decimal(1000), "mcg"), 60, 3 * 3600, 4)  # 0.05 mL at 20 mg/mL


def ml(text: str) -> Q:
    return parse(text, Kind.VOLUME, "test")


def history(ptm: PatientBolus | None = None) -> PumpHistory:
    """A SynchroMed II 20 mL filled with 20 mL morphine 20 mg/mL, running 5 mg/day since."""
    return PumpHistory(
        SYNCHROMED,
        Decimal(2),
        Decimal("0.25"),
        UTC,
        (RecordedFill(FILLED, Decimal(20), MORPHINE),),
        (RecordedProgram(FILLED, MORPHINE, PROGRAM, ptm),),
    )


def pump(recorded: PumpHistory | None) -> PumpState:
    """The pump of `history` as a refill decides on it, with that history (or none)."""
    rate = Decimal("0.25")
    return PumpState(
        pump=SYNCHROMED,
        dead_volume=ml("0.25 mL"),
        alarm_volume=ml("2 mL"),
        last_fill=LastFill(
            FILLED,
            ml("20 mL"),
            MORPHINE,
            (FILLED + timedelta(days=60)).date(),
            LimitedBy.RESERVOIR,
            ((rate, FILLED, None),),
        ),
        running=RunningProgram(Decimal(5000), rate, FILLED, PROGRAM),
        history=recorded,
    )


def refill(
    expected: str, aspirated: str, at: datetime = REVIEWED, recorded: PumpHistory | None = None
) -> RefillDecision:
    entries = RefillEntries(at, ml(expected), ml(aspirated))
    return decide_refill(pump(recorded or history()), entries, RULES, now=at)


NOT_WARNED = {"reconciliation_warned": False}


def rules_of(decision: RefillDecision) -> list[str]:
    return [w.rule for w in decision.warnings]


WHOLE_LIMIT = (
    "beyond 1.413 mL (+/-14.5 % of the 9.745 mL delivered since the last fill, at least the "
    "pocket-fill threshold 1 mL)"
)
POCKET_LIMIT = (
    "beyond 1 mL (+/-14.5 % of the 5 mL delivered since the last fill, at least the pocket-fill "
    "threshold 1 mL)"
)
MISPROGRAMMED = "the pump's own figure does not follow the recorded history"
OVERINFUSION = "less is left than the recorded history allows: suspect overinfusion"


@pytest.mark.parametrize(
    ("expected", "aspirated", "at", "rules", "said"),
    [
        (
            "2 mL",
            "1.9 mL",
            REVIEWED,
            ["twin_residual"],
            [
                "the pump's twin expects 10.255 mL from the recorded history: the pump reports "
                "2 mL expected, 8.255 mL less (165.1 mg of morphine at 20 mg/mL) and 1.9 mL was "
                "aspirated, 8.355 mL less (167.1 mg of morphine at 20 mg/mL); "
                f"{WHOLE_LIMIT}: {MISPROGRAMMED}",
                OVERINFUSION,
            ],
        ),
        (
            "12 mL",
            "10.3 mL",
            REVIEWED,
            ["reconciliation", "twin_residual"],
            [
                "the pump reports 12 mL expected, 1.745 mL more (34.9 mg of morphine at 20 "
                "mg/mL); beyond 1.413 mL (+/-14.5 % of the 9.745 mL delivered since the last "
                f"fill (unverified: verify against the device labeling), at least the pocket-fill "
                f"threshold 1 mL): {MISPROGRAMMED}",
            ],
        ),
        (
            "9 mL",
            "8.7 mL",
            REVIEWED,
            ["twin_residual"],
            [
                "8.7 mL was aspirated, 1.555 mL less (31.1 mg of morphine at 20 mg/mL); "
                f"{WHOLE_LIMIT}: {OVERINFUSION}",
            ],
        ),
        ("10.3 mL", "10.2 mL", REVIEWED, [], []),
        ("10.255 mL", "8 mL", REVIEWED, ["reconciliation"], []),
        ("9.2 mL", "8.841975 mL", REVIEWED, [], []),
        (
            "9.2 mL",
            "8.841974 mL",
            REVIEWED,
            ["twin_residual"],
            ["8.841974 mL was aspirated, 1.413 mL less (28.26 mg of morphine at 20 mg/mL); "],
        ),
        ("14.6 mL", "14 mL", DAY_20, [], []),
        (
            "14.6 mL",
            "13.999 mL",
            DAY_20,
            ["twin_residual"],
            [
                f"13.999 mL was aspirated, 1.001 mL less (20.02 mg of morphine at 20 mg/mL); "
                f"{POCKET_LIMIT}: {OVERINFUSION}"
            ],
        ),
        ("14 mL", "14 mL", DAY_20, [], []),
        (
            "13.999 mL",
            "13.999 mL",
            DAY_20,
            ["twin_residual"],
            ["the pump reports 13.999 mL expected, 1.001 mL less", MISPROGRAMMED],
        ),
    ],
    ids=[
        "pharmacists-case-both-far-from-the-twin",
        "typed-expected-far-from-the-twin",
        "aspirated-far-from-the-twin-though-close-to-the-typed-expected",
        "both-close-to-the-twin",
        "aspirated-off-both-the-reconciliation-alone",
        "accuracy-of-the-delivered-volume-exactly-is-within",
        "just-beyond-the-accuracy-of-the-delivered-volume",
        "pocket-fill-threshold-exactly-is-within",
        "just-beyond-the-pocket-fill-threshold",
        "typed-expected-at-the-limit-is-within",
        "typed-expected-just-beyond-the-limit",
    ],
)
def test_the_residual_is_judged_against_the_pumps_twin(
    expected: str, aspirated: str, at: datetime, rules: list[str], said: list[str]
) -> None:
    decision = refill(expected, aspirated, at)
    assert rules_of(decision) == rules
    twin = [w for w in decision.warnings if w.rule == "twin_residual"]
    assert decision.reconciliation is not None
    assert decision.reconciliation.twin == (twin[0] if twin else None)
    for words in said:
        assert words in twin[0].message
    assert decision.needs_verification is bool(rules)


def test_a_small_difference_after_little_delivery_is_within_the_pocket_fill_threshold() -> None:
    """An hour after the fill the twin says 0.01 mL was delivered (14.5 %: 0.0015 mL): a pump
    figure 0.9 mL off is within the 1 mL threshold, as a percentage of almost nothing is not."""
    assert refill("19.1 mL", "19.1 mL", FILLED + timedelta(hours=1)).warnings == ()


def test_the_pharmacists_case_is_a_soft_warning_with_its_limit_and_sources() -> None:
    decision = refill("2 mL", "1.9 mL")
    (warning,) = decision.warnings
    assert (warning.verdict, warning.tier, warning.subject) == (
        Verdict.WARN,
        Tier.SOFT,
        Subject.DELIVERY,
    )
    assert warning.limit == (
        "a difference of at most 1.413 mL (+/-14.5 % of the 9.745 mL delivered since the last "
        "fill, at least the pocket-fill threshold 1 mL; a possible pocket fill beyond the "
        "threshold, Maino 2017)"
    )
    assert warning.source.startswith("rule-pump-twin: ")
    assert "ecri-2014-synchromed-overinfusion" in warning.source
    assert "maino-2017" in warning.source
    assert warning.verified
    assert decision.twin == TwinResidual(ml("10.255 mL"), ml("10.255 mL"), ml("20 mL"))


def test_more_left_than_the_twin_expects_is_judged_on_the_unconfirmed_under_side() -> None:
    (warning,) = refill("12 mL", "12 mL").warnings
    assert "1.745 mL more" in warning.message and "suspect underinfusion" in warning.message
    assert not warning.verified
    assert "(unverified: verify against the device labeling)" in warning.limit


def test_without_the_pumps_history_nothing_is_said_of_the_twin() -> None:
    entries = RefillEntries(REVIEWED, ml("2 mL"), ml("1.9 mL"))
    decision = decide_refill(pump(None), entries, RULES, now=REVIEWED)
    assert decision.warnings == () and decision.twin is None
    assert decision.reconciliation is not None and decision.reconciliation.twin is None
    assert not decision.needs_verification


def test_a_twin_without_a_figure_says_nothing() -> None:
    empty = PumpHistory(SYNCHROMED, Decimal(2), Decimal("0.25"), UTC, (), ())
    assert twin_residual(empty, REVIEWED, None) is None
    assert twin_warning(SYNCHROMED, None, ml("2 mL"), ml("1.9 mL"), MORPHINE, **NOT_WARNED) is None


def test_before_the_boluses_are_counted_the_nearer_end_of_the_twins_range_is_compared() -> None:
    """Four 0.05 mL boluses a day allowed: between 10.255 mL (none given) and 2.455 mL (every
    one given) left; a residual within the range is not beyond the twin, one below compares
    with the lower end."""
    recorded = history(PTM)
    twin = twin_residual(recorded, REVIEWED, None)
    assert twin is not None
    assert twin.most == ml("10.255 mL") and twin.least.canonical < Decimal(3)
    assert twin_warning(SYNCHROMED, twin, ml("6 mL"), ml("6 mL"), MORPHINE, **NOT_WARNED) is None
    found = twin_warning(SYNCHROMED, twin, ml("11.9 mL"), ml("11.9 mL"), MORPHINE, **NOT_WARNED)
    assert found is not None
    assert "between" in found.message and "1.645 mL more than 10.255 mL" in found.message
    counted = twin_residual(recorded, REVIEWED, 0)
    assert counted == TwinResidual(ml("10.255 mL"), ml("10.255 mL"), ml("20 mL"))
