"""Two-factor sign-in in a real browser: a nurse the clinic requires to have an authenticator
signs in with her password, is sent to set one up (the QR code drawn inline, the secret to
type), confirms it with the code, sees her recovery codes once, and from then on signs in with
the password and a code."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django import Settings

from authenticator import code_from_secret
from clinic_fixtures import PASSWORD


def test_a_required_nurse_sets_up_an_authenticator_then_signs_in_with_a_code(
    page: Page,
    live_server: object,
    sign_in: Callable[[User], Page],
    settings: Settings,
    nurse: User,
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    page.goto(f"{live_server}/sign-in/")
    page.get_by_label("Username").fill("nurse.joy")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up an authenticator")).to_be_visible()
    expect(page.get_by_text("The clinic requires a second factor for your role")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(code_from_secret(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your authenticator is set up")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(nurse)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
