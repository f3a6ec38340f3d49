"""The iCalendar export of the appointments: a valid VCALENDAR, one all-day VEVENT per
appointment with a UID that does not change when the appointment is moved, its version as
SEQUENCE, the export stamped in UTC, a stay spanning its days, and only the patient's name and
the appointment's kind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from icalendar import Calendar

from painpump.clinic.calendar_export import export_between, icalendar_of, uid_of
from painpump.clinic.models import Appointment, AuditEntry, Patient
from painpump.core.errors import Refusal

BERLIN = ZoneInfo("Europe/Berlin")


def booked(patient: Patient, **fields: object) -> Appointment:
    values: dict[str, object] = {"kind": "refill", "on": date(2026, 12, 3), "status": "booked"}
    values.update(fields)
    return Appointment.objects.create(
        patient=patient, note="refill by 2026-12-10 (alarm)", **values
    )


def parsed(*appointments: Appointment, at: datetime) -> Calendar:
    return Calendar.from_ical(icalendar_of(appointments, exported_at=at))


def test_each_appointment_is_an_all_day_event_stamped_in_utc(nurse: User, patient: Patient) -> None:
    refill = booked(patient)
    stay = booked(
        patient,
        kind="admission",
        on=date(2026, 12, 7),
        ends_on=date(2026, 12, 9),
        status="proposed",
    )
    calendar = parsed(refill, stay, at=datetime(2026, 11, 25, 18, 30, tzinfo=BERLIN))
    assert str(calendar["VERSION"]) == "2.0"
    first, second = calendar.walk("VEVENT")
    assert first.decoded("DTSTART") == date(2026, 12, 3)
    assert first.decoded("DTEND") == date(2026, 12, 4)
    assert first["DTSTAMP"].to_ical() == b"20261125T173000Z"
    assert str(first["STATUS"]) == "CONFIRMED"
    assert (second.decoded("DTSTART"), second.decoded("DTEND")) == (
        date(2026, 12, 7),
        date(2026, 12, 10),
    )
    assert str(second["STATUS"]) == "TENTATIVE"
    assert str(second["SUMMARY"]) == "Admission: Muster, Erika"


def test_the_uid_stays_and_the_sequence_grows_when_an_appointment_is_moved(
    nurse: User, patient: Patient
) -> None:
    refill = booked(patient)
    before = parsed(refill, at=datetime.now(UTC)).walk("VEVENT")[0]
    refill.on += timedelta(days=-1)
    refill.version += 1
    after = parsed(refill, at=datetime.now(UTC)).walk("VEVENT")[0]
    assert str(before["UID"]) == str(after["UID"]) == uid_of(refill)
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (1, 2)


def test_a_cancelled_appointment_is_exported_cancelled(nurse: User, patient: Patient) -> None:
    event = parsed(booked(patient, status="cancelled"), at=datetime.now(UTC)).walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"


def test_no_record_number_birth_date_or_note_leaves_the_clinic(
    nurse: User, patient: Patient
) -> None:
    text = icalendar_of([booked(patient)], exported_at=datetime.now(UTC)).decode()
    assert patient.mrn not in text
    assert "1970" not in text
    assert "refill by" not in text


def test_the_export_is_audited_and_refuses_a_period_over_a_year(
    nurse: User, patient: Patient
) -> None:
    booked(patient)
    text = export_between(
        nurse, date(2026, 12, 1), date(2026, 12, 31), exported_at=datetime.now(UTC)
    ).decode()
    assert text.count("BEGIN:VEVENT") == 1
    entry = AuditEntry.objects.get(action="appointment.export")
    assert entry.after == {"patients": [str(patient.id)]}
    with pytest.raises(Refusal, match="makes the period too long"):
        export_between(nurse, date(2026, 1, 1), date(2027, 6, 1), exported_at=datetime.now(UTC))


def test_an_export_larger_than_one_file_carries_is_refused_not_cut_short(
    nurse: User, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("painpump.clinic.calendar_export.EXPORT_ROWS", 2)
    for day in (1, 2, 3):
        booked(patient, on=date(2026, 12, day))
    with pytest.raises(Refusal, match="choose a shorter period"):
        export_between(nurse, date(2026, 12, 1), date(2026, 12, 3), exported_at=datetime.now(UTC))
    assert (
        len(
            export_between(
                nurse, date(2026, 12, 1), date(2026, 12, 2), exported_at=datetime.now(UTC)
            ).split(b"BEGIN:VEVENT")
        )
        == 3
    )
