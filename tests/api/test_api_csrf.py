"""CSRF on the API: every operation that writes (every unsafe method of the OpenAPI schema) is
refused with 403 when a signed-in browser session sends it without the CSRF token, and changes
nothing; the same call with the user's API token (no cookie, so no cross-site request can ride
on it) needs no CSRF token. Login itself (the password and the code) needs the token, so no site
can sign a browser in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_access import (
    ACCESS,
    ANONYMOUS,
    FAST_HASHERS,
    READ_ONLY_TOKEN,
    SAFE,
    World,
    module_world,
    schema_operations,
)
from django.test import Client

from db_snapshot import snapshot
from painpump.api import tokens

WRITES = sorted(op for op in ACCESS if op[0] not in SAFE)
SIGN_IN = {("post", "/api/auth/login"), ("post", "/api/auth/code")}
"""The steps of signing a session in: they need the CSRF token whoever calls."""


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    yield from module_world(django_db_blocker)


def test_every_write_of_the_schema_is_checked() -> None:
    assert {op for op in schema_operations() if op[0] not in SAFE} == set(WRITES)


def _caller(operation: tuple[str, str]) -> str:
    """A caller the table allows to send the operation (a user with a session)."""
    allowed = ACCESS[operation].allowed - {ANONYMOUS, READ_ONLY_TOKEN, "inactive"}
    return sorted(allowed)[0]


def _send(client: Client, world: World, operation: tuple[str, str], **headers: str) -> Any:
    method, _ = operation
    access = ACCESS[operation]
    url = access.url.format(**world.ids)
    if access.body is None:
        return getattr(client, method)(url, **headers)
    body = access.body(world)
    return getattr(client, method)(url, body, content_type="application/json", **headers)


@pytest.mark.parametrize("operation", WRITES, ids=" ".join)
def test_a_session_write_without_the_csrf_token_is_refused_and_changes_nothing(
    world: World, db: None, settings: Any, operation: tuple[str, str]
) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[_caller(operation)])
    response = _send(client, world, operation)
    assert response.status_code == 403, response.content
    assert "CSRF" in response.json()["error"]["message"]
    assert snapshot() == world.rows


@pytest.mark.parametrize("operation", [op for op in WRITES if op not in SIGN_IN], ids=" ".join)
def test_a_write_with_an_api_token_needs_no_csrf_token(
    world: World, db: None, operation: tuple[str, str]
) -> None:
    caller = world.users[_caller(operation)]
    secret = tokens.create(caller.get_username(), read_only=False).secret
    client = Client(enforce_csrf_checks=True)
    response = _send(client, world, operation, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == ACCESS[operation].status, response.content
