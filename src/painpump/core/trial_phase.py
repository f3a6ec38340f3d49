"""What a running test phase needs next, in one line for the clinic's worklist: the label's next
screening bolus (and from when), or the responder decision that is due; and the test phase's
plan: its severity, planned length and planned end, apart from the 2-3 day hospital stay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from painpump.core.baclofen import next_screening_step
from painpump.core.pathway.episode import Episode
from painpump.core.pathway.indications import Severity
from painpump.core.pathway.sources import TEST_LENGTH_SOURCE
from painpump.core.pathway.stages import Stage


@dataclass(frozen=True)
class NextStep:
    """The next step of a test phase: what to do, from when (None: now), and why."""

    what: str
    not_before: datetime | None
    reason: str


def next_step(episode: Episode) -> NextStep | None:
    """The next step of an episode in its test phase; None for any other stage."""
    if episode.stage is not Stage.TEST_PHASE:
        return None
    if episode.outcome is not None:  # a responder has left the test phase: a non-responder
        if episode.catheter_removed_on is None:
            return NextStep("record the catheter removal", None, "decided: non-responder")
        return NextStep("close the episode: non-responder", None, "catheter removed")
    if not episode.spasticity_screening:
        return NextStep("assess and decide: responder or not", None, "test phase running")
    step = next_screening_step(episode.screening, small_patient=episode.small_patient)
    if step.action == "give":
        return NextStep(f"screening bolus {step.dose}", step.not_before, step.reason)
    if step.action == "candidate":
        return NextStep("decide: responder", None, step.reason)
    return NextStep("decide: non-responder", None, step.reason)


@dataclass(frozen=True)
class TrialPlan:
    """A test phase's plan: the severity recorded at its start, its planned length (the clinic's
    days for that severity then, unverified placeholders until the clinic sets them), the
    planned end, whether it continues with rehabilitation, and the actual end once decided (the
    implantation's earliest day counts from the actual end, never the planned one)."""

    severity: Severity
    planned_days: int
    started_on: date
    planned_end: date
    rehabilitation: bool
    ended_on: date | None
    days_left: int | None
    verified: bool
    source: str = TEST_LENGTH_SOURCE

    @property
    def overdue(self) -> bool:
        """Still running after its planned end."""
        return self.days_left is not None and self.days_left < 0


def planned_test_phase(
    episode: Episode, today: date, *, verified: bool = False
) -> TrialPlan | None:
    """The plan of an episode's test phase (None without a recorded severity); `today` is the
    clinic's local date from the injectable clock; `verified` the settings' status."""
    if (
        episode.test_started_on is None
        or episode.test_severity is None
        or episode.test_planned_days is None
    ):
        return None
    planned_end = episode.test_started_on + timedelta(days=episode.test_planned_days)
    running = episode.test_ended_on is None
    return TrialPlan(
        severity=episode.test_severity,
        planned_days=episode.test_planned_days,
        started_on=episode.test_started_on,
        planned_end=planned_end,
        rehabilitation=episode.test_rehabilitation,
        ended_on=episode.test_ended_on,
        days_left=(planned_end - today).days if running else None,
        verified=verified,
    )
