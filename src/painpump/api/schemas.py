"""Typed shapes of the API's requests and responses. Requests refuse unknown fields; quantities
travel as {"value": <number>, "unit": "<unit>"}, exactly as in the command line's JSON."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from ninja import Schema
from pydantic import AwareDatetime, ConfigDict, Field, StrictInt, StrictStr


class Request(Schema):
    model_config = ConfigDict(extra="forbid")


class Quantity(Request):
    """A number with its unit, e.g. {"value": 120, "unit": "mg/day"}."""

    value: Annotated[Decimal, Field(allow_inf_nan=False)]
    unit: StrictStr = Field(min_length=1, max_length=20)


class QuantityOut(Schema):
    value: int | float
    unit: str


class PatientIn(Request):
    mrn: StrictStr
    family_name: StrictStr
    given_name: StrictStr
    birth_date: date


class PatientChange(Request):
    """The version the client read, and the fields to change (only those sent are changed)."""

    version: StrictInt = Field(ge=1)
    family_name: StrictStr | None = None
    given_name: StrictStr | None = None
    birth_date: date | None = None


class PatientOut(Schema):
    id: UUID
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    archived: bool
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


class EpisodeOut(Schema):
    id: UUID
    patient_id: UUID
    indication: str
    stage: str
    referred_on: date
    injury_date: date | None
    closed_at: datetime | None
    closed_reason: str
    version: int


class AssessmentIn(Request):
    kind: StrictStr = Field(description="pain_nrs, ashworth or omed_mg_per_day")
    value: Quantity | Annotated[Decimal, Field(allow_inf_nan=False)] = Field(
        description="a score (pain_nrs 0-10, ashworth 0-4) as a plain number; the oral "
        'morphine-equivalent dose as a quantity, e.g. {"value": 120, "unit": "mg/day"}'
    )
    taken_at: AwareDatetime
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


class ErrorDetail(Schema):
    message: str
    field: str | None = None
    value: str | None = None
    limit: str | None = None
    source: str | None = None
    current_version: int | None = None


class Error(Schema):
    error: ErrorDetail


ERRORS: dict[int, type[Schema]] = {
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    422: Error,
}
