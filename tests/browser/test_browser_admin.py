"""The drug library and the admin's pages in a real browser: a pharmacist adds a clinic hard limit
for morphine's daily dose (a value without its unit is refused next to the field first); an admin
lands on Users, creates a nurse, a second admin approves her role, and the nurse signs in with
the initial password."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from painpump.clinic.models import ClinicLimit
from painpump.clinic.roles import Role

POLICY = "Opioid policy v3, section 2"
PASSWORD = "saffron lantern 42"


def test_a_pharmacist_adds_a_clinic_hard_limit_for_morphines_daily_dose(
    sign_in: Callable[[User], Page], pharmacist: User
) -> None:
    page = sign_in(pharmacist)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Drug library").click()
    expect(page.get_by_role("heading", name="Drug library", level=1)).to_be_visible()
    morphine = page.locator("#drug-morphine")
    expect(morphine.get_by_text("15 mg/day", exact=True)).to_be_visible()
    expect(morphine.get_by_text("unverified: verify against the labeling").first).to_be_visible()
    morphine.get_by_role("link", name="Add a clinic limit for morphine").click()

    expect(page.get_by_role("heading", name="New clinic limit for morphine")).to_be_visible()
    page.get_by_label("Rule").select_option("max_daily_dose")
    page.get_by_label("Limit", exact=True).fill("10")
    page.get_by_label("Kind of limit").select_option("hard")
    page.get_by_label("Source: the clinic's policy document").fill(POLICY)
    page.get_by_role("button", name="Add the clinic limit").click()
    expect(page.get_by_role("alert")).to_contain_text("has no unit")
    assert not ClinicLimit.objects.exists()

    page.get_by_label("Limit", exact=True).fill("10 mg/day")
    page.get_by_role("button", name="Add the clinic limit").click()
    expect(page.get_by_role("status")).to_have_text(
        "Clinic limit added for morphine. It waits for a second pharmacist or physician to "
        "approve it and does not apply until then."
    )
    clinic = page.locator("#drug-morphine table.clinic-limits")
    expect(clinic).to_contain_text("10 mg/day")
    expect(clinic).to_contain_text("hard: stops")
    expect(clinic).to_contain_text(POLICY)
    expect(clinic).to_contain_text("pharma.cist")
    row = ClinicLimit.objects.get()
    assert (row.drug, row.rule, str(row.value.normalize()), row.unit, row.severity) == (
        "morphine",
        "max_daily_dose",
        "1E+1",
        "mg/day",
        "hard",
    )


def test_an_admin_creates_a_nurse_who_then_signs_in(
    sign_in: Callable[[User], Page],
    page: Page,
    live_server: object,
    admin: User,
    make_user: Callable[..., User],
) -> None:
    sign_in(admin)
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboard")).to_have_count(0)
    page.get_by_role("link", name="Create a user").click()

    page.get_by_label("Username").fill("nurse.new")
    page.get_by_label("Given name").fill("Nina")
    page.get_by_label("Family name").fill("Neu")
    page.get_by_label("Nurse: refills, assessments, appointments").check()
    page.get_by_label("Initial password").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the user").click()
    expect(page.get_by_role("heading", name="User nurse.new")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("nurse: asked for, waiting for a second")
    expect(page.get_by_role("button", name="Approve nurse for nurse.new")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    sign_in(make_user("ad.two", Role.ADMIN))  # the second admin approves the role
    page.get_by_role("button", name="Approve nurse for nurse.new").click()
    expect(page.get_by_role("status")).to_have_text("nurse.new holds the role nurse from now on.")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("nurse.new")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("current-user")).to_have_text("nurse.new")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Drug library")).to_be_visible()
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
