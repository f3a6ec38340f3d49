"""The refill workflow in a real browser: a nurse refills a baclofen pump at a new concentration
with an overinfusion warning passed with a typed reason (the verdict shown while typing, the
bridge and the before/after in the review, a confirmation refused until a reason is typed), then a
physician verifies it from the dashboard; a refill above the label's strongest concentration is
refused with its reason and source, offers no confirmation and records nothing; and no override,
even forged into the page, turns a hard stop into a program."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from hard_stops import OVER_LABEL, every_rule, ziconotide_pump
from painpump.clinic.models import AuditEntry, Implant, Program, Refill

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
    button.value = "confirm";
    button.textContent = "Forged confirmation";
    form.appendChild(button);
}"""
"""Adds a reason for every rule and a confirmation button to the page, as a tampered client
would."""


def left(page: Page, label: str) -> None:
    """Leave an entry (Tab) and wait for the app's answer to it."""
    with page.expect_response(LIVE):
        page.get_by_label(label, exact=label == "Concentration").press("Tab")


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
    page.get_by_label("Expected residual volume").fill("8 mL")
    page.get_by_label("Aspirated volume").fill("6 mL")
    left(page, "Aspirated volume")
    verdict = page.get_by_test_id("reconciliation-verdict")
    expect(verdict).to_contain_text("Overinfusion suspected")
    expect(verdict).to_contain_text("14.5 %")
    expect(verdict).to_contain_text("Maino")
    page.get_by_label("Concentration", exact=True).fill("1000 mcg/mL")
    left(page, "Concentration")
    page.get_by_label("Lot number").fill("LOT-9")
    page.get_by_label("Volume filled into the reservoir").fill("20 mL")
    left(page, "Volume filled into the reservoir")
    expect(page.get_by_test_id("program-summary")).to_contain_text("0.4 mL/day")
    page.get_by_role("button", name="Review the refill").click()

    review = page.get_by_test_id("before-after")
    expect(review).to_contain_text("2000 mcg/mL")
    expect(review).to_contain_text("1000 mcg/mL")
    expect(page.get_by_test_id("bridge")).to_contain_text("Bridge bolus")
    expect(page.get_by_test_id("warning-reconciliation")).to_contain_text(
        "Source: ecri-2014-synchromed-overinfusion, hk-mdd-2014-synchromed-overinfusion: ECRI"
    )
    expect(page.get_by_test_id("needs-verification")).to_be_visible()
    page.get_by_role("button", name="Confirm and record the refill").click()
    expect(page.get_by_role("alert").filter(has_text="needs a typed reason")).to_be_visible()
    assert Refill.objects.count() == 1

    page.get_by_label("Reason for passing this soft limit").fill(REASON)
    page.get_by_role("button", name="Confirm and record the refill").click()
    expect(page.get_by_role("heading", name="Refill recorded")).to_be_visible()
    expect(page.get_by_test_id("verification-required")).to_contain_text(
        "A second clinician's verification is required"
    )
    expect(page.get_by_test_id("next-refill")).to_be_visible()
    expect(page.get_by_test_id("overrides")).to_contain_text(f"Override reconciliation: “{REASON}”")
    expect(page.get_by_test_id("overrides")).to_contain_text("nurse.joy")
    page.get_by_role("button", name="Sign out").click()

    page = sign_in(physician)
    # the nurse's refill (the first fill, his own at her established dose, also waits for one)
    waiting = page.get_by_role("listitem").filter(has_text="refill by nurse.joy")
    waiting.get_by_role("link", name="Verify the refill of").click()
    expect(page.get_by_role("heading", name="Verify a refill")).to_be_visible()
    expect(page.get_by_test_id("warning-reconciliation")).to_be_visible()
    page.get_by_role("button", name="Verify this refill").click()
    expect(page.get_by_test_id("verification-state")).to_contain_text("verified by dr.house")
    refill = Refill.objects.get(lot="LOT-9")
    assert refill.verified_by == "dr.house"
    assert refill.acknowledged == [{"rule": "reconciliation", "reason": REASON}]


def test_a_refill_above_the_label_is_refused_with_its_source_and_nothing_recorded(
    sign_in: Callable[[User], Page], nurse: User, implant: Implant
) -> None:
    page = sign_in(nurse)
    open_refill(page)
    page.get_by_label("Expected residual volume").fill("8 mL")
    page.get_by_label("Aspirated volume").fill("8 mL")
    left(page, "Aspirated volume")
    page.get_by_label("Concentration", exact=True).fill("3000 mcg/mL")
    left(page, "Concentration")
    page.get_by_label("Lot number").fill("LOT-10")
    page.get_by_label("Volume filled into the reservoir").fill("20 mL")
    left(page, "Volume filled into the reservoir")
    expect(page.get_by_test_id("hard-limit")).to_contain_text("Refused by a hard limit")
    page.get_by_role("button", name="Review the refill").click()
    refused = page.get_by_test_id("hard-limit").first
    expect(refused).to_contain_text("Refused by a hard limit")
    expect(refused).to_contain_text("<= 2000 mcg/mL")
    expect(refused).to_contain_text(
        "Source: lioresal-label, gablofen-label: Lioresal/Gablofen labels"
    )
    expect(refused).to_contain_text("Concentration: baclofen 3000 mcg/mL")
    expect(refused).not_to_contain_text("drugs[")
    expect(page.get_by_role("button", name="Confirm and record the refill")).to_have_count(0)
    assert Refill.objects.count() == 1


def test_no_override_turns_a_hard_stop_into_a_program_in_the_browser(
    sign_in: Callable[[User], Page], live_server: Any, physician: User, nurse: User
) -> None:
    """Ziconotide above its US label maximum: the review says the hard limit cannot be
    overridden and offers no reason input and no confirmation; a confirmation forged into the
    page with a reason for every rule is refused and records nothing."""
    implant = ziconotide_pump(physician, nurse)
    page = sign_in(physician)
    page.goto(f"{live_server}/implants/{implant.id}/program/")
    page.get_by_label("New daily dose").fill(OVER_LABEL)
    page.get_by_role("button", name="Review the change").click()
    refused = page.get_by_test_id("hard-limit").first
    expect(refused).to_contain_text("Hard limit: cannot be overridden")
    expect(refused).to_contain_text("max_daily_dose")
    expect(page.get_by_label("Reason for passing this soft limit")).to_have_count(0)
    expect(page.get_by_role("button", name="Confirm the new dose")).to_have_count(0)
    programs = Program.objects.count()
    names = [f"override-{rule}:0123456789abcdef" for rule in every_rule()]
    page.evaluate(FORGE, [names, "patient in severe pain, family insists"])
    page.get_by_role("button", name="Forged confirmation").click()
    expect(page.get_by_test_id("hard-limit").first).to_contain_text(
        "Hard limit: cannot be overridden"
    )
    assert Program.objects.count() == programs
    assert not AuditEntry.objects.filter(action="program.change").exists()
