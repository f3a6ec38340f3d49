"""The query that finds which of the dashboard's rare lists hold a row, planned by SQLite with
its parameters bound, as a served request sends it (not with the values written into the text,
as Django's captured queries show it): each list that has a partial index is read through it, so
a probe of an empty list costs a page or two, not a scan of the table (docs/benchmarks.md, "The
dashboard after the rejected-prescriptions list")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models.sql.query import Query
from django.utils import timezone

from painpump.clinic.models import Implant
from painpump.clinic.reads import dashboard

pytestmark = pytest.mark.django_db

PARTIAL_INDEXES = (
    "prescription_awaiting_check",
    "prescription_active_kind",
    "program_awaiting_readback",
    "prescription_rejected",
)


def probe_as_sent(user: User) -> tuple[str, tuple[Any, ...]]:
    """The probe's SQL and parameters as the driver receives them during one worklist read."""
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def keep(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        dashboard.worklist(user, timezone.now())
    [probe] = [(sql, params) for sql, params in sent if "EXISTS(" in sql and "settings" in sql]
    return probe


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")
def test_the_probe_reads_each_partial_index_with_its_parameters_bound(
    implant: Implant, physician: User
) -> None:
    sql, params = probe_as_sent(physician)
    assert "%s" in sql and "rejected" in params  # the status is a bound parameter
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    for index in PARTIAL_INDEXES:
        assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan, (
            index,
            plan,
        )


def test_the_probe_is_built_once_a_process_not_at_every_read(physician: User) -> None:
    """Building it through the ORM cost ten times what SQLite takes to answer it; it holds no
    date, user or page, so its SQL is made once (for each database kind) and reused."""
    dashboard.worklist(physician, timezone.now())
    built: list[str] = []
    get_compiler = Query.get_compiler

    def compiling(query: Query, *args: Any, **kwargs: Any) -> Any:
        built.extend(query.annotations)
        return get_compiler(query, *args, **kwargs)

    with patch.object(Query, "get_compiler", compiling):
        dashboard.worklist(physician, timezone.now())
    assert "awaiting_readback" not in built and "rejected" not in built
