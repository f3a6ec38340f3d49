"""Clinical records whose id is not a UUID (SQLite lets such a value in; the application never
writes one): named one by one when comparing the records with their trail could not read them."""

from __future__ import annotations

from uuid import UUID

from django.db import connection, models

from painpump.clinic.audit_records import all_kinds


def record_ids() -> list[str]:
    found: list[str] = []
    for kind in all_kinds():
        model = kind.rows().model
        pk = model._meta.pk
        if not isinstance(pk, models.UUIDField):
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(str(pk.column))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {column} FROM {table}")  # names from the models
            found += [
                f"{kind.name} {raw!r}: its id is not a UUID: a row written outside the application"
                for (raw,) in cursor.fetchall()
                if not _is_uuid(raw)
            ]
    return found


def _is_uuid(raw: object) -> bool:
    try:
        UUID(str(raw))
    except ValueError:
        return False
    return True
