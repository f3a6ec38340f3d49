"""Signing in through a real browser, for every clinical role: each lands on the dashboard with
the navigation of its role; a wrong password is shown next to the form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from painpump.clinic.models import Implant


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_each_clinical_role_signs_in_to_the_dashboard(
    request: pytest.FixtureRequest,
    sign_in: Callable[[User], Page],
    implant: Implant,
    role_user: str,
) -> None:
    page = sign_in(request.getfixturevalue(role_user))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("link", name="Muster, Erika").first).to_be_visible()
    page.get_by_role("link", name="Muster, Erika").first.click()
    expect(page.get_by_role("heading", name="Muster, Erika")).to_be_visible()


def test_a_wrong_password_is_shown_and_the_user_stays_signed_out(
    page: Page, live_server: object, nurse: User
) -> None:
    page.goto(f"{live_server}/sign-in/")
    page.get_by_label("Username").fill("nurse.joy")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password.")
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def test_patient_search_narrows_the_list_as_the_nurse_types(
    sign_in: Callable[[User], Page], nurse: User, implant: Implant
) -> None:
    page = sign_in(nurse)
    follow(page, page.get_by_role("link", name="Patients"))
    page.get_by_label("Name or record number").fill("zzz-nobody")
    expect(page.get_by_text("No patient matches")).to_be_visible()
    page.get_by_label("Name or record number").fill("Must")
    expect(page.get_by_role("link", name="Muster, Erika")).to_be_visible()
