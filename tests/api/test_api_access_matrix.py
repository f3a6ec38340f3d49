"""Every operation of the API's OpenAPI schema for every kind of caller (anonymous, each role, a
deactivated user, a read-only token): the expected-access table below says who may call what,
and a test fails when the schema holds an operation the table does not cover, so no endpoint can
ship without its access being tested. A refused call is a 401 or 403 that changes no row of any
table (no record, no audit entry); an allowed call gets the operation's success status.

The records are made once for the module (inside a transaction rolled back at its end) and each
case runs in its own savepoint, so the 250-odd cases take seconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_access import (
    ACCESS,
    AD,
    ANONYMOUS,
    AU,
    CALLERS,
    FAST_HASHERS,
    INACTIVE,
    PH,
    READ_ONLY_TOKEN,
    N,
    World,
    allows,
    client_for,
    module_world,
    schema_operations,
)

from db_snapshot import snapshot
from painpump.clinic.roles import CAPABILITIES


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    yield from module_world(django_db_blocker)


CASES = [
    pytest.param(method, path, caller, id=f"{method} {path} as {caller}")
    for (method, path) in ACCESS
    for caller in CALLERS
]


def test_every_operation_of_the_schema_is_in_the_access_table() -> None:
    operations = schema_operations()
    assert operations - ACCESS.keys() == set(), "operations whose access no test covers"
    assert ACCESS.keys() - operations == set(), "table rows for operations that do not exist"


@pytest.mark.parametrize(("method", "path", "caller"), CASES)
def test_every_operation_is_allowed_or_refused_for_every_caller_as_the_table_says(
    world: World, db: None, settings: Any, method: str, path: str, caller: str
) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    access = ACCESS[(method, path)]
    client, headers = client_for(world, caller)
    url = access.url.format(**world.ids)
    if access.body is None:
        response = getattr(client, method)(url, **headers)
    else:
        body = access.body(world)
        response = getattr(client, method)(url, body, content_type="application/json", **headers)
    if allows(access, method, caller):
        assert response.status_code == access.status, response.content
        return
    expected = 401 if caller in {ANONYMOUS, INACTIVE} else 403
    assert response.status_code == expected, response.content
    assert snapshot() == world.rows, "a refused call changed a record or left an audit entry"
    if caller in {N, PH, AU, AD}:
        assert "may not" in response.json()["error"]["message"]
    for name in ("Muster", "MRN-0001"):
        assert name not in response.content.decode(), "a refused call revealed patient data"


@pytest.mark.parametrize(
    "operation", [op for op, access in ACCESS.items() if access.capability], ids=str
)
def test_the_table_agrees_with_the_capabilities_of_the_clinic_service(
    operation: tuple[str, str],
) -> None:
    access = ACCESS[operation]
    assert access.capability is not None
    roles = {role.value for role in CAPABILITIES[access.capability]}
    assert access.allowed - {READ_ONLY_TOKEN} == roles
