"""Choosing a program's kind unfolds its entries in a real browser (round 3 of the clinical
review: the readback's flex rows stayed folded after choosing Flex): on the double-check of a
continuous prescription, Flex opens the step rows and Single bolus its dose and duration; on the
readback of the programming, Flex opens the step rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from painpump.clinic.actions import prescriptions
from painpump.clinic.models import Implant
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse


def test_choosing_flex_or_single_bolus_opens_its_entries(
    sign_in: Callable[[User], Page],
    live_server: object,
    physician: User,
    pharmacist: User,
    nurse: User,
    implant: Implant,
) -> None:
    program = rx.PrescribedProgram.continuous(parse("420 mcg/day", Kind.DOSE_RATE, "dose"))
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, program),
        reason="more tone in the evening",
        now=timezone.now() - timedelta(hours=3),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    page = sign_in(pharmacist)
    page.goto(f"{live_server}/prescriptions/{record.id}/check/")
    flex, bolus = page.locator("details.flex-steps"), page.locator("details.single-bolus")
    expect(flex).not_to_have_attribute("open", "")
    page.get_by_label("Program", exact=True).select_option("flex")
    expect(flex).to_have_attribute("open", "")
    expect(page.get_by_label("Step 1: dose")).to_be_visible()
    expect(bolus).not_to_have_attribute("open", "")
    page.get_by_label("Program", exact=True).select_option("single_bolus")
    expect(bolus).to_have_attribute("open", "")
    expect(page.get_by_label("Single bolus dose of the first drug")).to_be_visible()
    program_id = implant.programs.get().id
    page = sign_in(nurse)
    page.goto(f"{live_server}/programs/{program_id}/readback/")
    flex = page.locator("details.flex-steps")
    expect(flex).not_to_have_attribute("open", "")
    page.get_by_label("Program", exact=True).select_option("flex")
    expect(flex).to_have_attribute("open", "")
