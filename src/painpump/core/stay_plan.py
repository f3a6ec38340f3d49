"""Planning a hospital stay of the pathway before it happens: the test phase's admission or the
implantation's, with the planned discharge. The same rules as the step itself (core.pathway),
applied to days to come: the stage must allow the step, an implantation waits the clinic's days
after the test phase (and a year after a brain injury), tumour pain needs a reason for a test
phase, and a stay outside the usual length is a warning to acknowledge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from painpump.core.decision import Decision, Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Episode, PathwaySettings
from painpump.core.pathway.indications import Outcome
from painpump.core.pathway.intervals import (
    check_implant_interval,
    check_stay,
    check_tbi_interval,
    earliest_implant_date,
    tbi_earliest_itb,
)
from painpump.core.pathway.sources import (
    DESIGN_PATHWAY,
    ORDER_SOURCE,
    TEST_REQUIRED_SOURCE,
    TUMOUR_SOURCE,
)
from painpump.core.pathway.stages import TRANSITIONS, Action, Stage, allowed_actions
from painpump.core.pathway.transitions import require_acknowledged

STAYS: Mapping[Action, str] = {
    Action.START_TEST_PHASE: "test phase",
    Action.IMPLANT: "implantation",
}
"""The steps that begin a hospital stay, and the stay's name."""

TUMOUR_OVERRIDE = "tumour_pain_test_phase"


@dataclass(frozen=True)
class StayPlan:
    """A checked plan: the stay, its days, the earliest day the rules allow and the findings."""

    purpose: Action
    admit_on: date
    discharge_on: date
    not_before: date
    decision: Decision

    @property
    def kind(self) -> str:
        return STAYS[self.purpose]


def earliest_admission(episode: Episode, purpose: Action, settings: PathwaySettings) -> date:
    """The first day the pathway allows the stay to begin: the implantation waits the clinic's
    days after the test phase and a year after a traumatic brain injury; otherwise the day of
    the episode's last event."""
    day = episode.last_event_on
    if purpose is Action.IMPLANT:
        if episode.test_ended_on is not None and episode.outcome is Outcome.RESPONDER:
            day = max(
                day, earliest_implant_date(episode.test_ended_on, settings.min_days_test_to_implant)
            )
        if episode.injury_date is not None:
            day = max(day, tbi_earliest_itb(episode.injury_date))
    return day


def proposed_implant_day(episode: Episode, today: date, settings: PathwaySettings) -> date | None:
    """The implantation day to propose: the earliest the rules allow, not before today; None when
    the stage does not lead to an implantation."""
    if (episode.stage, Action.IMPLANT) not in TRANSITIONS:
        return None
    if episode.stage is Stage.REFERRED and episode.indication.needs_test_phase:
        return None
    return max(today, earliest_admission(episode, Action.IMPLANT, settings))


def usual_discharge(admit_on: date, settings: PathwaySettings) -> date:
    """The discharge day to propose: the shortest usual stay after the admission."""
    return admit_on + timedelta(days=settings.stay_min_days)


def plan_stay(
    episode: Episode,
    purpose: Action,
    admit_on: date,
    discharge_on: date,
    *,
    today: date,
    settings: PathwaySettings,
) -> StayPlan:
    """Check a planned stay; a hard rule refuses (field admit_on or discharge_on), a soft one is a
    `warn` finding to acknowledge."""
    if purpose not in STAYS:
        raise Refusal(
            "purpose",
            purpose.value,
            f"one of {', '.join(a.value for a in STAYS)}",
            DESIGN_PATHWAY,
            "does not begin a hospital stay",
        )
    if (episode.stage, purpose) not in TRANSITIONS:
        allowed = ", ".join(a.value for a in allowed_actions(episode.stage)) or "none"
        raise Refusal(
            "purpose",
            purpose.value,
            f"from {episode.stage.value}: {allowed}",
            DESIGN_PATHWAY,
            f"is not allowed in stage {episode.stage.value}",
        )
    if admit_on < today:
        raise Refusal(
            "admit_on",
            admit_on.isoformat(),
            f"today {today.isoformat()} or later (an admission that happened is recorded as "
            "the step itself)",
            ORDER_SOURCE,
            "is in the past",
        )
    try:
        stay = check_stay(STAYS[purpose], admit_on, discharge_on, settings)
    except Refusal as refusal:
        raise Refusal(
            "discharge_on", refusal.value, refusal.limit, refusal.source, refusal.problem
        ) from None
    findings: list[Finding] = []
    if purpose is Action.START_TEST_PHASE:
        findings.append(_test_phase_needed(episode))
        if episode.injury_date is not None:
            findings.append(
                check_tbi_interval(episode.injury_date, admit_on, severity=Verdict.WARN)
            )
    else:
        findings.extend(_implant_rules(episode, admit_on, settings))
    findings.append(stay)
    not_before = earliest_admission(episode, purpose, settings)
    return StayPlan(purpose, admit_on, discharge_on, not_before, Decision(tuple(findings)))


def _test_phase_needed(episode: Episode) -> Finding:
    if episode.indication.needs_test_phase:
        return Finding(
            "test_phase_required",
            Verdict.OK,
            f"{episode.indication.value} needs a test phase decided responder",
            "test phase before implantation",
            TEST_REQUIRED_SOURCE,
        )
    return Finding(
        TUMOUR_OVERRIDE,
        Verdict.WARN,
        "tumour pain goes straight to implantation: a test phase is an override that needs a "
        "recorded reason",
        "no test phase for tumour pain unless overridden with a reason",
        TUMOUR_SOURCE,
        verified=False,
    )


def _implant_rules(episode: Episode, admit_on: date, settings: PathwaySettings) -> list[Finding]:
    """A test phase decided responder (except tumour pain), the wait after it, the year after a
    brain injury: each refuses as a stop."""
    found: list[Finding] = []
    if episode.stage is Stage.REFERRED and episode.indication.needs_test_phase:
        raise Refusal(
            "purpose",
            Action.IMPLANT.value,
            "a test phase decided responder before implantation (only tumour pain goes straight "
            "to implantation)",
            TEST_REQUIRED_SOURCE,
            f"needs a test phase for {episode.indication.value}",
        )
    if episode.test_ended_on is not None:
        found.append(
            check_implant_interval(
                episode.test_ended_on, admit_on, settings.min_days_test_to_implant
            )
        )
    if episode.injury_date is not None:
        found.append(check_tbi_interval(episode.injury_date, admit_on))
    for finding in found:
        if finding.verdict is Verdict.STOP:
            raise Refusal(
                "admit_on",
                admit_on.isoformat(),
                finding.limit,
                finding.source,
                f"is refused: {finding.message}",
            )
    return found


def check_acknowledged(decision: Decision, acknowledge: Mapping[str, str]) -> None:
    """Every warning of the plan acknowledged (rule -> note), none that it did not give, and the
    tumour-pain override with a reason: as a pathway step requires."""
    require_acknowledged(decision.findings, acknowledge, "plan")
