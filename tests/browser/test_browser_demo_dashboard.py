"""The dashboard with the demo clinic, in a real browser: a demo nurse signs in with the printed
login and sees the clinic's worklist filled from the seeded records (refills ordered by days to
the alarm, baclofen marked high risk, changes waiting for verification), and every row leads to
its patient."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from frozen import TODAY
from painpump.clinic.demo import seed as demo

PATIENTS = 30


@pytest.mark.django_db(transaction=True)
def test_a_demo_nurse_sees_the_demo_clinics_worklist_and_opens_a_patient(
    page: Page, live_server: object
) -> None:
    report = demo.seed(patients=PATIENTS, seed=1, today=TODAY)
    nurse = next(login for login in report.logins if login.role == "nurse")
    page.goto(f"{live_server}/")
    page.get_by_label("Username").fill(nurse.username)
    page.get_by_label("Password").fill(nurse.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    at_risk = page.locator("section", has=page.get_by_role("heading", name="At risk"))
    rows = at_risk.locator("tbody tr")
    expect(rows.first).to_be_visible()
    days = [int(text) for text in at_risk.locator("td.num").all_inner_texts()]
    assert days == sorted(days), "at-risk pumps are listed by days to the alarm"
    assert report.drugs.get("baclofen", 0) > 0
    expect(page.get_by_text("baclofen · high risk").first).to_be_visible()

    name = rows.first.get_by_role("link").inner_text()
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
