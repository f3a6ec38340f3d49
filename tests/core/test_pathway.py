"""The therapy pathway's state machine: each rule as a scenario table that checks the outcome and
the reason text, every illegal (stage, action) pair refused, and random walks that never leave
the table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from painpump.core.baclofen import ScreeningBolus
from painpump.core.decision import Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import DEFAULT_SETTINGS, Episode, PathwaySettings, Step
from painpump.core.pathway.indications import DrugFamily, Indication, Outcome, Protocol
from painpump.core.pathway.intervals import (
    check_stay,
    check_tbi_interval,
    earliest_implant_date,
    tbi_earliest_itb,
)
from painpump.core.pathway.stages import TERMINAL, TRANSITIONS, Action, Stage, allowed_actions
from painpump.core.pathway.transitions import preview, refer, transition
from painpump.core.units import Q

D0 = date(2026, 3, 2)
TODAY = date(2027, 6, 1)
NON_TUMOUR = [i for i in Indication if i is not Indication.TUMOUR_PAIN]


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def bolus(mcg: int, n: int, positive: bool = False) -> ScreeningBolus:
    return ScreeningBolus(
        Q(Decimal(mcg), "mcg"), positive, datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(days=n)
    )


def step(ep: Episode, action: Action | str, **kw: Any) -> Episode:
    """One transition at TODAY; returns the new episode."""
    kw.setdefault("now", TODAY)
    result: Step = transition(ep, action, **kw)
    return result.episode


def responder(
    indication: Indication = Indication.FAILED_BACK_SURGERY_SYNDROME,
    end: int = 2,
    *,
    removed: bool = True,
) -> Episode:
    """An episode decided responder, the test phase from D0 to D0 + `end` days, its temporary
    catheter recorded removed that day (unless `removed` is False)."""
    ep = refer(indication, on=D0, injury_date=date(2020, 1, 1))
    ack = (
        {"tumour_pain_test_phase": "uncertain opioid response"}
        if indication is Indication.TUMOUR_PAIN
        else None
    )
    ep = step(ep, "start_test_phase", on=D0, protocol=Protocol.CONTINUOUS, acknowledge=ack)
    acks = {"hospital_stay": "longer trial"} if end not in (2, 3) else None
    ep = step(ep, "decide_test_phase", on=day(end), outcome=Outcome.RESPONDER, acknowledge=acks)
    return step(ep, "record_catheter_removal", on=day(end)) if removed else ep


def non_responder() -> Episode:
    ep = step(refer("polyneuropathy", on=D0), "start_test_phase", on=D0, protocol="continuous")
    return step(ep, "decide_test_phase", on=day(3), outcome=Outcome.NON_RESPONDER)


def implanted(indication: Indication = Indication.FAILED_BACK_SURGERY_SYNDROME) -> Episode:
    ep = responder(indication)
    return step(ep, "implant", on=day(2 + 21))


# --- indications and settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indication", "family", "drug"),
    [
        (Indication.INFANTILE_CEREBRAL_PALSY, DrugFamily.SPASTICITY, "baclofen"),
        (Indication.MULTIPLE_SCLEROSIS, DrugFamily.SPASTICITY, "baclofen"),
        (Indication.PARAPLEGIA, DrugFamily.SPASTICITY, "baclofen"),
        (Indication.STROKE, DrugFamily.SPASTICITY, "baclofen"),
        (Indication.TRAUMATIC_BRAIN_INJURY, DrugFamily.SPASTICITY, "baclofen"),
        (Indication.FAILED_BACK_SURGERY_SYNDROME, DrugFamily.PAIN, "morphine"),
        (Indication.TUMOUR_PAIN, DrugFamily.PAIN, "ziconotide"),
        (Indication.POLYNEUROPATHY, DrugFamily.PAIN, "clonidine"),
    ],
    ids=lambda v: v.value if hasattr(v, "value") else str(v),
)
def test_indication_implies_drug_family(
    indication: Indication, family: DrugFamily, drug: str
) -> None:
    assert indication.family is family
    assert drug in family.drugs
    assert ("baclofen" in family.drugs) is (family is DrugFamily.SPASTICITY)
    assert indication.needs_test_phase is (indication is not Indication.TUMOUR_PAIN)


def test_stage_and_action_names_are_the_contract() -> None:
    assert [s.value for s in Stage] == [
        "referred",
        "test_phase",
        "responder",
        "closed_non_responder",
        "implanted",
        "rehabilitation",
        "maintenance",
        "explanted",
        "closed",
    ]
    assert all(a.value == a.name.lower() for a in Action)
    assert allowed_actions(Stage.CLOSED) == allowed_actions(Stage.CLOSED_NON_RESPONDER) == ()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"min_days_test_to_implant": -1}, "min_days_test_to_implant"),
        ({"stay_min_days": 4, "stay_max_days": 3}, "stay_min_days"),
        ({"stay_min_days": -1}, "stay_min_days"),
    ],
    ids=["negative-interval", "inverted-stay-range", "negative-stay"],
)
def test_settings_refuse_nonsense(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(Refusal) as info:
        PathwaySettings(**kwargs)
    assert info.value.field == field


def test_unknown_indication_is_refused_with_the_choices() -> None:
    with pytest.raises(Refusal) as info:
        refer("back_pain", on=D0)
    assert info.value.field == "indication"
    assert "tumour_pain" in info.value.limit


# --- tumour pain ---------------------------------------------------------------------------------


def test_tumour_pain_is_implanted_without_test_phase() -> None:
    ep = refer(Indication.TUMOUR_PAIN, on=D0)
    result = transition(ep, "implant", now=TODAY, on=day(1), life_expectancy_months=12)
    assert result.episode.stage is Stage.IMPLANTED
    assert result.episode.implanted_on == day(1)
    assert result.decision.verdict is Verdict.OK
    rule = result.decision.findings[0]
    assert rule.rule == "tumour_pain_direct_implant"
    assert "without a test phase" in rule.message
    assert "UNCONFIRMED" in rule.source and not rule.verified


LIFE_EXPECTANCY_CASES = [
    (None, Verdict.WARN, "life expectancy not recorded on the patient"),
    (2, Verdict.WARN, "life expectancy 2 months: under 3 months an external system"),
    (3, Verdict.WARN, "life expectancy 3 months: under 3 months an external system"),
    (4, Verdict.OK, "life expectancy 4 months"),
]


@pytest.mark.parametrize(
    ("months", "verdict", "text"),
    LIFE_EXPECTANCY_CASES,
    ids=["not-recorded", "two-months", "three-months-not-beyond", "four-months"],
)
def test_a_tumour_pain_implant_needs_a_life_expectancy_beyond_three_months(
    months: int | None, verdict: Verdict, text: str
) -> None:
    ep = refer(Indication.TUMOUR_PAIN, on=D0)
    decision = preview(ep, "implant", now=TODAY, on=day(1), life_expectancy_months=months)
    (finding,) = [f for f in decision.findings if f.rule == "life_expectancy"]
    assert (finding.verdict, finding.tier) == (verdict, Tier.SOFT)
    assert text in finding.message
    assert "medtronic-cancer-pain-patient-selection" in finding.source
    if verdict is Verdict.WARN:
        with pytest.raises(Refusal) as info:
            transition(ep, "implant", now=TODAY, on=day(1), life_expectancy_months=months)
        assert info.value.field == "acknowledge"
        step = transition(
            ep,
            "implant",
            now=TODAY,
            on=day(1),
            life_expectancy_months=months,
            acknowledge={"life_expectancy": "palliative team agrees: pump for home care"},
        )
        assert step.episode.stage is Stage.IMPLANTED


@pytest.mark.parametrize("indication", NON_TUMOUR, ids=lambda i: i.value)
def test_other_indications_need_a_test_phase_before_implant(indication: Indication) -> None:
    ep = refer(indication, on=D0, injury_date=date(2020, 1, 1))
    with pytest.raises(Refusal) as info:
        transition(ep, Action.IMPLANT, now=TODAY, on=day(1))
    assert info.value.field == "action"
    assert f"needs a test phase for {indication.value}" in info.value.problem
    assert "decided responder" in info.value.limit
    assert "rule-test-phase" in info.value.source


@pytest.mark.parametrize(
    ("acknowledge", "field", "text"),
    [
        (None, "acknowledge", "tumour pain goes straight to implantation"),
        ({"tumour_pain_test_phase": "  "}, "acknowledge[tumour_pain_test_phase]", "needs a reason"),
        ({"hospital_stay": "x"}, "acknowledge", "acknowledges no warning of this step"),
    ],
    ids=["no-override", "empty-reason", "wrong-rule-acknowledged"],
)
def test_tumour_pain_test_phase_needs_an_override_reason(
    acknowledge: dict[str, str] | None, field: str, text: str
) -> None:
    ep = refer(Indication.TUMOUR_PAIN, on=D0)
    with pytest.raises(Refusal) as info:
        transition(
            ep,
            "start_test_phase",
            now=TODAY,
            on=D0,
            protocol=Protocol.BOLUS,
            acknowledge=acknowledge,
        )
    assert info.value.field == field
    assert text in str(info.value)


def test_tumour_pain_test_phase_with_a_reason_is_recorded() -> None:
    ep = refer(Indication.TUMOUR_PAIN, on=D0)
    decision = preview(ep, "start_test_phase", now=TODAY, on=D0, protocol=Protocol.BOLUS)
    assert decision.verdict is Verdict.WARN
    assert decision.most_limiting is not None
    assert decision.most_limiting.rule == "tumour_pain_test_phase"
    assert "UNCONFIRMED" in decision.most_limiting.source
    reason = "life expectancy over 3 months, opioid response uncertain"
    result = transition(
        ep,
        "start_test_phase",
        now=TODAY,
        on=D0,
        protocol=Protocol.BOLUS,
        acknowledge={"tumour_pain_test_phase": reason},
    )
    assert result.episode.stage is Stage.TEST_PHASE
    (ack,) = result.episode.acknowledgements
    assert (ack.rule, ack.action, ack.note, ack.on) == (
        "tumour_pain_test_phase",
        Action.START_TEST_PHASE,
        reason,
        TODAY,
    )
    # the tumour patient now follows the test-phase rules, the 21-day rule included
    ep = step(result.episode, "decide_test_phase", on=day(2), outcome="responder")
    with pytest.raises(Refusal, match="catheter_removed_on: not recorded"):
        step(ep, "implant", on=day(23))  # its temporary catheter too
    ep = step(ep, "record_catheter_removal", on=day(2))
    with pytest.raises(Refusal, match="earliest allowed date is 2026-03-25"):
        step(ep, "implant", on=day(22))


# --- non-responders ------------------------------------------------------------------------------


def test_non_responder_closes_only_with_catheter_removal() -> None:
    ep = non_responder()
    assert ep.stage is Stage.TEST_PHASE and ep.outcome is Outcome.NON_RESPONDER
    with pytest.raises(Refusal) as info:
        step(ep, "close_non_responder", on=day(3))
    assert info.value.field == "catheter_removed_on"
    assert "required to close a non-responder's episode" in str(info.value)
    assert "catheter removed" in info.value.source
    ep = step(ep, "record_catheter_removal", on=day(3))
    result = transition(ep, "close_non_responder", now=TODAY, on=day(4))
    assert result.episode.stage is Stage.CLOSED_NON_RESPONDER
    assert result.decision.findings[0].rule == "catheter_removal"
    assert "2026-03-05" in result.decision.findings[0].message


@pytest.mark.parametrize(
    ("episode", "field", "text"),
    [
        (
            lambda: step(refer("stroke", on=D0), "start_test_phase", on=D0, protocol="continuous"),
            "outcome",
            "not decided",
        ),
        (lambda: responder(), "action", "is not allowed in stage responder"),
    ],
    ids=["undecided-test-phase", "responder"],
)
def test_only_a_non_responder_closes_as_non_responder(episode: Any, field: str, text: str) -> None:
    with pytest.raises(Refusal) as info:
        step(episode(), "close_non_responder", on=day(3))
    assert info.value.field == field
    assert text in str(info.value)


def test_responder_closing_without_implant_needs_the_removal_too() -> None:
    ep = responder(removed=False)
    with pytest.raises(Refusal, match="catheter_removed_on"):
        step(ep, "close", on=day(5), reason="declined the implant")
    ep = step(ep, "record_catheter_removal", on=day(2))
    ep = step(ep, "close", on=day(5), reason="declined the implant")
    assert ep.stage is Stage.CLOSED and ep.close_reason == "declined the implant"


def test_catheter_removal_is_recorded_once() -> None:
    ep = step(non_responder(), "record_catheter_removal", on=day(3))
    with pytest.raises(Refusal, match="second catheter removal"):
        step(ep, "record_catheter_removal", on=day(4))


# --- the temporary catheter before the implantation ----------------------------------------------


@pytest.mark.parametrize(
    ("episode", "on", "refused", "text"),
    [
        (
            lambda: responder(removed=False),
            23,
            ("catheter_removed_on", "not recorded"),
            "is required before the implantation: record the catheter removal first",
        ),
        (
            lambda: responder(Indication.STROKE, removed=False),
            40,
            ("catheter_removed_on", "not recorded"),
            "is required before the implantation: record the catheter removal first",
        ),
        (
            lambda: responder(),
            23,
            None,
            "temporary catheter of the test phase removed on 2026-03-04",
        ),
        (
            lambda: step(responder(removed=False), "record_catheter_removal", on=day(10)),
            23,
            None,
            "temporary catheter of the test phase removed on 2026-03-12",
        ),
        (
            lambda: step(responder(removed=False), "record_catheter_removal", on=day(10)),
            9,
            ("on", "2026-03-11"),
            "is before an event already recorded",
        ),
        (lambda: refer("tumour_pain", on=D0), 1, None, "tumour pain: implantation without"),
    ],
    ids=[
        "pain-responder-not-removed-refused",
        "spasticity-responder-not-removed-refused",
        "removed-on-decision-day",
        "removed-later",
        "implant-before-the-removal-refused",
        "tumour-pain-direct-unaffected",
    ],
)
def test_implant_needs_the_temporary_catheter_removed(
    episode: Any, on: int, refused: tuple[str, str] | None, text: str
) -> None:
    ep: Episode = episode()
    if refused is not None:
        for attempt in (preview, transition):
            with pytest.raises(Refusal) as info:
                attempt(ep, "implant", now=TODAY, on=day(on))
            assert (info.value.field, info.value.value) == refused
            assert text in info.value.problem
        if refused[0] == "catheter_removed_on":
            assert info.value.limit == (
                "the temporary catheter of the test phase started on 2026-03-02 recorded as "
                "removed before the implantation"
            )
            assert info.value.source.startswith("rule-test-phase: the test phase runs through")
            assert "catheter_removed_on: not recorded is required" in str(info.value)
        assert ep.stage is not Stage.IMPLANTED and ep.implanted_on is None  # nothing changed
        return
    if ep.indication is Indication.TUMOUR_PAIN:
        result = transition(ep, "implant", now=TODAY, on=day(on), life_expectancy_months=12)
    else:
        result = transition(ep, "implant", now=TODAY, on=day(on))
    assert result.episode.stage is Stage.IMPLANTED
    messages = " | ".join(f.message for f in result.decision.findings)
    assert text in messages
    removal = [f for f in result.decision.findings if f.rule == "temporary_catheter_removed"]
    if ep.test_started_on is None:
        assert removal == []
    else:
        assert [f.verdict for f in removal] == [Verdict.OK]
        assert removal[0].source.startswith("rule-test-phase")


# --- the implantation interval -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "gap", "allowed", "text"),
    [
        (
            21,
            20,
            False,
            "20 day after the test phase ended: the earliest allowed date is 2026-03-25",
        ),
        (21, 21, True, "21 day after the test phase (earliest allowed 2026-03-25)"),
        (21, 60, True, "60 day after the test phase"),
        (21, 0, False, "the earliest allowed date is 2026-03-25"),
        (28, 27, False, "the earliest allowed date is 2026-04-01"),
        (28, 28, True, "28 day after the test phase (earliest allowed 2026-04-01)"),
        (14, 14, True, "14 day after the test phase (earliest allowed 2026-03-18)"),
        (14, 13, False, "the earliest allowed date is 2026-03-18"),
    ],
    ids=[
        "day-20-refused",
        "day-21-allowed-boundary",
        "day-60-allowed",
        "same-day-refused",
        "setting-28-day-27-refused",
        "setting-28-day-28-allowed",
        "setting-14-day-14-allowed",
        "setting-14-day-13-refused",
    ],
)
def test_implant_not_before_the_clinic_interval(
    setting: int, gap: int, allowed: bool, text: str
) -> None:
    ep = responder(end=2)  # test phase ends 2026-03-04
    clinic = PathwaySettings(min_days_test_to_implant=setting)
    on = day(2 + gap)
    assert earliest_implant_date(day(2), setting) == day(2 + setting)
    if allowed:
        result = transition(ep, "implant", now=TODAY, settings=clinic, on=on)
        assert result.episode.stage is Stage.IMPLANTED
        finding = next(f for f in result.decision.findings if f.rule == "implant_interval")
        assert finding.verdict is Verdict.OK
        assert text in finding.message
    else:
        with pytest.raises(Refusal) as info:
            transition(ep, "implant", now=TODAY, settings=clinic, on=on)
        assert info.value.field == "on"
        assert info.value.value == on.isoformat()
        assert text in info.value.problem
        assert f">= {setting} day after the test phase ended on 2026-03-04" in info.value.limit
        assert (
            "rule-implant-interval 'three weeks after the test phase at the earliest'"
            in info.value.source
        )


def test_earliest_implant_date_default_and_refusal() -> None:
    assert earliest_implant_date(date(2026, 12, 20)) == date(2027, 1, 10)
    with pytest.raises(Refusal, match="is negative"):
        earliest_implant_date(D0, -1)


# --- hospital stays ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "verdict"),
    [(0, Verdict.WARN), (1, Verdict.WARN), (2, Verdict.OK), (3, Verdict.OK), (4, Verdict.WARN)],
    ids=["0-days-warns", "1-day-warns", "2-days-ok", "3-days-ok", "4-days-warns"],
)
@pytest.mark.parametrize("kind", ["test phase", "implantation"])
def test_hospital_stays_of_two_to_three_days(kind: str, days: int, verdict: Verdict) -> None:
    if kind == "test phase":
        ep = step(refer("paraplegia", on=D0), "start_test_phase", on=D0, protocol="continuous")
        action: dict[str, Any] = {"outcome": Outcome.RESPONDER}
        name = "decide_test_phase"
        start = D0
    else:
        ep = implanted()
        action = {}
        name = "discharge"
        start = day(23)
    end = start + timedelta(days=days)
    decision = preview(ep, name, now=TODAY, on=end, **action)
    stay = next(f for f in decision.findings if f.rule == "hospital_stay")
    assert stay.verdict is verdict
    assert stay.limit == "2-3 day"
    length = "1 day" if days == 1 else f"{days} days"
    assert f"{kind} stay of {length}" in stay.message
    assert "two to three days" in stay.source
    if verdict is Verdict.WARN:
        assert stay.message.endswith("is outside the usual 2-3 days")
        assert not stay.verified
        with pytest.raises(Refusal) as info:
            transition(ep, name, now=TODAY, on=end, **action)
        assert info.value.field == "acknowledge"
        assert info.value.value == "hospital_stay"
        result = transition(
            ep, name, now=TODAY, on=end, acknowledge={"hospital_stay": "wound check"}, **action
        )
        assert result.episode.acknowledgements[-1].rule == "hospital_stay"
    else:
        transition(ep, name, now=TODAY, on=end, **action)


def test_stay_range_is_a_setting() -> None:
    wide = PathwaySettings(stay_min_days=1, stay_max_days=7)
    assert check_stay("test phase", D0, day(5), wide).verdict is Verdict.OK
    assert check_stay("test phase", D0, day(5)).verdict is Verdict.WARN
    assert check_stay("test phase", D0, day(8), wide).verdict is Verdict.WARN
    with pytest.raises(Refusal, match="before the test phase admission"):
        check_stay("test phase", day(2), D0, DEFAULT_SETTINGS)


def test_rehabilitation_waits_for_the_implant_discharge() -> None:
    ep = implanted()
    with pytest.raises(Refusal) as info:
        step(ep, "start_rehabilitation", on=day(25))
    assert info.value.field == "discharged_on"
    ep = step(ep, "discharge", on=day(25))
    with pytest.raises(Refusal, match="second discharge"):
        step(ep, "discharge", on=day(26))
    assert step(ep, "start_rehabilitation", on=day(25)).stage is Stage.REHABILITATION


# --- traumatic brain injury ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("injury", "on", "verdict", "text"),
    [
        (date(2025, 4, 1), date(2026, 3, 31), Verdict.STOP, "long-term ITB not before 2026-04-01"),
        (date(2025, 4, 1), date(2026, 4, 1), Verdict.OK, "at least 1 year after"),
        (date(2024, 2, 29), date(2025, 2, 28), Verdict.STOP, "not before 2025-03-01"),
        (date(2024, 2, 29), date(2025, 3, 1), Verdict.OK, "at least 1 year after"),
    ],
    ids=["364-days-stops", "1-year-boundary-ok", "leap-day-stops", "leap-day-next-march-ok"],
)
def test_tbi_one_year_rule(injury: date, on: date, verdict: Verdict, text: str) -> None:
    finding = check_tbi_interval(injury, on)
    assert finding.verdict is verdict
    assert text in finding.message
    assert "Gablofen" in finding.source
    assert tbi_earliest_itb(injury) <= on or verdict is Verdict.STOP


def test_tbi_needs_the_injury_date() -> None:
    with pytest.raises(Refusal) as info:
        refer(Indication.TRAUMATIC_BRAIN_INJURY, on=D0)
    assert info.value.field == "injury_date"
    assert "1 year" in info.value.limit


def test_tbi_test_phase_within_a_year_warns_and_implant_is_refused() -> None:
    ep = refer(Indication.TRAUMATIC_BRAIN_INJURY, on=D0, injury_date=date(2025, 9, 1))
    decision = preview(ep, "start_test_phase", now=TODAY, on=D0, protocol="continuous")
    assert decision.verdict is Verdict.WARN
    assert decision.most_limiting is not None
    assert "long-term ITB not before 2026-09-01" in decision.most_limiting.message
    ep = step(
        ep,
        "start_test_phase",
        on=D0,
        protocol="continuous",
        acknowledge={"tbi_interval": "screening only"},
    )
    ep = step(ep, "decide_test_phase", on=day(2), outcome="responder")
    ep = step(ep, "record_catheter_removal", on=day(2))
    with pytest.raises(Refusal) as info:
        step(ep, "implant", on=date(2026, 8, 31))  # 21-day rule met, TBI year not
    assert "long-term ITB not before 2026-09-01" in info.value.problem
    assert step(ep, "implant", on=date(2026, 9, 1)).stage is Stage.IMPLANTED


# --- baclofen screening --------------------------------------------------------------------------


def screening(small: bool = False) -> Episode:
    ep = refer(Indication.MULTIPLE_SCLEROSIS, on=D0)
    return step(ep, "start_test_phase", on=D0, protocol=Protocol.BOLUS, small_patient=small)


@pytest.mark.parametrize(
    ("boluses", "outcome", "verdict", "text"),
    [
        ([bolus(50, 0, True)], Outcome.RESPONDER, Verdict.OK, "positive response to 50 mcg"),
        (
            [bolus(50, 0), bolus(75, 1, True)],
            Outcome.RESPONDER,
            Verdict.OK,
            "positive response to 75 mcg",
        ),
        (
            [bolus(50, 0), bolus(75, 1), bolus(100, 2)],
            Outcome.NON_RESPONDER,
            Verdict.OK,
            "no response to a 100 mcg intrathecal bolus",
        ),
        ([bolus(50, 0), bolus(75, 1)], Outcome.NON_RESPONDER, Verdict.WARN, "screening says give"),
        ([bolus(50, 0, True)], Outcome.NON_RESPONDER, Verdict.WARN, "screening says candidate"),
    ],
    ids=[
        "50-positive",
        "75-positive",
        "100-negative",
        "stopped-early-warns",
        "positive-but-non-responder-warns",
    ],
)
def test_baclofen_screening_supports_the_decision(
    boluses: list[ScreeningBolus], outcome: Outcome, verdict: Verdict, text: str
) -> None:
    ep = screening()
    for b in boluses:
        ep = step(ep, "record_screening_bolus", bolus=b)
    decision = preview(ep, "decide_test_phase", now=TODAY, on=day(3), outcome=outcome)
    finding = next(f for f in decision.findings if f.rule == "baclofen_screening")
    assert finding.verdict is verdict
    assert text in finding.message


@pytest.mark.parametrize(
    ("boluses", "text"),
    [
        ([], "screening says give"),
        ([bolus(50, 0)], "no response to 50 mcg"),
        ([bolus(50, 0), bolus(75, 1), bolus(100, 2)], "not_candidate"),
    ],
    ids=["no-bolus", "one-negative", "all-negative"],
)
def test_responder_without_a_positive_screening_is_refused(
    boluses: list[ScreeningBolus], text: str
) -> None:
    ep = screening()
    for b in boluses:
        ep = step(ep, "record_screening_bolus", bolus=b)
    with pytest.raises(Refusal) as info:
        step(ep, "decide_test_phase", on=day(3), outcome="responder")
    assert info.value.field == "outcome"
    assert text in info.value.limit
    assert "100 mcg intrathecal bolus" in info.value.source


@pytest.mark.parametrize(
    ("setup", "new", "field", "text"),
    [
        ([], bolus(75, 0), "history[0]", "does not follow the screening sequence"),
        (
            [bolus(50, 0)],
            replace(bolus(75, 1), given_at=datetime(2026, 3, 3, 8, tzinfo=UTC)),
            "bolus.given_at",
            "24 h after the last bolus",
        ),
        ([bolus(50, 0, True)], bolus(75, 1), "bolus", "screening outcome candidate"),
        (
            [],
            replace(bolus(50, 0), given_at=None),
            "bolus.given_at",
            "the time the bolus was given",
        ),
        (
            [],
            replace(bolus(50, 0), given_at=datetime(2026, 3, 1, 9, tzinfo=UTC)),
            "bolus.given_at",
            "outside the test phase",
        ),
    ],
    ids=["wrong-first-dose", "too-soon", "after-success", "no-time", "before-admission"],
)
def test_screening_boluses_follow_the_label(
    setup: list[ScreeningBolus], new: ScreeningBolus, field: str, text: str
) -> None:
    ep = screening()
    for b in setup:
        ep = step(ep, "record_screening_bolus", bolus=b)
    with pytest.raises(Refusal) as info:
        step(ep, "record_screening_bolus", bolus=new)
    assert info.value.field == field
    assert text in str(info.value)


def test_no_bolus_after_the_catheter_is_removed() -> None:
    ep = step(screening(), "record_catheter_removal", on=day(1))
    with pytest.raises(Refusal, match="catheter removed"):
        step(ep, "record_screening_bolus", bolus=bolus(50, 1))


def test_small_patient_screening_starts_at_25_mcg() -> None:
    ep = screening(small=True)
    ep = step(ep, "record_screening_bolus", bolus=bolus(25, 0, True))
    assert step(ep, "decide_test_phase", on=day(2), outcome="responder").stage is Stage.RESPONDER


def test_boluses_belong_to_a_spasticity_bolus_screening() -> None:
    ep = step(refer("stroke", on=D0), "start_test_phase", on=D0, protocol="continuous")
    with pytest.raises(Refusal, match="is not part of this test phase"):
        step(ep, "record_screening_bolus", bolus=bolus(50, 0))
    ep = step(refer("polyneuropathy", on=D0), "start_test_phase", on=D0, protocol="bolus")
    with pytest.raises(Refusal, match="polyneuropathy, bolus protocol"):
        step(ep, "record_screening_bolus", bolus=bolus(50, 0))


# --- dates, facts, acknowledgements --------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "now", "text"),
    [
        (day(5), day(4), "is in the future"),
        (day(-1), TODAY, "is before an event already recorded"),
    ],
    ids=["future", "before-referral"],
)
def test_event_dates_are_in_order_and_not_in_the_future(on: date, now: date, text: str) -> None:
    ep = refer("stroke", on=D0)
    with pytest.raises(Refusal) as info:
        transition(ep, "start_test_phase", now=now, on=on, protocol="continuous")
    assert info.value.field == "on"
    assert text in str(info.value)


def test_now_may_be_a_datetime_in_the_clinic_zone() -> None:
    ep = refer("stroke", on=D0)
    now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert (
        transition(ep, "start_test_phase", now=now, on=D0, protocol="bolus").episode.stage
        is Stage.TEST_PHASE
    )
    with pytest.raises(Refusal, match="future"):
        transition(ep, "start_test_phase", now=now, on=day(1), protocol="bolus")


@pytest.mark.parametrize(
    ("facts", "field", "text"),
    [
        ({"on": D0}, "protocol", "is missing"),
        (
            {"on": D0, "protocol": "continuous", "outcome": "responder"},
            "outcome",
            "not a fact of this action",
        ),
        ({"on": D0, "protocol": "infusion"}, "protocol", "one of bolus, continuous"),
        ({"on": datetime(2026, 3, 2, 9), "protocol": "bolus"}, "on", "not a date"),
    ],
    ids=["missing", "unused", "unknown-protocol", "datetime-not-date"],
)
def test_facts_are_required_and_never_ignored(facts: dict[str, Any], field: str, text: str) -> None:
    with pytest.raises(Refusal) as info:
        transition(refer("stroke", on=D0), "start_test_phase", now=TODAY, **facts)
    assert info.value.field == field
    assert text in str(info.value)


def test_closing_needs_a_reason() -> None:
    with pytest.raises(Refusal) as info:
        step(refer("stroke", on=D0), "close", on=D0, reason=" ")
    assert info.value.field == "reason"


def test_a_test_phase_is_decided_once() -> None:
    ep = non_responder()
    with pytest.raises(Refusal, match="already decided"):
        step(ep, "decide_test_phase", on=day(3), outcome="responder")


def test_full_spasticity_pathway() -> None:
    ep = screening()
    ep = step(ep, "record_screening_bolus", bolus=bolus(50, 0))
    ep = step(ep, "record_screening_bolus", bolus=bolus(75, 1, True))
    ep = step(ep, "decide_test_phase", on=day(2), outcome="responder")
    assert ep.stage is Stage.RESPONDER and ep.stage_since == day(2)
    ep = step(ep, "record_catheter_removal", on=day(2))
    ep = step(ep, "implant", on=day(23))
    ep = step(ep, "discharge", on=day(26))
    ep = step(ep, "start_rehabilitation", on=day(26))
    ep = step(ep, "start_maintenance", on=day(60))
    ep = step(ep, "explant", on=date(2027, 1, 5))
    ep = step(ep, "close", on=date(2027, 1, 6), reason="therapy ended")
    assert ep.stage is Stage.CLOSED
    assert ep.acknowledgements == ()
    assert (ep.implanted_on, ep.discharged_on, ep.explanted_on) == (
        day(23),
        day(26),
        date(2027, 1, 5),
    )


# --- every illegal step --------------------------------------------------------------------------

ILLEGAL = [(s, a) for s in Stage for a in Action if (s, a) not in TRANSITIONS]


@pytest.mark.parametrize(
    ("stage", "action"), ILLEGAL, ids=[f"{s.value}-{a.value}" for s, a in ILLEGAL]
)
def test_every_illegal_transition_is_refused(stage: Stage, action: Action) -> None:
    ep = replace(refer("stroke", on=D0), stage=stage)
    with pytest.raises(Refusal) as info:
        transition(ep, action, now=TODAY, on=D0)
    assert info.value.field == "action"
    assert info.value.value == action.value
    assert f"is not allowed in stage {stage.value}" in info.value.problem
    allowed = allowed_actions(stage)
    assert info.value.limit.startswith(f"from {stage.value}: ")
    for a in allowed:
        assert a.value in info.value.limit
    if not allowed:
        assert "none (episode closed)" in info.value.limit


def test_the_table_covers_every_stage_and_closed_stages_are_terminal() -> None:
    assert len(ILLEGAL) + len(TRANSITIONS) == len(Stage) * len(Action)
    reachable = (
        {Stage.REFERRED} | {t for t in TRANSITIONS.values() if t is not None} | {Stage.RESPONDER}
    )
    assert reachable == set(Stage)
    for stage in TERMINAL:
        assert allowed_actions(stage) == ()


def _facts_for(action: Action, data: st.DataObject, on: date) -> dict[str, Any]:
    facts: dict[str, Any] = {"on": on}
    if action is Action.START_TEST_PHASE:
        facts["protocol"] = data.draw(st.sampled_from(Protocol))
    elif action is Action.DECIDE_TEST_PHASE:
        facts["outcome"] = data.draw(st.sampled_from(Outcome))
    elif action is Action.CLOSE:
        facts["reason"] = "ended"
    elif action is Action.RECORD_SCREENING_BOLUS:
        facts = {
            "bolus": bolus(
                data.draw(st.sampled_from([25, 50, 75, 100])), 0, data.draw(st.booleans())
            )
        }
    return facts


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(Indication), st.data())
def test_random_walks_only_follow_the_table(indication: Indication, data: st.DataObject) -> None:
    """Whatever is tried, a step either refuses (nothing changes) or moves as the table says."""
    ep = refer(indication, on=D0, injury_date=date(2020, 1, 1))
    on = D0
    for _ in range(12):
        legal = allowed_actions(ep.stage)
        wander = data.draw(st.integers(0, 4)) == 0
        pool: tuple[Action, ...] = legal if legal and not wander else tuple(Action)
        action = data.draw(st.sampled_from(pool))
        on = on + timedelta(days=data.draw(st.integers(0, 30)))
        facts = _facts_for(action, data, on)
        try:
            decision = preview(ep, action, now=TODAY, **facts)
            acks = {f.rule: "acknowledged" for f in decision.findings if f.verdict is Verdict.WARN}
            new = transition(ep, action, now=TODAY, acknowledge=acks, **facts).episode
        except Refusal:
            continue
        assert (ep.stage, action) in TRANSITIONS
        target = TRANSITIONS[(ep.stage, action)]
        if target is not None:
            assert new.stage is target
        elif new.stage is not ep.stage:
            assert (action, new.stage) == (Action.DECIDE_TEST_PHASE, Stage.RESPONDER)
        entered_implant = new.stage is Stage.IMPLANTED and ep.stage is not Stage.IMPLANTED
        if entered_implant and indication.needs_test_phase:
            assert new.outcome is Outcome.RESPONDER
            assert new.test_ended_on is not None
            assert new.implanted_on is not None
            assert new.implanted_on >= earliest_implant_date(new.test_ended_on)
            assert new.catheter_removed_on is not None
        if new.stage is Stage.CLOSED_NON_RESPONDER:
            assert new.catheter_removed_on is not None
        assert len(new.acknowledgements) >= len(ep.acknowledgements)
        event(f"reached {new.stage.value}")
        ep = new
