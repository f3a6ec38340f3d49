"""The stages of an episode, the actions between them and the table of allowed transitions."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class Stage(Enum):
    """Where an episode stands. The values are a contract for the clinic, API and web layers."""

    REFERRED = "referred"
    TEST_PHASE = "test_phase"
    RESPONDER = "responder"
    CLOSED_NON_RESPONDER = "closed_non_responder"
    IMPLANTED = "implanted"
    REHABILITATION = "rehabilitation"
    MAINTENANCE = "maintenance"
    EXPLANTED = "explanted"
    CLOSED = "closed"


class Action(Enum):
    """A step of the pathway; which stage allows which step is `TRANSITIONS`."""

    START_TEST_PHASE = "start_test_phase"
    RECORD_SCREENING_BOLUS = "record_screening_bolus"
    DECIDE_TEST_PHASE = "decide_test_phase"
    RECORD_CATHETER_REMOVAL = "record_catheter_removal"
    CLOSE_NON_RESPONDER = "close_non_responder"
    IMPLANT = "implant"
    DISCHARGE = "discharge"
    START_REHABILITATION = "start_rehabilitation"
    START_MAINTENANCE = "start_maintenance"
    EXPLANT = "explant"
    CLOSE = "close"


TRANSITIONS: Mapping[tuple[Stage, Action], Stage | None] = {
    (Stage.REFERRED, Action.START_TEST_PHASE): Stage.TEST_PHASE,
    (Stage.REFERRED, Action.IMPLANT): Stage.IMPLANTED,
    (Stage.REFERRED, Action.CLOSE): Stage.CLOSED,
    (Stage.TEST_PHASE, Action.RECORD_SCREENING_BOLUS): None,
    (Stage.TEST_PHASE, Action.DECIDE_TEST_PHASE): None,
    (Stage.TEST_PHASE, Action.RECORD_CATHETER_REMOVAL): None,
    (Stage.TEST_PHASE, Action.CLOSE_NON_RESPONDER): Stage.CLOSED_NON_RESPONDER,
    (Stage.RESPONDER, Action.RECORD_CATHETER_REMOVAL): None,
    (Stage.RESPONDER, Action.IMPLANT): Stage.IMPLANTED,
    (Stage.RESPONDER, Action.CLOSE): Stage.CLOSED,
    (Stage.IMPLANTED, Action.DISCHARGE): None,
    (Stage.IMPLANTED, Action.START_REHABILITATION): Stage.REHABILITATION,
    (Stage.IMPLANTED, Action.START_MAINTENANCE): Stage.MAINTENANCE,
    (Stage.IMPLANTED, Action.EXPLANT): Stage.EXPLANTED,
    (Stage.REHABILITATION, Action.START_MAINTENANCE): Stage.MAINTENANCE,
    (Stage.REHABILITATION, Action.EXPLANT): Stage.EXPLANTED,
    (Stage.MAINTENANCE, Action.EXPLANT): Stage.EXPLANTED,
    (Stage.MAINTENANCE, Action.CLOSE): Stage.CLOSED,
    (Stage.EXPLANTED, Action.CLOSE): Stage.CLOSED,
}
"""Every allowed (stage, action) and the stage it leads to (None: the stage stays, a record is
added; `decide_test_phase` with `responder` moves on to `responder`)."""

TERMINAL = frozenset({Stage.CLOSED_NON_RESPONDER, Stage.CLOSED})


def allowed_actions(stage: Stage) -> tuple[Action, ...]:
    """The actions the table allows from a stage, in declaration order."""
    return tuple(a for a in Action if (stage, a) in TRANSITIONS)
