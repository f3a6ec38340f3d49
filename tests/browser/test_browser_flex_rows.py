"""A flex program of more than 13 step rows in a real browser: the physician types the weekday
steps and the first weekend ones into the 13 rows of a new form, asks for more rows (htmx swaps
in the rows, everything typed kept), types the rest, reviews and signs; the prescription holds 8
steps on each weekday and 13 on Saturday and Sunday, and the form for the next change shows all
its rows."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from browser_steps import follow
from painpump.clinic.models import Implant, Prescription

WEEKDAYS = [("00:00", 400), ("03:00", 410), ("06:00", 420), ("09:00", 430)]
WEEKDAYS += [("12:00", 440), ("15:00", 430), ("18:00", 420), ("21:00", 410)]
WEEKEND = [("00:00" if hour == 0 else f"{hour:02d}:30", 400 + 3 * hour) for hour in range(13)]
ROWS = [("mon-fri", start, dose) for start, dose in WEEKDAYS]
ROWS += [("sat-sun", start, dose) for start, dose in WEEKEND]


def typed(page: Page, rows: list[tuple[str, str, int]], first: int) -> None:
    for number, (days, start, dose) in enumerate(rows, start=first):
        page.get_by_label(f"Step {number}: days").select_option(days)
        page.get_by_label(f"Step {number}: start (HH:MM)").fill(start)
        page.get_by_label(f"Step {number}: dose").fill(f"{dose} mcg/day")


def test_a_flex_program_of_21_rows_is_entered_with_more_rows_and_signed(
    sign_in: Callable[[User], Page], physician: User, implant: Implant
) -> None:
    page = sign_in(physician)
    page.get_by_role("link", name="Muster, Erika").first.click()
    follow(page, page.get_by_role("link", name="New prescription").first)
    page.get_by_label("Program", exact=True).select_option("flex")
    flex = page.locator("details.flex-steps")
    if flex.get_attribute("open") is None:
        flex.locator("summary").click()
    expect(page.get_by_label("Step 13: days")).to_be_visible()
    expect(page.get_by_label("Step 14: days")).to_have_count(0)
    page.get_by_label("Reason for this prescription").fill("tone differs at the weekend")
    typed(page, ROWS[:13], 1)
    with page.expect_response(lambda answer: answer.request.headers.get("hx-request") == "true"):
        page.get_by_test_id("more-rows").click()
    expect(page.get_by_label("Step 26: days")).to_be_visible()
    expect(page.get_by_label("Step 13: start (HH:MM)")).to_have_value(ROWS[12][1])
    expect(page.get_by_label("Reason for this prescription")).to_have_value(
        "tone differs at the weekend"
    )
    typed(page, ROWS[13:], 14)
    page.get_by_role("button", name="Review the prescription").click()
    changes = page.get_by_test_id("changes")
    expect(changes).to_contain_text("00:00 400 mcg/day, 03:00 410 mcg/day")
    expect(changes).to_contain_text("11:30 433 mcg/day, 12:30 436 mcg/day")
    page.get_by_role("button", name="Sign the prescription").click()
    expect(page.get_by_role("heading", name="Prescriptions and settings history")).to_be_visible()
    record = Prescription.objects.get(implant=implant, number=2)
    per_day = [record.steps.filter(weekday=day).count() for day in range(7)]
    assert per_day == [8, 8, 8, 8, 8, 13, 13]
    # the next change starts from its 20 rows (00:00 is one row for every day) and 4 empty ones
    follow(page, page.get_by_role("link", name="New prescription").first)
    expect(page.get_by_label("Step 20: days")).to_have_value("mon-fri")  # by start: 21:00 last
    expect(page.get_by_label("Step 20: start (HH:MM)")).to_have_value("21:00")
    expect(page.get_by_label("Step 24: days")).to_have_value("")
    expect(page.get_by_label("Step 25: days")).to_have_count(0)
