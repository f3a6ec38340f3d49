"""`transition` is the only way from one stage to the next. A hard rule refuses with a `Refusal`
(field, value, limit, source); a soft rule is a `warn` finding that the step must acknowledge
(by rule name, with a note) or it is refused too, so that no warning passes unrecorded. "Now" is
always a parameter (the clinic's local date)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Unpack

from painpump.core.decision import Decision, Finding, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.overrides import checked_reason
from painpump.core.pathway.choices import choice
from painpump.core.pathway.episode import (
    DEFAULT_SETTINGS,
    FACTS,
    Acknowledgement,
    Episode,
    Facts,
    PathwaySettings,
    Step,
)
from painpump.core.pathway.implant_steps import after_implant, close, discharge, implant
from painpump.core.pathway.indications import Indication, Outcome
from painpump.core.pathway.sources import DESIGN_PATHWAY, ORDER_SOURCE, TBI_SOURCE, TUMOUR_SOURCE
from painpump.core.pathway.stages import TRANSITIONS, Action, Stage, allowed_actions
from painpump.core.pathway.trial_steps import (
    check_non_responder_close,
    decide,
    record_bolus,
    record_removal,
    start_test_phase,
)


def refer(indication: Indication | str, *, on: date, injury_date: date | None = None) -> Episode:
    """Open an episode at referral; a traumatic brain injury needs its injury date (the 1-year
    rule cannot be checked without it)."""
    indication = choice(Indication, indication, "indication")
    if indication is Indication.TRAUMATIC_BRAIN_INJURY and injury_date is None:
        raise Refusal(
            "injury_date",
            "missing",
            "the date of the brain injury (ITB waits at least 1 year after it)",
            TBI_SOURCE,
            "is required for traumatic_brain_injury",
        )
    if injury_date is not None and injury_date > on:
        raise Refusal(
            "injury_date",
            injury_date.isoformat(),
            f"on or before the referral {on.isoformat()}",
            ORDER_SOURCE,
            "is after the referral",
        )
    return Episode(indication=indication, referred_on=on, stage_since=on, injury_date=injury_date)


def preview(
    episode: Episode,
    action: Action | str,
    *,
    now: date,
    settings: PathwaySettings = DEFAULT_SETTINGS,
    **facts: Unpack[Facts],
) -> Decision:
    """The findings a step would give, without applying it (a screen shows the warnings to
    acknowledge); hard rules refuse as in `transition`."""
    _, findings = _evaluate(episode, choice(Action, action, "action"), _day(now), settings, facts)
    return Decision(tuple(findings))


def transition(
    episode: Episode,
    action: Action | str,
    *,
    now: date,
    settings: PathwaySettings = DEFAULT_SETTINGS,
    acknowledge: Mapping[str, str] | None = None,
    **facts: Unpack[Facts],
) -> Step:
    """Apply one step of the pathway: refused if the table does not allow it from the current
    stage, if a hard rule stops it, or if a warning is not acknowledged (rule name -> note)."""
    act = choice(Action, action, "action")
    today = _day(now)
    new, findings = _evaluate(episode, act, today, settings, facts)
    acks = dict(acknowledge or {})
    warned = require_acknowledged(findings, acks, "step")
    recorded = tuple(Acknowledgement(rule, act, acks[rule], today) for rule in warned)
    new = replace(new, acknowledgements=episode.acknowledgements + recorded)
    return Step(new, Decision(tuple(findings)))


def require_acknowledged(
    findings: Sequence[Finding], acks: Mapping[str, str], subject: str
) -> dict[str, Finding]:
    """Every warning among `findings` acknowledged (rule -> note), none that they did not give,
    and the tumour-pain override with a reason; returns the warnings by rule."""
    warned = {f.rule: f for f in findings if f.verdict is Verdict.WARN}
    stray = sorted(set(acks) - set(warned))
    if stray:
        raise Refusal(
            "acknowledge",
            ", ".join(stray),
            f"only the warnings of this {subject}: " + (", ".join(sorted(warned)) or "none"),
            DESIGN_PATHWAY,
            f"acknowledges no warning of this {subject}",
        )
    missing = [f for rule, f in warned.items() if rule not in acks]
    if missing:
        raise Refusal(
            "acknowledge",
            ", ".join(f.rule for f in missing),
            "; ".join(f"{f.rule}: {f.message}" for f in missing),
            "; ".join(f.source for f in missing),
            "is missing: each warning needs an explicit acknowledgement",
        )
    if "tumour_pain_test_phase" in warned and not acks["tumour_pain_test_phase"].strip():
        raise Refusal(
            "acknowledge[tumour_pain_test_phase]",
            repr(acks["tumour_pain_test_phase"]),
            "a recorded reason for the test phase",
            TUMOUR_SOURCE,
            "is empty: the override needs a reason",
        )
    for rule, finding in warned.items():
        if finding.tier is Tier.SOFT:  # a soft limit passes with a reason, as a dose's does
            checked_reason(f"acknowledge[{rule}]", acks[rule])
    return warned


def _evaluate(
    episode: Episode, action: Action, today: date, settings: PathwaySettings, facts: Facts
) -> tuple[Episode, list[Finding]]:
    """Check the step against the table, the facts and every rule; the new episode and the
    findings, or a Refusal."""
    target = _target(episode.stage, action)
    _check_facts(action, facts)
    if "on" in facts:  # a missing date is refused by _check_facts, a None one here
        _check_date(episode, action, facts["on"], today)
    findings: list[Finding] = []
    new = episode
    if action is Action.START_TEST_PHASE:
        new = start_test_phase(episode, facts, findings, settings)
    elif action is Action.RECORD_SCREENING_BOLUS:
        new = record_bolus(episode, facts["bolus"], today)
    elif action is Action.DECIDE_TEST_PHASE:
        new = decide(episode, facts["on"], facts["outcome"], settings, findings)
    elif action is Action.RECORD_CATHETER_REMOVAL:
        new = record_removal(episode, facts["on"])
    elif action is Action.CLOSE_NON_RESPONDER:
        check_non_responder_close(episode, facts["on"], findings)
    elif action is Action.IMPLANT:
        new = implant(episode, facts["on"], settings, findings, facts.get("life_expectancy_months"))
    elif action is Action.DISCHARGE:
        new = discharge(episode, facts["on"], settings, findings)
    elif action in (Action.START_REHABILITATION, Action.START_MAINTENANCE, Action.EXPLANT):
        new = after_implant(episode, action, facts["on"])
    elif action is Action.CLOSE:
        new = close(episode, facts["on"], facts["reason"], findings)
    if target is not None:
        new = replace(new, stage=target, stage_since=facts.get("on", new.stage_since))
    elif action is Action.DECIDE_TEST_PHASE and new.outcome is Outcome.RESPONDER:
        new = replace(new, stage=Stage.RESPONDER, stage_since=facts["on"])
    return new, findings


def _target(stage: Stage, action: Action) -> Stage | None:
    """The stage the table leads to, or a Refusal naming the stage, action and allowed ones."""
    if (stage, action) not in TRANSITIONS:
        allowed = ", ".join(a.value for a in allowed_actions(stage)) or "none (episode closed)"
        raise Refusal(
            "action",
            action.value,
            f"from {stage.value}: {allowed}",
            DESIGN_PATHWAY,
            f"is not allowed in stage {stage.value}",
        )
    return TRANSITIONS[(stage, action)]


def _check_facts(action: Action, facts: Facts) -> None:
    """Every required fact present, no fact the action does not use (nothing ignored)."""
    required, optional = FACTS[action]
    for name in sorted(required - facts.keys()):
        raise Refusal(name, "missing", f"required for {action.value}", DESIGN_PATHWAY, "is missing")
    for name in sorted(facts.keys() - required - optional):
        raise Refusal(
            name,
            str(facts.get(name)),
            f"{action.value} takes {', '.join(sorted(required | optional))}",
            DESIGN_PATHWAY,
            "is not a fact of this action",
        )


def _check_date(episode: Episode, action: Action, on: date, today: date) -> None:
    """An event is dated no later than today and no earlier than the episode's last event."""
    if isinstance(on, datetime) or not isinstance(on, date):
        raise Refusal("on", repr(on), "a calendar date", DESIGN_PATHWAY, "is not a date")
    if on > today:
        raise Refusal(
            "on",
            on.isoformat(),
            f"on or before today {today.isoformat()}",
            ORDER_SOURCE,
            f"is in the future ({action.value} records an event that has happened)",
        )
    last = episode.last_event_on
    if on < last:
        raise Refusal(
            "on",
            on.isoformat(),
            f"on or after the episode's last event {last.isoformat()}",
            ORDER_SOURCE,
            "is before an event already recorded",
        )


def _day(now: date) -> date:
    """Today from `now`: a datetime gives its own date (pass it in the clinic's time zone)."""
    return now.date() if isinstance(now, datetime) else now
