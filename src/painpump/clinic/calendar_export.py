"""The appointments calendar as an iCalendar file (RFC 5545) for the team's calendar programs:
one VEVENT per appointment with a UID that stays the same across exports (so a re-import
updates the event instead of duplicating it), its version as SEQUENCE, the export time in UTC.
An appointment is a day, not a time, so it is an all-day event (VALUE=DATE, which carries no
time zone); a hospital stay spans its planned days. Only what the team needs to recognise it
leaves the clinic: the patient's name and the appointment's kind, no record number or
clinical note."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from icalendar import Calendar, Event

from painpump.clinic import audit
from painpump.clinic.models import Appointment
from painpump.clinic.roles import require
from painpump.clinic.therapy_queries import check_period
from painpump.core.errors import Refusal

PRODUCT = "-//painpump//appointments//EN"
UID_DOMAIN = "painpump"
EXPORT_ROWS = 5000
"""At most this many appointments in one file; a longer period is refused, never cut short."""
RULES = "painpump calendar export (a period of at most a year, at most 5000 appointments)"
STATUS = {"proposed": "TENTATIVE", "booked": "CONFIRMED", "done": "CONFIRMED"}
KINDS = dict(Appointment.Kind.choices)


def uid_of(appointment: Appointment) -> str:
    """Stable for the life of the appointment: its id, which never changes."""
    return f"appointment-{appointment.id}@{UID_DOMAIN}"


def summary_of(appointment: Appointment) -> str:
    kind = KINDS.get(appointment.kind, appointment.kind)
    patient = appointment.patient
    return f"{kind}: {patient.family_name}, {patient.given_name}"


def icalendar_of(appointments: Iterable[Appointment], *, exported_at: datetime) -> bytes:
    """The appointments (patients selected with them) as one VCALENDAR."""
    stamp = exported_at.astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    for appointment in appointments:
        event = Event()
        event.add("uid", uid_of(appointment))
        event.add("dtstamp", stamp)
        event.add("dtstart", appointment.on)
        last = appointment.ends_on or appointment.on
        event.add("dtend", last + timedelta(days=1))
        event.add("summary", summary_of(appointment))
        event.add("sequence", appointment.version)
        event.add("status", STATUS.get(appointment.status, "CANCELLED"))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    exported: bytes = calendar.to_ical()
    return exported


@transaction.atomic
def export_between(user: User, start: date, end: date, *, exported_at: datetime) -> bytes:
    """Every appointment from `start` to `end` (both included) as one file, audited with the
    patients it names; refused when the period is backwards, longer than a year, or holds more
    appointments than one file carries."""
    actor = require(user, "patient.read")
    check_period(start, end, RULES)
    found = list(
        Appointment.objects.filter(on__gte=start, on__lte=end)
        .select_related("patient")
        .order_by("on", "patient__family_name", "id")[: EXPORT_ROWS + 1]
    )
    if len(found) > EXPORT_ROWS:
        raise Refusal(
            "to",
            end.isoformat(),
            f"at most {EXPORT_ROWS} appointments in one file",
            RULES,
            "makes the export too large: choose a shorter period",
        )
    audit.record(
        actor,
        "appointment.export",
        "appointment",
        f"{start.isoformat()}/{end.isoformat()}",
        after={"patients": sorted({str(a.patient_id) for a in found})},
    )
    return icalendar_of(found, exported_at=exported_at)
