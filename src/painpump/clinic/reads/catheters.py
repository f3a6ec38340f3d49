"""The clinic's own catheter entries as the team reads them and as the implantation applies them:
the entry in force for a model (approved by a second clinician) gives the volume per cm that
core.dead_volume judges an implant's dead volume against, for a catheter the packaged catalog
does not hold."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User

from painpump.clinic.errors import NotFound
from painpump.clinic.locale import clinic_today
from painpump.clinic.models import AuditEntry, ClinicCatheter, Implant
from painpump.clinic.roles import require
from painpump.core.clinic_catheters import MICROLITRES, ApprovedCatheter, model_key, per_cm_text

REGISTERED = "implant.register"
FIGURE = "catheter_figure"
"""The key of the implantation's audit entry that records the figure its dead volume was judged
against (core.dead_volume.Figure.as_record; null: none)."""


class Status(StrEnum):
    """Where an entry stands: only one in force (or with its archiving asked) applies."""

    WAITING = "waiting"
    IN_FORCE = "in force"
    ARCHIVING_ASKED = "archiving asked"
    ARCHIVED = "archived"


def status_of(row: ClinicCatheter) -> Status:
    if row.archived_at is not None:
        return Status.ARCHIVED
    if row.approved_at is None:
        return Status.WAITING
    return Status.ARCHIVING_ASKED if row.archive_requested_by else Status.IN_FORCE


def volume_per_cm(row: ClinicCatheter) -> Decimal:
    """The entry's figure in mL/cm (it is kept in uL/cm)."""
    return row.volume_ul_per_cm / MICROLITRES


def shown_per_cm(row: ClinicCatheter) -> str:
    """The figure as painpump prints it: 0.0026 mL/cm (2.6 uL/cm)."""
    return per_cm_text(volume_per_cm(row))


def as_approved(row: ClinicCatheter) -> ApprovedCatheter:
    assert row.approved_at is not None
    return ApprovedCatheter(
        model=row.model,
        name=row.name,
        manufacturer=row.manufacturer,
        volume_per_cm=volume_per_cm(row),
        source=row.source,
        entered_by=row.entered_by,
        approved_by=row.approved_by,
        approved_on=clinic_today(row.approved_at),
        entry=str(row.id),
        version=row.version,
    )


def approved_for(model: str) -> ApprovedCatheter | None:
    """The entry in force for catheter `model`, if any; called inside the implantation's
    transaction, whose service has checked the user's role. A waiting entry is not in force."""
    row = ClinicCatheter.objects.filter(
        model=model_key(model), archived_at__isnull=True, approved_at__isnull=False
    ).first()
    return as_approved(row) if row is not None else None


def all_approved() -> list[ApprovedCatheter]:
    """Every entry in force, for the implantation form's hints (no patient data)."""
    rows = ClinicCatheter.objects.filter(archived_at__isnull=True, approved_at__isnull=False)
    return [as_approved(row) for row in rows]


def list_catheters(user: User) -> list[ClinicCatheter]:
    """Every entry, in force, waiting and archived: any member of the team reads them (no
    patient data)."""
    require(user, "library.read")
    return list(ClinicCatheter.objects.select_related("replaces"))


def read_catheter(user: User, entry_id: UUID) -> ClinicCatheter:
    require(user, "library.read")
    row = ClinicCatheter.objects.select_related("replaces").filter(id=entry_id).first()
    if row is None:
        raise NotFound(f"clinic catheter {entry_id}")
    return row


def figure_recorded(implant: Implant) -> dict[str, Any] | None:
    """The figure the implant's dead volume was judged against, as its registration's audit
    entry recorded it (None: no figure, or registered before figures were recorded)."""
    after = (
        AuditEntry.objects.filter(
            patient_id=implant.episode.patient_id,
            action=REGISTERED,
            object_type="implant",
            object_id=str(implant.id),
        )
        .values_list("after", flat=True)
        .first()
    )
    figure = after.get(FIGURE) if isinstance(after, dict) else None
    return figure if isinstance(figure, dict) else None
