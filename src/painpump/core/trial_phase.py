"""What a running test phase needs next, in one line for the clinic's worklist: the label's next
screening bolus (and from when), or the responder decision that is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from painpump.core.baclofen import next_screening_step
from painpump.core.pathway.episode import Episode
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
