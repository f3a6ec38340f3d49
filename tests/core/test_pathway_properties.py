"""Bad input for the therapy pathway (core.pathway, core.stay_plan, core.trial_phase): any step
with any date, fact, setting and acknowledgement moves as the table says or is refused naming
the field. Whatever is tried, no implantation comes sooner than the clinic's days (21 by default)
after the test phase or within a year of a brain injury, and no stay is planned outside its days
without a warning to acknowledge."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from painpump.core.baclofen import ScreeningBolus
from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Episode, PathwaySettings
from painpump.core.pathway.indications import Indication, Outcome, Protocol
from painpump.core.pathway.intervals import earliest_implant_date, tbi_earliest_itb
from painpump.core.pathway.stages import Action, Stage
from painpump.core.pathway.transitions import refer, transition
from painpump.core.stay_plan import STAYS, plan_stay
from painpump.core.trial_phase import next_step
from painpump.core.units import Q
from strategies import any_dates, cases

D0 = date(2025, 1, 6)
pathway_settings = st.tuples(st.integers(-2, 60), st.integers(-1, 4), st.integers(-1, 6))
"""A clinic's (minimum days to implant, shortest stay, longest stay), valid or not."""
hostile_facts = st.one_of(
    st.none(), st.integers(), st.text(max_size=6), any_dates, st.just(datetime(2025, 2, 1))
)


def _facts(action: Action, data: st.DataObject, on: date) -> dict[str, Any]:
    facts: dict[str, Any] = {"on": on}
    if action is Action.START_TEST_PHASE:
        facts["protocol"] = data.draw(st.one_of(st.sampled_from(Protocol), st.text(max_size=8)))
    elif action is Action.DECIDE_TEST_PHASE:
        facts["outcome"] = data.draw(st.one_of(st.sampled_from(Outcome), st.text(max_size=8)))
    elif action is Action.CLOSE:
        facts["reason"] = data.draw(st.sampled_from(("ended", "", "  ")))
    elif action is Action.RECORD_SCREENING_BOLUS:
        mcg = data.draw(st.sampled_from((25, 50, 75, 100, 50_000)))
        given_at = datetime.combine(on, datetime.min.time()) + timedelta(hours=8)
        facts = {
            "bolus": ScreeningBolus(Q(Decimal(mcg), "mcg"), data.draw(st.booleans()), given_at)
        }
    if data.draw(st.integers(0, 9)) == 0:  # now and then a fact no step takes, or a bad one
        facts[data.draw(st.sampled_from(("on", "extra", "protocol")))] = data.draw(hostile_facts)
    return facts


@cases(60)
@given(st.sampled_from(Indication), pathway_settings, st.data())
def test_no_step_implants_before_the_interval_whatever_is_tried(
    indication: Indication, settings_: tuple[int, int, int], data: st.DataObject
) -> None:
    try:
        rules = PathwaySettings(*settings_)
        injury = data.draw(st.one_of(st.none(), st.dates(date(2020, 1, 1), D0)))
        episode: Episode = refer(indication, on=D0, injury_date=injury)
    except Refusal as refusal:
        assert refusal.field in ("injury_date", "min_days_test_to_implant", "stay_min_days")
        return
    on, today = D0, D0 + timedelta(days=400)
    for _ in range(10):
        action = data.draw(st.sampled_from(Action))
        on = on + timedelta(days=data.draw(st.integers(-3, 40)))
        facts = _facts(action, data, on)
        acks = data.draw(st.sampled_from(("all", "none", "stray")))
        try:
            step = transition(
                episode, action, now=today, settings=rules, acknowledge=_acks(acks), **facts
            )
        except Refusal as refusal:
            assert refusal.field
            continue
        new = step.episode
        if new.implanted_on is not None and episode.implanted_on is None:
            if new.test_ended_on is not None:
                assert new.implanted_on >= earliest_implant_date(
                    new.test_ended_on, rules.min_days_test_to_implant
                )
                assert new.outcome is Outcome.RESPONDER
            else:
                assert indication is Indication.TUMOUR_PAIN
            if new.test_started_on is not None:  # the temporary catheter came out first
                assert new.catheter_removed_on is not None
                assert new.catheter_removed_on <= new.implanted_on
            if new.injury_date is not None:
                assert new.implanted_on >= tbi_earliest_itb(new.injury_date)
        warned = {f.rule for f in step.decision.findings if f.verdict is Verdict.WARN}
        recorded = {a.rule for a in new.acknowledgements[len(episode.acknowledgements) :]}
        assert warned == recorded  # no warning passes unacknowledged
        assert next_step(new) is None or new.stage is Stage.TEST_PHASE
        episode = new


def _acks(kind: str) -> dict[str, str] | None:
    """Acknowledge every rule a step might warn about, none, or one it does not give."""
    if kind == "none":
        return None
    if kind == "stray":
        return {"not_a_rule": "ok"}
    rules = ("hospital_stay", "tumour_pain_test_phase", "tbi_interval", "baclofen_screening")
    return dict.fromkeys(rules, "acknowledged")


@cases(80)
@given(
    st.sampled_from(Indication),
    st.sampled_from(Action),
    any_dates,
    any_dates,
    st.one_of(st.just(D0 + timedelta(days=60)), any_dates),
    pathway_settings,
    st.data(),
)
def test_a_planned_stay_is_within_its_days_or_warns_and_never_before_the_interval(
    indication: Indication,
    purpose: Action,
    admit: date,
    discharge: date,
    today: date,
    settings_: tuple[int, int, int],
    data: st.DataObject,
) -> None:
    try:
        rules = PathwaySettings(*settings_)
        episode = refer(indication, on=D0, injury_date=date(2024, 6, 1))
        if data.draw(st.booleans()):  # a responder whose test phase ended on D0 + 5
            episode = Episode(
                indication, D0, Stage.RESPONDER, D0 + timedelta(5), date(2024, 6, 1),
                test_started_on=D0 + timedelta(3), test_ended_on=D0 + timedelta(5),
                outcome=Outcome.RESPONDER,
            )  # fmt: skip
        plan = plan_stay(episode, purpose, admit, discharge, today=today, settings=rules)
    except Refusal as refusal:
        assert refusal.field in (
            "purpose", "admit_on", "discharge_on", "injury_date", "min_days_test_to_implant",
            "stay_min_days",
        )  # fmt: skip
        return
    assert purpose in STAYS and admit >= today and discharge >= admit
    days = (discharge - admit).days
    stay = [f for f in plan.decision.findings if f.rule == "hospital_stay"]
    assert stay and (stay[0].verdict is Verdict.OK) == (
        rules.stay_min_days <= days <= rules.stay_max_days
    )
    if purpose is Action.IMPLANT:
        if episode.test_ended_on is not None:
            assert admit >= earliest_implant_date(
                episode.test_ended_on, rules.min_days_test_to_implant
            )
        assert admit >= tbi_earliest_itb(date(2024, 6, 1))


@cases(60)
@given(any_dates, st.integers(-5, 10**6))
def test_the_earliest_implant_date_is_the_interval_after_the_test_phase_or_refused(
    ended: date, days: int
) -> None:
    try:
        earliest = earliest_implant_date(ended, days)
    except Refusal as refusal:
        assert refusal.field == "min_days_test_to_implant"
        return
    assert days >= 0 and (earliest - ended).days == days


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: earliest_implant_date(date(9999, 12, 20), 21), "min_days_test_to_implant"),
        (lambda: tbi_earliest_itb(date(9999, 3, 1)), "injury_date"),
    ],
)
def test_a_date_at_the_calendars_end_is_refused_not_overflowed(call: Any, field: str) -> None:
    """Defect: earliest_implant_date(9999-12-20) raised OverflowError and tbi_earliest_itb in
    year 9999 raised ValueError, where the pathway refuses with the field."""
    with pytest.raises(Refusal) as caught:
        call()
    assert caught.value.field == field


def test_a_step_dated_none_is_refused_naming_the_date() -> None:
    """Defect: a step whose `on` was None (a JSON null) skipped the date checks and crashed the
    test phase's brain-injury rule with TypeError."""
    episode = refer(Indication.TRAUMATIC_BRAIN_INJURY, on=D0, injury_date=date(2020, 1, 1))
    with pytest.raises(Refusal) as caught:
        transition(
            episode,
            Action.START_TEST_PHASE,
            now=D0,
            on=None,  # type: ignore[arg-type]
            protocol=Protocol.BOLUS,
        )
    assert caught.value.field == "on"
