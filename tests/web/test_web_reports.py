"""The PDF reports as downloaded: the session report of a refill that changed the concentration
(unverified, then verified) and the clinician summary, read back with pypdf so the content is
asserted, not just the file type; every moment a person reads is on the clinic's wall clock with
its zone's abbreviation (never UTC) and every date in the clinic's format, the chart's time axis
counts the clinic's days; every reading role may download them, an admin may not, an unknown id
is a 404, and each download is audited."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic_fixtures import single_bolus_programmed
from frozen import NOW, TODAY, ZONE
from frozen import day as clinic_day
from painpump.clinic.actions import alarms, patients
from painpump.clinic.actions.readbacks import close_incident, record_readback
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import (
    AlarmReport,
    Assessment,
    AuditEntry,
    ClinicSettings,
    Implant,
    Incident,
    Patient,
    Program,
    Refill,
)
from painpump.clinic.reads import report_data
from painpump.clinic.testing import CARRIED_OVER
from painpump.core.prescription import FluidChange, PrescribedProgram
from painpump.core.prescription_compare import FluidChangeShown, Readback
from painpump.core.units import Kind, parse
from painpump.web.reports import charts
from report_scenario import (
    DAY_60,
    PRESCRIBED_AT,
    changed_concentration,
    first_fill_on_the_prescribers_reason,
    history,
    measured_to_two_places,
    verified,
)

pytestmark = pytest.mark.django_db

UNKNOWN = "00000000-0000-0000-0000-000000000000"
BERLIN = ZoneInfo("Europe/Berlin")


def clinic_clock(moment: datetime) -> str:
    """A moment as the test clinic writes it (ISO dates, 24 h, New York): "2026-10-31 05:00 EDT"."""
    return f"{moment.astimezone(ZONE):%Y-%m-%d %H:%M %Z}"


def clinic_date(moment: datetime) -> str:
    """The test clinic's day of a moment, as it writes it (ISO)."""
    return moment.astimezone(ZONE).date().isoformat()


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace collapsed (PDF text runs break lines anywhere)."""
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _download(user: User, url: str) -> tuple[str, str]:
    response = _client(user).get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response["Cache-Control"] == "no-store"
    return response["Content-Disposition"], pdf_text(response.content)


def _refill_url(refill: Refill) -> str:
    return reverse("web:refill-report", args=[refill.id])


def _summary_url(implant: Implant) -> str:
    return reverse("web:patient-summary-report", args=[implant.episode.patient_id])


def _printed_locally(text: str) -> None:
    """The print time reads on the clinic's clock, in its zone, and no moment says UTC."""
    zone = NOW.astimezone(ZONE).tzname()
    assert re.search(rf"Printed {TODAY.isoformat()} \d\d:\d\d {zone}", text), text[:200]
    assert "UTC" not in text


def test_the_session_report_of_an_unverified_concentration_change(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = changed_concentration(nurse, implant)
    disposition, text = _download(physician, _refill_url(refill))
    # the file is named with the clinic's day of the refill
    assert disposition == f'attachment; filename="refill-MRN-0001-{clinic_date(DAY_60)}.pdf"'
    for shown in [
        "Refill and programming session",
        "Muster, Erika",
        "MRN-0001",
        implant.episode.patient.birth_date.isoformat(),
        "Medtronic SynchroMed II, 20 mL (8637-20)",
        "NGP123456H",
        "8709SC",
        "60 cm",
        "Dead volume 0.25 mL",
        # what was in the pump, the verdict, its reason and thresholds
        "Expected residual (pump) 8 mL",
        "Aspirated volume 6 mL",
        "-2 mL",
        "Programmed since last fill 12 mL",
        "Delivery error 16.67 %",
        "OVERINFUSION",
        "suspect overinfusion",
        "Pump accuracy +/-14.5 %",
        "Pocket-fill limit 1 mL (exceeded)",
        # what was put in
        "principal: baclofen 1000 mcg/mL",
        "Volume filled 18 mL",
        "Lot LOT-42",
        # before and after, side by side
        "baclofen 2000 mcg/mL baclofen 1000 mcg/mL changed",
        "Daily dose 400 mcg/day 400 mcg/day",
        "Rate 0.2 mL/day 0.4 mL/day changed",
        "Mode continuous continuous",
        "Programmed by dr.house (refill) nurse.joy (refill)",
        # bridge, warnings, people, next refill
        "0.25 mL of the previous drug",
        "at 0.2 mL/day for 30 hour, then the new program runs at 0.4 mL/day",
        "reconciliation",
        "nurse.joy",
        # 09:00 UTC, read on the New York clinic's clock ("2026-10-31 05:00 EDT")
        f"Performed at {clinic_clock(DAY_60)}",
        f"Refill of {clinic_clock(DAY_60)}",
        "NOT YET VERIFIED",
        f"Refill by {refill.refill_by.isoformat()}",
        "Next refill visit",
        # the prescription executed, its double-check, the readback, the signatures
        "Prescription #2 (Programmed (in force))",
        "half the concentration: a larger volume for the same dose",
        "Double-checked by",
        "accepted",
        "Session awaiting readback.",
        "Nurse (filled and programmed: nurse.joy)",
        # page furniture
        "Page 1 of",
        "painpump is not a medical device",
    ]:
        assert shown in text, shown
    _printed_locally(text)
    assert "Second clinician NOT YET VERIFIED" in text
    assert "synchromed-ii-20" not in text  # the pump by its catalog name, not its key


def test_the_session_report_of_a_verified_change_names_the_second_clinician(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    refill = verified(pharmacist, changed_concentration(nurse, implant))
    _, text = _download(nurse, _refill_url(refill))
    verified_at = clinic_clock(DAY_60 + timedelta(hours=2))
    assert f"Second clinician pharma.cist at {verified_at}" in text
    assert "NOT YET VERIFIED" not in text
    _printed_locally(text)


def test_the_session_report_of_a_first_fill(implant: Implant, nurse: User) -> None:
    refill = Refill.objects.select_related("program__prescription").get()
    _, text = _download(nurse, _refill_url(refill))
    assert "First fill of this pump: there was no residual to aspirate or reconcile." in text
    assert "none (first fill)" in text
    # her established dose, above the label's start, passed with its reason
    assert "max_start_dose" in text and CARRIED_OVER["max_start_dose"] in text
    # passed with the prescriber's reason on a double-checked prescription: nothing to verify
    assert "NOT YET VERIFIED" not in text
    assert "Prescription #1" in text and "pharma.cist" in text


def test_the_session_report_names_who_double_checked_the_prescription_it_executed(
    implant: Implant, nurse: User
) -> None:
    """Regression: a double-checked high-alert prescription's refill printed "Second clinician
    not required" above a blank second clinician's signature line."""
    refill = Refill.objects.select_related("program__prescription").get()
    executed = refill.program.prescription
    assert executed is not None and executed.high_alert and executed.checked_at is not None
    _, text = _download(nurse, _refill_url(refill))
    checked = f"pharma.cist at {clinic_clock(executed.checked_at)}"
    assert "Second clinician not required" not in text
    assert f"Second clinician {checked} (double-checked the prescription before programming" in (
        text
    )
    signatures = text.split("Signatures", 1)[1]
    assert f"Second clinician (double-check: {checked})" in signatures


def test_the_session_report_names_the_prescriber_for_an_override_given_at_prescribing(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """The nurse who filled typed no reason: the override is the physician's, when signing."""
    refill = first_fill_on_the_prescribers_reason(physician, pharmacist, nurse, patient)
    _, text = _download(physician, _refill_url(refill))
    warnings = text.split("Warnings")[1].split("Performed and verified")[0]
    assert CARRIED_OVER["max_start_dose"] in warnings
    assert f"dr.house, {clinic_clock(PRESCRIBED_AT)} at prescribing" in warnings
    assert "nurse.joy" not in warnings
    executed = text.split("Prescription executed")[1].split("What was in the pump")[0]
    assert "Override at prescribing" in executed and "max_start_dose" in executed
    _, summary = _download(physician, reverse("web:patient-summary-report", args=[patient.id]))
    assert (
        f'override max_start_dose: "{CARRIED_OVER["max_start_dose"]}", by dr.house, '
        f"{clinic_clock(PRESCRIBED_AT)}, at prescribing"
    ) in summary


def test_the_session_report_names_the_nurse_who_typed_the_prescribers_very_words(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """Regression: a reason the nurse typed in the prescriber's words was printed as the
    prescriber's, at prescribing."""
    refill = first_fill_on_the_prescribers_reason(
        physician, pharmacist, nurse, patient, typed=CARRIED_OVER
    )
    _, text = _download(physician, _refill_url(refill))
    warnings = text.split("Warnings")[1].split("Performed and verified")[0]
    assert CARRIED_OVER["max_start_dose"] in warnings
    assert f"nurse.joy, {clinic_clock(refill.performed_at)} at the refill" in warnings
    assert "at prescribing" not in warnings


def test_the_clinician_summary_shows_therapy_doses_refills_alarms_and_outcomes(
    implant: Implant, nurse: User, physician: User
) -> None:
    changed_concentration(nurse, implant)
    history(nurse, implant)
    disposition, text = _download(physician, _summary_url(implant))
    pain, ashworth = (
        [clinic_date(a.taken_at) for a in Assessment.objects.filter(kind=kind).order_by("taken_at")]
        for kind in ("pain_nrs", "ashworth")
    )
    assert disposition == f'attachment; filename="summary-MRN-0001-{TODAY.isoformat()}.pdf"'
    for shown in [
        "Clinician summary",
        "Muster, Erika",
        "Spasticity: stroke",
        "Test-phase outcome responder",
        "start test phase",
        implant.implanted_on.isoformat(),
        "NGP123456H",
        "8709SC, 60 cm",
        "Running program: baclofen 1000 mcg/mL: 400 mcg/day at 0.4 mL/day (continuous)",
        "2 programs recorded.",
        f"since {clinic_clock(DAY_60)}",
        "Daily dose of baclofen (mcg/day)",
        "2 refills recorded.",
        "8 mL / 6 mL (-2 mL)",
        "16.67 %",
        "overinfusion",
        "first fill",
        "NOT YET VERIFIED",
        "1 alarm (1 open) recorded.",
        "Low reservoir (single tone)",
        clinic_clock(AlarmReport.objects.get().reported_at),
        "single tone at night",
        "OPEN",
        f"Pain NRS (0-10) 7 on {pain[0]} 3 on {pain[1]}",
        f"left leg 3 on {ashworth[0]} 1 on {ashworth[1]}",
        "painpump is not a medical device",
    ]:
        assert shown in text, shown
    assert re.search(r"Page 1 of \d", text)
    _printed_locally(text)


def test_the_reports_print_in_the_clinics_zone_and_date_and_time_formats(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    ClinicSettings.objects.update_or_create(
        id=1,
        defaults={"time_zone": "Europe/Berlin", "date_format": "dmy_dots", "time_format": "12h"},
    )
    refill = verified(pharmacist, changed_concentration(nurse, implant))
    _, session = _download(nurse, _refill_url(refill))
    # 09:00 UTC on 31 October 2026 (at the default clock) is "31.10.2026 10:00 AM CET"
    performed = f"{DAY_60.astimezone(BERLIN):%d.%m.%Y %I:%M %p %Z}"
    verified_at = f"{(DAY_60 + timedelta(hours=2)).astimezone(BERLIN):%d.%m.%Y %I:%M %p %Z}"
    assert f"Performed at {performed}" in session
    assert f"Second clinician pharma.cist at {verified_at}" in session
    assert f"Refill by {refill.refill_by:%d.%m.%Y} ({refill.refill_by:%a})" in session
    born = implant.episode.patient.birth_date
    assert f"Born {born:%d.%m.%Y} ({born:%a})" in session
    assert f"born {born:%d.%m.%Y}" in session  # the page header
    berlin_now = NOW.astimezone(BERLIN)
    printed = re.escape(f"Printed {berlin_now:%d.%m.%Y} ")
    assert re.search(rf"{printed}\d\d:\d\d [AP]M {berlin_now:%Z}", session)
    assert "UTC" not in session
    assert DAY_60.date().isoformat() not in session
    _, summary = _download(nurse, _summary_url(implant))
    assert performed in summary
    assert "UTC" not in summary


def test_a_moment_late_in_the_clinics_evening_prints_on_the_clinics_day(
    implant: Implant, nurse: User
) -> None:
    # 01:30 UTC three days ago was still the evening before in New York
    reported_at = datetime.combine(clinic_day(-3), time(1, 30), tzinfo=UTC)
    evening = reported_at.astimezone(ZONE)
    assert evening.date() == clinic_day(-4) and evening.hour in (20, 21)
    alarms.report_alarm(
        nurse, implant.id, kind="other", reported_at=reported_at, note="beeps in the evening"
    )
    _, text = _download(nurse, _summary_url(implant))
    assert f"{clinic_day(-4).isoformat()} {evening:%H:%M %Z}" in text
    assert f"{clinic_day(-3).isoformat()} 01:30" not in text


def test_the_charts_time_axis_counts_the_clinics_days(implant: Implant, nurse: User) -> None:
    locale = clinic_locale()
    label = charts.date_label(locale)
    # the spring change in New York: 8 March 2026 has 23 hours
    midnight = datetime(2026, 3, 8, tzinfo=ZONE)
    next_midnight = datetime(2026, 3, 9, tzinfo=ZONE)
    assert next_midnight.astimezone(UTC) - midnight.astimezone(UTC) == timedelta(hours=23)
    start, end = charts.position(locale, midnight), charts.position(locale, next_midnight)
    assert start == int(start) and end - start == 1  # a whole local day apart
    assert label(start) == "2026-03-08" and label(end) == "2026-03-09"
    # 03:30 UTC on 9 March is still the 8th on the clinic's clock
    assert label(charts.position(locale, datetime(2026, 3, 9, 3, 30, tzinfo=UTC))) == "2026-03-08"


def test_volumes_compared_are_printed_to_the_same_decimal_places(
    implant: Implant, nurse: User
) -> None:
    refill = measured_to_two_places(nurse, implant)
    _, session = _download(nurse, _refill_url(refill))
    assert "Expected residual (pump) 8.125 mL" in session
    assert "Aspirated volume 8.100 mL" in session
    assert "Difference (aspirated - expected) -0.025 mL" in session
    _, summary = _download(nurse, _summary_url(implant))
    assert "8.125 mL / 8.100 mL (-0.025 mL)" in summary


def test_regression_a_refill_within_the_accuracy_printed_verdict_none(
    implant: Implant, nurse: User
) -> None:
    _, session = _download(nurse, _refill_url(measured_to_two_places(nurse, implant)))
    assert "within the pump accuracy" in session
    assert "NONE" not in session


def test_a_long_history_says_how_many_entries_it_leaves_out(
    implant: Implant, nurse: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed_concentration(nurse, implant)
    monkeypatch.setattr(report_data, "RECENT_REFILLS", 1)
    _, text = _download(nurse, _summary_url(implant))
    assert "2 refills recorded; the newest 1 are listed here." in text


@pytest.mark.parametrize("role", ["physician", "nurse", "pharmacist", "auditor"])
def test_every_reading_role_downloads_both_reports_and_each_download_is_audited(
    implant: Implant, role: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(role)
    refill = Refill.objects.get()
    _download(user, _refill_url(refill))
    _download(user, _summary_url(implant))
    entries = AuditEntry.objects.filter(actor=user.get_username())
    session = entries.get(action="report.refill_session")
    assert session.object_id == str(refill.id)
    assert session.patient_id == implant.episode.patient_id
    summary = entries.get(action="report.patient_summary")
    assert summary.patient_id == implant.episode.patient_id


def test_an_admin_is_refused_both_reports_with_the_roles_that_may(
    implant: Implant, admin: User
) -> None:
    client = _client(admin)
    for url in (_refill_url(Refill.objects.get()), _summary_url(implant)):
        response = client.get(url)
        assert response.status_code == 403
        assert "may not read patient records" in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="report.").exists()


def test_a_stranger_is_sent_to_sign_in(implant: Implant) -> None:
    response = Client().get(_summary_url(implant))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_unknown_ids_are_404_pages(nurse: User) -> None:
    client = _client(nurse)
    for url in (f"/refills/{UNKNOWN}/report.pdf", f"/patients/{UNKNOWN}/summary.pdf"):
        response = client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")


def test_the_reports_are_read_only(implant: Implant, nurse: User) -> None:
    response = _client(nurse).post(_summary_url(implant))
    assert response.status_code == 405


def test_the_patient_page_links_the_clinician_summary(implant: Implant, nurse: User) -> None:
    page = _client(nurse).get(f"/patients/{implant.episode.patient_id}/").content.decode()
    assert f'href="{_summary_url(implant)}"' in page
    assert "Clinician summary (PDF)" in page


def test_names_beyond_latin_1_and_markup_in_notes_print_as_typed(
    implant: Implant, nurse: User
) -> None:
    patients.create_patient(
        nurse,
        mrn="MRN-0002",
        family_name="Dvořák",
        given_name="Šárka",
        birth_date=date(1980, 2, 29),
        today=date(2026, 11, 25),
    )
    alarms.report_alarm(
        nurse,
        implant.id,
        kind="other",
        reported_at=datetime(2026, 10, 1, 8, 0, tzinfo=UTC),
        note="beeps <b>twice</b> & stops",
    )
    patient = Patient.objects.get(mrn="MRN-0002")
    _, text = _download(nurse, reverse("web:patient-summary-report", args=[patient.id]))
    assert "Dvořák, Šárka" in text
    _, text = _download(nurse, _summary_url(implant))
    assert "beeps <b>twice</b> & stops" in text


def test_the_clinician_summary_prints_the_same_next_visit_as_the_calendar(
    implant: Implant, nurse: User
) -> None:
    from painpump.clinic.models import Appointment

    visit = Appointment.objects.get(kind="refill", status="proposed")
    stored = Implant.objects.get(id=implant.id)
    assert visit.starts_at is not None and stored.refill_by is not None
    _, text = _download(nurse, _summary_url(implant))
    assert "Next refill" in text
    assert clinic_clock(visit.starts_at) in text
    assert stored.refill_by.isoformat() in text


def test_the_session_report_prints_the_readback_and_the_summary_every_prescription(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    refill = changed_concentration(nurse, implant)
    program = refill.program
    bridged = FluidChangeShown(
        FluidChange.BRIDGE,
        parse("0.25 mL", Kind.VOLUME, "v"),
        parse("0.2 mL/day", Kind.VOLUME_RATE, "r"),
    )
    values = Readback(
        parse("18 mL", Kind.VOLUME, "r"),
        (("baclofen", parse("1000 mcg/mL", Kind.CONCENTRATION, "c")),),
        PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
        None,
        bridged,
    )
    record_readback(nurse, program.id, values, DAY_60 + timedelta(minutes=30))
    _, text = _download(pharmacist, _refill_url(refill))
    assert "Read back by" in text and "matches" in text and "Session complete." in text
    # what was read back: the reservoir, the drugs, the program, the PTM and the bridge
    for shown in (
        "reservoir 18 mL",
        "baclofen 1000 mcg/mL",
        "continuous every day: 00:00 400 mcg/day",
        "PTM off",
        "bridge 0.25 mL at 0.2 mL/day",
    ):
        assert shown in text, shown
    assert "Second clinician" in text and "date ____" in text
    _, summary = _download(pharmacist, _summary_url(implant))
    assert "Prescriptions" in summary
    assert "#2 Programmed (in force)" in summary and "#1 Superseded" in summary
    assert "accepted by pharma.cist" in summary


def _read_back(nurse: User, program: Program, reservoir: str, at: datetime) -> None:
    """The nurse's readback of the refill's program: as prescribed but for the reservoir."""
    values = Readback(
        parse(reservoir, Kind.VOLUME, "r"),
        (("baclofen", parse("1000 mcg/mL", Kind.CONCENTRATION, "c")),),
        PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
        None,
        FluidChangeShown(
            FluidChange.BRIDGE,
            parse("0.25 mL", Kind.VOLUME, "v"),
            parse("0.2 mL/day", Kind.VOLUME_RATE, "r"),
        ),
    )
    record_readback(nurse, program.id, values, at)


def test_the_session_report_prints_the_incident_a_differing_readback_opened_and_its_closure(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    """Regression: a differing readback printed "differs: session stopped", then "Session
    complete" after a matching one, without the incident it opened or who closed it."""
    refill = changed_concentration(nurse, implant)
    opened_at = DAY_60 + timedelta(minutes=30)
    _read_back(nurse, refill.program, "12 mL", opened_at)
    incident = Incident.objects.get()
    _, text = _download(pharmacist, _refill_url(refill))
    readback = text.split("Programmer readback", 1)[1].split("Next refill")[0]
    assert "differs: session stopped" in readback
    assert f"Incident opened by nurse.joy at {clinic_clock(opened_at)}: {incident.summary}" in (
        readback
    )
    assert "Incident open: the session stays stopped until a physician closes it" in readback
    assert "Session stopped." in readback
    _read_back(nurse, refill.program, "18 mL", DAY_60 + timedelta(minutes=40))
    closed_at = DAY_60 + timedelta(hours=1)
    close_incident(physician, incident.id, "programmer corrected, read back again", closed_at)
    _, text = _download(pharmacist, _refill_url(refill))
    readback = text.split("Programmer readback", 1)[1].split("Next refill")[0]
    assert f"Incident opened by nurse.joy at {clinic_clock(opened_at)}" in readback
    assert (
        f"Incident closed by dr.house at {clinic_clock(closed_at)}: "
        "programmer corrected, read back again"
    ) in readback
    assert "stays stopped" not in readback and "Session complete." in readback


def test_the_clinician_summary_lists_the_incidents_open_on_the_record(
    implant: Implant, nurse: User, physician: User
) -> None:
    refill = changed_concentration(nurse, implant)
    _, before = _download(physician, _summary_url(implant))
    assert "Open incidents No open incident." in before
    opened_at = DAY_60 + timedelta(minutes=30)
    _read_back(nurse, refill.program, "12 mL", opened_at)
    incident = Incident.objects.get()
    _, text = _download(physician, _summary_url(implant))
    listed = text.split("Open incidents")[1].split("Therapy")[0]
    assert "Programmer readback differs from prescription" in listed  # the kind in words
    assert "readback_mismatch" not in listed
    assert f"nurse.joy {clinic_clock(opened_at)}" in listed
    assert "reservoir" in listed and "#2" in listed  # the summary, as stored
    close_incident(physician, incident.id, "programmer corrected, read back again", opened_at)
    _, after = _download(physician, _summary_url(implant))
    assert "Open incidents No open incident." in after


def test_the_clinician_summary_shows_a_single_bolus_as_its_bolus_then_as_nothing_pumped(
    implant: Implant, nurse: User, frozen_clock: time_machine.Traveller
) -> None:
    """Regression: a single bolus printed as a daily dose at a daily rate, with the stored
    kind's name ("single_bolus"); now as the chart shows it."""
    started = NOW - timedelta(minutes=30)
    single_bolus_programmed(implant.id, at=started)
    end = clinic_clock(started + timedelta(hours=1))
    bolus = "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)"
    _, text = _download(nurse, _summary_url(implant))
    running = f"Running program: baclofen 2000 mcg/mL: {bolus} from {clinic_clock(started)}"
    assert running in text
    assert f"bolus running until {end}, then the pump stops" in text
    doses = text.split("Dose history")[1].split("Refills with their reconciliation")[0]
    for wrong in ("100 mcg/day", "0.05 mL/day"):
        assert wrong not in doses, wrong
    # the kind's stored name; the rule stops_after_single_bolus, given a reason, is listed
    assert not re.search(r"\bsingle_bolus\b", doses)
    assert "single bolus" in doses
    prescriptions = text.split("Prescriptions")[-1]
    assert bolus in prescriptions  # the prescription, its dose in the order's unit
    assert "100 mcg over 1 h, then the pump stops" not in text
    frozen_clock.shift(timedelta(hours=1))
    _, text = _download(nurse, _summary_url(implant))
    assert f"stopped since {end}: pumps nothing" in text
    assert "running until" not in text and not re.search(r"\bsingle_bolus\b", text)
