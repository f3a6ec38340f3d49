"""A physician takes a spasticity patient from referral through a baclofen test phase (50 mcg
bolus, responder, temporary catheter removed) to a pump implanted on the earliest day the
clinic's rule allows, after seeing the day before refused with its reason and source; the
calendar shows and exports the stay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinic_format import written_day
from frozen import ZONE
from painpump.clinic.models import Episode, Implant, Patient


def test_a_physician_takes_a_stroke_patient_from_referral_to_the_implant(
    sign_in: Callable[[User], Page], physician: User, patient: Patient, live_server: object
) -> None:
    today = timezone.localdate(timezone=ZONE)
    referred, admitted = today - timedelta(days=40), today - timedelta(days=30)
    ended = admitted + timedelta(days=2)
    earliest = ended + timedelta(days=21)
    page = sign_in(physician)

    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("link", name="Muster, Erika").click()
    page.get_by_role("link", name="New episode of care").click()
    page.get_by_label("Indication").select_option("stroke")
    page.get_by_label("Referred on").fill(referred.isoformat())
    page.get_by_role("button", name="Open the episode").click()
    expect(page.get_by_test_id("stage")).to_have_text("referred")

    start = page.locator("#step-start_test_phase")
    start.get_by_label("Admitted for the test phase on").fill(admitted.isoformat())
    start.get_by_label("Bolus doses").check()
    start.get_by_role("button", name="Start the test phase (admission)").click()
    expect(page.get_by_test_id("stage")).to_have_text("test phase")
    expect(page.get_by_test_id("next-screening")).to_contain_text("50 mcg")

    bolus = page.locator("#step-record_screening_bolus")
    expect(bolus.get_by_label("Bolus dose")).to_have_value("50 mcg")
    bolus.get_by_label("Given at").fill(f"{admitted.isoformat()}T09:00")
    bolus.get_by_label("Positive response").check()
    bolus.get_by_role("button", name="Record a screening bolus").click()
    expect(page.get_by_test_id("next-screening")).to_contain_text("candidate")

    decide = page.locator("#step-decide_test_phase")
    decide.get_by_label("Test phase ended (discharge) on").fill(ended.isoformat())
    decide.get_by_label("Responder: plan the implantation").check()
    decide.get_by_role("button", name="Decide: responder or not").click()
    expect(page.get_by_test_id("stage")).to_have_text("responder")
    expect(page.get_by_test_id("earliest-implant")).to_contain_text(written_day(earliest))

    removal = page.locator("#step-record_catheter_removal")
    removal.get_by_label("Temporary catheter removed on").fill(ended.isoformat())
    removal.get_by_role("button", name="Record the catheter removal").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")

    implant = page.locator("#step-implant")
    expect(implant.get_by_label("Implanted on")).to_have_value(earliest.isoformat())
    implant.get_by_label("Pump model").select_option("synchromed-ii-20")
    implant.get_by_label("Pump serial number").fill("NGP424242H")
    implant.get_by_label("Catheter model").fill("8709SC")
    implant.get_by_label("Implanted catheter length").fill("60 cm")
    implant.get_by_label("Dead volume (pump outlet and catheter)").fill("0.25 mL")
    implant.get_by_label("Implanted on").fill((earliest - timedelta(days=1)).isoformat())
    implant.get_by_role("button", name="Register the implantation").click()

    refused = page.locator("#step-implant [role=alert]")
    expect(refused).to_contain_text(f"the earliest allowed date is {earliest.isoformat()}")
    expect(refused).to_contain_text("three weeks after the test phase at the earliest")
    assert not Implant.objects.exists()

    implant = page.locator("#step-implant")
    implant.get_by_label("Implanted on").fill(earliest.isoformat())
    implant.get_by_role("button", name="Register the implantation").click()

    unchecked = page.get_by_test_id("warning-dead_volume_unchecked")  # not in the catalog
    expect(unchecked).to_contain_text("the catheter catalog has no '8709SC'")
    unchecked.get_by_label("I have read this warning and take the step anyway").check()
    unchecked.get_by_label("Note (recorded)").fill("dead volume read from the implant record")
    page.locator("#step-implant").get_by_role("button", name="Register the implantation").click()
    expect(page.get_by_test_id("stage")).to_have_text("implanted")
    expect(page.get_by_role("status")).to_contain_text("registered")
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator("ol.timeline li")).to_have_count(5)

    stored = Implant.objects.get()
    assert (stored.pump_serial, stored.implanted_on) == ("NGP424242H", earliest)
    assert Episode.objects.get().stage == "implanted"
