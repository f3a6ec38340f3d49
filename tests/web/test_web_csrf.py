"""CSRF on every form of the web app: every named URL that takes a POST (the access table of
access_world.PAGES, which covers every named URL and whose matrix proves a 405 for every URL it
says takes no POST) refuses a POST without the CSRF token with 403 and changes nothing, for a
caller who may send it and data that would be accepted; the same POST with the token goes
through, so the refusal is the missing token's and nothing else's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from access_world import (
    ANONYMOUS,
    FAST_HASHERS,
    PAGES,
    P,
    World,
    module_world,
    named_patterns,
    url_of,
)
from django.test import Client
from django.utils.crypto import get_random_string

from db_snapshot import snapshot

POSTS = sorted(name for name, page in PAGES.items() if page.post is not None)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    yield from module_world(django_db_blocker)


def test_every_named_url_is_in_the_table_the_posts_come_from() -> None:
    assert named_patterns() == PAGES.keys()


def _client(world: World, name: str) -> tuple[Client, str]:
    """A client checking CSRF, signed in as a caller the page lets POST (physician first)."""
    page = PAGES[name]
    assert page.post is not None
    caller = P if P in page.post else sorted(page.post - {ANONYMOUS, "inactive"})[0]
    client = Client(enforce_csrf_checks=True)
    if name != "sign-in":
        client.force_login(world.users[caller])
    return client, caller


@pytest.mark.parametrize("name", POSTS)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    world: World, db: None, settings: Any, name: str
) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    page = PAGES[name]
    client, caller = _client(world, name)
    data = page.data(world) if page.data else {}
    before = snapshot() if page.data_reads else world.rows
    signed_in_as = client.session.get("_auth_user_id")
    response = client.post(url_of(name, world), data)
    assert response.status_code == 403, response.content
    assert snapshot() == before, "a POST without its CSRF token changed something"
    assert client.session.get("_auth_user_id") == signed_in_as  # neither signed in nor out
    # The same POST with the token is taken: the token was all that was missing.
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    accepted = client.post(url_of(name, world), data | {"csrfmiddlewaretoken": token})
    expected = page.status_for.get(caller, page.post_status)
    assert accepted.status_code == expected, accepted.content
