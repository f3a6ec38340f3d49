"""Every row of every table, read with one plain query a table, so that a test can prove a
refused request changed nothing (no record, no audit entry, no user) cheaply enough to check
it after each of hundreds of requests. Left out: the sessions (signing a caller in writes one),
the users' last login (which signing in sets), and the tables no request writes."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps
from django.db import connection

UNCHANGING = {"sessions.Session", "contenttypes.ContentType", "auth.Permission"}
Rows = dict[str, list[tuple[Any, ...]]]


@cache
def _queries() -> tuple[tuple[str, str], ...]:
    quote = connection.ops.quote_name
    found = []
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label
        if label in UNCHANGING:
            continue
        fields = model._meta.concrete_fields
        columns = [f.column for f in fields if f.column and f.attname != "last_login"]
        table = quote(model._meta.db_table)
        order = ", ".join(quote(c) for c in columns)
        found.append((label, f"SELECT {order} FROM {table} ORDER BY {order}"))
    return tuple(found)


def snapshot() -> Rows:
    rows: Rows = {}
    with connection.cursor() as cursor:
        for label, sql in _queries():
            cursor.execute(sql)
            rows[label] = [tuple(row) for row in cursor.fetchall()]
    return rows
