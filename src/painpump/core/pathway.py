"""The therapy pathway of one episode of care as an explicit state machine: referral, test phase,
responder decision, implantation, rehabilitation, maintenance, explant and closure.

`transition` is the only way from one stage to the next. A hard rule refuses with a `Refusal`
(field, value, limit, source); a soft rule is a `warn` finding that the step must acknowledge
(by rule name, with a note) or it is refused too, so that no warning passes unrecorded. The
episode is an immutable value; "now" is always a parameter (the clinic's local date)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TypedDict, TypeVar, Unpack

from painpump.core.baclofen import ScreeningBolus, next_screening_step
from painpump.core.decision import Decision, Finding, Verdict
from painpump.core.errors import Refusal

DESIGN_PATHWAY = "rule-therapy-pathway, the therapy pathway"
TUMOUR_SOURCE = (
    "rule-tumour-direct-implant: tumour pain patients are implanted directly, with no test "
    "phase; khimani-narang-cancer-trialing, huntsman-2021-100-to-1, pacc-2017-trialing: "
    "skipping the trial is common practice, UNCONFIRMED in a guideline"
)
TEST_REQUIRED_SOURCE = (
    "rule-test-phase: a test phase for spasticity and non-tumour pain, non-responders leave the "
    "pathway; gablofen-label: patients must respond to a screening dose before pump "
    "implantation (rxlist Gablofen)"
)
IMPLANT_INTERVAL_SOURCE = (
    "clinic setting, default 21 days: rule-implant-interval 'three weeks after the test phase "
    "at the earliest' (pacc-2017-trialing: no guideline value found)"
)
STAY_SOURCE = (
    "clinic setting, default 2-3 days: rule-hospital-stay 'Each hospital stay (test phase, "
    "implantation) lasts two to three days' (clinic practice, not a guideline limit); days "
    "counted as discharge date minus admission date"
)
REMOVAL_SOURCE = (
    "rule-non-responder-removal: non-responders have the catheter removed and leave the pathway"
)
TBI_SOURCE = (
    "gablofen-label, lioresal-label: after traumatic brain injury wait at least 1 year before "
    "long-term ITB (rxlist Gablofen; lioresal.com/hcp/resources)"
)
SCREENING_SOURCE = (
    "lioresal-label, gablofen-label: 'Patients who do not respond to a 100 mcg intrathecal "
    "bolus should not be considered candidates' (Lioresal/Gablofen label)"
)
ORDER_SOURCE = (
    "rule-out-of-order: out-of-order events are rejected, not merged; clinical events are recorded "
    "when they have happened"
)
FAMILY_SOURCE = (
    "rule-drug-families: opioids, ziconotide, bupivacaine, clonidine for pain; baclofen for "
    "spasticity"
)


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


class DrugFamily(Enum):
    """The drugs an indication implies (catalog names); the drug library checks each dose."""

    SPASTICITY = "spasticity"
    PAIN = "pain"

    @property
    def drugs(self) -> tuple[str, ...]:
        return _FAMILY_DRUGS[self]


_FAMILY_DRUGS: Mapping[DrugFamily, tuple[str, ...]] = {
    DrugFamily.SPASTICITY: ("baclofen",),
    DrugFamily.PAIN: (
        "morphine",
        "hydromorphone",
        "fentanyl",
        "sufentanil",
        "ziconotide",
        "bupivacaine",
        "clonidine",
    ),
}


class Indication(Enum):
    """Why the patient was referred: a cause of spasticity or a kind of chronic pain."""

    INFANTILE_CEREBRAL_PALSY = "infantile_cerebral_palsy"
    MULTIPLE_SCLEROSIS = "multiple_sclerosis"
    PARAPLEGIA = "paraplegia"
    STROKE = "stroke"
    TRAUMATIC_BRAIN_INJURY = "traumatic_brain_injury"
    FAILED_BACK_SURGERY_SYNDROME = "failed_back_surgery_syndrome"
    TUMOUR_PAIN = "tumour_pain"
    POLYNEUROPATHY = "polyneuropathy"

    @property
    def family(self) -> DrugFamily:
        """The drug family the indication implies (source: `FAMILY_SOURCE`)."""
        return DrugFamily.SPASTICITY if self in _SPASTICITY else DrugFamily.PAIN

    @property
    def needs_test_phase(self) -> bool:
        """Every indication but tumour pain needs a test phase decided `responder`."""
        return self is not Indication.TUMOUR_PAIN


_SPASTICITY = frozenset(
    {
        Indication.INFANTILE_CEREBRAL_PALSY,
        Indication.MULTIPLE_SCLEROSIS,
        Indication.PARAPLEGIA,
        Indication.STROKE,
        Indication.TRAUMATIC_BRAIN_INJURY,
    }
)


class Protocol(Enum):
    """How the test phase gives the drug: bolus sequence or continuous infusion."""

    BOLUS = "bolus"
    CONTINUOUS = "continuous"


class Outcome(Enum):
    """The documented decision at the end of a test phase."""

    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"


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


@dataclass(frozen=True)
class PathwaySettings:
    """The clinic's pathway settings (defaults: docs/design-rules.md); refuses nonsense values."""

    min_days_test_to_implant: int = 21
    stay_min_days: int = 2
    stay_max_days: int = 3

    def __post_init__(self) -> None:
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
    bolus: ScreeningBolus
    outcome: Outcome | str
    reason: str


FACTS: Mapping[Action, tuple[frozenset[str], frozenset[str]]] = {
    Action.START_TEST_PHASE: (
        frozenset({"on", "protocol"}),
        frozenset({"small_patient", "rehabilitation"}),
    ),
    Action.RECORD_SCREENING_BOLUS: (frozenset({"bolus"}), frozenset()),
    Action.DECIDE_TEST_PHASE: (frozenset({"on", "outcome"}), frozenset()),
    Action.RECORD_CATHETER_REMOVAL: (frozenset({"on"}), frozenset()),
    Action.CLOSE_NON_RESPONDER: (frozenset({"on"}), frozenset()),
    Action.IMPLANT: (frozenset({"on"}), frozenset()),
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


# --- rules usable on their own (planning screens call them before any transition) -----------


def refer(indication: Indication | str, *, on: date, injury_date: date | None = None) -> Episode:
    """Open an episode at referral; a traumatic brain injury needs its injury date (the 1-year
    rule cannot be checked without it)."""
    indication = _enum(Indication, indication, "indication")
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


def earliest_implant_date(test_phase_end: date, setting_days: int = 21) -> date:
    """The first day an implantation may take place: the end of the test phase plus the
    clinic's minimum interval (default 21 days)."""
    if setting_days < 0:
        raise Refusal(
            "min_days_test_to_implant",
            f"{setting_days} day",
            ">= 0 day",
            IMPLANT_INTERVAL_SOURCE,
            "is negative",
        )
    try:
        return test_phase_end + timedelta(days=setting_days)
    except OverflowError:
        raise Refusal(
            "min_days_test_to_implant",
            f"{setting_days} day after {test_phase_end.isoformat()}",
            f"an earliest implant date within the calendar (by {date.max.isoformat()})",
            IMPLANT_INTERVAL_SOURCE,
            "is out of range",
        ) from None


def check_implant_interval(test_phase_end: date, implant_on: date, setting_days: int) -> Finding:
    """`ok` when the implantation is at least `setting_days` after the test phase's end, else
    `stop` with the earliest allowed date."""
    earliest = earliest_implant_date(test_phase_end, setting_days)
    gap = (implant_on - test_phase_end).days
    limit = f">= {setting_days} day after the test phase ended on {test_phase_end.isoformat()}"
    if implant_on < earliest:
        message = (
            f"implantation on {implant_on.isoformat()} is {gap} day after the test phase ended: "
            f"the earliest allowed date is {earliest.isoformat()}"
        )
        return Finding("implant_interval", Verdict.STOP, message, limit, IMPLANT_INTERVAL_SOURCE)
    message = (
        f"implantation {gap} day after the test phase (earliest allowed {earliest.isoformat()})"
    )
    return Finding("implant_interval", Verdict.OK, message, limit, IMPLANT_INTERVAL_SOURCE)


def tbi_earliest_itb(injury_date: date) -> date:
    """One year after the injury, same day of the year (29 February goes to 1 March)."""
    if injury_date.year >= date.max.year:
        raise Refusal(
            "injury_date",
            injury_date.isoformat(),
            f"a date a year before the calendar's end ({date.max.isoformat()}) or earlier",
            TBI_SOURCE,
            "is out of range",
        )
    try:
        return injury_date.replace(year=injury_date.year + 1)
    except ValueError:
        return date(injury_date.year + 1, 3, 1)


def check_tbi_interval(injury_date: date, on: date, *, severity: Verdict = Verdict.STOP) -> Finding:
    """Long-term ITB at least 1 year after a traumatic brain injury: `ok`, or `severity` with
    the first allowed date (a stop at implantation, a warning for an early test phase)."""
    earliest = tbi_earliest_itb(injury_date)
    limit = f">= 1 year after the injury on {injury_date.isoformat()}"
    if on < earliest:
        message = (
            f"{on.isoformat()} is {(on - injury_date).days} day after the traumatic brain injury: "
            f"long-term ITB not before {earliest.isoformat()}"
        )
        return Finding("tbi_interval", severity, message, limit, TBI_SOURCE)
    message = f"{on.isoformat()} is at least 1 year after the traumatic brain injury"
    return Finding("tbi_interval", Verdict.OK, message, limit, TBI_SOURCE)


def check_stay(
    kind: str, admitted: date, discharged: date, settings: PathwaySettings = DEFAULT_SETTINGS
) -> Finding:
    """A hospital stay of `stay_min_days`..`stay_max_days` days is `ok`, any other length a
    `warn` (clinic practice, not a guideline limit); a discharge before admission is refused."""
    if discharged < admitted:
        raise Refusal(
            "on",
            discharged.isoformat(),
            f"on or after the admission {admitted.isoformat()}",
            ORDER_SOURCE,
            f"is before the {kind} admission",
        )
    days = (discharged - admitted).days
    low, high = settings.stay_min_days, settings.stay_max_days
    limit = f"{low}-{high} day"
    length = f"{days} day" if days == 1 else f"{days} days"
    if low <= days <= high:
        return Finding("hospital_stay", Verdict.OK, f"{kind} stay of {length}", limit, STAY_SOURCE)
    message = (
        f"{kind} stay of {length} ({admitted.isoformat()} to {discharged.isoformat()}) is "
        f"outside the usual {low}-{high} days"
    )
    return Finding("hospital_stay", Verdict.WARN, message, limit, STAY_SOURCE, verified=False)


# --- the state machine --------------------------------------------------------------------------


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
    _, findings = _evaluate(episode, _enum(Action, action, "action"), _day(now), settings, facts)
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
    act = _enum(Action, action, "action")
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
        new = _start_test_phase(episode, facts, findings)
    elif action is Action.RECORD_SCREENING_BOLUS:
        new = _record_bolus(episode, facts["bolus"], today)
    elif action is Action.DECIDE_TEST_PHASE:
        new = _decide(episode, facts["on"], facts["outcome"], settings, findings)
    elif action is Action.RECORD_CATHETER_REMOVAL:
        new = _record_removal(episode, facts["on"])
    elif action is Action.CLOSE_NON_RESPONDER:
        _check_non_responder_close(episode, facts["on"], findings)
    elif action is Action.IMPLANT:
        new = _implant(episode, facts["on"], settings, findings)
    elif action is Action.DISCHARGE:
        new = _discharge(episode, facts["on"], settings, findings)
    elif action in (Action.START_REHABILITATION, Action.START_MAINTENANCE, Action.EXPLANT):
        new = _after_implant(episode, action, facts["on"])
    elif action is Action.CLOSE:
        new = _close(episode, facts["on"], facts["reason"], findings)
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


def _start_test_phase(episode: Episode, facts: Facts, findings: list[Finding]) -> Episode:
    """Admission for the test phase; tumour pain only as an acknowledged override, TBI within
    a year warns that implantation will wait."""
    on = facts["on"]
    protocol = _enum(Protocol, facts["protocol"], "protocol")
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
    return replace(
        episode,
        protocol=protocol,
        small_patient=bool(facts.get("small_patient", False)),
        test_rehabilitation=bool(facts.get("rehabilitation", False)),
        test_started_on=on,
    )


def _record_bolus(episode: Episode, bolus: ScreeningBolus, today: date) -> Episode:
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


def _decide(
    episode: Episode,
    on: date,
    outcome: Outcome | str,
    settings: PathwaySettings,
    out: list[Finding],
) -> Episode:
    """End of the test phase and its documented decision; a baclofen bolus screening must agree
    with `responder` (label), and may disagree with `non_responder` only when acknowledged."""
    decided = _enum(Outcome, outcome, "outcome")
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


def _record_removal(episode: Episode, on: date) -> Episode:
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


def _check_non_responder_close(episode: Episode, on: date, out: list[Finding]) -> None:
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


def _implant(episode: Episode, on: date, settings: PathwaySettings, out: list[Finding]) -> Episode:
    """Implantation: directly for tumour pain, else after a responder test phase; the clinic's
    interval after the test phase; 1 year after a brain injury."""
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


def _discharge(
    episode: Episode, on: date, settings: PathwaySettings, out: list[Finding]
) -> Episode:
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


def _after_implant(episode: Episode, action: Action, on: date) -> Episode:
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


def _close(episode: Episode, on: date, reason: str, out: list[Finding]) -> Episode:
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


def _day(now: date) -> date:
    """Today from `now`: a datetime gives its own date (pass it in the clinic's time zone)."""
    return now.date() if isinstance(now, datetime) else now


E = TypeVar("E", bound=Enum)


def _enum(kind: type[E], value: E | str, field: str) -> E:
    """An enum member from itself or its value; anything else is refused with the choices."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise Refusal(
            field, str(value), f"one of {choices}", DESIGN_PATHWAY, "is unknown"
        ) from None
