"""The steps from implantation on (implant, discharge, rehabilitation, maintenance, explant) and
closing an episode."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from painpump.core.decision import Finding, Tier, Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.episode import Episode, PathwaySettings
from painpump.core.pathway.intervals import check_implant_interval, check_stay, check_tbi_interval
from painpump.core.pathway.sources import (
    DESIGN_PATHWAY,
    LIFE_EXPECTANCY_SOURCE,
    MIN_LIFE_EXPECTANCY_MONTHS,
    REMOVAL_SOURCE,
    STAY_SOURCE,
    TEMPORARY_CATHETER_SOURCE,
    TEST_REQUIRED_SOURCE,
    TUMOUR_SOURCE,
)
from painpump.core.pathway.stages import Action, Stage


def implant(
    episode: Episode,
    on: date,
    settings: PathwaySettings,
    out: list[Finding],
    life_expectancy_months: int | None = None,
) -> Episode:
    """Implantation: directly for tumour pain (with the life expectancy an implanted pump needs),
    else after a responder test phase; the clinic's interval after the test phase; 1 year after a
    brain injury."""
    if episode.stage is Stage.REFERRED:
        if episode.indication.needs_test_phase:
            raise Refusal(
                "action",
                Action.IMPLANT.value,
                "a test phase decided responder before implantation (only tumour pain goes "
                "straight to implantation)",
                TEST_REQUIRED_SOURCE,
                f"needs a test phase for {episode.indication.value}",
            )
        out.append(
            Finding(
                "tumour_pain_direct_implant",
                Verdict.OK,
                "tumour pain: implantation without a test phase",
                "no test phase for tumour pain",
                TUMOUR_SOURCE,
                verified=False,
            )
        )
        out.append(_life_expectancy(life_expectancy_months))
    else:
        assert episode.test_ended_on is not None
        out.append(
            Finding(
                "test_phase_required",
                Verdict.OK,
                f"test phase decided responder on {episode.test_ended_on.isoformat()}",
                "test phase before implantation",
                TEST_REQUIRED_SOURCE,
            )
        )
        out.append(_temporary_catheter_removed(episode))
        interval = check_implant_interval(
            episode.test_ended_on, on, settings.min_days_test_to_implant
        )
        _stop_on(interval, "on", on)
        out.append(interval)
    if episode.injury_date is not None:
        tbi = check_tbi_interval(episode.injury_date, on)
        _stop_on(tbi, "on", on)
        out.append(tbi)
    return replace(episode, implanted_on=on)


def _life_expectancy(months: int | None) -> Finding:
    """Tumour pain: an implanted pump for a life expectancy beyond 3 months (an external system
    below); a soft warning when it is shorter or not recorded on the patient."""
    limit = f"life expectancy > {MIN_LIFE_EXPECTANCY_MONTHS} months for an implanted pump"
    if months is None:
        message = (
            "life expectancy not recorded on the patient: an implanted pump is for a life "
            f"expectancy beyond {MIN_LIFE_EXPECTANCY_MONTHS} months; record it or give the reason"
        )
        verdict = Verdict.WARN
    elif months <= MIN_LIFE_EXPECTANCY_MONTHS:
        message = (
            f"life expectancy {months} months: under {MIN_LIFE_EXPECTANCY_MONTHS} months an "
            "external system is appropriate rather than an implanted pump; give the reason"
        )
        verdict = Verdict.WARN
    else:
        message, verdict = f"life expectancy {months} months", Verdict.OK
    return Finding(
        "life_expectancy",
        verdict,
        message,
        limit,
        LIFE_EXPECTANCY_SOURCE,
        verified=False,
        tier=Tier.SOFT,
    )


def _temporary_catheter_removed(episode: Episode) -> Finding:
    """An episode whose test phase had a temporary catheter is implanted only once that
    catheter's removal is recorded (a refusal otherwise); tumour pain without one is exempt."""
    assert episode.test_started_on is not None
    started = episode.test_started_on.isoformat()
    if episode.catheter_removed_on is None:
        raise Refusal(
            "catheter_removed_on",
            "not recorded",
            f"the temporary catheter of the test phase started on {started} recorded as "
            "removed before the implantation",
            TEMPORARY_CATHETER_SOURCE,
            "is required before the implantation: record the catheter removal first",
        )
    return Finding(
        "temporary_catheter_removed",
        Verdict.OK,
        f"temporary catheter of the test phase removed on "
        f"{episode.catheter_removed_on.isoformat()}",
        "temporary catheter removal recorded before the implantation",
        TEMPORARY_CATHETER_SOURCE,
    )


def discharge(episode: Episode, on: date, settings: PathwaySettings, out: list[Finding]) -> Episode:
    """Discharge after the implantation stay (once); its length checked against the setting."""
    assert episode.implanted_on is not None
    if episode.discharged_on is not None:
        raise Refusal(
            "on",
            on.isoformat(),
            f"one discharge (recorded on {episode.discharged_on.isoformat()})",
            STAY_SOURCE,
            "is a second discharge",
        )
    out.append(check_stay("implantation", episode.implanted_on, on, settings))
    return replace(episode, discharged_on=on)


def after_implant(episode: Episode, action: Action, on: date) -> Episode:
    """Rehabilitation and maintenance follow the implantation stay's discharge; explant dates."""
    if episode.stage is Stage.IMPLANTED and episode.discharged_on is None:
        if action is Action.EXPLANT:
            return replace(episode, explanted_on=on)
        raise Refusal(
            "discharged_on",
            "not recorded",
            f"the implantation stay's discharge recorded before {action.value}",
            STAY_SOURCE,
            "is required",
        )
    if action is Action.EXPLANT:
        return replace(episode, explanted_on=on)
    return episode


def close(episode: Episode, on: date, reason: str, out: list[Finding]) -> Episode:
    """Close with a reason; a responder's temporary catheter must be recorded removed first."""
    if not str(reason).strip():
        raise Refusal("reason", repr(reason), "a reason for closing", DESIGN_PATHWAY, "is empty")
    if (
        episode.stage is Stage.RESPONDER
        and episode.test_started_on is not None
        and episode.catheter_removed_on is None
    ):
        raise Refusal(
            "catheter_removed_on",
            "not recorded",
            "the temporary catheter's removal recorded before closing",
            REMOVAL_SOURCE,
            "is required to close an episode after a test phase",
        )
    return replace(episode, closed_on=on, close_reason=str(reason).strip())


def _stop_on(finding: Finding, field: str, value: date) -> None:
    """Raise a `stop` finding as the Refusal it is."""
    if finding.verdict is Verdict.STOP:
        raise Refusal(
            field,
            value.isoformat(),
            finding.limit,
            finding.source,
            f"is refused: {finding.message}",
        )
