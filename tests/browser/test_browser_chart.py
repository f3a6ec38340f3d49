"""The patient chart and the what-if page in a real browser: a nurse finds the patient with the
filled pump through the search, the chart's reservoir, dose and outcome charts are drawn without
any console error (no script or style refused by the Content-Security-Policy), and on the
what-if page a higher dose typed into the form shows the new, earlier alarm date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from clinic_format import read_moment
from painpump.clinic.models import Implant


def drawn(page: Page, canvas: str) -> bool:
    return bool(page.evaluate(f"!!Chart.getChart(document.querySelector('{canvas}'))"))


def wait_drawn(page: Page, canvas: str) -> None:
    page.wait_for_function(f"() => !!Chart.getChart(document.querySelector('{canvas}'))")


@pytest.mark.django_db(transaction=True)
def test_a_nurse_opens_the_chart_sees_the_reservoir_and_tries_a_higher_dose(
    sign_in: Callable[[User], Page], nurse: User, implant: Implant
) -> None:
    page = sign_in(nurse)
    follow(page, page.get_by_role("link", name="Patients"))
    with page.expect_response(lambda r: "/patients/?q=Muster" in r.url):
        page.get_by_label("Name or record number").fill("Muster")
    follow(page, page.get_by_role("link", name="Muster, Erika"))

    expect(page.get_by_role("heading", name="Muster, Erika")).to_be_visible()
    expect(page.get_by_test_id("program-words")).to_have_text(
        "baclofen 2000 mcg/mL at 0.2 mL/day = 400 mcg/day, continuous"
    )
    expect(page.locator("#reservoir-chart")).to_be_visible()
    wait_drawn(page, "#reservoir-chart")
    assert drawn(page, "#dose-chart")
    page.get_by_role("button", name="All refills").click()
    expect(page.get_by_role("button", name="All refills")).to_have_attribute("aria-pressed", "true")

    follow(page, page.get_by_role("link", name="What if"))
    expect(page.get_by_role("heading", name="What if…")).to_be_visible()
    expect(page.get_by_text("Nothing is saved on this page")).to_be_visible()
    wait_drawn(page, "canvas[data-chart=whatif]")
    current = page.get_by_test_id("current-alarm").inner_text()

    page.get_by_label("A new program only (no refill)").check()
    dose = page.get_by_label("Daily dose or rate")
    dose.fill("440 mcg/day")
    dose.press("Tab")
    proposed = page.get_by_test_id("proposed-alarm")
    expect(proposed).to_be_visible()
    expect(page.get_by_text("at 0.22 mL/day = 440 mcg/day").first).to_be_visible()
    assert _when(proposed.inner_text()) < _when(current)
    wait_drawn(page, "canvas[data-chart=whatif]")

    dose.fill("800 mcg/day")
    dose.press("Tab")
    expect(page.get_by_text("This would be refused")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="max_step_percent").first).to_be_visible()


def _when(text: str) -> datetime:
    return read_moment(text)
