"""Requests for a wider readback tolerance (rule-second-admin-tolerance): one admin asks, a second
admin (never the one who asked) approves, and only then do the settings hold it, audited as the
normal `settings.update` with the request and who asked. Another admin may decline a request, the
admin who asked may withdraw it; at most one waits. Approval is refused once the tolerance in
force is no longer the one the request was asked from, and for a request whose audited
`settings.tolerance_request` does not show it asked as it stands (a row written in the
database). Narrowing the tolerance needs no request (clinic.actions.settings_service)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q as Where

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import role_grants, settings_service
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, ClinicSettings, ToleranceRequest
from painpump.clinic.roles import require
from painpump.core import readback_tolerance
from painpump.core.errors import Refusal
from painpump.core.readback_tolerance import SECOND_ADMIN
from painpump.core.units import Q, of

Status = ToleranceRequest.Status
OBJECT = "tolerance_request"
ASK = "settings.tolerance_request"
DECLINE = "settings.tolerance_decline"
WITHDRAW = "settings.tolerance_withdraw"
APPROVE = "settings.update"
"""Approval changes the settings: their normal entry, with `request` and `asked_by` in its after."""


@dataclass(frozen=True)
class Widening:
    """A request for a wider readback tolerance as the admins see it."""

    id: int
    requested: Q
    previous: Q
    status: ToleranceRequest.Status
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None


def _widening(row: ToleranceRequest) -> Widening:
    return Widening(
        id=row.id,
        requested=of(row.requested_ml, "mL"),
        previous=of(row.previous_ml, "mL"),
        status=Status(row.status),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _recorded(shown: Widening) -> dict[str, Any]:
    """The request as its audit entries record it."""
    return {
        "request": shown.id,
        "requested": str(shown.requested),
        "previous": str(shown.previous),
        "status": shown.status.value,
    }


def listed(user: User) -> list[Widening]:
    """Every request, newest first (the admin's)."""
    require(user, "settings.write")
    return [_widening(row) for row in ToleranceRequest.objects.all()]


def waiting(user: User) -> Widening | None:
    """The request waiting for a second admin, if one does."""
    require(user, "settings.write")
    row = ToleranceRequest.objects.filter(status=Status.PENDING).first()
    return None if row is None else _widening(row)


def _locked_settings() -> ClinicSettings:
    clinic_settings()  # the row exists before it is locked
    return ClinicSettings.objects.select_for_update().get(id=1)


@transaction.atomic
def ask(user: User, *, expected_version: int, tolerance: object) -> Widening:
    """Ask a second admin for a tolerance wider than the one in force, only if nobody changed
    the settings since `expected_version` and no other request waits."""
    actor = require(user, "settings.write")
    current = _locked_settings()
    if current.version != expected_version:
        raise Conflict("settings", "1", expected_version, current.version)
    wanted = settings_service.checked_tolerance(tolerance)
    previous = settings_service.tolerance_of(current)
    if wanted.canonical <= previous.canonical:
        raise Refusal(
            settings_service.TOLERANCE,
            str(wanted),
            f"> current {previous} (one admin saves a tolerance no wider in the settings)",
            SECOND_ADMIN,
            "is not wider than the tolerance in force",
        )
    other = ToleranceRequest.objects.filter(status=Status.PENDING).first()
    if other is not None:
        raise Refusal(
            settings_service.TOLERANCE,
            str(wanted),
            f"one request at a time: request {other.id} ({of(other.requested_ml, 'mL')}, asked "
            f"by {other.requested_by}) waits for a second admin",
            SECOND_ADMIN,
            "cannot be asked while another request waits",
        )
    row = ToleranceRequest.objects.create(
        requested_ml=wanted.canonical,
        previous_ml=previous.canonical,
        requested_by=actor,
        requested_at=clock.now(),
    )
    shown = _widening(row)
    audit.record(actor, ASK, OBJECT, row.id, after=_recorded(shown))
    return shown


def _locked_waiting(request_id: int) -> ToleranceRequest:
    row = ToleranceRequest.objects.select_for_update().filter(id=request_id).first()
    if row is None:
        raise NotFound(f"tolerance request {request_id}")
    if row.status != Status.PENDING:
        raise Refusal(
            "request",
            str(request_id),
            "a request still waiting for a second admin",
            SECOND_ADMIN,
            f"is {row.get_status_display()} already",
        )
    return row


def _unasked(row: ToleranceRequest) -> str | None:
    """What in the request's trail keeps it from approval (None: nothing)."""
    newest = (
        AuditEntry.objects.filter(
            Where(object_type=OBJECT, object_id=str(row.id))
            | Where(action=APPROVE, object_type="settings", after__request=row.id)
        )
        .order_by("-seq")
        .values_list("seq", "action", "actor", "after")
        .first()
    )
    if newest is None:
        return f"has no `{ASK}` audit entry"
    seq, action, actor, after = newest
    if action != ASK:
        return f"was decided already in its audit trail (entry {seq})"
    recorded = _recorded(_widening(row))
    if actor != row.requested_by or after != recorded:
        return f"is not what its `{ASK}` recorded (entry {seq})"
    return None


def _decided(row: ToleranceRequest, actor: str, status: ToleranceRequest.Status) -> Widening:
    row.status = status
    row.decided_by = actor
    row.decided_at = clock.now()
    row.save(update_fields=["status", "decided_by", "decided_at"])
    return _widening(row)


@transaction.atomic
def approve(user: User, request_id: int) -> Widening:
    """The second admin approves: the settings hold the wider tolerance from now on. Refused for
    the admin who asked, for one whose sign-in that admin reset or who reset that admin's, and
    once the tolerance in force is no longer the one the request was asked from."""
    actor = require(user, "settings.write")
    row = _locked_waiting(request_id)
    if row.requested_by == actor:
        raise Refusal(
            "request", str(request_id), "another admin's request", SECOND_ADMIN, "is your own"
        )
    role_grants.independent(actor, row.requested_by, request_id, SECOND_ADMIN)
    why = _unasked(row)
    if why is not None:
        raise Refusal(
            "request",
            str(request_id),
            f"a request an admin asked for through painpump (its `{ASK}` audit entry)",
            SECOND_ADMIN,
            f"{why}: it was written outside the application (decline it)",
        )
    current = _locked_settings()
    in_force = settings_service.tolerance_of(current)
    asked = _widening(row)
    if in_force.canonical != asked.previous.canonical:
        raise Refusal(
            "request",
            str(request_id),
            f"a request asked from the tolerance in force, {in_force}",
            SECOND_ADMIN,
            f"asked to widen {asked.previous} to {asked.requested}, but the tolerance is "
            f"{in_force} since: decline it and ask again",
        )
    wider = readback_tolerance.tolerance(asked.requested).value
    before = settings_service.snapshot(current)
    current.readback_tolerance_ml = wider.canonical
    current.version += 1
    current.save()
    after = settings_service.snapshot(current) | {"request": row.id, "asked_by": row.requested_by}
    shown = _decided(row, actor, Status.APPROVED)
    audit.record(actor, APPROVE, "settings", 1, before=before, after=after)
    return shown


def _closed(actor: str, row: ToleranceRequest, action: str, status: Status) -> Widening:
    before = _recorded(_widening(row))
    shown = _decided(row, actor, status)
    audit.record(actor, action, OBJECT, row.id, before=before, after=_recorded(shown))
    return shown


@transaction.atomic
def decline(user: User, request_id: int) -> Widening:
    """Another admin declines a request: the tolerance stays as it is."""
    actor = require(user, "settings.write")
    row = _locked_waiting(request_id)  # a request written in the database too
    if row.requested_by == actor:
        raise Refusal(
            "request",
            str(request_id),
            "another admin's request (the admin who asked withdraws their own)",
            SECOND_ADMIN,
            "is your own: withdraw it",
        )
    return _closed(actor, row, DECLINE, Status.DECLINED)


@transaction.atomic
def withdraw(user: User, request_id: int) -> Widening:
    """The admin who asked withdraws their request: the tolerance stays as it is."""
    actor = require(user, "settings.write")
    row = _locked_waiting(request_id)
    if row.requested_by != actor:
        raise Refusal(
            "request",
            str(request_id),
            "a request you asked for (another admin declines it)",
            SECOND_ADMIN,
            f"was asked by {row.requested_by}",
        )
    return _closed(actor, row, WITHDRAW, Status.WITHDRAWN)
