"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium, or PAINPUMP_CHROMIUM)
against pytest-django's live server. scripts/test installs Chromium when it is missing; without
it these tests fail rather than skip, so a green run always includes the browser."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pytest_django import Settings

from authenticator import code_for
from clinic_fixtures import PASSWORD
from painpump.chromium import CHROMIUM, FLAGS
from painpump.clinic import two_factor

# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the
# fixtures in the same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class OneRequestAtATime(WSGIServer):
    """The live server serving one request at a time in its own thread (no keep-alive): its
    threaded server shares the in-memory test database's one connection with every request
    thread, so a page's concurrent requests (htmx, scripts) could break each other's savepoints
    ("no such savepoint", a 500) or leave a script unloaded."""

    def __init__(self, *args: Any, connections_override: object = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


setattr(LiveServerThread, "server_class", OneRequestAtATime)  # noqa: B010  (pytest-django's)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/test (it installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab; the test fails if the page logged an error (a script refused by the
    Content-Security-Policy, a failed request, an exception)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    # A refused sign-in (401), action (403), stale edit (409) or form (422) is a page shown on
    # purpose; Chromium still logs its status.
    refused = ("status of 401", "status of 403", "status of 409", "status of 422")
    expected = [e for e in errors if not any(status in e for status in refused)]
    assert not expected, f"the browser logged errors: {expected}"


@pytest.fixture
def sign_in(page: Page, live_server: object) -> Callable[[User], Page]:
    """Signs the user in through the sign-in form (and the code of their authenticator, when
    they have one) and returns the page on the dashboard."""

    def signed_in(user: User) -> Page:
        page.goto(f"{live_server}/sign-in/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        if two_factor.enrolled(user):
            expect(page.get_by_role("heading", name="Sign in: code")).to_be_visible()
            page.get_by_label("Code").fill(code_for(user))
            page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("current-user")).to_have_text(user.get_username())
        return page

    return signed_in
