"""The prescription at the centre, end to end in a real browser: a physician prescribes a flex
program with patient boluses; a pharmacist's independent double-check (the concentration, every
step, the bolus settings) differs from it, is named by its days only after the attempt, and the
prescription is rejected with a comment; the physician prescribes the corrected one and the
pharmacist accepts it, entered in other units; a nurse fills and programs it and enters the
programmer's readback, where a wrong readback stops the session and opens an incident, and the
right one reads back matching while the session stays stopped until a physician closes the
incident."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from painpump.clinic.models import Implant, Incident, Prescription

LIVE = re.compile(r"/refill/live/")
COMMENT = "the order on the ward says 440 mcg/day from noon, not 460"


CONCENTRATION = "Concentration (from the syringe label)"


def left(page: Page, label: str) -> None:
    """Leave an entry of the refill form (Tab) and wait for the app's answer to it."""
    with page.expect_response(LIVE):
        page.get_by_label(label, exact=label == CONCENTRATION).press("Tab")


def to_chart(page: Page) -> None:
    page.get_by_role("link", name="Muster, Erika").first.click()
    expect(page.get_by_role("heading", name="Prescriptions and settings history")).to_be_visible()


def program_entries(page: Page, noon_dose: str) -> None:
    """A flex program (400 mcg/day, from noon on weekdays `noon_dose`) and a 5 mcg bolus up to
    four times a day every 3 hours, as the prescription form, the double-check and the readback
    take it."""
    page.get_by_label("Program", exact=True).select_option("flex")
    flex = page.locator("details.flex-steps")
    if flex.get_attribute("open") is None:
        flex.locator("summary").click()
    for number, days, start, dose in (
        (1, "every day", "00:00", "400 mcg/day"),
        (2, "mon-fri", "12:00", noon_dose),
    ):
        page.get_by_label(f"Step {number}: days").select_option(days)
        page.get_by_label(f"Step {number}: start (HH:MM)").fill(start)
        page.get_by_label(f"Step {number}: dose").fill(dose)
    page.get_by_label("Patient bolus dose").fill("5 mcg")
    page.get_by_label("Bolus duration").fill("2 min")
    page.get_by_label("Lockout").fill("3 hour")
    page.get_by_label("Boluses a day at most").fill("4")


def prescribe(page: Page, noon_dose: str) -> None:
    to_chart(page)
    follow(page, page.get_by_role("link", name="New prescription").first)
    program_entries(page, noon_dose)
    page.get_by_label("Reason for this prescription").fill("more tone on working days")
    page.get_by_role("button", name="Review the prescription").click()
    expect(page.get_by_test_id("changes")).to_contain_text("12:00 " + noon_dose)
    expect(page.get_by_test_id("needs-double-check")).to_be_visible()
    page.get_by_role("button", name="Sign the prescription").click()
    expect(page.get_by_role("heading", name="Prescriptions and settings history")).to_be_visible()


def double_check(page: Page, number: int) -> None:
    to_chart(page)
    version = page.get_by_test_id(f"prescription-{number}")
    follow(page, version.get_by_role("link", name="Double-check"))
    order = page.get_by_test_id("check-order")
    expect(order).to_contain_text("baclofen")
    expect(order).to_contain_text("flex")
    expect(order).not_to_contain_text("mcg/day")  # the numbers are entered, not read
    expect(page.get_by_label("Step 1: dose")).to_have_value("")
    page.get_by_label("Concentration of baclofen (from the syringe label)").fill("2 mg/mL")
    program_entries(page, "440 mcg/day")  # as the order on the ward gives it
    page.get_by_role("button", name="Accept").click()


def test_prescribed_checked_rejected_corrected_filled_and_read_back(
    sign_in: Callable[[User], Page],
    physician: User,
    pharmacist: User,
    nurse: User,
    implant: Implant,
) -> None:
    page = sign_in(physician)
    prescribe(page, "460 mcg/day")
    expect(page.get_by_test_id("status-2")).to_have_text("Awaiting the double-check")
    page.get_by_role("button", name="Sign out").click()

    page = sign_in(pharmacist)
    double_check(page, 2)
    expect(page.get_by_test_id("check-mismatch")).to_be_visible()
    differs = page.get_by_role("alert").filter(has_text="Steps on Monday")
    expect(differs).to_contain_text("12:00 440 mcg/day differs from the prescription")
    expect(differs).to_contain_text("(not shown: the double-check is independent)")
    page.get_by_label("Comment (required to reject)").fill(COMMENT)
    page.get_by_test_id("reject").click()
    expect(page.get_by_test_id("status-2")).to_have_text("Rejected at the double-check")
    expect(page.get_by_test_id("prescription-2")).to_contain_text(COMMENT)
    page.get_by_role("button", name="Sign out").click()

    page = sign_in(physician)
    prescribe(page, "440 mcg/day")
    page.get_by_role("button", name="Sign out").click()
    page = sign_in(pharmacist)
    double_check(page, 3)
    expect(page.get_by_test_id("check-decided")).to_contain_text("accepted by pharma.cist")
    # the check over, the worst day with every bolus: 420 mcg/day on weekdays + 4 x 5 mcg
    expect(page.get_by_test_id("prescription")).to_contain_text("440 mcg/day")
    follow(page, page.get_by_role("link", name="Back to the chart"))
    expect(page.get_by_test_id("status-3")).to_have_text("Ready to program")
    expect(page.get_by_test_id("prescription-3")).to_contain_text("accepted by pharma.cist")
    page.get_by_role("button", name="Sign out").click()

    page = sign_in(nurse)
    to_chart(page)
    follow(page, page.get_by_role("link", name="Refill the pump"))
    expect(page.get_by_test_id("prescription")).to_contain_text("Prescription #3")
    page.get_by_label("Expected residual volume").fill("3 mL")
    left(page, "Expected residual volume")  # one answer at a time: no write races the review
    page.get_by_label("Aspirated volume").fill("3 mL")
    left(page, "Aspirated volume")
    page.get_by_label(CONCENTRATION, exact=True).fill("2000 mcg/mL")
    left(page, CONCENTRATION)
    page.get_by_label("Lot number").fill("LOT-RX")
    page.get_by_label("Volume filled into the reservoir").fill("20 mL")
    left(page, "Volume filled into the reservoir")
    page.get_by_role("button", name="Review the refill").click()
    page.get_by_role("button", name="Confirm and record the refill").click()
    expect(page.get_by_role("heading", name="Programmer readback")).to_be_visible()

    page.get_by_label("Reservoir volume").fill("20 mL")
    page.get_by_label("Drug", exact=True).select_option("baclofen")
    page.get_by_label("Concentration", exact=True).fill("2000 mcg/mL")
    program_entries(page, "460 mcg/day")  # the programmer still holds the rejected step
    page.get_by_role("button", name="Record the readback").click()
    stopped = page.get_by_test_id("readback-stopped")
    expect(stopped).to_contain_text("Session stopped: readback differs")
    expect(stopped).to_contain_text("read back 00:00 400 mcg/day, 12:00 460 mcg/day")
    expect(stopped).to_contain_text("An incident was opened on the patient's record")
    assert Incident.objects.filter(closed_at__isnull=True).count() == 1

    page.get_by_label("Reservoir volume").fill("20 mL")
    page.get_by_label("Concentration", exact=True).fill("2000 mcg/mL")
    program_entries(page, "440 mcg/day")
    page.get_by_role("button", name="Record the readback").click()
    # the right readback, but the session stays stopped until a physician closes the incident
    expect(page.get_by_test_id("readback-incident-open")).to_contain_text(
        "The latest readback (nurse.joy"
    )
    expect(page.get_by_test_id("session-state")).to_have_text(
        "stopped: incident open (a physician must close it); the latest readback matches"
    )
    expect(page.get_by_test_id("readback-complete")).to_have_count(0)
    record = Prescription.objects.get(implant=implant, number=3)
    assert record.status == "active" and record.checked_by == "pharma.cist"
