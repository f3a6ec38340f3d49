"""Planning a hospital stay ahead (core.stay_plan): the stage must allow it, the implantation
waits the clinic's days after the test phase (refused the day before, allowed on the day), a
stay outside the usual length warns, tumour pain needs a reason for a test phase, and every
warning must be acknowledged."""

from __future__ import annotations

from datetime import date

import pytest

from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Episode, PathwaySettings
from painpump.core.pathway.indications import Indication, Outcome, Protocol
from painpump.core.pathway.stages import Action, Stage
from painpump.core.pathway.transitions import refer
from painpump.core.stay_plan import (
    check_acknowledged,
    earliest_admission,
    plan_stay,
    proposed_implant_day,
    usual_discharge,
)

SETTINGS = PathwaySettings()
TODAY = date(2026, 11, 25)


def referred(indication: str = "stroke", **extra: date) -> Episode:
    return refer(indication, on=date(2026, 10, 1), **extra)


def responder(ended: date) -> Episode:
    return Episode(
        indication=Indication.STROKE,
        referred_on=date(2026, 9, 1),
        stage=Stage.RESPONDER,
        stage_since=ended,
        protocol=Protocol.BOLUS,
        test_started_on=date(2026, 9, 10),
        test_ended_on=ended,
        outcome=Outcome.RESPONDER,
    )


def test_a_test_phase_of_two_days_is_planned_without_warning() -> None:
    plan = plan_stay(
        referred(),
        Action.START_TEST_PHASE,
        date(2026, 12, 1),
        date(2026, 12, 3),
        today=TODAY,
        settings=SETTINGS,
    )
    assert plan.decision.verdict is Verdict.OK
    assert plan.kind == "test phase"


def test_a_four_day_stay_warns_with_the_clinic_rule_and_its_source() -> None:
    plan = plan_stay(
        referred(),
        Action.START_TEST_PHASE,
        date(2026, 12, 1),
        date(2026, 12, 5),
        today=TODAY,
        settings=SETTINGS,
    )
    warning = plan.decision.most_limiting
    assert warning is not None
    assert (warning.rule, warning.limit) == ("hospital_stay", "2-3 day")
    assert "rule-hospital-stay" in warning.source
    with pytest.raises(Refusal, match="each warning needs an explicit acknowledgement"):
        check_acknowledged(plan.decision, {})
    check_acknowledged(plan.decision, {"hospital_stay": "rehabilitation"})


def test_a_discharge_before_the_admission_is_refused_on_the_discharge_field() -> None:
    with pytest.raises(Refusal) as refused:
        plan_stay(
            referred(),
            Action.START_TEST_PHASE,
            date(2026, 12, 3),
            date(2026, 12, 1),
            today=TODAY,
            settings=SETTINGS,
        )
    assert refused.value.field == "discharge_on"


def test_a_plan_in_the_past_is_refused() -> None:
    with pytest.raises(Refusal, match="is in the past"):
        plan_stay(
            referred(),
            Action.START_TEST_PHASE,
            date(2026, 11, 24),
            date(2026, 11, 26),
            today=TODAY,
            settings=SETTINGS,
        )


def test_the_implantation_is_refused_on_day_20_and_planned_on_day_21() -> None:
    episode = responder(ended=date(2026, 11, 20))
    with pytest.raises(Refusal) as refused:
        plan_stay(
            episode,
            Action.IMPLANT,
            date(2026, 12, 10),
            date(2026, 12, 12),
            today=TODAY,
            settings=SETTINGS,
        )
    assert refused.value.field == "admit_on"
    assert "the earliest allowed date is 2026-12-11" in refused.value.message
    plan = plan_stay(
        episode,
        Action.IMPLANT,
        date(2026, 12, 11),
        date(2026, 12, 13),
        today=TODAY,
        settings=SETTINGS,
    )
    assert plan.not_before == date(2026, 12, 11)
    assert earliest_admission(episode, Action.IMPLANT, SETTINGS) == date(2026, 12, 11)


def test_the_proposed_implant_day_is_the_earliest_but_never_before_today() -> None:
    assert proposed_implant_day(responder(date(2026, 11, 20)), TODAY, SETTINGS) == date(
        2026, 12, 11
    )
    assert proposed_implant_day(responder(date(2026, 10, 1)), TODAY, SETTINGS) == TODAY
    assert proposed_implant_day(referred("tumour_pain"), TODAY, SETTINGS) == TODAY
    assert proposed_implant_day(referred("stroke"), TODAY, SETTINGS) is None


def test_a_spasticity_implantation_without_a_test_phase_is_refused() -> None:
    with pytest.raises(Refusal, match="needs a test phase for stroke"):
        plan_stay(
            referred(),
            Action.IMPLANT,
            date(2026, 12, 1),
            date(2026, 12, 3),
            today=TODAY,
            settings=SETTINGS,
        )


def test_a_tumour_pain_test_phase_is_an_override_that_needs_a_reason() -> None:
    plan = plan_stay(
        referred("tumour_pain"),
        Action.START_TEST_PHASE,
        date(2026, 12, 1),
        date(2026, 12, 3),
        today=TODAY,
        settings=SETTINGS,
    )
    with pytest.raises(Refusal, match="the override needs a reason"):
        check_acknowledged(plan.decision, {"tumour_pain_test_phase": " "})
    with pytest.raises(Refusal, match="acknowledges no warning of this plan"):
        check_acknowledged(plan.decision, {"tumour_pain_test_phase": "x", "hospital_stay": "y"})
    check_acknowledged(plan.decision, {"tumour_pain_test_phase": "unclear opioid response"})


def test_a_brain_injury_implantation_waits_a_year() -> None:
    episode = Episode(
        indication=Indication.TRAUMATIC_BRAIN_INJURY,
        referred_on=date(2026, 9, 1),
        stage=Stage.RESPONDER,
        injury_date=date(2026, 1, 15),
        test_started_on=date(2026, 9, 10),
        test_ended_on=date(2026, 9, 12),
        outcome=Outcome.RESPONDER,
    )
    assert earliest_admission(episode, Action.IMPLANT, SETTINGS) == date(2027, 1, 15)
    with pytest.raises(Refusal, match="long-term ITB not before 2027-01-15"):
        plan_stay(
            episode,
            Action.IMPLANT,
            date(2026, 12, 1),
            date(2026, 12, 3),
            today=TODAY,
            settings=SETTINGS,
        )


def test_a_closed_episode_plans_no_stay() -> None:
    closed = Episode(indication=Indication.STROKE, referred_on=date(2026, 9, 1), stage=Stage.CLOSED)
    with pytest.raises(Refusal, match="is not allowed in stage closed"):
        plan_stay(
            closed,
            Action.START_TEST_PHASE,
            date(2026, 12, 1),
            date(2026, 12, 3),
            today=TODAY,
            settings=SETTINGS,
        )


def test_the_usual_discharge_is_the_shortest_usual_stay() -> None:
    assert usual_discharge(date(2026, 12, 1), SETTINGS) == date(2026, 12, 3)
