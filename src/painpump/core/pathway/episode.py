"""One episode of care as an immutable value, the clinic's pathway settings, and the facts and
result of a step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict

from painpump.core.baclofen import ScreeningBolus
from painpump.core.decision import Decision
from painpump.core.errors import Refusal
from painpump.core.pathway.indications import (
    DrugFamily,
    Indication,
    Outcome,
    Protocol,
    Severity,
)
from painpump.core.pathway.sources import (
    IMPLANT_INTERVAL_SOURCE,
    STAY_SOURCE,
    TEST_LENGTH_SOURCE,
)
from painpump.core.pathway.stages import Action, Stage

PLACEHOLDER_TEST_DAYS: Mapping[Severity, int] = {
    Severity.MODERATE: 3,
    Severity.SEVERE: 5,
    Severity.VERY_SEVERE: 7,
}
"""PLACEHOLDER planned test-phase lengths in days per severity (TEST_LENGTH_SOURCE: no source
gives them; unverified clinic settings to be set by the clinic)."""


@dataclass(frozen=True)
class PathwaySettings:
    """The clinic's pathway settings (defaults: docs/design-rules.md); refuses nonsense values."""

    min_days_test_to_implant: int = 21
    stay_min_days: int = 2
    stay_max_days: int = 3
    test_phase_days: Mapping[Severity, int] = field(
        default_factory=lambda: dict(PLACEHOLDER_TEST_DAYS)
    )
    test_phase_days_verified: bool = False

    def __post_init__(self) -> None:
        for severity in Severity:
            days = self.test_phase_days.get(severity)
            if days is None or not 1 <= days <= 365:
                raise Refusal(
                    f"test_phase_days[{severity.value}]",
                    f"{days} day",
                    "1-365 day",
                    TEST_LENGTH_SOURCE,
                    "is not a planned test-phase length",
                )
        if self.min_days_test_to_implant < 0:
            raise Refusal(
                "min_days_test_to_implant",
                f"{self.min_days_test_to_implant} day",
                ">= 0 day",
                IMPLANT_INTERVAL_SOURCE,
                "is negative",
            )
        if not 0 <= self.stay_min_days <= self.stay_max_days:
            raise Refusal(
                "stay_min_days",
                f"{self.stay_min_days}-{self.stay_max_days} day",
                "0 <= stay_min_days <= stay_max_days",
                STAY_SOURCE,
                "is not a range of days",
            )


DEFAULT_SETTINGS = PathwaySettings()


@dataclass(frozen=True)
class Acknowledgement:
    """A warning accepted at a step: which rule, at which action, on which day, and the note."""

    rule: str
    action: Action
    note: str
    on: date


@dataclass(frozen=True)
class Episode:
    """One episode of care: its stage and every fact the pathway rules need (dates are the
    clinic's local dates)."""

    indication: Indication
    referred_on: date
    stage: Stage = Stage.REFERRED
    stage_since: date | None = None
    injury_date: date | None = None
    protocol: Protocol | None = None
    small_patient: bool = False
    test_rehabilitation: bool = False
    test_severity: Severity | None = None
    test_planned_days: int | None = None
    test_started_on: date | None = None
    test_ended_on: date | None = None
    screening: tuple[ScreeningBolus, ...] = ()
    outcome: Outcome | None = None
    catheter_removed_on: date | None = None
    implanted_on: date | None = None
    discharged_on: date | None = None
    explanted_on: date | None = None
    closed_on: date | None = None
    close_reason: str | None = None
    acknowledgements: tuple[Acknowledgement, ...] = ()

    @property
    def last_event_on(self) -> date:
        """The date of the latest event recorded (no later event may be dated before it)."""
        dates = [
            self.referred_on,
            self.stage_since,
            self.test_started_on,
            self.test_ended_on,
            self.catheter_removed_on,
            self.implanted_on,
            self.discharged_on,
            self.explanted_on,
            self.closed_on,
        ]
        dates += [b.given_at.date() for b in self.screening if b.given_at is not None]
        return max(d for d in dates if d is not None)

    @property
    def spasticity_screening(self) -> bool:
        """True when the test phase is the baclofen bolus screening of the label."""
        return self.indication.family is DrugFamily.SPASTICITY and self.protocol is Protocol.BOLUS


class Facts(TypedDict, total=False):
    """The facts a step may carry; each action takes only the ones it needs."""

    on: date
    protocol: Protocol | str
    small_patient: bool
    rehabilitation: bool
    severity: Severity | str
    bolus: ScreeningBolus
    outcome: Outcome | str
    reason: str
    life_expectancy_months: int | None


FACTS: Mapping[Action, tuple[frozenset[str], frozenset[str]]] = {
    Action.START_TEST_PHASE: (
        frozenset({"on", "protocol"}),
        frozenset({"small_patient", "rehabilitation", "severity"}),
    ),
    Action.RECORD_SCREENING_BOLUS: (frozenset({"bolus"}), frozenset()),
    Action.DECIDE_TEST_PHASE: (frozenset({"on", "outcome"}), frozenset()),
    Action.RECORD_CATHETER_REMOVAL: (frozenset({"on"}), frozenset()),
    Action.CLOSE_NON_RESPONDER: (frozenset({"on"}), frozenset()),
    Action.IMPLANT: (frozenset({"on"}), frozenset({"life_expectancy_months"})),
    Action.DISCHARGE: (frozenset({"on"}), frozenset()),
    Action.START_REHABILITATION: (frozenset({"on"}), frozenset()),
    Action.START_MAINTENANCE: (frozenset({"on"}), frozenset()),
    Action.EXPLANT: (frozenset({"on"}), frozenset()),
    Action.CLOSE: (frozenset({"on", "reason"}), frozenset()),
}
"""Per action: the facts it requires and the ones it also accepts; any other fact is refused."""


@dataclass(frozen=True)
class Step:
    """The result of a transition: the new episode and the findings that allowed it."""

    episode: Episode
    decision: Decision
