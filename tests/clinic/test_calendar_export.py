"""The iCalendar export of the appointments: a valid VCALENDAR (parsed back with icalendar); an
appointment with a start is a timed event on the clinic's wall clock (TZID and a VTIMEZONE for
the clinic's zone), one without a time or a stay over several days is all-day; the UID does not
change when the appointment is moved and its version is the SEQUENCE; the export is stamped in
UTC; the summary names the visit with the patient's initials and record number and no part of
the name; the description says what the visit is for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from icalendar import Calendar

from frozen import ZONE, ZONE_NAME, at, day
from painpump.clinic.models import Appointment, AuditEntry, ClinicSettings, Implant, Patient
from painpump.clinic.reads.calendar_export import export_between, icalendar_of, uid_of
from painpump.core.errors import Refusal

BERLIN = ZoneInfo("Europe/Berlin")


def booked(patient: Patient, **fields: object) -> Appointment:
    values: dict[str, object] = {
        "kind": "refill",
        "on": day(8),
        "due_by": day(15),
        "status": "booked",
        "note": "limited by the reservoir (alarm)",
    }
    values.update(fields)
    appointment = Appointment.objects.create(patient=patient, **values)
    appointment.refresh_from_db()  # as the export reads it: starts_at back from the database
    return appointment


def parsed(*appointments: Appointment, at: datetime) -> Calendar:
    return Calendar.from_ical(icalendar_of(appointments, exported_at=at))


def test_an_appointment_without_a_time_is_all_day_and_a_stay_spans_its_days(
    nurse: User, patient: Patient
) -> None:
    refill = booked(patient)
    stay = booked(
        patient,
        kind="admission",
        on=day(12),
        ends_on=day(14),
        due_by=None,
        status="proposed",
        starts_at=at(12, 8, 0),
        note="Test phase, bolus protocol",
        stay="start_test_phase",
    )
    calendar = parsed(refill, stay, at=datetime(2026, 11, 25, 18, 30, tzinfo=BERLIN))
    assert str(calendar["VERSION"]) == "2.0"
    first, second = calendar.walk("VEVENT")
    assert first.decoded("DTSTART") == day(8)
    assert first.decoded("DTEND") == day(9)
    assert first["DTSTAMP"].to_ical() == b"20261125T173000Z"
    assert str(first["STATUS"]) == "CONFIRMED"
    # a stay over several days stays all-day from admission to discharge, even with a start
    assert (second.decoded("DTSTART"), second.decoded("DTEND")) == (day(12), day(15))
    assert str(second["STATUS"]) == "TENTATIVE"
    assert not calendar.walk("VTIMEZONE")  # no timed event, no zone needed


def test_a_timed_appointment_starts_and_ends_on_the_clinics_wall_clock_with_its_vtimezone(
    nurse: User, patient: Patient
) -> None:
    refill = booked(patient, starts_at=at(8, 9, 30), minutes=45)
    calendar = parsed(refill, at=datetime.now(UTC))
    (event,) = calendar.walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert event["DTSTART"].params["TZID"] == ZONE_NAME
    assert event["DTEND"].params["TZID"] == ZONE_NAME
    assert (start.date(), start.hour, start.minute) == (day(8), 9, 30)
    assert start == at(8, 9, 30) and end == at(8, 10, 15)
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == ZONE_NAME
    text = icalendar_of([refill], exported_at=datetime.now(UTC)).decode()
    assert f"DTSTART;TZID={ZONE_NAME}:{day(8):%Y%m%d}T093000" in text
    assert "T143000Z" not in text and "T133000Z" not in text  # not written as UTC


def test_a_timed_refill_without_a_length_lasts_the_clinics_refill_visit(
    nurse: User, patient: Patient
) -> None:
    ClinicSettings.objects.update_or_create(id=1, defaults={"refill_visit_minutes": 20})
    refill = booked(patient, starts_at=at(8, 14, 0))
    (event,) = parsed(refill, at=datetime.now(UTC)).walk("VEVENT")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=20)
    assert event.decoded("DTEND") == at(8, 14, 20)


def test_visits_after_either_daylight_saving_change_keep_their_wall_clock_and_length(
    nurse: User, patient: Patient
) -> None:
    # 2 November 2026 and 9 March 2026 are the New York Mondays after the autumn and spring change
    autumn = booked(patient, on=date(2026, 11, 2), starts_at=datetime(2026, 11, 2, 9, tzinfo=ZONE))
    spring = booked(patient, on=date(2026, 3, 9), starts_at=datetime(2026, 3, 9, 9, tzinfo=ZONE))
    calendar = parsed(autumn, spring, at=datetime.now(UTC))
    for event in calendar.walk("VEVENT"):
        start = event.decoded("DTSTART")
        assert (start.hour, start.minute) == (9, 0)
        assert event.decoded("DTEND") - start == timedelta(minutes=30)
    assert [e.decoded("DTSTART").utcoffset() for e in calendar.walk("VEVENT")] == [
        timedelta(hours=-5),
        timedelta(hours=-4),
    ]
    assert len(calendar.walk("VTIMEZONE")) == 1


def test_the_summary_names_the_visit_with_initials_and_record_number_only(
    nurse: User, patient: Patient
) -> None:
    refill = booked(patient, starts_at=at(8, 9, 0))
    stay = booked(patient, kind="admission", on=day(12), ends_on=day(14), due_by=None)
    calendar = parsed(refill, stay, at=datetime.now(UTC))
    first, second = calendar.walk("VEVENT")
    assert str(first["SUMMARY"]) == "Refill visit · E. M. · MRN-0001"
    assert str(second["SUMMARY"]) == "Admission · E. M. · MRN-0001"


def test_no_full_name_birth_date_or_note_leaves_the_clinic(nurse: User, patient: Patient) -> None:
    note = "patient prefers the left side, call her daughter first"
    text = icalendar_of(
        [booked(patient, note=note, starts_at=at(8, 9, 0))], exported_at=datetime.now(UTC)
    ).decode()
    unfolded = text.replace("\r\n ", "")
    assert "Muster" not in unfolded and "Erika" not in unfolded
    born = patient.birth_date  # its year alone can stand in a VTIMEZONE rule's DTSTART
    assert born.isoformat() not in unfolded and f"{born:%Y%m%d}" not in unfolded
    assert f"{born:%d.%m.%Y}" not in unfolded
    assert "daughter" not in unfolded
    assert "MRN-0001" in unfolded


def test_the_description_says_what_a_refill_is_for_with_the_drug_and_refill_by_date(
    nurse: User, implant: Implant
) -> None:
    patient = implant.episode.patient
    refill = booked(patient, starts_at=at(8, 9, 0))
    (event,) = parsed(refill, at=datetime.now(UTC)).walk("VEVENT")
    assert str(event["DESCRIPTION"]) == (
        f"Refill of the pump (baclofen) by its refill-by date {day(15).isoformat()}."
    )


def test_the_description_says_an_admission_is_for_a_test_phase_or_an_implantation(
    nurse: User, patient: Patient
) -> None:
    test_phase = booked(
        patient,
        kind="admission",
        on=day(12),
        ends_on=day(14),
        due_by=None,
        note="Test phase, bolus protocol",
        stay="start_test_phase",
    )
    implantation = booked(
        patient,
        kind="admission",
        on=day(40),
        ends_on=day(42),
        due_by=None,
        note="Implantation",
        stay="implant",
    )
    first, second = parsed(test_phase, implantation, at=datetime.now(UTC)).walk("VEVENT")
    assert str(first["DESCRIPTION"]) == (
        f"Admission for a test phase, planned discharge {day(14).isoformat()}."
    )
    assert str(second["DESCRIPTION"]) == (
        f"Admission for implantation, planned discharge {day(42).isoformat()}."
    )


def test_an_overdue_refill_says_so_with_its_reason(nurse: User, patient: Patient) -> None:
    late = booked(
        patient,
        on=day(16),
        due_by=day(15),
        overdue=True,
        late_reason="the patient is abroad until then; pump checked by phone",
        starts_at=at(16, 9, 0),
    )
    urgent = booked(patient, on=day(16), due_by=day(15), overdue=True, status="proposed")
    first, second = parsed(late, urgent, at=datetime.now(UTC)).walk("VEVENT")
    assert "OVERDUE: after the refill-by date; the patient is abroad until then" in str(
        first["DESCRIPTION"]
    )
    assert "OVERDUE" in str(second["DESCRIPTION"])
    assert "book the nearest open slot" in str(second["DESCRIPTION"])


def test_dates_in_the_description_follow_the_clinics_date_format(
    nurse: User, patient: Patient
) -> None:
    ClinicSettings.objects.update_or_create(id=1, defaults={"date_format": "dmy_dots"})
    (event,) = parsed(booked(patient), at=datetime.now(UTC)).walk("VEVENT")
    assert f"refill-by date {day(15):%d.%m.%Y}." in str(event["DESCRIPTION"])


def test_the_uid_stays_and_the_sequence_grows_when_an_appointment_is_moved(
    nurse: User, patient: Patient
) -> None:
    refill = booked(patient, starts_at=at(8, 9, 0))
    before = parsed(refill, at=datetime.now(UTC)).walk("VEVENT")[0]
    refill.on += timedelta(days=-1)
    refill.starts_at = at(7, 11, 0)
    refill.version += 1
    after = parsed(refill, at=datetime.now(UTC)).walk("VEVENT")[0]
    assert str(before["UID"]) == str(after["UID"]) == uid_of(refill)
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (1, 2)
    assert after.decoded("DTSTART") == at(7, 11, 0)


def test_a_cancelled_appointment_is_exported_cancelled(nurse: User, patient: Patient) -> None:
    event = parsed(booked(patient, status="cancelled"), at=datetime.now(UTC)).walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"


def test_the_export_is_audited_and_refuses_a_period_over_a_year(
    nurse: User, patient: Patient
) -> None:
    booked(patient, starts_at=at(8, 9, 0))
    text = export_between(nurse, day(1), day(31), exported_at=datetime.now(UTC)).decode()
    assert text.count("BEGIN:VEVENT") == 1
    assert text.count("BEGIN:VTIMEZONE") == 1
    entry = AuditEntry.objects.get(action="appointment.export")
    assert entry.after == {"patients": [str(patient.id)]}
    with pytest.raises(Refusal, match="makes the period too long"):
        export_between(nurse, day(1), day(400), exported_at=datetime.now(UTC))


def test_an_export_larger_than_one_file_carries_is_refused_not_cut_short(
    nurse: User, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("painpump.clinic.reads.calendar_export.EXPORT_ROWS", 2)
    for offset in (1, 2, 3):
        booked(patient, on=day(offset))
    with pytest.raises(Refusal, match="choose a shorter period"):
        export_between(nurse, day(1), day(3), exported_at=datetime.now(UTC))
    assert (
        len(
            export_between(nurse, day(1), day(2), exported_at=datetime.now(UTC)).split(
                b"BEGIN:VEVENT"
            )
        )
        == 3
    )
