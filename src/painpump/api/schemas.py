"""Typed shapes of the API's requests and responses. Requests refuse unknown fields; quantities
travel as {"value": <number>, "unit": "<unit>"}, exactly as in the command line's JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from painpump.core.dose_history import Phase
from painpump.core.prescription import FluidChange


def _in_utc(moment: datetime) -> datetime:
    """A moment read in UTC as it is stored: an offset PostgreSQL cannot take (beyond 15:59,
    such as -17:39) was a 500; a moment UTC puts outside the calendar is refused."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the calendar once read in UTC (years 1 to 9999)") from None


Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A date and time with its UTC offset, as the API takes it (and stores it, in UTC)."""


def _no_nul(value: object) -> None:
    """Refuse a NUL character anywhere in a string (PostgreSQL cannot store one: it was a 500)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain a NUL character (\\u0000)")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)


HIGH_RISK = (
    "the pump holds baclofen, whose withdrawal can be life-threatening: its rows come first in "
    "the worklist (an opioid's or clonidine's withdrawal is warned of where the dose changes)"
)


class Request(Schema):
    """A request body or query: unknown fields are refused, and so is a NUL in any text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: object) -> object:
        _no_nul(value)
        return value


class Quantity(Request):
    """A number with its unit, e.g. {"value": 120, "unit": "mg/day"}."""

    value: Annotated[Decimal, Field(allow_inf_nan=False)]
    unit: StrictStr = Field(min_length=1, max_length=20)


class QuantityOut(Schema):
    value: int | float
    unit: str


WEIGHT_KG = Field(
    default=None,
    allow_inf_nan=False,
    description="body weight in kg (0.5 to 400), null when not recorded",
)
OPIOID_STATUS = Field(
    default="unknown",
    description="opioid exposure before intrathecal therapy: unknown, naive or tolerant",
)
PSYCHOSIS_HISTORY = Field(
    default=None, description="a history of psychosis: true, false, or null (not recorded)"
)
LIFE_EXPECTANCY_MONTHS = Field(
    default=None,
    description="expected months of life (0 to 600; matters for tumour pain), null when not "
    "recorded",
)


class PatientIn(Request):
    mrn: StrictStr
    family_name: StrictStr
    given_name: StrictStr
    birth_date: date
    weight_kg: Decimal | None = WEIGHT_KG
    opioid_status: StrictStr = OPIOID_STATUS
    psychosis_history: StrictBool | None = PSYCHOSIS_HISTORY
    life_expectancy_months: StrictInt | None = LIFE_EXPECTANCY_MONTHS


class PatientChange(Request):
    """The version the client read, and the fields to change (only those sent are changed; a
    fact sent as null is cleared to not recorded)."""

    version: StrictInt = Field(ge=1)
    family_name: StrictStr | None = None
    given_name: StrictStr | None = None
    birth_date: date | None = None
    weight_kg: Decimal | None = WEIGHT_KG
    opioid_status: StrictStr | None = Field(default=None, description="unknown, naive or tolerant")
    psychosis_history: StrictBool | None = PSYCHOSIS_HISTORY
    life_expectancy_months: StrictInt | None = LIFE_EXPECTANCY_MONTHS


class PatientOut(Schema):
    id: UUID
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    archived: bool
    weight_kg: int | float | None
    opioid_status: str
    psychosis_history: bool | None
    life_expectancy_months: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class EpisodeIn(Request):
    indication: StrictStr = Field(
        description="infantile_cerebral_palsy, multiple_sclerosis, paraplegia, stroke, "
        "traumatic_brain_injury, failed_back_surgery_syndrome, tumour_pain or polyneuropathy"
    )
    referred_on: date
    injury_date: date | None = None


class TestPhasePlanOut(Schema):
    severity: str
    planned_days: int
    started_on: date
    planned_end: date = Field(description="a day of the clinic's calendar")
    rehabilitation: bool = Field(description="continues with rehabilitation")
    ended_on: date | None
    days_left: int | None = Field(description="to the planned end, from the clinic's today")
    verified: bool
    source: str


class EpisodeOut(Schema):
    id: UUID
    patient_id: UUID
    indication: str
    stage: str
    referred_on: date
    injury_date: date | None
    closed_at: datetime | None
    closed_reason: str
    origin: str | None = Field(
        description="the origin of spasticity in force (spinal, cerebral; null for pain)"
    )
    origin_basis: str | None = Field(
        description="where it comes from: indication or override (null for pain)"
    )
    origin_reason: str = Field(
        description="the override's recorded reason, or the indication it follows"
    )
    origin_override: str = Field(description="the override: spinal, cerebral, or empty")
    version: int
    test_phase: TestPhasePlanOut | None = Field(
        default=None, description="the test phase's plan (null without a recorded severity)"
    )


class OriginOverrideIn(Request):
    """The version the client read and the origin of spasticity to use instead of the
    indication's (with a reason of at least 8 characters), or "" to clear the override."""

    version: StrictInt = Field(ge=1)
    origin: StrictStr = Field(max_length=10, description="spinal, cerebral, or empty to clear")
    reason: StrictStr = Field(default="", max_length=300)


class AssessmentIn(Request):
    kind: StrictStr = Field(description="pain_nrs, ashworth or omed_mg_per_day")
    value: Quantity | Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        description="a score (pain_nrs 0-10, ashworth 0-4) as a plain number; the oral "
        'morphine-equivalent dose as a quantity, e.g. {"value": 120, "unit": "mg/day"}'
    )
    taken_at: Moment
    limb: StrictStr = Field(default="", max_length=30)
    note: StrictStr = Field(default="", max_length=500)


class AssessmentOut(Schema):
    id: UUID
    episode_id: UUID
    kind: str
    limb: str
    value: QuantityOut | int | float
    taken_at: datetime
    recorded_at: datetime
    recorded_by: str
    note: str


QUANTITY_FORMS = 'a quantity as {"value": 5, "unit": "mg/day"} or as text "5 mg/day"'


def _quantity_in(value: object) -> Quantity | str:
    """One error naming the field for anything that is neither form (a bare number above all),
    rather than one error per member of a union."""
    if isinstance(value, Quantity | str):
        return value
    if isinstance(value, dict):
        try:
            return Quantity.model_validate(value)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{QUANTITY_FORMS} ({where}: {first['msg']})") from None
    raise ValueError(QUANTITY_FORMS)


QuantityIn = Annotated[
    Quantity | str,
    PlainValidator(_quantity_in),
    WithJsonSchema(
        {
            "anyOf": [Quantity.model_json_schema(), {"type": "string"}],
            "description": QUANTITY_FORMS,
        }
    ),
]


TIER = (
    "how the limit is enforced: hard (stops, no override passes it), soft (passes only with a "
    "reason in `overrides`), or null for a note that judges no limit"
)


class FindingOut(Schema):
    rule: str
    verdict: str
    message: str
    limit: str
    source: str
    verified: bool = Field(
        description="whether the limit's value is verified (shown, it never decides enforcement)"
    )
    tier: str | None = Field(default=None, description=TIER)


class OverrideOut(Schema):
    """A soft limit passed on purpose: the warning's rule, the reason given for it, who gave it,
    when and where: the prescriber when signing the prescription (its reason travels with it to
    the refill or programming that executes it, where no one types it again), or the nurse or
    physician at the refill or programming. `as_recorded`: stored before where each override
    was given was kept, so credited to who performed the refill or programming."""

    rule: str
    reason: str
    by: str
    at: datetime
    given_at: Literal["prescribing", "refill", "programming"]
    as_recorded: bool


class DecisionOut(Schema):
    verdict: str
    findings: list[FindingOut]


class BolusIn(Request):
    dose: QuantityIn
    positive: StrictBool
    given_at: Moment | None = None


class FactsIn(Request):
    """The facts of a pathway step; each action takes only the ones it needs (see FACTS in
    painpump.core.pathway.episode): any other fact sent is refused, none is ignored."""

    on: date | None = None
    protocol: StrictStr | None = Field(default=None, description="bolus or continuous")
    outcome: StrictStr | None = Field(default=None, description="responder or non_responder")
    reason: StrictStr | None = Field(default=None, max_length=500)
    small_patient: StrictBool | None = None
    rehabilitation: StrictBool | None = None
    severity: StrictStr | None = Field(
        default=None, description="moderate, severe or very_severe spasticity (start_test_phase)"
    )
    bolus: BolusIn | None = None


class StepIn(Request):
    action: StrictStr = Field(
        description="start_test_phase, record_screening_bolus, decide_test_phase, "
        "record_catheter_removal, close_non_responder, implant, discharge, start_rehabilitation, "
        "start_maintenance, explant or close"
    )
    version: StrictInt = Field(ge=1, description="the episode version the client read")
    facts: FactsIn = Field(default_factory=FactsIn)
    acknowledge: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="rule -> note, for each warning of the step"
    )


class StepOut(Schema):
    episode: EpisodeOut
    verdict: str
    findings: list[FindingOut]


class PathwayEventOut(Schema):
    action: str
    facts: dict[str, Any]
    acknowledged: dict[str, str]
    stage_before: str
    stage_after: str
    recorded_at: datetime
    recorded_by: str


class ImplantIn(Request):
    version: StrictInt = Field(ge=1, description="the episode version the client read")
    pump_model: StrictStr = Field(max_length=40)
    pump_serial: StrictStr = Field(min_length=1, max_length=60)
    catheter_model: StrictStr = Field(min_length=1, max_length=60)
    catheter_length: QuantityIn
    dead_volume: QuantityIn = Field(
        description="pump outlet and catheter; judged against what the catheter catalog, or "
        "else the clinic's approved entry for the model (/api/clinic-catheters), computes for "
        "the catheter and its implanted length"
    )
    alarm_volume: QuantityIn | None = None
    implanted_on: date
    discharged_on: date | None = Field(
        default=None, description="when the patient went home, if already (ends the stay)"
    )
    acknowledge: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description="rule -> reason for each warning: the step's, hospital_stay, "
        "dead_volume_unchecked (a catheter neither the catalog nor an approved clinic entry "
        "holds), "
        "dead_volume_above_catheter",
    )


class StepShownOut(Schema):
    start: str = Field(description="HH:MM on the clinic's wall clock")
    dose: QuantityOut = Field(
        description="the principal drug's daily dose from the start on (mcg/day)"
    )


class DayOut(Schema):
    day: str = Field(description="mon ... sun")
    steps: list[StepShownOut] = Field(description="by start, the first at 00:00")
    dose: QuantityOut = Field(description="what the day's steps give (mcg/day)")


class PtmOut(Schema):
    """The patient-bolus (PTM) settings."""

    dose: QuantityOut = Field(description="each bolus of the principal drug (mcg)")
    duration: QuantityOut = Field(description="over which each bolus runs (s)")
    lockout: QuantityOut = Field(description="the least time between boluses (s)")
    max_per_day: int = Field(description="boluses allowed in 24 hours (a count)")


class ProgramBolusOut(Schema):
    dose: QuantityOut = Field(description="in the principal drug's unit (mg or mcg)")
    duration: QuantityOut = Field(description="over which it runs (s)")
    volume: QuantityOut = Field(description="what it draws from the reservoir (mL)")
    rate: QuantityOut = Field(description="the rate it runs at while it lasts (mL/hour)")
    state: str = Field(description="running (until ends_at) or stopped (since ends_at)")
    ends_at: datetime
    words: str = Field(
        description='"single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)" while it runs, '
        '"stopped after the bolus: pumps nothing" after (since ends_at)'
    )


class ProgramOut(Schema):
    id: UUID = Field(description="the program's id: its readback is posted to /programs/{id}")
    prescription: int | None = Field(
        description="the number of the prescription it executes (null for one programmed "
        "before prescriptions)"
    )
    kind: str = Field(
        default="continuous", description="the program in words: continuous, flex or single bolus"
    )
    dose: QuantityOut = Field(
        description="the basal daily dose (mcg/day): of the day that gives most for a flex "
        "program (see `days`); a single bolus: 0, see `bolus`"
    )
    rate: QuantityOut = Field(
        description="the basal rate (mL/day) of that dose; a single bolus: 0, see `bolus`"
    )
    bolus: ProgramBolusOut | None = Field(
        default=None, description="a single bolus as the pump gives it; null for a basal program"
    )
    days: list[DayOut] = Field(
        description="the seven days the pump runs, Monday first, each with its steps (a "
        "continuous program: one step a day); none for a single bolus"
    )
    ptm: PtmOut | None = Field(
        description="the patient-bolus (PTM) settings the pump runs; null when off"
    )
    started_at: datetime
    ended_at: datetime | None
    prescribed_by: str
    programmed_by: str = Field(description="who programmed the pump (empty before it was kept)")
    phase: Phase = Field(description="titration or maintenance")
    warnings: list[FindingOut] = Field(
        default_factory=list,
        description="the warnings shown when a titration prescribed it (a refill's are the "
        "refill's)",
    )
    overrides: list[OverrideOut] = Field(
        default_factory=list,
        description="the soft limits the titration passed, each with its reason and who gave "
        "it, when and where (the prescriber at prescribing, or at the programming)",
    )


class DrugOut(Schema):
    drug: str
    concentration: QuantityOut = Field(description="the drug's concentration (mcg/mL)")


class TwinExpectedOut(Schema):
    least: QuantityOut = Field(description="with every allowed patient bolus given")
    most: QuantityOut = Field(description="with none given (equal to least when known)")


class ReconciliationOut(Schema):
    expected: QuantityOut
    aspirated: QuantityOut
    difference: QuantityOut
    delivery_error_percent: int | float
    finding: str
    twin_expected: TwinExpectedOut | None = Field(
        default=None,
        description="the residual the pump's twin expected from the recorded history, stored "
        "with the refill (rule-pump-twin); null without a history to run",
    )


class BridgeOut(Schema):
    volume: QuantityOut
    rate: QuantityOut


class PushedOut(Schema):
    drug: str
    dose: QuantityOut = Field(description="what the bolus pushed of it, in the drug's unit")


class PrimingOut(Schema):
    volume: QuantityOut = Field(description="the pump tubing and catheter volume pushed")
    duration: QuantityOut = Field(description="at the pump's highest rate")
    pushed: list[PushedOut] = Field(
        description="each drug of the fluid before in the path, pushed as one bolus (none after "
        "a first fill's factory fluid)"
    )
    words: str = Field(
        description='"the 0.25 mL in the pump tubing and catheter pushed over 15 min: 500 mcg '
        'of baclofen as one bolus"'
    )


class RefillOut(Schema):
    id: UUID
    implant_id: UUID
    idempotency_key: str
    performed_at: datetime
    performed_by: str
    reconciliation: ReconciliationOut | None
    drugs: list[DrugOut]
    volume: QuantityOut
    lot: str
    program: ProgramOut
    bridge: BridgeOut | None
    priming: PrimingOut | None = Field(description="the priming bolus run at this fill")
    alarm_at: datetime
    empty_at: datetime
    refill_by: date
    limited_by: str
    warnings: list[FindingOut] = Field(description="the warnings shown at the refill")
    overrides: list[OverrideOut] = Field(
        description="the soft limits passed, each with its reason and who gave it, when and "
        "where: the prescriber at prescribing (the reason travelled with the prescription) or "
        "the nurse at the refill (a refill recorded before reasons were required says so)"
    )
    needs_verification: bool
    verified_by: str
    verified_at: datetime | None
    ptm_requests: int | None = Field(description="patient-bolus requests since the last refill")
    ptm_given: int | None = Field(description="patient boluses given since the last refill")


class MriInstructionOut(Schema):
    when: str = Field(description="before, during or after the scan")
    text: str
    source: str = Field(description="the source keys (docs/sources.md) and what they say")
    verified: bool


class MriOut(Schema):
    behaviour: str = Field(description="the pump catalog's `mri`: motor_stall, valve_shutoff, none")
    summary: str
    check_labeling: bool = Field(description="true when the catalog knows no MRI behaviour")
    instructions: list[MriInstructionOut]


class ImplantOut(Schema):
    id: UUID
    episode_id: UUID
    patient_id: UUID
    pump_model: str
    pump_serial: str
    catheter_model: str
    catheter_length: QuantityOut
    dead_volume: QuantityOut
    alarm_volume: QuantityOut
    implanted_on: date
    explanted_on: date | None
    alarm_at: datetime | None
    empty_at: datetime | None
    refill_by: date | None
    high_risk: bool = Field(description=HIGH_RISK)
    version: int
    program: ProgramOut | None
    drugs: list[DrugOut]
    last_refill: RefillOut | None
    mri: MriOut = Field(description="what to do around an MRI scan with this pump (core.mri)")


class DrugIn(Request):
    drug: StrictStr = Field(max_length=40)
    concentration: QuantityIn


READ_VERSION = (
    "the implant version the client read (ImplantOut.version): refused (409) if the pump changed "
    "since (a refill, a programming, a prescription or its double-check)"
)


OVERRIDES = (
    "rule -> reason, one for each soft-limit warning shown (at least 8 characters, recorded with "
    "who and when and printed on the record); a warning without a reason is refused naming it "
    "(422, field `overrides`), and a reason for a rule that is no soft warning here, a hard "
    "limit among them, is refused (field `overrides[rule]`): no override passes a hard limit"
)


class RefillIn(Request):
    version: StrictInt = Field(ge=1, description=READ_VERSION)
    idempotency_key: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="the client's key for this refill (or the Idempotency-Key header): a retry "
        "with the same key returns the refill already recorded",
    )
    performed_at: Moment
    expected: QuantityIn | None = Field(
        default=None, description="the residual volume the pump expects (not at a first fill)"
    )
    aspirated: QuantityIn | None = Field(
        default=None, description="the residual volume aspirated (not at a first fill)"
    )
    drugs: list[DrugIn] = Field(description="the drugs of the fill, the principal drug first")
    volume: QuantityIn
    lot: StrictStr = Field(min_length=1, max_length=60)
    dose: QuantityIn | None = Field(
        default=None,
        description="the daily dose of the principal drug, if typed: it must be the "
        "prescription's (a new dose is a new prescription, signed by a physician)",
    )
    overrides: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description=OVERRIDES
        + "; the reasons the prescriber gave for the same warnings need not be typed again",
    )
    phase: Phase | None = Field(
        default=None,
        description="titration or maintenance for a refill that changes nothing; a new "
        "prescription's own phase is kept",
    )
    ptm_requests: StrictInt | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="patient-bolus requests the pump reports since the last refill (required, "
        "with ptm_given, while patient boluses are prescribed)",
    )
    ptm_given: StrictInt | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="patient boluses the pump reports given since the last refill",
    )


class ProgramIn(Request):
    """Programming the pump between refills with its ready prescription."""

    version: StrictInt = Field(ge=1, description=READ_VERSION)
    overrides: dict[StrictStr, StrictStr] = Field(
        default_factory=dict,
        description=OVERRIDES
        + "; the prescriber's reasons pass their warnings; a reason typed here is a physician's",
    )


DAYS = "the weekdays of the step: every day, mon-fri, sat-sun, or one of mon ... sun"


class FlexStepIn(Request):
    days: StrictStr = Field(max_length=12, description=DAYS)
    start: StrictStr = Field(max_length=5, description="HH:MM on the clinic's wall clock")
    dose: QuantityIn = Field(description="the principal drug's daily dose from the start on")


class ContinuousIn(Request):
    kind: Literal["continuous"]
    dose: QuantityIn = Field(description="the principal drug's daily dose, all day every day")


class FlexIn(Request):
    kind: Literal["flex"]
    steps: list[FlexStepIn] = Field(
        min_length=1,
        max_length=100,
        description="each weekday's steps are the rows for it, by start; each day starts at 00:00",
    )


class SingleBolusIn(Request):
    kind: Literal["single_bolus"]
    dose: QuantityIn = Field(description='the bolus of the principal drug, e.g. "100 mcg"')
    duration: QuantityIn = Field(description='over which it runs (at most 24 h), e.g. "1 hour"')


class StoppedIn(Request):
    """The device's "stopped pump" mode: it gives nothing, the drug stays in the reservoir."""

    kind: Literal["stopped"]


ProgramSpecIn = Annotated[
    ContinuousIn | FlexIn | SingleBolusIn | StoppedIn, Field(discriminator="kind")
]


class PtmIn(Request):
    """The patient-bolus (PTM) settings."""

    dose: QuantityIn = Field(description='the bolus of the principal drug, e.g. "50 mcg"')
    duration: QuantityIn = Field(description='e.g. "2 min"')
    lockout: QuantityIn = Field(description='the least time between boluses, e.g. "3 hour"')
    max_per_day: StrictInt = Field(description="boluses allowed in 24 hours")


class PrescriptionDraft(Request):
    """A prescription as the physician writes it (what the preview judges)."""

    drugs: list[DrugIn] = Field(
        min_length=1, max_length=4, description="the drugs, the principal drug first"
    )
    program: ProgramSpecIn
    ptm: PtmIn | None = Field(default=None, description="patient boluses, or null for none")
    phase: Phase | None = Field(
        default=None,
        description="titration or maintenance; none: titration for a new drug, else the "
        "running program's",
    )
    fluid_change: FluidChange = Field(
        default=FluidChange.NONE,
        description="how the old fluid in the pump tubing and catheter is delivered when this "
        "prescription's fluid replaces it: none (at the new program's rate), bridge (the same "
        "drug's prescribed dose at its old concentration) or priming (a priming bolus); a change "
        "of the principal drug's concentration needs bridge or priming",
    )


class PrescriptionIn(PrescriptionDraft):
    version: StrictInt = Field(ge=1, description=READ_VERSION)
    reason: StrictStr = Field(max_length=500, description="why (at least 8 characters)")
    overrides: dict[StrictStr, StrictStr] = Field(default_factory=dict, description=OVERRIDES)


class CheckIn(Request):
    """The second clinician's entries, read from the syringe label and the order: the whole
    order, entered as the prescription's body gives it (a flex program step row by step row).
    Accepting needs every entry (`ptm` given, null when off); a rejection needs the comment
    alone, and its entries, when given, come whole and are recorded."""

    concentrations: Annotated[list[DrugIn], Field(min_length=1, max_length=4)] | None = Field(
        default=None, description="required to accept"
    )
    program: ProgramSpecIn | None = Field(
        default=None, description="compared day by day, step by step; required to accept"
    )
    ptm: PtmIn | None = Field(
        default=None,
        description="the PTM settings of the order, or null when off; to accept, given (null "
        "when off)",
    )
    fluid_change: FluidChange = Field(
        default=FluidChange.NONE,
        description="the order's bridge or priming bolus when the fluid changes (none, bridge, "
        "priming)",
    )
    accept: StrictBool
    comment: StrictStr = Field(
        default="", max_length=500, description="required to reject (at least 8 characters)"
    )


class BridgeShownIn(Request):
    kind: Literal["bridge"]
    volume: QuantityIn = Field(description='the volume it runs, e.g. "0.25 mL"')
    rate: QuantityIn = Field(description='the rate it runs at, e.g. "0.2 mL/day"')


class PrimingShownIn(Request):
    kind: Literal["priming"]
    volume: QuantityIn = Field(description='the priming bolus, e.g. "0.25 mL"')


FluidChangeShownIn = Annotated[BridgeShownIn | PrimingShownIn, Field(discriminator="kind")]


class ReadbackIn(Request):
    """What the clinician programmer shows after programming."""

    reservoir: QuantityIn = Field(
        description="the pump's reservoir estimate; compared with the volume filled (less a "
        "priming bolus as it draws) or, between refills, the pump's twin then, within the "
        "clinic's tolerance (`readback_tolerance` of /api/settings)"
    )
    drugs: list[DrugIn] = Field(min_length=1, max_length=4)
    program: ProgramSpecIn
    ptm: PtmIn | None = Field(description="the PTM settings shown, or null when they are off")
    fluid_change: FluidChangeShownIn | None = Field(
        default=None,
        description="after a refill that ran a bridge or a priming bolus, what the programmer "
        "shows of it (compared with what the refill recorded, as painpump prints it); null: "
        "none shown",
    )


class IncidentClose(Request):
    resolution: StrictStr = Field(max_length=500, description="what was done (8 characters+)")


class SingleBolusOut(Schema):
    dose: QuantityOut = Field(description="the bolus of the principal drug (mcg)")
    duration: QuantityOut = Field(description="over which it runs (s)")


class BolusDeliveryOut(Schema):
    """A single bolus drawn from the prescription's principal drug."""

    dose: QuantityOut = Field(description="in the principal drug's unit (1.5 mg)")
    duration: QuantityOut = Field(description="over which it runs (s)")
    volume: QuantityOut = Field(description="what it draws from the reservoir (mL)")
    rate: QuantityOut = Field(description="the rate it runs at while it lasts (mL/hour)")
    words: str = Field(description='"single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)"')


class PrescribedProgramOut(Schema):
    kind: str = Field(description="continuous, flex or single_bolus")
    days: list[DayOut] = Field(description="the seven days, Monday first (a single bolus: none)")
    bolus: SingleBolusOut | None = Field(
        default=None, description="a single bolus's dose and duration; the pump stops after it"
    )


class DifferedOut(Schema):
    field: str
    entered: str = Field(description="as the checker entered it (the prescribed value is not kept)")


class RefusedAcceptOut(Schema):
    """An accept refused at the double-check because entries did not match the prescription."""

    by: str
    at: datetime
    differed: list[DifferedOut]


class PrescriptionOut(Schema):
    id: UUID
    implant_id: UUID
    number: int = Field(description="numbered per pump")
    status: str = Field(
        description="awaiting_check, rejected, ready, active, superseded or withdrawn"
    )
    drugs: list[DrugOut]
    program: PrescribedProgramOut
    ptm: PtmOut | None
    daily_dose: QuantityOut | None = Field(
        description="the basal dose of the day that gives most (mcg/day; a single bolus: null, "
        "see `bolus`)"
    )
    worst_day: QuantityOut | None = Field(
        description="that day with every allowed patient bolus (mcg/day; a single bolus: null)"
    )
    bolus: BolusDeliveryOut | None = Field(
        default=None, description="a single bolus as the pump gives it; null for a basal program"
    )
    phase: str
    fluid_change: str = Field(description="none, bridge or priming (see PrescriptionIn)")
    reason: str
    prescribed_by: str
    prescribed_at: datetime
    high_alert: bool = Field(description="needs the independent double-check before programming")
    supersedes: int | None = Field(description="the number of the prescription it replaces")
    warnings: list[FindingOut]
    overrides: list[OverrideOut]
    checked_by: str
    checked_at: datetime | None
    refused_accepts: list[RefusedAcceptOut] = Field(
        description="each accept refused at its double-check (entries that did not match), "
        "oldest first: accepted after as many entries that did not match"
    )
    implant_version: int = Field(description="the pump's version now (for the next change)")


class StopOut(Schema):
    field: str
    value: str
    limit: str
    source: str
    message: str


class ChangeOut(Schema):
    setting: str
    before: str
    after: str


class MismatchOut(Schema):
    field: str
    entered: str
    prescribed: str = Field(description="what was prescribed or expected (see `against`)")
    against: str = Field(
        default="prescribed",
        description="prescribed, or expected: the reservoir the pump should hold, with its "
        "basis and the clinic's tolerance",
    )


class PtmEnteredOut(Schema):
    dose: str
    duration_s: int
    lockout_s: int
    max_per_day: int


class BolusEnteredOut(Schema):
    dose: str = Field(description='as typed, e.g. "1.5 mg"')
    duration_s: int


class CheckEntriesOut(Schema):
    """The double-check's entries as recorded, each with its unit as typed."""

    concentrations: list[str] = Field(description='e.g. "baclofen 2 mg/mL"')
    program: str = Field(description="continuous, flex, single bolus or stopped pump (in words)")
    days: list[list[str]] = Field(
        description='the seven days entered, Monday first, each its steps ("07:00 2.4 mcg/day"); '
        "none for a single bolus or a stopped pump"
    )
    bolus: BolusEnteredOut | None = Field(
        default=None, description="the single bolus entered; null for a basal program"
    )
    ptm: PtmEnteredOut | None = Field(description="null: entered as off")
    fluid_change: str | None = Field(
        default=None,
        description="none, bridge or priming as entered (null: a record from before it was "
        "compared)",
    )


class CheckOut(Schema):
    id: UUID
    prescription_id: UUID
    checked_by: str
    checked_at: datetime
    accepted: bool
    comment: str
    entered: CheckEntriesOut | None = Field(
        description="null: a rejection with the comment alone, no entry typed"
    )
    mismatches: list[MismatchOut]


class CheckedOut(CheckOut):
    prescription: PrescriptionOut = Field(description="the prescription, ready or rejected")


class ReadbackOut(Schema):
    id: UUID
    program_id: UUID
    read_by: str
    read_at: datetime
    matches: bool
    entered: dict[str, Any]
    mismatches: list[MismatchOut]
    incident_id: UUID | None = Field(description="the incident a mismatch opened")


class ProgrammingOut(Schema):
    program_id: UUID
    at: datetime
    by: str
    at_refill: bool
    state: str = Field(description="awaiting readback, stopped or complete")
    readbacks: list[ReadbackOut]


class PrescriptionVersionOut(PrescriptionOut):
    changes: list[ChangeOut] = Field(
        description="each setting against the version the pump ran when it was signed (never a "
        "draft withdrawn or rejected before programming)"
    )
    checks: list[CheckOut]
    programmed: list[ProgrammingOut]


class ProjectedDatesOut(Schema):
    alarm_at: datetime | None
    empty_at: datetime | None
    refill_by: date
    limited_by: str


class PrescriptionPreviewOut(Schema):
    version: int = Field(description="the implant version judged (send it to sign)")
    stop: StopOut | None = Field(description="the hard limit that stops it (no override)")
    warnings: list[FindingOut] = Field(description="each needs a reason in `overrides`")
    phase: str
    changes: list[ChangeOut]
    replaces: int | None = Field(description="the number of the prescription it would replace")
    needs_double_check: bool
    program: PrescribedProgramOut
    daily_dose: QuantityOut | None = Field(description="a single bolus: null, see `bolus`")
    worst_day: QuantityOut | None = Field(description="a single bolus: null")
    bolus: BolusDeliveryOut | None = Field(
        default=None, description="a single bolus as the pump gives it; null for a basal program"
    )
    projected: ProjectedDatesOut | None = Field(
        default=None,
        description="the pump's twin run with this prescription programmed now on the fluid it "
        "holds (patient boluses at their maximum): its alarm, empty and refill-by dates; null "
        "when refused, never filled, or for another fluid (dated at its refill)",
    )


class IncidentOut(Schema):
    id: UUID
    patient_id: UUID
    implant_id: UUID
    kind: str
    opened_at: datetime
    opened_by: str
    summary: str
    details: dict[str, Any]
    closed_at: datetime | None
    closed_by: str
    resolution: str


class AlarmIn(Request):
    kind: StrictStr = Field(description="low_reservoir, empty, eri, motor_stall or other")
    reported_at: Moment
    note: StrictStr = Field(default="", max_length=500)


class AlarmAcknowledgement(Request):
    action_taken: StrictStr = Field(max_length=500, description="what was done about the alarm")


class AlarmOut(Schema):
    id: UUID
    implant_id: UUID
    patient_id: UUID
    patient: str
    kind: str
    reported_at: datetime
    recorded_by: str
    note: str
    high_risk: bool = Field(description=HIGH_RISK)
    acknowledged_at: datetime | None
    acknowledged_by: str
    action_taken: str


class AppointmentOut(Schema):
    id: UUID
    patient_id: UUID
    patient: str
    kind: str
    on: date
    due_by: date | None
    starts_at: datetime | None = Field(description="the start, ISO 8601 with its offset")
    minutes: int | None
    status: str
    overdue: bool = Field(description="a refill after its refill-by date (urgent)")
    late_reason: str
    note: str
    version: int


class AppointmentChange(Request):
    on: date | None = Field(
        default=None,
        description="a working day to come (a refill takes its first free slot), not after the "
        "refill-by date without a late_reason",
    )
    starts_at: Moment | None = Field(
        default=None, description="a start to come, with its offset, within opening hours"
    )
    status: StrictStr | None = Field(
        default=None, description="proposed, booked, done or cancelled"
    )
    late_reason: StrictStr | None = Field(
        default=None,
        max_length=300,
        description="why a refill is booked after its refill-by date (required then)",
    )
    expected_version: StrictInt = Field(
        ge=1,
        description="the version read: the change is refused (409) if someone changed it since",
    )


class Plain(BaseModel):
    """An output shape validated by pydantic alone: filled from dicts, never from Django objects,
    so it needs none of ninja's attribute access (which costs ~20 us an object; the dashboard
    holds a few hundred)."""


class ReasonOut(Plain):
    """A finding behind a place in the refill list (fields as FindingOut)."""

    rule: str
    verdict: str
    message: str
    limit: str
    source: str
    verified: bool
    tier: str | None = Field(default=None, description=TIER)


class PriorityOut(Plain):
    overdue: bool
    days_to_alarm: int
    high_risk: bool = Field(description=HIGH_RISK)
    reasons: list[ReasonOut]


class VisitOut(Plain):
    """The patient's open refill visit as stored: the same on every page, report and export."""

    appointment_id: UUID
    on: date
    starts_at: datetime | None
    status: str
    overdue: bool
    late_reason: str


class RefillRowOut(Plain):
    patient_id: UUID
    patient: str
    implant_id: UUID
    pump_model: str
    drugs: list[str]
    alarm_at: datetime
    refill_by: date
    priority: PriorityOut
    visit: VisitOut | None


class EpisodeRowOut(Plain):
    patient_id: UUID
    patient: str
    episode_id: UUID
    indication: str
    since: date | None
    earliest_implant: date | None


class ReplacementRowOut(Plain):
    patient_id: UUID
    patient: str
    implant_id: UUID
    pump_model: str
    implanted_on: date
    replace_by: date


class VerificationRowOut(Plain):
    patient_id: UUID
    patient: str
    refill_id: UUID
    performed_at: datetime
    performed_by: str


class CheckRowOut(Plain):
    """A signed prescription awaiting its double-check (POST /api/prescriptions/{id}/checks):
    its drugs by name only, the numbers being for the second clinician to enter."""

    patient_id: UUID
    patient: str
    prescription_id: UUID
    implant_id: UUID
    pump_model: str
    number: int
    drugs: list[str]
    prescribed_by: str
    prescribed_at: datetime
    high_alert: bool


class AlarmRowOut(Plain):
    patient_id: UUID
    patient: str
    alarm_id: UUID
    kind: str
    reported_at: datetime
    high_risk: bool = Field(description=HIGH_RISK)


class IncidentRowOut(Plain):
    patient_id: UUID
    patient: str
    incident_id: UUID
    summary: str
    opened_at: datetime
    opened_by: str
    severity: Literal["dose", "other"] = Field(
        description="dose: a drug, a concentration or a dose differed (listed first); other: "
        "only the reservoir, a patient bolus's timing or count, or the bridge or priming bolus"
    )


class ReadbackRowOut(Plain):
    """A pump programmed from a prescription whose program is in force with no readback yet
    (POST /api/programs/{program_id}/readbacks)."""

    patient_id: UUID
    patient: str
    program_id: UUID
    implant_id: UUID
    pump_model: str
    prescription_number: int
    programmed_at: datetime
    programmed_by: str
    at_refill: bool = Field(description="programmed at a refill (else between refills)")


class StoppedRowOut(Plain):
    patient_id: UUID
    patient: str
    implant_id: UUID
    pump_model: str
    kind: Literal["single_bolus", "stopped"] = Field(
        description="a single bolus (the pump stops after it) or a stopped pump"
    )
    bolus: str | None = Field(description="the single bolus in words; null for a stopped pump")
    drug: str = Field(description="the principal drug the pump holds")
    long_stop: str = Field(
        description="a pump stopped (or its single bolus ended) longer ago than its labeling's "
        'overinfusion limit: that limit ("48 h"); "" otherwise'
    )
    programmed_at: datetime
    high_risk: bool = Field(description=HIGH_RISK)
    bolus_state: Literal["running", "stopped"] = Field(
        description="at the moment the worklist was read: the bolus still running, or the pump "
        "stopped (after its bolus, or programmed stopped)"
    )
    bolus_ends_at: datetime | None = Field(
        description="when the bolus ends (its start plus its duration): running until then, "
        "stopped since; null for a stopped pump"
    )
    stopped_since: datetime | None = Field(
        description="when the pump stopped giving: a stopped pump's programming, or its bolus's "
        "end; null while the bolus runs"
    )
    refill_by: date | None = Field(
        description="the pump's refill-by date: the stability of the fluid it holds (or the "
        "interval for a fluid held in a stopped pump); a refill needs a new prescription first"
    )


class DashboardTotalsOut(Plain):
    """How many rows each whole list holds; a page shows at most `limit` of them. overdue,
    due_today and due_week are disjoint."""

    overdue: int
    due_today: int
    due_week: int
    at_risk: int
    test_phases: int
    awaiting_implant: int
    nearing_replacement: int
    unverified: int
    awaiting_check: int
    open_alarms: int
    open_incidents: int
    stopped: int
    awaiting_readback: int


class DashboardOut(Plain):
    """One page of each list of the worklist (rows [offset, offset + limit)) and the size of
    each whole list in `totals`."""

    today: date
    offset: int
    limit: int
    totals: DashboardTotalsOut
    overdue: list[RefillRowOut] = Field(
        description="no open day left on or before the refill-by date: urgent"
    )
    due_today: list[RefillRowOut] = Field(description="today is the last open day for them")
    due_week: list[RefillRowOut] = Field(description="the others due within 7 days")
    at_risk: list[RefillRowOut]
    test_phases: list[EpisodeRowOut]
    awaiting_implant: list[EpisodeRowOut]
    nearing_replacement: list[ReplacementRowOut]
    unverified: list[VerificationRowOut]
    awaiting_check: list[CheckRowOut] = Field(
        description="prescriptions awaiting their double-check, oldest first"
    )
    open_alarms: list[AlarmRowOut]
    open_incidents: list[IncidentRowOut] = Field(
        description="incidents open on patients' records (a readback that differed), those "
        "where a dose, concentration or drug differed first, then oldest first: each keeps its "
        "programming session stopped until a physician closes it"
    )
    stopped: list[StoppedRowOut] = Field(
        description="pumps programmed with a single bolus, baclofen first: the bolus runs until "
        "`bolus_ends_at`, then the pump gives nothing until a new prescription is programmed"
    )
    awaiting_readback: list[ReadbackRowOut] = Field(
        description="pumps programmed (at a refill or between refills) whose program in force "
        "has no programmer readback yet, the longest waiting first"
    )


WALL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
"""A wall-clock time of the clinic, HH:MM (24-hour)."""
Weekday = Annotated[StrictInt, Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]


TEST_PHASE_DAYS_NOTE = (
    "planned test-phase length in days for {} spasticity, 1 to 60; unverified: a clinic setting, "
    "no source gives these lengths"
)
READBACK_TOLERANCE_NOTE = (
    "how far the reservoir volume the clinician programmer shows after programming may lie from "
    "the volume expected: from 0 mL to below 1 mL (the smallest pocket-fill threshold, "
    "maino-2017), to 0.001 mL; unverified: a clinic setting (rule-clinic-setting), no source "
    "gives the programmer's display resolution"
)


class SettingsOut(Schema):
    implant_wait_days: int
    stay_min_days: int
    stay_max_days: int
    test_phase_days_moderate: int = Field(description=TEST_PHASE_DAYS_NOTE.format("moderate"))
    test_phase_days_severe: int = Field(description=TEST_PHASE_DAYS_NOTE.format("severe"))
    test_phase_days_very_severe: int = Field(description=TEST_PHASE_DAYS_NOTE.format("very severe"))
    test_phase_days_verified: bool = Field(
        description="whether a source confirms the test-phase lengths (always false: clinic "
        "settings; shown, it never decides enforcement)"
    )
    refill_margin_days: int
    country: str
    subdivision: str
    dosing_region: str
    time_zone: str = Field(description="the clinic's IANA time zone, e.g. Europe/Berlin")
    open_weekdays: list[int] = Field(description="opening weekdays, 0 = Monday ... 6 = Sunday")
    opens_at: str = Field(pattern=WALL_TIME, description="HH:MM on the clinic's wall clock")
    closes_at: str = Field(pattern=WALL_TIME, description="HH:MM on the clinic's wall clock")
    date_format: str = Field(description="iso, dmy_dots, dmy_slashes or mdy")
    time_format: str = Field(description="24h or 12h")
    refill_visit_minutes: int = Field(description="minutes booked for a refill visit")
    refill_capacity_per_day: int = Field(description="refill visits the clinic takes a day")
    readback_tolerance: QuantityOut = Field(description=READBACK_TOLERANCE_NOTE)
    readback_tolerance_verified: bool = Field(
        description="whether a source confirms the readback tolerance (always false: a clinic "
        "setting; shown, it never decides enforcement)"
    )
    version: int


class SettingsChange(Request):
    """The version the admin read, and the settings to change (only those sent are changed)."""

    version: StrictInt = Field(ge=1)
    implant_wait_days: StrictInt | None = None
    stay_min_days: StrictInt | None = None
    stay_max_days: StrictInt | None = None
    test_phase_days_moderate: StrictInt | None = Field(
        default=None, description=TEST_PHASE_DAYS_NOTE.format("moderate")
    )
    test_phase_days_severe: StrictInt | None = Field(
        default=None, description=TEST_PHASE_DAYS_NOTE.format("severe")
    )
    test_phase_days_very_severe: StrictInt | None = Field(
        default=None, description=TEST_PHASE_DAYS_NOTE.format("very severe")
    )
    refill_margin_days: StrictInt | None = None
    country: StrictStr | None = Field(default=None, max_length=2)
    subdivision: StrictStr | None = Field(default=None, max_length=10)
    dosing_region: StrictStr | None = Field(default=None, max_length=2)
    time_zone: StrictStr | None = Field(
        default=None, max_length=64, description="an IANA time zone name, e.g. Europe/Berlin"
    )
    open_weekdays: list[Weekday] | None = Field(
        default=None,
        max_length=7,
        description="opening weekdays, 0 = Monday ... 6 = Sunday; at least one",
    )
    opens_at: StrictStr | None = Field(
        default=None, pattern=WALL_TIME, description="HH:MM on the clinic's wall clock"
    )
    closes_at: StrictStr | None = Field(
        default=None, pattern=WALL_TIME, description="HH:MM, after opens_at"
    )
    date_format: StrictStr | None = Field(
        default=None,
        max_length=12,
        description="iso (2026-11-25), dmy_dots (25.11.2026), dmy_slashes (25/11/2026) or "
        "mdy (11/25/2026)",
    )
    time_format: StrictStr | None = Field(
        default=None, max_length=4, description="24h (14:30) or 12h (02:30 PM)"
    )
    refill_visit_minutes: StrictInt | None = Field(
        default=None, description="minutes booked for a refill visit, 5 to 480"
    )
    refill_capacity_per_day: StrictInt | None = Field(
        default=None, description="refill visits the clinic takes a day, 0 to 200"
    )
    readback_tolerance: QuantityIn | None = Field(
        default=None, description=f'{READBACK_TOLERANCE_NOTE}; e.g. "0.1 mL"'
    )


class ErrorDetail(Schema):
    message: str
    field: str | None = None
    value: str | None = None
    limit: str | None = None
    source: str | None = None
    current_version: int | None = None
    all: list[dict[str, str]] | None = Field(
        default=None, description="a validation error's first 20 findings, each as above"
    )
    not_listed: int | None = Field(default=None, description="the findings beyond those listed")


class Error(Schema):
    error: ErrorDetail


# Every error status an endpoint with AUTH can answer: 400 for a body that is not JSON, 401 without
# a valid token or session, 403 for a role or a read-only token, 404, 409 and 422 (errors.py).
ERRORS: dict[int, type[Schema]] = {
    400: Error,
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
}
