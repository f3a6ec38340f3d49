"""Requests for a wider readback tolerance (clinic.actions.tolerance_requests): an admin asks with
the settings version read, a second admin approves or declines, the admin who asked may
withdraw. PATCH /api/settings refuses a wider tolerance (422 naming `readback_tolerance`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, StrictInt

from painpump.api import quantities
from painpump.api.auth import AUTH, current_user
from painpump.api.schemas import ERRORS, READBACK_TOLERANCE_NOTE, QuantityIn, QuantityOut, Request
from painpump.clinic.actions import tolerance_requests
from painpump.clinic.actions.tolerance_requests import Widening
from painpump.core.units import Kind

router = Router(tags=["clinic"], auth=AUTH)
PATH = "/settings/tolerance-requests"


class ToleranceRequestIn(Request):
    version: StrictInt = Field(ge=1, description="the settings version read (409 if changed)")
    readback_tolerance: QuantityIn = Field(
        description=f"the wider tolerance asked for, wider than the one in force; "
        f'{READBACK_TOLERANCE_NOTE}; e.g. "0.2 mL"'
    )


class ToleranceRequestOut(Schema):
    id: int
    requested: QuantityOut = Field(description="the tolerance asked for, in mL")
    previous: QuantityOut = Field(description="the tolerance in force when it was asked, in mL")
    status: str = Field(description="pending, approved, declined or withdrawn")
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


def _shown(widening: Widening) -> dict[str, Any]:
    return vars(widening) | {
        "requested": widening.requested.as_json(),
        "previous": widening.previous.as_json(),
        "status": widening.status.value,
    }


@router.get(PATH, response={200: list[ToleranceRequestOut], **ERRORS})
def list_requests(request: HttpRequest) -> list[dict[str, Any]]:
    """Every request for a wider tolerance, newest first (admin only)."""
    return [_shown(w) for w in tolerance_requests.listed(current_user(request))]


@router.post(PATH, response={201: ToleranceRequestOut, **ERRORS})
def ask(request: HttpRequest, payload: ToleranceRequestIn) -> Status[dict[str, Any]]:
    """Ask a second admin for a wider tolerance: the settings hold it once another admin
    approves. Refused (422 naming `readback_tolerance`) when it is not wider or another request
    waits; a stale `version` is 409."""
    wanted = quantities.quantity(payload.readback_tolerance, Kind.VOLUME, "readback_tolerance")
    asked = tolerance_requests.ask(
        current_user(request), expected_version=payload.version, tolerance=wanted
    )
    return Status(201, _shown(asked))


@router.post(PATH + "/{request_id}/approve", response={200: ToleranceRequestOut, **ERRORS})
def approve(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """The second admin approves: the settings hold the tolerance from now on (their version
    moves). Refused (422 naming `request`) for the admin who asked, and once the tolerance in
    force is no longer the one the request was asked from."""
    return _shown(tolerance_requests.approve(current_user(request), request_id))


@router.post(PATH + "/{request_id}/decline", response={200: ToleranceRequestOut, **ERRORS})
def decline(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """Another admin declines the request: the tolerance stays as it is."""
    return _shown(tolerance_requests.decline(current_user(request), request_id))


@router.post(PATH + "/{request_id}/withdraw", response={200: ToleranceRequestOut, **ERRORS})
def withdraw(request: HttpRequest, request_id: int) -> dict[str, Any]:
    """The admin who asked withdraws the request: the tolerance stays as it is."""
    return _shown(tolerance_requests.withdraw(current_user(request), request_id))
