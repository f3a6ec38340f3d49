"""The appointments calendar as an iCalendar file (RFC 5545) for the team's calendar programs:
one VEVENT per appointment with a UID that stays the same across exports (so a re-import
updates the event instead of duplicating it), its version as SEQUENCE, the export time in UTC.

An appointment with a start is a timed event on the clinic's wall clock (DTSTART/DTEND with the
clinic's TZID and a VTIMEZONE for it), lasting its minutes (or the clinic's refill visit
length); a stay spanning days, or an appointment with no time yet, is an all-day event
(VALUE=DATE) over its days. Only what the team needs to recognise and prepare the visit leaves
the clinic: the kind of visit, the patient's initials and record number (never a full name or a
birth date), and what the visit is for (the refill-by date and the drug, the stay's purpose, an
overdue refill's reason); never the free-text note."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from icalendar import Calendar, Event, Timezone

from painpump.clinic import audit
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Implant, Patient
from painpump.clinic.reads.therapy_queries import check_period
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.locale import ClinicLocale
from painpump.core.pathway.stages import Action

PRODUCT = "-//painpump//appointments//EN"
UID_DOMAIN = "painpump"
EXPORT_ROWS = 5000
"""At most this many appointments in one file; a longer period is refused, never cut short."""
RULES = "painpump calendar export (a period of at most a year, at most 5000 appointments)"
STATUS = {"proposed": "TENTATIVE", "booked": "CONFIRMED", "done": "CONFIRMED"}
VISITS = {"refill": "Refill visit", "admission": "Admission", "follow_up": "Follow-up visit"}
STAYS = {Action.START_TEST_PHASE.value: "a test phase", Action.IMPLANT.value: "implantation"}
"""What an admission is for (Appointment.stay), as the export says it."""


def uid_of(appointment: Appointment) -> str:
    """Stable for the life of the appointment: its id, which never changes."""
    return f"appointment-{appointment.id}@{UID_DOMAIN}"


def _initials(patient: Patient) -> str:
    """The given names' initials and the family name's ("E. M."): enough to tell two patients
    of one day apart with the record number, too little to name one."""
    parts = [*patient.given_name.split(), patient.family_name.strip()]
    return " ".join(f"{part[0].upper()}." for part in parts if part)


def summary_of(appointment: Appointment) -> str:
    """The visit, the patient's initials and record number: "Refill visit · E. M. · MRN-0001"."""
    visit = VISITS.get(appointment.kind, appointment.kind.replace("_", " ").capitalize())
    patient = appointment.patient
    return f"{visit} · {_initials(patient)} · {patient.mrn}"


def _stay(appointment: Appointment) -> str:
    purpose = STAYS.get(appointment.stay)
    return f"for {purpose}" if purpose else "for a hospital stay"


def description_of(appointment: Appointment, locale: ClinicLocale, drugs: str = "") -> str:
    """What the visit is: a refill of the pump by its refill-by date (with the drug in the pump
    when known), an admission for a test phase or an implantation with its planned discharge,
    an overdue refill with the reason recorded for it."""
    if appointment.kind == "admission":
        said = f"Admission {_stay(appointment)}"
        if appointment.ends_on is not None and appointment.ends_on != appointment.on:
            said += f", planned discharge {locale.format_date(appointment.ends_on)}"
        return said + "."
    if appointment.kind == "refill":
        said = "Refill of the pump"
        if drugs:
            said += f" ({drugs.replace('+', ' + ')})"
        if appointment.due_by is not None:
            said += f" by its refill-by date {locale.format_date(appointment.due_by)}"
        said += "."
        if appointment.overdue:
            reason = appointment.late_reason.strip() or (
                "no open day of the clinic remains before the refill-by date: book the nearest "
                "open slot with a recorded reason, or an extra slot"
            )
            said += f" OVERDUE: after the refill-by date; {reason}."
        return said
    return "Follow-up visit." if appointment.kind == "follow_up" else "Clinic visit."


def _minutes(appointment: Appointment, refill_minutes: int) -> int | None:
    if appointment.minutes:
        return appointment.minutes
    return None if appointment.kind == "admission" else refill_minutes


def _times(
    event: Event, appointment: Appointment, locale: ClinicLocale, refill_minutes: int
) -> bool:
    """DTSTART and DTEND of the event; True when it is timed (on the clinic's wall clock)."""
    last = appointment.ends_on or appointment.on
    starts = appointment.starts_at
    if starts is None or last > appointment.on:  # no time yet, or a stay over several days
        event.add("dtstart", appointment.on)
        event.add("dtend", last + timedelta(days=1))
        return False
    event.add("dtstart", locale.local(starts))
    minutes = _minutes(appointment, refill_minutes)
    if minutes:
        event.add("dtend", locale.local(starts + timedelta(minutes=minutes)))
    return True


def _drugs_by_patient(patients: Iterable[UUID]) -> dict[UUID, str]:
    """The drugs of the last fill of each patient's pump in place ("morphine+clonidine")."""
    found: dict[UUID, str] = {}
    implants = (
        Implant.objects.filter(episode__patient_id__in=set(patients), explanted_on__isnull=True)
        .exclude(drug_names="")
        .order_by("implanted_on", "created_at")
        .values_list("episode__patient_id", "drug_names")
    )
    for patient_id, names in implants:
        found[patient_id] = names  # the newest implant wins
    return found


def _timezone(locale: ClinicLocale, days: Sequence[date]) -> Timezone:
    """The clinic's zone as a VTIMEZONE covering the years of the events (and the year around)."""
    first, last = min(days), max(days)
    return Timezone.from_tzid(
        locale.zone.key,
        first_date=date(first.year - 1, 1, 1),
        last_date=date(last.year + 2, 1, 1),
    )


def icalendar_of(
    appointments: Iterable[Appointment],
    *,
    exported_at: datetime,
    locale: ClinicLocale | None = None,
    drugs: Mapping[UUID, str] | None = None,
) -> bytes:
    """The appointments (patients selected with them) as one VCALENDAR, in the clinic's locale
    (default: the clinic's settings) with the drug in each patient's pump (default: looked up)."""
    settings = clinic_settings()
    locale = locale or locale_of(settings)
    found = list(appointments)
    if drugs is None:
        drugs = _drugs_by_patient(a.patient_id for a in found)
    stamp = exported_at.astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    timed: list[date] = []
    events = []
    for appointment in found:
        event = Event()
        event.add("uid", uid_of(appointment))
        event.add("dtstamp", stamp)
        if _times(event, appointment, locale, settings.refill_visit_minutes):
            timed.append(appointment.on)
        event.add("summary", summary_of(appointment))
        description = description_of(appointment, locale, drugs.get(appointment.patient_id, ""))
        event.add("description", description)
        event.add("sequence", appointment.version)
        event.add("status", STATUS.get(appointment.status, "CANCELLED"))
        event.add("transp", "TRANSPARENT")
        events.append(event)
    if timed:
        calendar.add_component(_timezone(locale, timed))
    for event in events:
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
        .order_by("on", "starts_at", "patient__family_name", "id")[: EXPORT_ROWS + 1]
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
