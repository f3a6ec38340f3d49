"""The steps of the test phase: admission, screening boluses, the responder decision, the
temporary catheter's removal and a non-responder's closing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from painpump.core.baclofen import ScreeningBolus, next_screening_step
from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.pathway.choices import choice
from painpump.core.pathway.episode import DEFAULT_SETTINGS, Episode, Facts, PathwaySettings
from painpump.core.pathway.indications import DrugFamily, Outcome, Protocol, Severity
from painpump.core.pathway.intervals import check_stay, check_tbi_interval
from painpump.core.pathway.sources import (
    DESIGN_PATHWAY,
    ORDER_SOURCE,
    REMOVAL_SOURCE,
    SCREENING_SOURCE,
    TEST_LENGTH_SOURCE,
    TEST_REQUIRED_SOURCE,
    TUMOUR_SOURCE,
)


def start_test_phase(
    episode: Episode,
    facts: Facts,
    findings: list[Finding],
    settings: PathwaySettings = DEFAULT_SETTINGS,
) -> Episode:
    """Admission for the test phase; tumour pain only as an acknowledged override, TBI within
    a year warns that implantation will wait; a spasticity's severity sets the planned length
    (the clinic's days for it, kept with the episode)."""
    on = facts["on"]
    protocol = choice(Protocol, facts["protocol"], "protocol")
    if episode.indication.needs_test_phase:
        findings.append(
            Finding(
                "test_phase_required",
                Verdict.OK,
                f"{episode.indication.value} needs a test phase decided responder",
                "test phase before implantation",
                TEST_REQUIRED_SOURCE,
            )
        )
    else:
        findings.append(
            Finding(
                "tumour_pain_test_phase",
                Verdict.WARN,
                "tumour pain goes straight to implantation: a test phase is an override that "
                "needs a recorded reason",
                "no test phase for tumour pain unless overridden with a reason",
                TUMOUR_SOURCE,
                verified=False,
            )
        )
    if episode.injury_date is not None:
        findings.append(check_tbi_interval(episode.injury_date, on, severity=Verdict.WARN))
    severity = _severity(episode, facts)
    return replace(
        episode,
        protocol=protocol,
        small_patient=bool(facts.get("small_patient", False)),
        test_rehabilitation=bool(facts.get("rehabilitation", False)),
        test_severity=severity,
        test_planned_days=settings.test_phase_days[severity] if severity else None,
        test_started_on=on,
    )


def _severity(episode: Episode, facts: Facts) -> Severity | None:
    """The spasticity's severity, recorded with a spasticity test phase (it sets the planned
    length); refused for a pain indication, where it has no meaning."""
    if "severity" not in facts:
        return None
    severity = choice(Severity, facts["severity"], "severity")
    if episode.indication.family is not DrugFamily.SPASTICITY:
        raise Refusal(
            "severity",
            severity.value,
            "a spasticity indication (the severity of the spasticity sets the test phase's "
            "planned length)",
            TEST_LENGTH_SOURCE,
            f"does not apply to {episode.indication.value}",
        )
    return severity


def record_bolus(episode: Episode, bolus: ScreeningBolus, today: date) -> Episode:
    """One screening bolus, in the label's sequence and 24 h after the last (baclofen.py)."""
    if not episode.spasticity_screening:
        raise Refusal(
            "bolus",
            str(bolus.dose),
            "a spasticity test phase with the bolus protocol",
            SCREENING_SOURCE,
            f"is not part of this test phase ({episode.indication.value}, "
            f"{episode.protocol.value if episode.protocol else 'no'} protocol)",
        )
    if episode.outcome is not None or episode.catheter_removed_on is not None:
        raise Refusal(
            "bolus",
            str(bolus.dose),
            "before the test phase decision and the catheter's removal",
            SCREENING_SOURCE,
            "is after the test phase was decided or its catheter removed",
        )
    if bolus.given_at is None:
        raise Refusal(
            "bolus.given_at", "missing", "the time the bolus was given", SCREENING_SOURCE, "is"
        )
    given = bolus.given_at
    assert episode.test_started_on is not None
    if given.date() > today or given.date() < episode.test_started_on:
        raise Refusal(
            "bolus.given_at",
            given.isoformat(),
            f"between the test phase start {episode.test_started_on.isoformat()} and today "
            f"{today.isoformat()}",
            ORDER_SOURCE,
            "is outside the test phase",
        )
    step = next_screening_step(episode.screening, small_patient=episode.small_patient)
    if step.action != "give":
        raise Refusal(
            "bolus",
            str(bolus.dose),
            f"no further bolus: screening outcome {step.action}",
            step.source,
            "was given after screening had ended",
        )
    if step.not_before is not None and given < step.not_before:
        raise Refusal(
            "bolus.given_at",
            given.isoformat(),
            f"not before {step.not_before.isoformat()} (24 h after the last bolus)",
            step.source,
            "is too soon after the last bolus",
        )
    history = (*episode.screening, bolus)
    next_screening_step(history, small_patient=episode.small_patient)  # refuses a wrong dose
    return replace(episode, screening=history)


def decide(
    episode: Episode,
    on: date,
    outcome: Outcome | str,
    settings: PathwaySettings,
    out: list[Finding],
) -> Episode:
    """End of the test phase and its documented decision; a baclofen bolus screening must agree
    with `responder` (label), and may disagree with `non_responder` only when acknowledged."""
    decided = choice(Outcome, outcome, "outcome")
    if episode.outcome is not None:
        raise Refusal(
            "outcome",
            decided.value,
            f"one decision per test phase (already {episode.outcome.value})",
            DESIGN_PATHWAY,
            "was already decided",
        )
    assert episode.test_started_on is not None
    if episode.spasticity_screening:
        step = next_screening_step(episode.screening, small_patient=episode.small_patient)
        if decided is Outcome.RESPONDER and step.action != "candidate":
            raise Refusal(
                "outcome",
                decided.value,
                "a positive response to a screening bolus (screening says "
                f"{step.action}: {step.reason})",
                SCREENING_SOURCE,
                "is not supported by the baclofen screening",
            )
        if decided is Outcome.NON_RESPONDER and step.action != "not_candidate":
            out.append(
                Finding(
                    "baclofen_screening",
                    Verdict.WARN,
                    f"decided non_responder although the screening says {step.action}: "
                    f"{step.reason}",
                    "no response to 100 mcg = not a candidate",
                    SCREENING_SOURCE,
                )
            )
        else:
            out.append(
                Finding(
                    "baclofen_screening",
                    Verdict.OK,
                    step.reason,
                    "no response to 100 mcg = not a candidate",
                    step.source,
                    step.verified,
                )
            )
    out.append(check_stay("test phase", episode.test_started_on, on, settings))
    return replace(episode, test_ended_on=on, outcome=decided)


def record_removal(episode: Episode, on: date) -> Episode:
    """The temporary catheter's removal (once)."""
    if episode.catheter_removed_on is not None:
        raise Refusal(
            "on",
            on.isoformat(),
            f"one removal (recorded on {episode.catheter_removed_on.isoformat()})",
            REMOVAL_SOURCE,
            "is a second catheter removal",
        )
    return replace(episode, catheter_removed_on=on)


def check_non_responder_close(episode: Episode, on: date, out: list[Finding]) -> None:
    """A non-responder's episode closes only with the catheter removal recorded."""
    if episode.outcome is not Outcome.NON_RESPONDER:
        decided = episode.outcome.value if episode.outcome else "not decided"
        raise Refusal(
            "outcome",
            decided,
            "non_responder decided at the end of the test phase",
            REMOVAL_SOURCE,
            "does not close the episode as a non-responder",
        )
    if episode.catheter_removed_on is None:
        raise Refusal(
            "catheter_removed_on",
            "not recorded",
            "the temporary catheter's removal recorded before closing",
            REMOVAL_SOURCE,
            "is required to close a non-responder's episode",
        )
    out.append(
        Finding(
            "catheter_removal",
            Verdict.OK,
            f"catheter removed on {episode.catheter_removed_on.isoformat()}",
            "removal recorded before closing",
            REMOVAL_SOURCE,
        )
    )
