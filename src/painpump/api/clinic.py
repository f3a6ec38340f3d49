"""The clinic as a whole: the worklist (dashboard), the appointment calendar and the clinic's
settings (read by the team, changed by the admin under optimistic concurrency)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from painpump import clock
from painpump.api import present, quantities
from painpump.api.auth import AUTH, current_user
from painpump.api.schemas import (
    ERRORS,
    AppointmentChange,
    AppointmentOut,
    DashboardOut,
    Request,
    SettingsChange,
    SettingsOut,
)
from painpump.clinic.actions import appointments, settings_service
from painpump.clinic.actions.refill_visits import refresh_passed_proposals
from painpump.clinic.reads import dashboard, therapy_queries
from painpump.core.units import Kind

router = Router(tags=["clinic"], auth=AUTH)


class DashboardPage(Request):
    """Which rows of each list to show: [offset, offset + limit), most urgent first."""

    offset: int = Field(0, ge=0, le=dashboard.MAX_OFFSET, description="rows of each list to skip")
    limit: int = Field(
        dashboard.DEFAULT_LIMIT,
        ge=1,
        le=dashboard.MAX_LIMIT,
        description="rows of each list to show",
    )


@router.get("/dashboard", response={200: DashboardOut, **ERRORS})
def read_dashboard(request: HttpRequest, page: Query[DashboardPage]) -> dict[str, Any]:
    """Everything the clinic must act on, most urgent first in each list: refills due and
    overdue, at risk by days to alarm (baclofen first among equals), test phases, responders
    with their earliest implant date, pumps to replace, unverified refills, open alarms.
    Each list is paged (`offset`, `limit`, 25 rows by default); `totals` counts each list."""
    now = clock.now()
    refresh_passed_proposals(
        current_user(request), now
    )  # a proposal whose slot has passed moves before it is listed
    board = dashboard.worklist(current_user(request), now, offset=page.offset, limit=page.limit)
    return {
        **present.dashboard(board),
        "offset": board.offset,
        "limit": board.limit,
        "totals": vars(board.totals),
    }


class Period(Request):
    start: date = Field(alias="from", description="first day (included)")
    end: date = Field(alias="to", description="last day (included), at most a year later")


@router.patch("/appointments/{appointment_id}", response={200: AppointmentOut, **ERRORS})
def update_appointment(
    request: HttpRequest, appointment_id: UUID, payload: AppointmentChange
) -> dict[str, Any]:
    """Book, move (to a free slot to come, on a working day; after the refill-by date only with
    a late_reason) or cancel an appointment."""
    changed = appointments.update_appointment(
        current_user(request),
        appointment_id,
        on=payload.on,
        starts_at=payload.starts_at,
        status=payload.status,
        late_reason=payload.late_reason,
        expected_version=payload.expected_version,
    )
    changed.refresh_from_db()
    return present.appointment(changed)


@router.get("/appointments", response={200: list[AppointmentOut], **ERRORS})
def list_appointments(request: HttpRequest, period: Query[Period]) -> list[dict[str, Any]]:
    found = therapy_queries.appointments_between(current_user(request), period.start, period.end)
    return [present.appointment(a) for a in found]


@router.get("/settings", response={200: SettingsOut, **ERRORS})
def read_settings(request: HttpRequest) -> dict[str, Any]:
    return present.clinic_settings(settings_service.read_settings(current_user(request)))


@router.patch("/settings", response={200: SettingsOut, **ERRORS})
def update_settings(request: HttpRequest, payload: SettingsChange) -> dict[str, Any]:
    """Change the settings sent (admin only); a stale `version` is a 409."""
    changes = payload.model_dump(exclude_unset=True, exclude={"version", "readback_tolerance"})
    if "readback_tolerance" in payload.model_fields_set:
        changes["readback_tolerance"] = quantities.optional(
            payload.readback_tolerance, Kind.VOLUME, "readback_tolerance"
        )
    updated = settings_service.update_settings(
        current_user(request), expected_version=payload.version, **changes
    )
    return present.clinic_settings(updated)
