"""The flex step rows of the prescription, double-check and readback forms: a pump takes up to 13
steps a day on each weekday, so a program whose weekdays differ needs more than 13 rows. A new
form shows 13; "More step rows" (a plain post) shows the form again as entered, nothing judged,
with 13 more, up to 91; a program with more rows is reviewed, signed, double-checked and shown
again for a change with all its rows; a refusal names the row, whichever it is."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Implant, Prescription, Program, Readback

pytestmark = pytest.mark.django_db

FORM_ENCODED = "application/x-www-form-urlencoded"

WEEKDAY_STEPS = [("00:00", 400), ("03:00", 410), ("06:00", 420), ("09:00", 430)]
WEEKDAY_STEPS += [("12:00", 440), ("15:00", 430), ("18:00", 420), ("21:00", 410)]
"""Monday to Friday: 8 steps."""
WEEKEND_STEPS = [(f"{hour:02d}:30" if hour else "00:00", 400 + 3 * hour) for hour in range(13)]
"""Saturday and Sunday: 13 other steps (the most a day), 400 to 436 mcg/day."""
ROWS = [("mon-fri", start, dose) for start, dose in WEEKDAY_STEPS]
ROWS += [("sat-sun", start, dose) for start, dose in WEEKEND_STEPS]
"""The 21 rows of the program, as the form takes them."""


def flex_entries(rows: list[tuple[str, str, int]]) -> dict[str, str]:
    entries = {}
    for i, (days, start, dose) in enumerate(rows):
        entries[f"step_{i}_days"] = days
        entries[f"step_{i}_start"] = start
        entries[f"step_{i}_dose"] = f"{dose} mcg/day"
    return entries


PRESCRIBED = {
    "drug": "baclofen",
    "concentration": "2000 mcg/mL",
    "kind": "flex",
    "phase": "",
    "reason": "tone differs on working days and at the weekend",
    **flex_entries(ROWS),
}
CHECKED = {"concentration_0": "2 mg/mL", "kind": "flex", "comment": "", **flex_entries(ROWS)}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def row_numbers(page: str) -> list[int]:
    """The numbers of the step rows shown, in order."""
    return [int(n) + 1 for n in re.findall(r'name="step_(\d+)_days"', page)]


def error_next_to(page: str, field: str, text: str) -> bool:
    start = page.index(f'id="id_{field}"')
    block = page[start : page.index("</td>", start)]
    return 'role="alert"' in block and text in unescape(block)


def prescribe_url(implant: Implant) -> str:
    return f"/implants/{implant.id}/prescribe/"


def opened(client: Client, implant: Implant) -> dict[str, str]:
    page = client.get(prescribe_url(implant)).content.decode()
    return {"version": hidden(page, "version"), "submission": hidden(page, "submission")}


def posted(client: Client, implant: Implant, **changes: Any) -> tuple[dict[str, Any], str, int]:
    """The program posted for review: the entries (with the review's fingerprint), the page
    and its status."""
    data = {**PRESCRIBED, **opened(client, implant), "rows": "26", **changes}
    response = client.post(prescribe_url(implant), {**data, "action": "review"})
    page = response.content.decode()
    if 'name="reviewed" value="' in page:
        data["reviewed"] = hidden(page, "reviewed")
    return data, page, response.status_code


def signed(client: Client, implant: Implant) -> Prescription:
    data, page, status = posted(client, implant)
    assert status == 200, page
    done = client.post(prescribe_url(implant), {**data, "action": "sign"})
    assert done.status_code == 302, done.content.decode()
    return Prescription.objects.filter(implant=implant).latest("number")


def test_a_new_form_shows_13_rows_and_more_rows_shows_13_more_as_entered_nothing_judged(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    page = client.get(prescribe_url(implant)).content.decode()
    assert row_numbers(page) == list(range(1, 14))
    assert hidden(page, "rows") == "13" and 'data-testid="more-rows"' in page
    entries = {**PRESCRIBED, **opened(client, implant), "reason": "", "rows": "13"}
    entries = {name: value for name, value in entries.items() if not name.startswith("step_")}
    entries.update(flex_entries(ROWS[:13]))
    more = client.post(prescribe_url(implant), {**entries, "action": "more-rows"})
    shown = more.content.decode()
    assert more.status_code == 200
    assert row_numbers(shown) == list(range(1, 27)) and hidden(shown, "rows") == "26"
    assert f'name="step_12_start" value="{ROWS[12][1]}"' in shown  # the rows entered, kept
    assert 'name="step_13_start" value=' not in shown
    assert 'role="alert"' not in shown and "is required" not in shown  # nothing judged
    assert '<details class="flex-steps" id="step-rows" data-kind="flex" open>' in shown
    assert Prescription.objects.filter(implant=implant).count() == 1


def test_a_program_of_21_rows_is_reviewed_signed_and_stored_for_each_weekday(
    implant: Implant, physician: User
) -> None:
    client = signed_in(physician)
    _, page, status = posted(client, implant)
    assert status == 200, page
    weekday = ", ".join(f"{start} {dose} mcg/day" for start, dose in WEEKDAY_STEPS)
    weekend = ", ".join(f"{start} {dose} mcg/day" for start, dose in WEEKEND_STEPS)
    assert weekday in page and weekend in page
    record = signed(client, implant)
    assert record.program_kind == "flex"
    per_day = [record.steps.filter(weekday=day).count() for day in range(7)]
    assert per_day == [8, 8, 8, 8, 8, 13, 13]


def test_a_change_shows_every_row_of_the_program_it_replaces_and_some_empty_ones(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """The 21 rows come back as 20: the step at 00:00 that every weekday shares is one row."""
    record = signed(signed_in(physician), implant)
    accepted = signed_in(pharmacist).post(
        f"/prescriptions/{record.id}/check/", {**CHECKED, "rows": "26", "action": "accept"}
    )
    assert accepted.status_code == 302, accepted.content.decode()
    page = signed_in(physician).get(prescribe_url(implant)).content.decode()
    assert row_numbers(page) == list(range(1, 25)) and hidden(page, "rows") == "24"
    shown = set()
    for i in range(24):
        days = re.search(rf'name="step_{i}_days".*?<option value="([^"]*)" selected>', page, re.S)
        start = re.search(rf'name="step_{i}_start"(?: value="([^"]*)")?', page)
        dose = re.search(rf'name="step_{i}_dose"(?: value="([^"]*)")?', page)
        assert days and start and dose
        shown.add((days.group(1), start.group(1) or "", dose.group(1) or ""))
    expected = {("every day", "00:00", "400 mcg/day"), ("", "", "")}
    expected |= {(days, start, f"{dose} mcg/day") for days, start, dose in ROWS[1:8] + ROWS[9:]}
    assert shown == expected


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"step_17_start": "25:00"}, "step_17_start", "is not a time"),
        ({"step_19_start": "03:30"}, "step_19_start", "is given twice"),
        ({"step_20_dose": "436"}, "step_20_dose", "has no unit"),
        ({"step_16_days": ""}, "step_16_days", "is unknown"),
    ],
    ids=["start", "twice", "unit", "days"],
)
def test_a_refusal_beyond_row_13_is_named_next_to_its_row(
    implant: Implant, physician: User, changes: dict[str, str], field: str, text: str
) -> None:
    _, page, status = posted(signed_in(physician), implant, **changes)
    assert status == 422
    assert error_next_to(page, field, text)
    assert Prescription.objects.filter(implant=implant).count() == 1


def test_a_14th_step_on_a_day_is_refused_next_to_its_row_with_the_pumps_limit(
    implant: Implant, physician: User
) -> None:
    fourteenth = {"step_21_days": "sat", "step_21_start": "23:00", "step_21_dose": "400 mcg/day"}
    _, page, status = posted(signed_in(physician), implant, **fourteenth)
    assert status == 422
    assert error_next_to(page, "step_21_days", "Step 22: days: 14 steps exceeds")
    assert error_next_to(page, "step_21_days", "at most 13 a day (hard: the device's range)")
    assert "Sign the prescription" not in page


@pytest.mark.parametrize(
    ("rows", "shown", "offered"),
    [
        ("13", 34, True),
        ("26", 39, True),
        ("78", 91, False),
        ("85", 91, False),
        ("91", 91, False),
        ("5000", 91, False),
    ],
)
def test_more_rows_stop_at_91_seven_weekdays_of_13_steps(
    implant: Implant, physician: User, rows: str, shown: int, offered: bool
) -> None:
    client = signed_in(physician)
    data = {**PRESCRIBED, **opened(client, implant), "rows": rows}
    page = client.post(prescribe_url(implant), {**data, "action": "more-rows"}).content.decode()
    assert row_numbers(page) == list(range(1, shown + 1))
    assert ('data-testid="more-rows"' in page) is offered
    if not offered:
        assert "91 of at most 91 rows (13 steps a day on each weekday)" in page


def test_an_entry_beyond_row_91_is_refused_naming_the_rows_the_limit_and_its_source(
    implant: Implant, physician: User
) -> None:
    _, page, status = posted(signed_in(physician), implant, step_91_days="mon")
    shown = unescape(page)
    assert status == 422
    assert "steps: 92 rows exceeds the pump's rate changes" in shown
    assert "at most 91: 13 steps a day on each weekday (hard: the device's range)" in shown
    assert "medtronic-uk-synchromed-ii-page" in shown
    assert Prescription.objects.filter(implant=implant).count() == 1


def test_a_row_numbered_with_thousands_of_digits_is_refused_not_converted(
    implant: Implant, physician: User
) -> None:
    """A number of 5000 digits is more than Python converts (a 500 if it tried)."""
    client = signed_in(physician)
    data = {**PRESCRIBED, **opened(client, implant), f"step_{'9' * 5000}_days": "mon"}
    body = urlencode({**data, "action": "review"})
    response = client.post(prescribe_url(implant), body, content_type=FORM_ENCODED)
    assert response.status_code == 422
    assert "steps: 10000 rows exceeds the pump's rate changes" in unescape(
        response.content.decode()
    )


def test_more_rows_on_the_double_check_keeps_it_open_and_accepts_the_21_rows_after(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """ "More step rows" is not a rejection: the second clinician gets the form back as typed,
    the numbers still out of view, and accepts once every row is typed."""
    record = signed(signed_in(physician), implant)
    client = signed_in(pharmacist)
    url = f"/prescriptions/{record.id}/check/"
    page = client.get(url).content.decode()
    assert row_numbers(page) == list(range(1, 14))  # as many as any new form: no hint
    typed = {**CHECKED, "submission": hidden(page, "submission"), "rows": "13"}
    typed = {name: value for name, value in typed.items() if not re.match(r"step_(1[3-9]|2)", name)}
    more = client.post(url, {**typed, "action": "more-rows"})
    shown = more.content.decode()
    assert more.status_code == 200 and row_numbers(shown) == list(range(1, 27))
    assert f'name="step_12_start" value="{ROWS[12][1]}"' in shown and "436 mcg/day" not in shown
    record.refresh_from_db()
    assert record.status == "awaiting_check" and not record.checks.exists()
    accepted = client.post(url, {**CHECKED, "rows": "26", "action": "accept"})
    assert accepted.status_code == 302, accepted.content.decode()
    record.refresh_from_db()
    assert record.status == "ready"


def test_more_rows_on_the_readback_records_no_readback(implant: Implant, nurse: User) -> None:
    program = Program.objects.get(ended_at__isnull=True)
    url = f"/programs/{program.id}/readback/"
    client = signed_in(nurse)
    page = client.get(url).content.decode()
    typed = {
        "submission": hidden(page, "submission"),
        "reservoir": "20 mL",
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "flex",
        "rows": "13",
        **flex_entries(ROWS[:13]),
    }
    more = client.post(url, {**typed, "action": "more-rows"})
    shown = more.content.decode()
    assert more.status_code == 200 and row_numbers(shown) == list(range(1, 27))
    assert 'name="reservoir" value="20 mL"' in shown
    assert not Readback.objects.exists()
