"""The clinic's own catheter entries (read through clinic.reads.catheters): a catheter's volume per
cm that the packaged catalog does not hold, entered by a pharmacist from the catheter's labeling
(core.clinic_catheters refuses a catalog model and an implausible figure) and applied to an
implant's dead volume only once a second pharmacist or physician has approved it, as a hard clinic
limit is (clinic.actions.library). A new figure for a model in force waits as its replacement,
and the archiving of an entry in force waits for a second approver too: until then the entry in
force keeps applying. Every change is audited in its transaction, under optimistic concurrency;
nothing is deleted."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.audit_entered import refuse_unentered
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.models import ClinicCatheter
from painpump.clinic.reads.catheters import shown_per_cm
from painpump.clinic.roles import Forbidden, require
from painpump.core import catalog
from painpump.core.clinic_catheters import ENTRY_RULES, MICROLITRES, check_entry
from painpump.core.errors import Refusal

OBJECT = "clinic_catheter"
APPROVAL_RULE = (
    "rule-four-eyes, rule-explicit-dead-volumes: a clinic catheter entry, a new figure for one, "
    "or the archiving of one in force applies only once a second pharmacist or physician, not "
    "the one who asked, has approved it"
)
PHARMACISTS = (
    "a catheter's volume per cm decides hard refusals of an implant's dead volume: a "
    "pharmacist's library change"
)


def snapshot(row: ClinicCatheter) -> dict[str, Any]:
    """An entry as the audit trail shows it (the figure with its unit)."""
    return {
        "model": row.model,
        "name": row.name,
        "manufacturer": row.manufacturer,
        "volume_per_cm": shown_per_cm(row),
        "source": row.source,
        "entered_by": row.entered_by,
        "approved_by": row.approved_by,
        "pending": row.pending,
        "replaces": str(row.replaces_id) if row.replaces_id else None,
        "archived": row.archived_at is not None,
        "removal_requested_by": row.archive_requested_by or None,
        "version": row.version,
    }


def require_pharmacist(user: User) -> str:
    """Who may enter or archive an entry: a pharmacist (library.write and library.harden)."""
    try:
        require(user, "library.write")
        return require(user, "library.harden")
    except Forbidden as refused:
        raise Forbidden(refused.user, refused.capability, PHARMACISTS) from None


def _locked(entry_id: UUID, expected_version: int) -> ClinicCatheter:
    row = ClinicCatheter.objects.select_for_update().filter(id=entry_id).first()
    if row is None:
        raise NotFound(f"clinic catheter {entry_id}")
    if row.version != expected_version:
        raise Conflict("clinic catheter", str(entry_id), expected_version, row.version)
    if row.archived_at is not None:
        raise Refusal(
            "entry",
            str(entry_id),
            "a clinic catheter entry not archived",
            ENTRY_RULES,
            "is archived",
        )
    return row


def _replaced(
    model: str, active: list[ClinicCatheter], replaces: tuple[UUID, int] | None
) -> ClinicCatheter | None:
    """The entry in force the new one replaces: `replaces` (its id and the version read) names it
    when the model has one, and only then; one waiting entry per model."""
    waiting = next((row for row in active if row.approved_at is None), None)
    if waiting is not None:
        raise Refusal(
            "model",
            model,
            f"one entry waiting per model (approve or archive the one {waiting.entered_by} "
            f"entered, {shown_per_cm(waiting)}, first)",
            APPROVAL_RULE,
            "already has an entry waiting for approval",
        )
    in_force = next((row for row in active if row.approved_at is not None), None)
    if in_force is None:
        if replaces is not None:
            raise Refusal(
                "replaces",
                str(replaces[0]),
                f"the entry in force for {model}; it has none",
                ENTRY_RULES,
                "replaces nothing in force",
            )
        return None
    if replaces is None or replaces[0] != in_force.id:
        raise Refusal(
            "model" if replaces is None else "replaces",
            model if replaces is None else str(replaces[0]),
            f"a replacement of the entry in force for {model} ({shown_per_cm(in_force)}, entry "
            f"{in_force.id}, version {in_force.version}), named with the version read",
            APPROVAL_RULE,
            "already has an entry in force",
        )
    if replaces[1] != in_force.version:
        raise Conflict("clinic catheter", str(in_force.id), replaces[1], in_force.version)
    return in_force


@transaction.atomic
def add_catheter(
    user: User,
    *,
    model: str,
    name: str,
    manufacturer: str,
    volume_per_cm: Decimal,
    source: str,
    replaces: tuple[UUID, int] | None = None,
) -> ClinicCatheter:
    """A new entry (`volume_per_cm` in mL/cm), waiting for its second approver; for a model with
    an entry in force, `replaces` names that entry and the version read, and the new one replaces
    it once approved."""
    actor = require_pharmacist(user)
    checked = check_entry(
        model=model,
        name=name,
        manufacturer=manufacturer,
        volume_per_cm=volume_per_cm,
        source=source,
    )
    active = list(
        ClinicCatheter.objects.select_for_update().filter(
            model=checked.model, archived_at__isnull=True
        )
    )
    replaced = _replaced(checked.model, active, replaces)
    row = ClinicCatheter.objects.create(
        model=checked.model,
        name=checked.name,
        manufacturer=checked.manufacturer,
        volume_ul_per_cm=checked.volume_per_cm * MICROLITRES,
        source=checked.source,
        entered_by=actor,
        entered_at=clock.now(),
        replaces=replaced,
    )
    audit.record(actor, "catheter.add", OBJECT, row.id, after=snapshot(row))
    return row


@transaction.atomic
def approve_catheter(user: User, entry_id: UUID, *, expected_version: int) -> ClinicCatheter:
    """The second approval of a waiting entry (from now on implantations judge dead volumes
    against it, and the entry it replaces is archived) or of an entry's archiving, by a
    pharmacist or physician other than the one who asked; audited."""
    actor = require(user, "library.approve")
    row = _locked(entry_id, expected_version)
    refuse_unentered(
        OBJECT,
        row.id,
        field="entry",
        value=str(entry_id),
        expected="an entry a pharmacist entered through painpump, as its `catheter.add` audit "
        "entry and those after it record it",
        rule=APPROVAL_RULE,
        remedy="nothing approved; archive a waiting entry to withdraw it",
    )
    if row.removal_pending:
        return _approve_removal(row, actor)
    if row.approved_at is not None:
        raise Refusal(
            "entry", str(entry_id), "an entry waiting for approval", APPROVAL_RULE, "is in force"
        )
    if actor == row.entered_by:
        raise Forbidden(
            actor,
            "library.approve",
            f"{actor} entered this figure; a second pharmacist or physician approves it "
            "(four eyes)",
        )
    known = catalog.catheters().get(row.model)
    if known is not None:
        raise Refusal(
            "model",
            row.model,
            "a catheter the catalog does not hold (archive this entry)",
            known.volume_per_cm_source,
            "is in the catheter catalog now: its sourced figure stands",
        )
    now = clock.now()
    _retire_replaced(row, actor, now)
    before = snapshot(row)
    row.approved_by, row.approved_at = actor, now
    row.version += 1
    row.save()
    audit.record(actor, "catheter.approve", OBJECT, row.id, before=before, after=snapshot(row))
    return row


def _approve_removal(row: ClinicCatheter, actor: str) -> ClinicCatheter:
    if actor == row.archive_requested_by:
        raise Forbidden(
            actor,
            "library.approve",
            f"{actor} asked for this archiving; a second pharmacist or physician approves it "
            "(four eyes)",
        )
    before = snapshot(row)
    row.archived_at, row.archived_by = clock.now(), actor
    row.version += 1
    row.save()
    audit.record(actor, "catheter.archive", OBJECT, row.id, before=before, after=snapshot(row))
    return row


def _retire_replaced(row: ClinicCatheter, actor: str, now: datetime) -> None:
    """The entry `row` replaces (if still active) is archived as `row` comes into force."""
    if row.replaces_id is None:
        return
    replaced = ClinicCatheter.objects.select_for_update().get(id=row.replaces_id)
    if replaced.archived_at is not None:
        return
    before = snapshot(replaced)
    replaced.archived_at, replaced.archived_by = now, actor
    replaced.version += 1
    replaced.save()
    audit.record(
        actor,
        "catheter.replace",
        OBJECT,
        replaced.id,
        before=before,
        after=snapshot(replaced) | {"replaced_by": str(row.id)},
    )


@transaction.atomic
def archive_catheter(user: User, entry_id: UUID, *, expected_version: int) -> ClinicCatheter:
    """A waiting entry is withdrawn at once; the archiving of an entry in force (its model's
    dead volumes would go unchecked) is asked for and takes effect once a second pharmacist or
    physician approves it (approve_catheter). Audited; the entry stays on record."""
    actor = require_pharmacist(user)
    row = _locked(entry_id, expected_version)
    before = snapshot(row)
    if row.approved_at is not None:
        if row.archive_requested_by:
            raise Refusal(
                "entry", str(entry_id), "one archiving asked for", APPROVAL_RULE, "is already asked"
            )
        row.archive_requested_by, row.archive_requested_at = actor, clock.now()
        action = "catheter.archive_request"
    else:
        row.archived_at, row.archived_by = clock.now(), actor
        action = "catheter.archive"
    row.version += 1
    row.save()
    audit.record(actor, action, OBJECT, row.id, before=before, after=snapshot(row))
    return row
