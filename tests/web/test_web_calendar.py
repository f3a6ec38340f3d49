"""The appointments calendar through the test client: the week and the month with each
appointment linking to its patient, moving and cancelling at the version shown (a stale one is
a 409), a non-working day refused next to the field, read-only roles, and the iCalendar export."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from icalendar import Calendar

from clinic_format import written_day
from frozen import NOW, TODAY
from painpump.clinic.actions import settings_service
from painpump.clinic.models import Appointment, Implant
from painpump.core.scheduling import ClinicCalendar
from painpump.web.templatetags.wording import dated
from report_scenario import measured_to_two_places


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refill_of(implant: Implant) -> Appointment:
    return Appointment.objects.get(patient_id=implant.episode.patient_id, kind="refill")


def working_day_before(day: date, skip: int = 1) -> date:
    calendar = ClinicCalendar("US")
    found = day - timedelta(days=skip)
    while not calendar.is_working_day(found):
        found -= timedelta(days=1)
    return found


def test_the_week_lists_the_refill_linking_to_its_patient(nurse: User, implant: Implant) -> None:
    appointment = refill_of(implant)
    response = signed_in(nurse).get(f"/calendar/?view=week&date={appointment.on.isoformat()}")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="/patients/{implant.episode.patient_id}/"' in page
    assert "Muster, Erika" in page
    assert f'action="/calendar/appointments/{appointment.id}/"' in page
    assert '<a href="/calendar/" aria-current="page">Calendar</a>' in page


def test_each_status_has_its_own_style_and_the_refill_by_date_is_written_once(
    nurse: User, implant: Implant
) -> None:
    appointment = refill_of(implant)
    week = f"/calendar/?view=week&date={appointment.on.isoformat()}"
    client = signed_in(nurse)
    page = client.get(week).content.decode()
    assert '<span class="badge state-proposed">proposed</span>' in page
    assert "badge warn" not in page
    assert assert_due_by_written_once(page, appointment)
    change(client, appointment, "book", None, appointment.version)
    assert '<span class="badge state-booked">booked</span>' in client.get(week).content.decode()
    appointment.refresh_from_db()
    change(client, appointment, "cancel", appointment.on, appointment.version)
    assert 'class="badge state-cancelled">cancelled<' in client.get(week).content.decode()


def assert_due_by_written_once(page: str, appointment: Appointment) -> bool:
    assert appointment.due_by is not None
    written = written_day(appointment.due_by)
    detail = page.split('<p class="detail">')[1].split("</p>")[0]
    # once as the clinic writes days, and nowhere else as the stored ISO day
    return detail.count(written) == 1 and appointment.due_by.isoformat() not in detail.replace(
        written, ""
    )


def test_a_refill_done_early_is_shown_done_on_the_day_it_was_done(
    nurse: User, implant: Implant
) -> None:
    planned = refill_of(implant)
    refill = measured_to_two_places(nurse, implant)  # on day 60, before the day planned
    client = signed_in(nurse)
    done_day = refill.performed_at.date()
    page = client.get(f"/calendar/?view=week&date={done_day.isoformat()}").content.decode()
    assert f'data-testid="appointment-{planned.id}"' in page
    assert '<span class="badge state-done">done</span>' in page
    later = client.get(f"/calendar/?view=week&date={planned.on.isoformat()}").content.decode()
    assert f'data-testid="appointment-{planned.id}"' not in later


def test_the_month_grid_shows_the_refill_and_navigates(nurse: User, implant: Implant) -> None:
    appointment = refill_of(implant)
    day = appointment.on
    page = signed_in(nurse).get(f"/calendar/?view=month&date={day.isoformat()}").content.decode()
    assert day.strftime("%B %Y") in page
    assert f'href="/patients/{implant.episode.patient_id}/"' in page
    first = day.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    assert f'href="/calendar/?view=month&amp;date={previous.isoformat()}"' in page


LATE = "first free slot the patient can come"
"""The `implant` fixture's pump is past its refill-by date: its visit is booked with a reason."""


def change(
    client: Client,
    appointment: Appointment,
    do: str,
    on: date | None,
    version: int,
    slot: str = "",
    late_reason: str = LATE,
) -> Any:
    prefix = str(appointment.id)
    return client.post(
        f"/calendar/appointments/{appointment.id}/",
        {
            f"{prefix}-version": version,
            f"{prefix}-slot": slot,
            f"{prefix}-on": on.isoformat() if on else "",
            f"{prefix}-late_reason": late_reason,
            f"{prefix}-do": do,
            f"{prefix}-view": "week",
            f"{prefix}-day": appointment.on.isoformat(),
        },
    )


def offered_slots(page: str, appointment: Appointment) -> list[str]:
    """The free slots the page offers for moving the appointment (option values)."""
    select = page.split(f'name="{appointment.id}-slot"')[1].split("</select>")[0]
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


def test_a_nurse_moves_a_refill_to_a_free_slot_the_calendar_offers(
    nurse: User, implant: Implant
) -> None:
    appointment = refill_of(implant)
    client = signed_in(nurse)
    page = client.get(f"/calendar/?view=week&date={appointment.on.isoformat()}").content.decode()
    slots = offered_slots(page, appointment)
    assert appointment.starts_at is not None and appointment.starts_at.isoformat() not in slots
    assert len(slots) > 1 and all(datetime.fromisoformat(s) > NOW for s in slots)
    unreasoned = change(client, appointment, "move", None, appointment.version, slots[1], "")
    assert unreasoned.status_code == 422 and "is missing" in unreasoned.content.decode()
    response = change(client, appointment, "move", None, appointment.version, slots[1])
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == datetime.fromisoformat(slots[1])
    assert (appointment.version, appointment.late_reason) == (2, LATE)


def test_a_move_into_the_past_is_refused_and_changes_nothing(nurse: User, implant: Implant) -> None:
    appointment = refill_of(implant)
    yesterday = working_day_before(TODAY)
    response = change(signed_in(nurse), appointment, "move", yesterday, appointment.version)
    assert response.status_code == 422
    assert "is in the past" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.version == 1


def test_a_move_at_a_stale_version_is_a_409_and_changes_nothing(
    nurse: User, physician: User, implant: Implant
) -> None:
    appointment = refill_of(implant)
    target = working_day_before(appointment.on + timedelta(days=10))
    change(signed_in(physician), appointment, "book", None, appointment.version)
    response = change(signed_in(nurse), appointment, "move", target, appointment.version)
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    appointment.refresh_from_db()
    assert (appointment.on, appointment.status) == (refill_of(implant).on, "booked")


def test_a_move_to_a_sunday_is_refused_next_to_the_date(nurse: User, implant: Implant) -> None:
    appointment = refill_of(implant)
    sunday = appointment.on + timedelta(days=6 - appointment.on.weekday())
    response = change(signed_in(nurse), appointment, "move", sunday, appointment.version)
    page = response.content.decode()
    assert response.status_code == 422
    assert "is not a working day" in page
    assert page.index("is not a working day") > page.index(f'id="id_{appointment.id}-on"')
    appointment.refresh_from_db()
    assert appointment.version == 1


def test_a_physician_cancels_an_appointment(physician: User, implant: Implant) -> None:
    appointment = refill_of(implant)
    change(signed_in(physician), appointment, "cancel", appointment.on, appointment.version)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_an_auditor_sees_the_calendar_without_forms_and_may_not_change_it(
    auditor: User, implant: Implant
) -> None:
    appointment = refill_of(implant)
    client = signed_in(auditor)
    page = client.get(f"/calendar/?date={appointment.on.isoformat()}").content.decode()
    assert "Muster, Erika" in page
    assert "/calendar/appointments/" not in page
    response = change(client, appointment, "cancel", appointment.on, appointment.version)
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == "proposed"


def test_an_admin_has_no_calendar(admin: User) -> None:
    client = signed_in(admin)
    assert client.get("/calendar/").status_code == 403
    assert client.get("/calendar.ics?from=2026-01-01&to=2026-01-31").status_code == 403


def test_a_bad_view_or_date_is_refused(nurse: User) -> None:
    client = signed_in(nurse)
    assert client.get("/calendar/?view=year").status_code == 422
    assert client.get("/calendar/?date=25.11.2026").status_code == 422


def export(client: Client, start: date, end: date) -> Calendar:
    response = client.get(f"/calendar.ics?from={start.isoformat()}&to={end.isoformat()}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    return Calendar.from_ical(response.content)


def response_text(client: Client, start: date, end: date) -> str:
    text: str = client.get(f"/calendar.ics?from={start}&to={end}").content.decode()
    return text


def test_the_export_is_a_calendar_with_one_event_per_appointment_and_stable_uids(
    nurse: User, implant: Implant
) -> None:
    appointment = refill_of(implant)
    client = signed_in(nurse)
    start, end = appointment.on - timedelta(days=3), appointment.on + timedelta(days=3)
    first, second = export(client, start, end), export(client, start, end)
    events = first.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["UID"]) == f"appointment-{appointment.id}@painpump"
    assert [str(e["UID"]) for e in second.walk("VEVENT")] == [str(event["UID"])]
    assert event.decoded("DTSTART") == appointment.starts_at
    assert str(event["SUMMARY"]) == "Refill visit · E. M. · MRN-0001"
    stamps = re.findall(r"^DTSTAMP:\d{8}T\d{6}(Z?)\r?$", response_text(client, start, end), re.M)
    assert stamps == ["Z"]


def test_the_export_carries_no_full_name_or_clinical_note(nurse: User, implant: Implant) -> None:
    appointment = refill_of(implant)
    response = signed_in(nurse).get(
        f"/calendar.ics?from={appointment.on.isoformat()}&to={appointment.on.isoformat()}"
    )
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR")
    assert "Muster" not in text and "Erika" not in text
    assert "LOT-" not in text and "mcg" not in text


def test_an_export_without_dates_or_backwards_is_refused(nurse: User) -> None:
    client = signed_in(nurse)
    assert client.get("/calendar.ics").status_code == 422
    response = client.get("/calendar.ics?from=2026-02-01&to=2026-01-01")
    assert response.status_code == 422
    assert "on or after from" in response.content.decode()


def test_days_in_a_note_are_written_as_the_clinic_writes_days(admin: User) -> None:
    moved = date(2026, 11, 30)
    assert dated("moved from 2026-11-30 by a dose change") == (
        f"moved from {written_day(moved)} by a dose change"
    )
    settings_service.update_settings(admin, expected_version=1, date_format="dmy_dots")
    assert written_day(moved) == "Mon 30.11.2026"
    assert dated("moved from 2026-11-30 by a dose change") == (
        "moved from Mon 30.11.2026 by a dose change"
    )
    assert dated("lot 2026-13-45") == "lot 2026-13-45"
    assert dated("no day in it") == "no day in it"


def test_a_slot_that_is_no_moment_is_refused_next_to_the_field(
    nurse: User, implant: Implant
) -> None:
    appointment = refill_of(implant)
    for garbage in ("garbage", "9999-12-31T23:00:00+00:00", "2026-12-07T09:00"):
        response = change(signed_in(nurse), appointment, "move", None, appointment.version, garbage)
        assert response.status_code == 422, garbage
        appointment.refresh_from_db()
        assert appointment.version == 1
