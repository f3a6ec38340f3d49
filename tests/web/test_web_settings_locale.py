"""The clinic's locale on the Settings page (time zone, opening days and hours, formats, refill
visit length and capacity): labelled fields the admin changes, audited; each refusal next to its
field with nothing changed; and every page writing a stored UTC moment on the clinic's clock in
its formats, following the zone when it changes and across a daylight-saving change."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import Client

from clinic_fixtures import SETTINGS_FORM, written_entries
from frozen import NOW, TODAY, ZONE, ZONE_NAME
from painpump.clinic.actions import settings_service
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import Appointment, AuditEntry, Implant

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**changes: Any) -> dict[str, Any]:
    return SETTINGS_FORM | {"version": str(clinic_settings().version)} | changes


def block_of(page: str, field_id: str) -> str:
    """The field's block on the page: its label or legend, input, help and errors."""
    start = page.index(f'id="{field_id}"')
    opening = max(page.rfind('<div class="field', 0, start), page.rfind("<fieldset", 0, start))
    closing = page.find("</fieldset>" if page[opening + 1] == "f" else "</div>", start)
    return page[opening:closing]


def test_the_settings_page_offers_the_locale_as_labelled_inputs(admin: User) -> None:
    page = signed_in(admin).get("/settings/").content.decode()
    zone = block_of(page, "id_time_zone")
    assert '<label for="id_time_zone">Time zone (IANA)</label>' in zone
    assert '<option value="America/New_York" selected>' in zone
    assert '<option value="Europe/Berlin">' in zone
    weekdays = block_of(page, "id_open_weekdays")
    assert "<legend>Opening days</legend>" in weekdays
    for number, name in enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]):
        assert re.search(
            rf'<label class="check" for="id_open_weekdays_{number}"><input type="checkbox" '
            rf'name="open_weekdays" value="{number}" id="id_open_weekdays_{number}" checked> '
            rf"{name}</label>",
            weekdays,
        )
    assert 'value="5" id="id_open_weekdays_5">' in weekdays  # Saturday, not checked
    assert re.search(
        r'<input type="time" name="opens_at" value="08:00"[^>]*id="id_opens_at">', page
    )
    assert re.search(r'<input type="time" name="closes_at" value="17:00"[^>]*>', page)
    assert '<option value="dmy_dots">25.11.2026 (day.month.year)</option>' in page
    assert '<option value="24h" selected>14:30 (24-hour clock)</option>' in page
    assert '<option value="12h">02:30 PM (12-hour clock)</option>' in page
    assert 'name="refill_visit_minutes" value="30 min"' in page
    assert 'name="refill_capacity_per_day" value="8"' in page
    assert "Default: 8 visits/day." in page and "Default: 30 min." in page


@pytest.mark.parametrize(
    ("changes", "stored", "audited"),
    [
        ({"time_zone": "Europe/Berlin"}, {"time_zone": "Europe/Berlin"}, "Europe/Berlin"),
        (
            {"open_weekdays": ["0", "2", "5"]},
            {"open_weekdays": [0, 2, 5]},
            "Mon, Wed, Sat",
        ),
        ({"opens_at": "07:15"}, {"opens_at": time(7, 15)}, "07:15"),
        ({"closes_at": "19:00"}, {"closes_at": time(19, 0)}, "19:00"),
        ({"date_format": "mdy"}, {"date_format": "mdy"}, "mdy (11/25/2026)"),
        ({"time_format": "12h"}, {"time_format": "12h"}, "12h (02:30 PM)"),
        ({"refill_visit_minutes": "1 hour"}, {"refill_visit_minutes": 60}, "60 min"),
        ({"refill_capacity_per_day": "0"}, {"refill_capacity_per_day": 0}, "0 visits/day"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_the_admin_changes_a_locale_setting_on_the_page_and_it_is_audited(
    admin: User, changes: dict[str, Any], stored: dict[str, Any], audited: str
) -> None:
    response = signed_in(admin).post("/settings/", form(**changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = clinic_settings()
    assert {name: getattr(saved, name) for name in stored} == stored
    assert saved.version == 2
    entry = AuditEntry.objects.get(action="settings.update")
    (name,) = stored
    assert entry.after is not None and entry.after[name] == audited


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "id_time_zone", "Mars/Olympus is not one of"),
        ({"closes_at": "07:00"}, "id_closes_at", "after the opening time 08:00"),
        ({"open_weekdays": []}, "id_open_weekdays", "a non-empty set of weekdays"),
        ({"refill_capacity_per_day": "201"}, "id_refill_capacity_per_day", "200 visits/day"),
        ({"refill_visit_minutes": "481 min"}, "id_refill_visit_minutes", "5 min to 480 min"),
        ({"refill_visit_minutes": "30"}, "id_refill_visit_minutes", "has no unit"),
        ({"opens_at": "8 am"}, "id_opens_at", "Enter a valid time"),
    ],
    ids=[
        "unknown-zone",
        "closes-before-opens",
        "no-weekday",
        "capacity",
        "visit-too-long",
        "visit-no-unit",
        "time",
    ],
)
def test_a_refused_locale_setting_is_shown_next_to_its_field_and_changes_nothing(
    admin: User, changes: dict[str, Any], field_id: str, message: str
) -> None:
    response = signed_in(admin).post("/settings/", form(**changes))
    assert response.status_code == 422
    block = block_of(response.content.decode(), field_id)
    assert "invalid" in block and 'role="alert"' in block
    assert message in block.replace("&#x27;", "'"), block
    assert clinic_settings().version == 1
    assert not written_entries().exists()


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_no_other_role_changes_the_locale_on_the_page(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    client = signed_in(request.getfixturevalue(role_user))
    page = client.get("/settings/").content.decode()
    assert "<dt>Time zone (IANA)</dt><dd>America/New_York" in page
    assert "<dt>Refill visits a day (capacity)</dt><dd>8 visits/day" in page
    assert client.post("/settings/", form(time_zone="Europe/Berlin")).status_code == 403
    assert clinic_settings().time_zone == SETTINGS_FORM["time_zone"]
    assert not written_entries().exists()


def written(moment: datetime, zone: str, date_pattern: str, time_pattern: str) -> str:
    """What a page must show for `moment` in `zone` and the formats: computed here with the
    standard library, apart from the filters under test."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.strftime(date_pattern)} {local.strftime(time_pattern)} {local:%Z}"


def test_a_stored_moment_follows_the_clinic_zone_and_formats_across_a_daylight_saving_change(
    admin: User, nurse: User
) -> None:
    """The last sign-ins on the Users page: stored in UTC, one in summer time and one in winter
    time of both zones, written on the clinic's wall clock with its zone's abbreviation."""
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    User.objects.filter(id=admin.id).update(last_login=summer)
    User.objects.filter(id=nurse.id).update(last_login=winter)
    client = signed_in(admin)
    User.objects.filter(id=admin.id).update(last_login=summer)  # signing in set it to now

    page = client.get("/users/").content.decode()
    assert written(summer, "America/New_York", "%Y-%m-%d", "%H:%M") in page  # Wed ... 08:00 EDT
    assert written(winter, "America/New_York", "%Y-%m-%d", "%H:%M") in page  # Tue ... 07:00 EST
    assert "2026-07-01 08:00 EDT" in page and "2026-12-01 07:00 EST" in page

    changes = {"time_zone": "Europe/Berlin", "date_format": "dmy_dots"}
    assert client.post("/settings/", form(**changes)).status_code == 302
    page = client.get("/users/").content.decode()
    assert written(summer, "Europe/Berlin", "%d.%m.%Y", "%H:%M") in page
    assert written(winter, "Europe/Berlin", "%d.%m.%Y", "%H:%M") in page
    assert "01.07.2026 14:00 CEST" in page and "01.12.2026 13:00 CET" in page
    assert not re.search(r"\b(EDT|EST)\b", page)

    assert client.post("/settings/", form(**changes, time_format="12h")).status_code == 302
    page = client.get("/users/").content.decode()
    assert written(summer, "Europe/Berlin", "%d.%m.%Y", "%I:%M %p") in page  # 02:00 PM CEST


def test_a_moment_near_midnight_falls_on_the_clinic_day_of_its_zone(admin: User) -> None:
    """The day filter writes the clinic's calendar day of a moment, not the UTC one."""
    late = datetime.combine(NOW.date(), time(3, 30), tzinfo=UTC)  # evening before in New York
    template = Template("{% load clinic_time %}{{ t|day }}|{{ t|clock }}|{{ t|moment }}")
    new_york = late.astimezone(ZoneInfo("America/New_York"))
    assert template.render(Context({"t": late})) == (
        f"{new_york:%a %Y-%m-%d}|{new_york:%H:%M}|{new_york:%a %Y-%m-%d %H:%M %Z}"
    )
    settings_service.update_settings(admin, expected_version=1, time_zone="Asia/Tokyo")
    tokyo = late.astimezone(ZoneInfo("Asia/Tokyo"))
    assert tokyo.date() != new_york.date()
    assert template.render(Context({"t": late})) == (
        f"{tokyo:%a %Y-%m-%d}|{tokyo:%H:%M}|{tokyo:%a %Y-%m-%d %H:%M JST}"
    )
    assert Template("{% load clinic_time %}{{ t|day|default:'—' }}").render(Context({})) == "—"


def test_the_dashboard_and_the_calendar_follow_the_clinic_date_and_time_formats(
    admin: User, nurse: User, implant: Implant
) -> None:
    """After the admin changes the formats to month/day/year and a 12-hour clock, the dashboard
    (its day, the refill rows' alarm, refill-by date and visit) and the calendar's week (its
    heading, day headings and refill-by dates) write them so."""
    implant.refresh_from_db()
    visit = Appointment.objects.get(patient_id=implant.episode.patient_id, kind="refill")
    assert implant.alarm_at is not None and implant.refill_by is not None
    assert visit.due_by is not None
    changes = {"date_format": "mdy", "time_format": "12h"}
    assert signed_in(admin).post("/settings/", form(**changes)).status_code == 302

    def day(value: date) -> str:
        return f"{value:%a} {value:%m/%d/%Y}"

    client = signed_in(nurse)
    board = client.get("/").content.decode()
    assert f"<h1>Dashboard <small>{day(TODAY)}" in board
    assert f"<td>{written(implant.alarm_at, ZONE_NAME, '%m/%d/%Y', '%I:%M %p')}</td>" in board
    assert f"<td>{day(implant.refill_by)}" in board
    shown_visit = (
        written(visit.starts_at, ZONE_NAME, "%m/%d/%Y", "%I:%M %p")
        if visit.starts_at
        else day(visit.on)
    )
    assert f"<td>{shown_visit} · {visit.status}" in board

    week = client.get(f"/calendar/?view=week&date={visit.on.isoformat()}").content.decode()
    monday = visit.on - timedelta(days=visit.on.weekday())
    assert f"week of {day(monday)} to {day(monday + timedelta(days=6))}</small>" in week
    assert f'<h2 id="day-{visit.on.isoformat()}">{day(visit.on)}' in week
    assert f"refill by {day(visit.due_by)}" in week
    if visit.starts_at:
        assert f'<span class="time">{visit.starts_at.astimezone(ZONE):%I:%M %p}' in week
    assert not re.search(r"\b\d{4}-\d\d-\d\d\b", re.sub(r"<[^>]*>", "", week))  # no ISO day
