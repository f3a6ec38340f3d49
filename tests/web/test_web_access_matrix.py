"""Every named page of the web app (painpump.web.urls) for every kind of caller (anonymous, each
role, a deactivated user), by GET and by POST, against the expected-access table of
access_world.PAGES: a stranger or a deactivated user is sent to sign in, a refused role gets 403
and changes no row of any table (no record, no audit entry) and sees no patient data, an allowed
one gets the page (or the form's redirect), and a method the page does not take is a 405. A
named URL the table does not cover fails, so no page can ship without its access tested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from access_world import (
    ANONYMOUS,
    CALLERS,
    FAST_HASHERS,
    INACTIVE,
    PAGES,
    World,
    module_world,
    named_patterns,
    url_of,
)
from django.test import Client

from db_snapshot import snapshot

PUBLIC = {"sign-in", "sign-in-code", "sign-out", "two-factor"}


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    yield from module_world(django_db_blocker)


def test_every_named_url_is_in_the_access_table() -> None:
    assert named_patterns() - PAGES.keys() == set(), "pages whose access no test covers"
    assert PAGES.keys() - named_patterns() == set(), "table rows for pages that do not exist"


def _worth_a_case(name: str, method: str, caller: str) -> bool:
    """A page that only shows records answers a POST as its GET: for the callers it allows, the
    GET case covers it (the POST still needs its CSRF token, test_web_csrf.py)."""
    page = PAGES[name]
    return not (method == "post" and page.reads_only and page.post and caller in page.post)


CASES = [
    pytest.param(name, method, caller, id=f"{method} {name} as {caller}")
    for name in PAGES
    for method in ("get", "post")
    for caller in CALLERS
    if _worth_a_case(name, method, caller)
]


@pytest.mark.parametrize(("name", "method", "caller"), CASES)
def test_every_page_is_allowed_or_refused_for_every_caller_as_the_table_says(
    world: World, db: None, settings: Any, name: str, method: str, caller: str
) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    page = PAGES[name]
    allowed = page.get if method == "get" else page.post
    client = Client()
    if caller != ANONYMOUS:
        client.force_login(world.users[caller])
    url = url_of(name, world)
    data = page.data(world) if method == "post" and page.data and allowed else {}
    before = snapshot() if page.data_reads and data else world.rows
    response = getattr(client, method)(url, data)
    stranger = caller in {ANONYMOUS, INACTIVE} and name not in PUBLIC
    if allowed is None and not (stranger and response.status_code == 302):
        assert response.status_code == 405, response.content
    elif stranger:
        assert response.status_code == 302, response.content
        assert response["Location"] == f"/sign-in/?next={quote(url, safe='/')}"
    elif allowed is not None and caller in allowed:
        default = page.get_status if method == "get" else page.post_status
        assert response.status_code == page.status_for.get(caller, default), response.content
        return
    else:
        assert response.status_code == 403, response.content
        assert "may not" in response.content.decode()
    assert snapshot() == before, "a refused request changed a record or left an audit entry"
    for shown in ("Muster", "MRN-0001", "1970"):
        assert shown not in response.content.decode(), "a refused request showed patient data"
