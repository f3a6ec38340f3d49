"""The clinic's own drug-library limits (read through clinic.reads.clinic_limits): added, changed
and archived by a pharmacist or an admin (library.write) under optimistic concurrency, each change
audited with before and after. painpump.core.clinic_limits refuses a limit that would not tighten
the packaged library."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import ClinicLimit
from painpump.clinic.reads.clinic_limits import HOURS, PERCENT, as_limit, shown_value
from painpump.clinic.roles import require
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
        "archived": row.archived_at is not None,
        "version": row.version,
    }


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


def _same_severity_active(drug: str, rule: str, severity: str, exclude: UUID | None) -> None:
    clash = ClinicLimit.objects.filter(
        drug=drug, rule=rule, severity=severity, archived_at__isnull=True
    )
    if exclude is not None:
        clash = clash.exclude(id=exclude)
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
    and add another to change those), only if nobody changed it since `expected_version`."""
    actor = require(user, "library.write")
    row = _locked(limit_id, expected_version)
    others = ClinicLimit.objects.select_for_update().filter(
        drug=row.drug, rule=row.rule, archived_at__isnull=True
    )
    limit = _checked(
        row.drug, row.rule, value, severity, source, others=list(others.exclude(id=row.id))
    )
    _same_severity_active(row.drug, row.rule, severity, row.id)
    before = snapshot(row)
    row.value, row.unit = _stored(limit.value, limit.rule)
    row.severity, row.source = severity, limit.source
    row.set_by, row.set_at = actor, clock.now()
    row.version += 1
    row.save()
    audit.record(
        actor, "library.limit.change", "clinic_limit", row.id, before=before, after=snapshot(row)
    )
    return row


@transaction.atomic
def archive_limit(user: User, limit_id: UUID, *, expected_version: int) -> ClinicLimit:
    """The limit stops applying; it stays on record (never deleted)."""
    actor = require(user, "library.write")
    row = _locked(limit_id, expected_version)
    before = snapshot(row)
    row.archived_at, row.archived_by = clock.now(), actor
    row.version += 1
    row.save()
    audit.record(
        actor, "library.limit.archive", "clinic_limit", row.id, before=before, after=snapshot(row)
    )
    return row
