"""The next step of a running test phase, as the worklist shows it: the label's screening
sequence (50, 75, 100 mcg, 24 h apart) and then the decision, or the decision of a continuous
trial, and a non-responder's catheter removal and closure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from painpump.core.baclofen import ScreeningBolus
from painpump.core.pathway.episode import Episode
from painpump.core.pathway.indications import Indication, Outcome, Protocol
from painpump.core.pathway.stages import Stage
from painpump.core.trial_phase import next_step
from painpump.core.units import Kind, parse

GIVEN = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def bolus(text: str, positive: bool, at: datetime = GIVEN) -> ScreeningBolus:
    return ScreeningBolus(parse(text, Kind.MASS, "dose"), positive, at)


def screening(*given: ScreeningBolus) -> Episode:
    return Episode(
        Indication.STROKE,
        date(2026, 11, 1),
        stage=Stage.TEST_PHASE,
        protocol=Protocol.BOLUS,
        test_started_on=date(2026, 11, 24),
        screening=given,
    )


def test_no_next_step_outside_the_test_phase() -> None:
    assert next_step(Episode(Indication.STROKE, date(2026, 11, 1))) is None


def test_the_first_screening_bolus_is_50_mcg_at_once() -> None:
    step = next_step(screening())
    assert step is not None
    assert (step.what, step.not_before) == ("screening bolus 50 mcg", None)


def test_after_no_response_to_50_mcg_comes_75_mcg_24_hours_later() -> None:
    step = next_step(screening(bolus("50 mcg", False)))
    assert step is not None
    assert step.what == "screening bolus 75 mcg"
    assert step.not_before == GIVEN + timedelta(hours=24)
    assert "no response to 50 mcg" in step.reason


def test_a_positive_response_makes_the_responder_decision_due() -> None:
    step = next_step(screening(bolus("50 mcg", True)))
    assert step is not None
    assert step.what == "decide: responder"
    assert "candidate" in step.reason


def test_no_response_to_100_mcg_makes_the_non_responder_decision_due() -> None:
    history = (
        bolus("50 mcg", False, GIVEN),
        bolus("75 mcg", False, GIVEN + timedelta(days=1)),
        bolus("100 mcg", False, GIVEN + timedelta(days=2)),
    )
    step = next_step(screening(*history))
    assert step is not None
    assert step.what == "decide: non-responder"
    assert "not a candidate" in step.reason


def test_a_continuous_trial_waits_for_the_decision() -> None:
    trial = replace(
        screening(),
        indication=Indication.FAILED_BACK_SURGERY_SYNDROME,
        protocol=Protocol.CONTINUOUS,
    )
    step = next_step(trial)
    assert step is not None
    assert step.what == "assess and decide: responder or not"


def test_a_non_responder_needs_the_catheter_removed_then_the_episode_closed() -> None:
    decided = replace(screening(), outcome=Outcome.NON_RESPONDER)
    first = next_step(decided)
    assert first is not None and first.what == "record the catheter removal"
    removed = next_step(replace(decided, catheter_removed_on=date(2026, 11, 26)))
    assert removed is not None and removed.what == "close the episode: non-responder"
