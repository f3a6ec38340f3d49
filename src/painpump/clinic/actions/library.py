"""The clinic's own drug-library limits (read through clinic.reads.clinic_limits): added, changed
and archived by a pharmacist or an admin (library.write) under optimistic concurrency, each change
audited with before and after. painpump.core.clinic_limits refuses a limit that would not tighten
the packaged library. A hard limit, or a change to or from one, applies only once a second
pharmacist or physician (library.approve, never the one who set it) has approved it (issue 12);
a soft limit is approved by its author as it is set. A change of a limit in force is kept as a
pending replacement, so the limit in force keeps applying until the change is approved."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.audit_entered import refuse_unentered
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import ClinicLimit
from painpump.clinic.reads.clinic_limits import HOURS, PERCENT, as_limit, shown_value
from painpump.clinic.roles import Forbidden, require
from painpump.core import catalog
from painpump.core.catalog import Limit
from painpump.core.clinic_limits import CLINIC_RULES, clinic_limit, rule_of
from painpump.core.errors import Refusal
from painpump.core.units import Q


def snapshot(row: ClinicLimit) -> dict[str, Any]:
    """A limit as the audit trail shows it (value with its unit)."""
    return {
        "drug": row.drug,
        "rule": row.rule,
        "value": shown_value(row),
        "severity": row.severity,
        "source": row.source,
        "set_by": row.set_by,
        "approved_by": row.approved_by,
        "pending": row.pending,
        "replaces": str(row.replaces_id) if row.replaces_id else None,
        "archived": row.archived_at is not None,
        "removal_requested_by": row.archive_requested_by or None,
        "version": row.version,
    }


APPROVAL_RULE = (
    "rule-four-eyes, rule-two-tiers: a hard clinic limit, a change to or from one, or its removal "
    "applies only once a second pharmacist or physician, not the one who asked, has approved it"
)


def _needs_second(severity: str, replaced: ClinicLimit | None) -> bool:
    """Whether a limit of `severity` (replacing `replaced`) waits for a second approver: a hard
    one tightens or a change of a hard one loosens the library."""
    return severity == "hard" or (replaced is not None and replaced.severity == "hard")


def _approve_own(row: ClinicLimit, actor: str) -> None:
    """Approved by its author as it is set (a soft limit), or left pending for a second one."""
    replaced = row.replaces
    if _needs_second(row.severity, replaced):
        row.approved_by, row.approved_at = "", None
    else:
        row.approved_by, row.approved_at = actor, row.set_at


def _stored(value: Q | Decimal, rule: str) -> tuple[Decimal, str]:
    """The number and unit stored for a core limit value (plain Decimals are percent or hours)."""
    if isinstance(value, Q):
        return value.value, value.unit
    return value, PERCENT if rule_of(rule).kind is None else HOURS


def _checked(
    drug: str,
    rule: str,
    value: Q | Decimal,
    severity: str,
    source: str,
    *,
    others: Iterable[ClinicLimit],
) -> Limit:
    known = catalog.drug(drug, "drug")
    return clinic_limit(
        known,
        rule,
        value,
        severity,
        source,
        region=clinic_settings().dosing_region,
        others=[as_limit(row) for row in others],
    )


def _locked(limit_id: UUID, expected_version: int) -> ClinicLimit:
    row = ClinicLimit.objects.select_for_update().filter(id=limit_id).first()
    if row is None:
        raise NotFound(f"clinic limit {limit_id}")
    if row.version != expected_version:
        raise Conflict("clinic limit", str(limit_id), expected_version, row.version)
    if row.archived_at is not None:
        raise Refusal("limit", str(limit_id), "an active clinic limit", CLINIC_RULES, "is archived")
    return row


def _same_severity_active(drug: str, rule: str, severity: str, *exclude: UUID | None) -> None:
    """One active (in force or pending) limit per drug, rule and severity; a pending change and
    the limit it replaces count as one."""
    clash = ClinicLimit.objects.filter(
        drug=drug, rule=rule, severity=severity, archived_at__isnull=True
    )
    for excluded in exclude:
        if excluded is not None:
            clash = clash.exclude(id=excluded).exclude(replaces_id=excluded)
    if clash.exists():
        raise Refusal(
            "rule",
            rule,
            f"one active {severity} {rule} limit per drug ({drug} has one: change it instead)",
            CLINIC_RULES,
            "is already set",
        )


@transaction.atomic
def add_limit(
    user: User,
    *,
    drug: str,
    rule: str,
    value: Q | Decimal,
    severity: str,
    source: str,
    idempotency_key: str,
) -> ClinicLimit:
    """A new clinic limit for a drug; a retry with the same idempotency key returns the limit
    already added."""
    actor = require(user, "library.write")
    if severity == "hard":
        require(user, "library.harden")
    existing = ClinicLimit.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    name = catalog.drug(drug, "drug").name
    others = ClinicLimit.objects.select_for_update().filter(
        drug=name, rule=rule, archived_at__isnull=True
    )
    limit = _checked(name, rule, value, severity, source, others=list(others))
    _same_severity_active(name, limit.rule, severity, None)
    number, unit = _stored(limit.value, limit.rule)
    row = ClinicLimit.objects.create(
        drug=name,
        rule=limit.rule,
        value=number,
        unit=unit,
        severity=severity,
        source=limit.source,
        set_by=actor,
        set_at=clock.now(),
        idempotency_key=idempotency_key,
    )
    _approve_own(row, actor)
    row.save(update_fields=["approved_by", "approved_at"])
    audit.record(actor, "library.limit.add", "clinic_limit", row.id, after=snapshot(row))
    return row


@transaction.atomic
def change_limit(
    user: User,
    limit_id: UUID,
    *,
    expected_version: int,
    value: Q | Decimal,
    severity: str,
    source: str,
) -> ClinicLimit:
    """A new value, severity or source for an active limit (its drug and rule stay: archive it
    and add another to change those), only if nobody changed it since `expected_version`.

    A limit still pending, or a soft one changed to soft, changes in place (a soft one stays
    approved by its author). A change to or from a hard limit in force is a new pending limit
    that replaces it once approved; until then the limit in force keeps applying. The returned
    row is the one that holds the change."""
    actor = require(user, "library.write")
    row = _locked(limit_id, expected_version)
    if "hard" in (severity, row.severity):
        require(user, "library.harden")
    others = ClinicLimit.objects.select_for_update().filter(
        drug=row.drug, rule=row.rule, archived_at__isnull=True
    )
    others = others.exclude(id=row.id)
    if row.replaces_id is not None:
        others = others.exclude(id=row.replaces_id)
    limit = _checked(row.drug, row.rule, value, severity, source, others=list(others))
    if row.approved_at is not None and _needs_second(severity, row):
        return _replacement(actor, row, limit, severity)
    _same_severity_active(row.drug, row.rule, severity, row.id, row.replaces_id)
    before = snapshot(row)
    row.value, row.unit = _stored(limit.value, limit.rule)
    row.severity, row.source = severity, limit.source
    row.set_by, row.set_at = actor, clock.now()
    _approve_own(row, actor)
    row.version += 1
    row.save()
    audit.record(
        actor, "library.limit.change", "clinic_limit", row.id, before=before, after=snapshot(row)
    )
    _retire_replaced(row, actor)
    return row


def _replacement(actor: str, row: ClinicLimit, limit: Limit, severity: str) -> ClinicLimit:
    """A pending change of the limit in force `row`, kept as a new limit replacing it."""
    waiting = row.replacements.filter(archived_at__isnull=True, approved_at__isnull=True)
    if waiting.exists():
        raise Refusal(
            "limit",
            str(row.id),
            "one pending change per limit (approve or archive the one waiting first)",
            APPROVAL_RULE,
            "already has a change waiting for approval",
        )
    _same_severity_active(row.drug, row.rule, severity, row.id)
    number, unit = _stored(limit.value, limit.rule)
    pending = ClinicLimit.objects.create(
        drug=row.drug,
        rule=row.rule,
        value=number,
        unit=unit,
        severity=severity,
        source=limit.source,
        set_by=actor,
        set_at=clock.now(),
        replaces=row,
    )
    audit.record(
        actor,
        "library.limit.change",
        "clinic_limit",
        pending.id,
        before=snapshot(row),
        after=snapshot(pending),
    )
    return pending


@transaction.atomic
def approve_limit(user: User, limit_id: UUID, *, expected_version: int) -> ClinicLimit:
    """The second approval of a pending limit, by a pharmacist or a physician other than the one
    who set it: from now on the checks apply it, and the limit it replaces (if any) is archived.
    Both steps are audited."""
    actor = require(user, "library.approve")
    row = _locked(limit_id, expected_version)
    refuse_unentered(
        "clinic_limit",
        row.id,
        field="limit",
        value=str(limit_id),
        expected="a limit a pharmacist set through painpump, as its `library.limit.add` or "
        "`library.limit.change` audit entry and those after it record it",
        rule=APPROVAL_RULE,
        remedy="nothing approved; archive a pending limit to withdraw it",
    )
    if row.archive_requested_by and row.archived_at is None:
        return _approve_removal(row, actor)
    if row.approved_at is not None:
        raise Refusal(
            "limit", str(limit_id), "a limit waiting for approval", APPROVAL_RULE, "is in force"
        )
    if actor == row.set_by:
        raise Forbidden(
            actor,
            "library.approve",
            f"{actor} set this limit; a second pharmacist or physician approves it (four eyes)",
        )
    before = snapshot(row)
    row.approved_by, row.approved_at = actor, clock.now()
    row.version += 1
    row.save()
    audit.record(
        actor, "library.limit.approve", "clinic_limit", row.id, before=before, after=snapshot(row)
    )
    _retire_replaced(row, actor)
    return row


def _approve_removal(row: ClinicLimit, actor: str) -> ClinicLimit:
    """The second approval of a hard limit's removal: it stops applying now, audited."""
    if actor == row.archive_requested_by:
        raise Forbidden(
            actor,
            "library.approve",
            f"{actor} asked for this removal; a second pharmacist or physician approves it "
            "(four eyes)",
        )
    before = snapshot(row)
    row.archived_at, row.archived_by = clock.now(), actor
    row.version += 1
    row.save()
    audit.record(
        actor, "library.limit.archive", "clinic_limit", row.id, before=before, after=snapshot(row)
    )
    return row


def _retire_replaced(row: ClinicLimit, actor: str) -> None:
    """Once `row` is in force, the limit it replaces (if still active) is archived, audited."""
    if row.replaces_id is None or row.approved_at is None:
        return
    replaced = ClinicLimit.objects.select_for_update().get(id=row.replaces_id)
    if replaced.archived_at is not None:
        return
    before = snapshot(replaced)
    replaced.archived_at, replaced.archived_by = row.approved_at, actor
    replaced.version += 1
    replaced.save()
    audit.record(
        actor,
        "library.limit.replace",
        "clinic_limit",
        replaced.id,
        before=before,
        after=snapshot(replaced) | {"replaced_by": str(row.id)},
    )


@transaction.atomic
def archive_limit(user: User, limit_id: UUID, *, expected_version: int) -> ClinicLimit:
    """The limit stops applying (or, pending, is withdrawn); it stays on record (never deleted).
    Removing a hard limit in force loosens the library: a pharmacist asks for it and it takes
    effect once a second pharmacist or physician approves (approve_limit); audited."""
    actor = require(user, "library.write")
    row = _locked(limit_id, expected_version)
    before = snapshot(row)
    if row.severity == "hard" and row.approved_at is not None:
        require(user, "library.harden")
        if row.archive_requested_by:
            raise Refusal(
                "limit", str(limit_id), "one removal asked for", APPROVAL_RULE, "is already asked"
            )
        row.archive_requested_by, row.archive_requested_at = actor, clock.now()
        row.version += 1
        row.save()
        audit.record(
            actor,
            "library.limit.archive_request",
            "clinic_limit",
            row.id,
            before=before,
            after=snapshot(row),
        )
        return row
    row.archived_at, row.archived_by = clock.now(), actor
    row.version += 1
    row.save()
    audit.record(
        actor, "library.limit.archive", "clinic_limit", row.id, before=before, after=snapshot(row)
    )
    return row
