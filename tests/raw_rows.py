"""Rows written as an insider with database access writes them: `insert into` with the database's
own SQL, no model save and no audit entry."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Model


def insert(table_of: type[Model], **values: Any) -> None:
    """`insert into` the model's table with the database's own SQL (no model save)."""
    fields = {f.name: f for f in table_of._meta.concrete_fields}
    columns = [str(fields[name].column) for name in values]
    prepared = [fields[name].get_db_prep_save(value, connection) for name, value in values.items()]
    table = table_of._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"insert into {table} ({', '.join(columns)}) "
            f"values ({', '.join(['%s'] * len(columns))})",
            prepared,
        )
