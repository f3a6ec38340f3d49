"""The refill workflow in a real browser: a nurse refills a baclofen pump as prescribed with an
overinfusion warning passed with a typed reason (the verdict shown while typing, the before/after
in the review, a confirmation refused until a reason is typed), goes on to the programmer's
readback, and a physician verifies the refill from the dashboard; a nurse who changes the drug at
a refill is refused next to it, told that a physician prescribes the change, and nothing is
recorded; and no override, even forged into the page, turns a hard stop into a prescription."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from hard_stops import OVER_LABEL, every_rule, ziconotide_pump
from painpump.clinic.models import AuditEntry, Implant, Prescription, Refill

LIVE = re.compile(r"/refill/live/")
REASON = "residual re-measured twice, catheter checked"
FORGE = """([names, reason]) => {
    const form = document.querySelector("form.guided");
    for (const name of names) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = reason;
        form.appendChild(input);
    }
    const button = document.createElement("button");
    button.type = "submit";
    button.name = "action";
    button.value = "sign";
    button.textContent = "Forged confirmation";
    form.appendChild(button);
}"""
"""Adds a reason for every rule and a confirmation button to the page, as a tampered client
would."""


CONCENTRATION = "Concentration (from the syringe label)"


def left(page: Page, label: str) -> None:
    """Leave an entry (Tab) and wait for the app's answer to it."""
    with page.expect_response(LIVE):
        page.get_by_label(label, exact=label == CONCENTRATION).press("Tab")


def open_refill(page: Page) -> None:
    """From the dashboard to the patient's chart and its refill form."""
    page.get_by_role("link", name="Muster, Erika").first.click()
    follow(page, page.get_by_role("link", name="Refill the pump"))
    expect(page.get_by_role("heading", name="What was left in the pump")).to_be_visible()


def test_a_nurse_refills_with_a_warning_and_a_physician_verifies(
    sign_in: Callable[[User], Page], nurse: User, physician: User, implant: Implant
) -> None:
    page = sign_in(nurse)
    open_refill(page)
    expect(page.get_by_test_id("prescription")).to_contain_text("Prescription #1")
    expect(page.get_by_test_id("checked-by")).to_contain_text("pharma.cist")
    page.get_by_label("Expected residual volume").fill("3 mL")  # what the pump's twin expects
    page.get_by_label("Aspirated volume").fill("0.5 mL")
    left(page, "Aspirated volume")
    verdict = page.get_by_test_id("reconciliation-verdict")
    expect(verdict).to_contain_text("Overinfusion suspected")
    expect(verdict).to_contain_text("14.5 %")
    expect(verdict).to_contain_text("Maino")
    page.get_by_label(CONCENTRATION, exact=True).fill("2000 mcg/mL")
    left(page, CONCENTRATION)
    page.get_by_label("Lot number").fill("LOT-9")
    page.get_by_label("Volume filled into the reservoir").fill("20 mL")
    left(page, "Volume filled into the reservoir")
    expect(page.get_by_test_id("program-summary")).to_contain_text("0.2 mL/day")
    page.get_by_role("button", name="Review the refill").click()

    expect(page.get_by_test_id("before-after")).to_contain_text("2000 mcg/mL")
    expect(page.get_by_test_id("warning-reconciliation")).to_contain_text(
        "Source: ecri-2014-synchromed-overinfusion, hk-mdd-2014-synchromed-overinfusion: ECRI"
    )
    expect(page.get_by_test_id("needs-verification")).to_be_visible()
    page.get_by_role("button", name="Confirm and record the refill").click()
    expect(page.get_by_role("alert").filter(has_text="needs a typed reason")).to_be_visible()
    assert Refill.objects.count() == 1

    page.get_by_label("Reason for passing this soft limit").fill(REASON)
    page.get_by_role("button", name="Confirm and record the refill").click()
    expect(page.get_by_role("heading", name="Programmer readback")).to_be_visible()
    expect(page.get_by_test_id("session-state")).to_have_text("awaiting readback")
    follow(page, page.get_by_role("link", name="The refill as recorded"))
    expect(page.get_by_role("heading", name="Refill recorded")).to_be_visible()
    expect(page.get_by_test_id("verification-required")).to_contain_text(
        "A second clinician's verification is required"
    )
    expect(page.get_by_test_id("overrides")).to_contain_text(f"Override reconciliation: “{REASON}”")
    expect(page.get_by_test_id("overrides")).to_contain_text("nurse.joy")
    page.get_by_role("button", name="Sign out").click()

    page = sign_in(physician)
    waiting = page.get_by_role("listitem").filter(has_text="refill by nurse.joy")
    waiting.get_by_role("link", name="Verify the refill of").click()
    expect(page.get_by_role("heading", name="Verify a refill")).to_be_visible()
    expect(page.get_by_test_id("warning-reconciliation")).to_be_visible()
    page.get_by_role("button", name="Verify this refill").click()
    expect(page.get_by_test_id("verification-state")).to_contain_text("verified by dr.house")
    refill = Refill.objects.get(lot="LOT-9")
    assert refill.verified_by == "dr.house"
    assert refill.acknowledged == [
        {"rule": "reconciliation", "reason": REASON, "given_at": "refill"}
    ]


def test_a_nurse_changing_the_drug_is_refused_naming_who_may_and_nothing_recorded(
    sign_in: Callable[[User], Page], nurse: User, implant: Implant
) -> None:
    page = sign_in(nurse)
    open_refill(page)
    page.get_by_label("Expected residual volume").fill("3 mL")
    left(page, "Expected residual volume")  # one answer at a time: no write races the review
    page.get_by_label("Aspirated volume").fill("3 mL")
    left(page, "Aspirated volume")
    page.get_by_label("Drug (from the syringe label)", exact=True).select_option("morphine")
    page.get_by_label(CONCENTRATION, exact=True).fill("10 mg/mL")
    left(page, CONCENTRATION)
    page.get_by_label("Lot number").fill("LOT-10")
    page.get_by_label("Volume filled into the reservoir").fill("20 mL")
    left(page, "Volume filled into the reservoir")
    page.get_by_role("button", name="Review the refill").click()
    refused = page.locator(".field.invalid").filter(has=page.locator("#id_drug"))
    expect(refused).to_contain_text("differs from the prescription")
    expect(refused).to_contain_text("prescription #1 by dr.house")
    expect(refused).to_contain_text("is a new prescription, signed by a physician")
    expect(page.get_by_role("button", name="Confirm and record the refill")).to_have_count(0)
    assert Refill.objects.count() == 1


def test_no_override_turns_a_hard_stop_into_a_prescription_in_the_browser(
    sign_in: Callable[[User], Page], live_server: Any, physician: User, nurse: User
) -> None:
    """Ziconotide above its US label maximum: the review says the hard limit cannot be
    overridden and offers no reason input and no signature; a signature forged into the page
    with a reason for every rule is refused and records nothing."""
    implant = ziconotide_pump(physician, nurse)
    page = sign_in(physician)
    page.goto(f"{live_server}/implants/{implant.id}/prescribe/")
    page.get_by_label("Daily dose of the first drug (continuous)").fill(OVER_LABEL)
    page.get_by_label("Reason for this prescription").fill("more pain at night")
    page.get_by_role("button", name="Review the prescription").click()
    refused = page.get_by_test_id("hard-limit").first
    expect(refused).to_contain_text("Hard limit: cannot be overridden")
    expect(refused).to_contain_text("max_daily_dose")
    expect(page.get_by_label("Reason for passing this soft limit")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign the prescription")).to_have_count(0)
    prescriptions = Prescription.objects.count()
    signed = AuditEntry.objects.filter(action="prescription.create").count()
    names = [f"override-{rule}:0123456789abcdef" for rule in every_rule()]
    page.evaluate(FORGE, [names, "patient in severe pain, family insists"])
    page.get_by_role("button", name="Forged confirmation").click()
    expect(page.get_by_test_id("hard-limit").first).to_contain_text(
        "Hard limit: cannot be overridden"
    )
    assert Prescription.objects.count() == prescriptions
    assert AuditEntry.objects.filter(action="prescription.create").count() == signed
