"""The clinic's own catheter entries (clinic.actions.catheters): list them, enter one (a
pharmacist), approve one or its archiving (a second pharmacist or physician), archive one; and
the figure an implantation's dead volume was judged against, as its registration answers it.
Writes on an entry carry the `version` read (409 if it changed since)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictInt, StrictStr

from painpump.api.auth import AUTH, current_user
from painpump.api.errors import SCHEMA_RULES
from painpump.api.quantities import text
from painpump.api.schemas import ERRORS, ImplantOut, Quantity, QuantityOut, Request
from painpump.clinic.actions import catheters
from painpump.clinic.models import ClinicCatheter
from painpump.clinic.reads import catheters as entries
from painpump.core.clinic_catheters import EXAMPLES, parse_volume_per_cm
from painpump.core.errors import Refusal
from painpump.core.units import json_number

router = Router(tags=["catheters"], auth=AUTH)

PER_CM = "mL/cm"
VERSION = "the version of the entry read: refused (409) if it changed since"


class ClinicCatheterIn(Request):
    model: StrictStr = Field(
        min_length=1, max_length=60, description="the catheter's model, e.g. 8709SC"
    )
    name: StrictStr = Field(max_length=100)
    manufacturer: StrictStr = Field(max_length=100)
    volume_per_cm: Quantity | StrictStr = Field(
        description=f"with its units, e.g. {EXAMPLES} (kept in uL/cm, to 0.0001 uL/cm)"
    )
    source: StrictStr = Field(
        max_length=500,
        description="where the clinic read the figure: the document's number, version and page",
    )
    replaces: UUID | None = Field(
        default=None,
        description="the entry in force for this model, which the new figure replaces once "
        "approved (required when the model has one)",
    )
    version: StrictInt | None = Field(default=None, ge=1, description=f"with `replaces`: {VERSION}")


class VersionIn(Request):
    version: StrictInt = Field(ge=1, description=VERSION)


class ClinicCatheterOut(Schema):
    id: UUID
    model: str = Field(description="the model's key (lower case)")
    name: str
    manufacturer: str
    volume_per_cm: QuantityOut = Field(description="in mL/cm")
    volume_per_cm_text: str = Field(description='"0.0026 mL/cm (2.6 uL/cm)"')
    source: str
    verified: bool = Field(description="always false: painpump has not verified the figure")
    status: str = Field(description="waiting, in force, archiving asked (still applied), archived")
    entered_by: str
    entered_at: datetime
    approved_by: str
    approved_at: datetime | None
    replaces: UUID | None
    archive_requested_by: str
    archived_by: str
    archived_at: datetime | None
    version: int


class CatheterFigureOut(Schema):
    basis: str = Field(description="catalog (the packaged, sourced figure) or clinic (an entry)")
    model: str
    volume_per_cm: QuantityOut = Field(description="in mL/cm")
    source: str
    verified: bool
    entry: UUID | None = Field(description="the clinic entry used, if any")
    entry_version: int | None
    approved_by: str | None = Field(description="the clinic entry's second approver")
    words: str = Field(description="the figure and whose it is, as the warnings say it")


class ImplantRegisteredOut(ImplantOut):
    catheter_figure: CatheterFigureOut | None = Field(
        description="the catheter figure the dead volume was judged against; null when the "
        "catalog holds no figure for the model and the clinic no approved entry (unchecked, "
        "acknowledged under dead_volume_unchecked)"
    )


def _per_cm(value: Decimal) -> dict[str, Any]:
    return {"value": json_number(value.normalize()), "unit": PER_CM}


def entry_out(row: ClinicCatheter) -> dict[str, Any]:
    return {
        "id": row.id,
        "model": row.model,
        "name": row.name,
        "manufacturer": row.manufacturer,
        "volume_per_cm": _per_cm(entries.volume_per_cm(row)),
        "volume_per_cm_text": entries.shown_per_cm(row),
        "source": row.source,
        "verified": False,
        "status": entries.status_of(row).value,
        "entered_by": row.entered_by,
        "entered_at": row.entered_at,
        "approved_by": row.approved_by,
        "approved_at": row.approved_at,
        "replaces": row.replaces_id,
        "archive_requested_by": row.archive_requested_by,
        "archived_by": row.archived_by,
        "archived_at": row.archived_at,
        "version": row.version,
    }


def figure_out(recorded: dict[str, Any] | None) -> dict[str, Any] | None:
    """An implantation's recorded figure (Figure.as_record) as the API answers it."""
    if recorded is None:
        return None
    number = Decimal(str(recorded["volume_per_cm"]).split()[0])
    return {**recorded, "volume_per_cm": _per_cm(number)}


@router.get("/clinic-catheters", response={200: list[ClinicCatheterOut], **ERRORS})
def list_clinic_catheters(request: HttpRequest) -> list[dict[str, Any]]:
    """Every entry, in force, waiting and archived (any member of the team)."""
    return [entry_out(row) for row in entries.list_catheters(current_user(request))]


@router.post("/clinic-catheters", response={201: ClinicCatheterOut, **ERRORS})
def add_clinic_catheter(request: HttpRequest, payload: ClinicCatheterIn) -> Status[dict[str, Any]]:
    """A pharmacist enters a catheter's volume per cm that the catalog does not hold; it waits
    for a second pharmacist or physician. For a model with an entry in force, name it in
    `replaces` with the `version` read."""
    if payload.replaces is not None and payload.version is None:
        raise Refusal(
            "version", "missing", f"with `replaces`: {VERSION}", SCHEMA_RULES, "is required"
        )
    if payload.replaces is None and payload.version is not None:
        raise Refusal(
            "replaces",
            "missing",
            "the entry in force whose version `version` is",
            SCHEMA_RULES,
            "is required",
        )
    replaces = (
        (payload.replaces, payload.version)
        if payload.replaces is not None and payload.version is not None
        else None
    )
    row = catheters.add_catheter(
        current_user(request),
        model=payload.model,
        name=payload.name,
        manufacturer=payload.manufacturer,
        volume_per_cm=parse_volume_per_cm(text(payload.volume_per_cm), "volume_per_cm"),
        source=payload.source,
        replaces=replaces,
    )
    return Status(201, entry_out(row))


@router.post("/clinic-catheters/{entry_id}/approve", response={200: ClinicCatheterOut, **ERRORS})
def approve_clinic_catheter(
    request: HttpRequest, entry_id: UUID, payload: VersionIn
) -> dict[str, Any]:
    """The second approval of a waiting entry (it applies from now on, and the entry it replaces
    is archived) or of an entry's archiving; never by the one who asked."""
    row = catheters.approve_catheter(
        current_user(request), entry_id, expected_version=payload.version
    )
    return entry_out(row)


@router.post("/clinic-catheters/{entry_id}/archive", response={200: ClinicCatheterOut, **ERRORS})
def archive_clinic_catheter(
    request: HttpRequest, entry_id: UUID, payload: VersionIn
) -> dict[str, Any]:
    """A waiting entry is withdrawn at once; the archiving of an entry in force is asked for and
    waits for a second pharmacist or physician (it applies until then)."""
    row = catheters.archive_catheter(
        current_user(request), entry_id, expected_version=payload.version
    )
    return entry_out(row)
