"""The refill workflow in a real browser: a nurse refills a baclofen pump at a new concentration
with an overinfusion warning acknowledged (the verdict shown while typing, the bridge and the
before/after in the review, a confirmation refused until the warning is ticked), then a physician
verifies it from the dashboard; and a refill above the label's strongest concentration is refused
with its reason and source, offers no confirmation and records nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from painpump.clinic.models import Implant, Refill

LIVE = re.compile(r"/refill/live/")


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
    expect(page.get_by_role("alert").filter(has_text="is missing")).to_be_visible()
    assert Refill.objects.count() == 1

    page.get_by_label("I have read this warning and go ahead").check()
    page.get_by_role("button", name="Confirm and record the refill").click()
    expect(page.get_by_role("heading", name="Refill recorded")).to_be_visible()
    expect(page.get_by_test_id("verification-required")).to_contain_text(
        "A second clinician's verification is required"
    )
    expect(page.get_by_test_id("next-refill")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    page = sign_in(physician)
    page.get_by_role("link", name="Verify the refill of").first.click()
    expect(page.get_by_role("heading", name="Verify a refill")).to_be_visible()
    expect(page.get_by_test_id("warning-reconciliation")).to_be_visible()
    page.get_by_role("button", name="Verify this refill").click()
    expect(page.get_by_test_id("verification-state")).to_contain_text("verified by dr.house")
    refill = Refill.objects.get(lot="LOT-9")
    assert refill.verified_by == "dr.house" and refill.acknowledged == ["reconciliation"]


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
