"""The clinic's own drug-library limits as the team reads them and as core applies them: the
active, approved ones are checked beside the packaged library at every refill and titration."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.models import User

from painpump.clinic.errors import NotFound
from painpump.clinic.models import ClinicLimit
from painpump.clinic.roles import require
from painpump.core.catalog import Limit
from painpump.core.decision import Tier
from painpump.core.units import Q, format_decimal

PERCENT = "%"
HOURS = "hour"


def value_of(row: ClinicLimit) -> Q | Decimal:
    """The stored value as the core reads it: a quantity in its unit, or plain percent/hours
    without the database's trailing zeros ("20 %", not "20.000000 %")."""
    if row.unit in (PERCENT, HOURS):
        return Decimal(format_decimal(row.value))
    return Q(row.value, row.unit)


def shown_value(row: ClinicLimit) -> str:
    """The value with its unit, as typed: "10 mg/day", "20 %", "48 hour"."""
    return f"{format_decimal(row.value.normalize())} {row.unit}"


def source_of(row: ClinicLimit) -> str:
    """The source a finding names: the clinic's policy document, who set the limit and when."""
    return f"clinic policy: {row.source} (clinic limit set by {row.set_by}, {row.set_at:%Y-%m-%d})"


def as_limit(row: ClinicLimit) -> Limit:
    """The core's view of a clinic limit (always verified: it is the clinic's own policy)."""
    return Limit(row.drug, row.rule, value_of(row), Tier(row.severity), True, source_of(row))


def active_limits(drugs: Iterable[str] | None = None) -> tuple[Limit, ...]:
    """The limits in force, for the given drugs or all; called inside a refill's or a titration's
    transaction, whose service has already checked the user's role. A limit waiting for its
    second approver is not in force (the one it would replace still is)."""
    rows = ClinicLimit.objects.filter(archived_at__isnull=True, approved_at__isnull=False)
    if drugs is not None:
        rows = rows.filter(drug__in=list(drugs))
    return tuple(as_limit(row) for row in rows)


def require_reader(user: User) -> str:
    """Any member of the clinic team reads the drug library, the device catalog and the clinic
    limits (they hold no patient data); someone with no role is refused."""
    return require(user, "library.read")


def list_limits(user: User) -> list[ClinicLimit]:
    """Every clinic limit, active and archived."""
    require_reader(user)
    return list(ClinicLimit.objects.select_related("replaces"))


def read_limit(user: User, limit_id: UUID) -> ClinicLimit:
    """One clinic limit, for editing (library.write)."""
    require(user, "library.write")
    row = ClinicLimit.objects.filter(id=limit_id).first()
    if row is None:
        raise NotFound(f"clinic limit {limit_id}")
    return row
