"""The session report of a programming between refills (issue 13), downloaded and read back with
pypdf: a titration to a flex program with patient boluses, rejected once at its double-check,
signed again, an accept refused for a wrong entry, then accepted, programmed by the nurse and
read back. The report names the patient and pump, the prescription executed with every setting,
the rejection with its comment and the refused accept, each setting before and after, who
prescribed, double-checked and programmed it and when (on the clinic's clock), the readback and
its result, and the signature lines; a differing readback prints its incident, boxed, until it
reads back as prescribed and a physician closes it. Every reading role downloads it (audited),
an admin is refused, an unknown program or one recorded before prescriptions is a 404, and the
program record, the readback page and the chart link it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape
from io import BytesIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic_fixtures import FIRST_FILL
from frozen import ZONE
from painpump.clinic.actions import prescriptions, programs
from painpump.clinic.actions.readbacks import close_incident, record_readback
from painpump.clinic.models import AuditEntry, Implant, Incident, Prescription, Program
from painpump.clinic.reads import prescription_history
from painpump.clinic.reads.readback_expected import expected_reservoir
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries, Readback
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

SIGNED = FIRST_FILL + timedelta(days=30)
"""The first prescription for the night step, signed 30 days into the first fill."""
REJECTED_AT = SIGNED + timedelta(minutes=20)
SIGNED_AGAIN = SIGNED + timedelta(hours=1)
REFUSED_AT = SIGNED_AGAIN + timedelta(minutes=15)
CHECKED_AT = SIGNED_AGAIN + timedelta(minutes=30)
PROGRAMMED_AT = SIGNED_AGAIN + timedelta(hours=1)
READ_AT = PROGRAMMED_AT + timedelta(minutes=10)
BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
PTM = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
NIGHT_STEP = rx.flex_program(
    [
        rx.step_row("mon-fri", "00:00", "440 mcg/day", "steps[0]"),
        rx.step_row("mon-fri", "06:00", "400 mcg/day", "steps[1]"),
        rx.step_row("sat-sun", "00:00", "380 mcg/day", "steps[2]"),
    ]
)
ORDER = rx.Prescription(BACLOFEN, NIGHT_STEP, PTM, Phase.TITRATION)
REASON = "spasms at night: a night step and patient boluses"
COMMENT = "the night step starts at 22:00 in the clinic's order, not 00:00"
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def clinic_clock(moment: datetime) -> str:
    """A moment as the test clinic writes it (ISO dates, 24 h, New York): "2026-10-01 07:00 EDT"."""
    return f"{moment.astimezone(ZONE):%Y-%m-%d %H:%M %Z}"


def _signed(physician: User, implant: Implant, at: datetime) -> Prescription:
    """The night-step order signed by the physician at `at`, with a reason for each warning."""
    preview = prescription_history.preview_prescription(physician, implant.id, ORDER, at=at)
    assert preview.stop is None, preview.stop
    return prescriptions.prescribe(
        physician,
        implant.id,
        ORDER,
        reason=REASON,
        now=at,
        expected_version=preview.version,
        overrides={w.rule: "night spasms wake her, agreed at the visit" for w in preview.warnings},
    )


def titrated(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Program:
    """#2 rejected with a comment, #3 the same order signed again, an accept refused (the PTM
    dose entered as 100 mcg), then accepted, and programmed by the nurse between refills."""
    first = _signed(physician, implant, SIGNED)
    entries = CheckEntries(BACLOFEN, NIGHT_STEP, PTM)
    prescriptions.double_check(
        pharmacist, first.id, entries=entries, accept=False, comment=COMMENT, now=REJECTED_AT
    )
    again = _signed(physician, implant, SIGNED_AGAIN)
    wrong = replace(entries, ptm=rx.patient_bolus("100 mcg", "2 min", "4 hour", "4"))
    with pytest.raises(Refusal):
        prescriptions.double_check(
            pharmacist, again.id, entries=wrong, accept=True, comment="", now=REFUSED_AT
        )
    prescriptions.double_check(
        pharmacist, again.id, entries=entries, accept=True, comment="", now=CHECKED_AT
    )
    return programs.program_pump(
        nurse,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=PROGRAMMED_AT,
    )


def read_back(nurse: User, program: Program, at: datetime, ptm: rx.PatientBolus = PTM) -> None:
    """The nurse's readback: the reservoir the pump's twin expects, the order's drugs and
    program, and `ptm`."""
    most = expected_reservoir(program, at).most.canonical.quantize(Decimal("0.1"))
    values = Readback(parse(f"{most} mL", Kind.VOLUME, "r"), BACLOFEN, NIGHT_STEP, ptm)
    record_readback(nurse, program.id, values, at)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url_of(program: Program | str) -> str:
    return reverse("web:program-report", args=[program if isinstance(program, str) else program.id])


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace collapsed (PDF text runs break lines anywhere)."""
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def download(user: User, program: Program) -> str:
    response = _client(user).get(url_of(program))
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    return pdf_text(response.content)


def test_the_report_names_the_people_times_settings_readback_and_signature_lines(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = titrated(implant, physician, pharmacist, nurse)
    read_back(nurse, program, READ_AT)
    response = _client(physician).get(url_of(program))
    day = PROGRAMMED_AT.astimezone(ZONE).date().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="programming-MRN-0001-{day}.pdf"'
    )
    text = download(physician, program)
    for shown in [
        "Programming session",
        f"Programmed between refills, {clinic_clock(PROGRAMMED_AT)}",
        # the patient and the pump
        "Patient Muster, Erika",
        "MRN-0001",
        implant.episode.patient.birth_date.isoformat(),
        "Medtronic SynchroMed II, 20 mL (8637-20)",
        "Pump serial NGP123456H",
        # the prescription executed: drugs, program, patient boluses, phase, reason
        "Prescription #3 (Programmed (in force))",
        f"Prescribed by dr.house at {clinic_clock(SIGNED_AGAIN)}",
        f"Reason {REASON}",
        "Drug 1 baclofen 2000 mcg/mL",
        "Program flex",
        "Steps mon 00:00 440 mcg/day, 06:00 400 mcg/day",
        "Steps sat 00:00 380 mcg/day",
        "Patient bolus 10 mcg Bolus duration 2 min Lockout 4 h Boluses a day 4",
        "Phase titration",
        f"pharma.cist {clinic_clock(CHECKED_AT)} accepted",
        # the version rejected on the way, with its comment, and the accept refused
        f"Prescription #2 by dr.house at {clinic_clock(SIGNED)}: {REASON}",
        f'Rejected by pharma.cist at {clinic_clock(REJECTED_AT)}: "{COMMENT}"',
        f"pharma.cist {clinic_clock(REFUSED_AT)} ptm.dose entered as 100 mcg",
        # each changed setting before and after, then the program side by side
        "Setting Before (#1) After (#3)",
        "Program continuous flex",
        "Steps mon 00:00 400 mcg/day 00:00 440 mcg/day, 06:00 400 mcg/day",
        "Patient bolus off 10 mcg",
        "Lockout — 4 h",
        "Rate 0.2 mL/day 0.205 mL/day changed",
        "Programmed by dr.house (refill) nurse.joy (programming)",
        # who did what, when, on the clinic's clock, and the dates the pump gives
        f"Double-checked by pharma.cist at {clinic_clock(CHECKED_AT)}",
        f"Programmed by nurse.joy at {clinic_clock(PROGRAMMED_AT)}",
        f"Refill by {program.refill_by.isoformat() if program.refill_by else ''}",
        # the readback and its result
        f"nurse.joy {clinic_clock(READ_AT)} reservoir",
        "PTM 10 mcg over 2 min, lockout 4 h, at most 4 a day matches",
        "Session complete.",
        # the signatures
        "Programmer (nurse.joy) ____",
        "Prescribing physician (dr.house) ____",
        f"Second clinician (double-check: pharma.cist at {clinic_clock(CHECKED_AT)}) ____",
        "date ____",
        "Page 1 of",
        "painpump is not a medical device",
    ]:
        assert shown in text, shown
    assert "READBACK DIFFERS" not in text
    assert "UTC" not in text


def test_before_its_readback_the_report_says_the_session_awaits_it(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    text = download(nurse, titrated(implant, physician, pharmacist, nurse))
    assert "Session awaiting readback." in text
    assert "Read back by" not in text


def test_a_differing_readback_prints_its_incident_boxed_until_it_is_closed(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = titrated(implant, physician, pharmacist, nurse)
    read_back(nurse, program, READ_AT, ptm=rx.patient_bolus("100 mcg", "2 min", "4 hour", "4"))
    incident = Incident.objects.get()
    text = download(pharmacist, program)
    assert text.index("READBACK DIFFERS") < text.index("Patient, pump and catheter")
    readback = text.split("Programmer readback", 1)[1].split("Signatures")[0]
    assert "differs: session stopped" in readback
    assert "ptm.dose: read back 100 mcg, prescribed 10 mcg" in readback
    assert f"Incident opened by nurse.joy at {clinic_clock(READ_AT)}: {incident.summary}" in (
        readback
    )
    assert "Incident open: the session stays stopped until a physician closes it" in readback
    assert "Session stopped." in readback
    read_back(nurse, program, READ_AT + timedelta(minutes=10))
    closed_at = READ_AT + timedelta(minutes=30)
    close_incident(physician, incident.id, "programmer corrected, read back again", closed_at)
    text = download(pharmacist, program)
    readback = text.split("Programmer readback", 1)[1].split("Signatures")[0]
    assert (
        f"Incident closed by dr.house at {clinic_clock(closed_at)}: "
        "programmer corrected, read back again"
    ) in readback
    assert "Session complete." in readback
    assert "READBACK DIFFERS" not in text and "stays stopped" not in text


def test_a_programming_at_a_refill_names_the_refill_whose_report_has_the_fill(
    implant: Implant, nurse: User
) -> None:
    program = Program.objects.get()
    text = download(nurse, program)
    assert f"Programmed at a refill, {clinic_clock(FIRST_FILL)}" in text
    assert f"session report (refill {program.refills.get().id})" in text
    assert "Prescription #1" in text and "none (first fill)" in text


@pytest.mark.parametrize("role", ["physician", "nurse", "pharmacist", "auditor"])
def test_every_role_that_reads_patients_downloads_it_and_each_download_is_audited(
    implant: Implant,
    physician: User,
    pharmacist: User,
    nurse: User,
    role: str,
    request: pytest.FixtureRequest,
) -> None:
    program = titrated(implant, physician, pharmacist, nurse)
    user: User = request.getfixturevalue(role)
    download(user, program)
    read = AuditEntry.objects.get(actor=user.get_username(), action="report.program_session")
    assert (read.object_type, read.object_id) == ("program", str(program.id))
    assert read.patient_id == implant.episode.patient_id


def test_an_admin_is_refused_with_the_roles_that_may_and_nothing_is_audited(
    implant: Implant, physician: User, pharmacist: User, nurse: User, admin: User
) -> None:
    program = titrated(implant, physician, pharmacist, nurse)
    response = _client(admin).get(url_of(program))
    assert response.status_code == 403
    page = response.content.decode()
    assert "may not read patient records" in page
    assert "Muster" not in page and "MRN-0001" not in page
    assert not AuditEntry.objects.filter(actor=admin.get_username()).exists()


def test_an_unknown_program_or_one_recorded_before_prescriptions_is_a_404(
    implant: Implant, nurse: User
) -> None:
    client = _client(nurse)
    assert client.get(url_of(UNKNOWN)).status_code == 404
    program = Program.objects.get()
    Program.objects.filter(id=program.id).update(prescription=None)
    response = client.get(url_of(program))
    assert response.status_code == 404
    assert "programmed from a prescription" in unescape(response.content.decode())


def test_the_program_record_the_readback_page_and_the_chart_link_the_report(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = titrated(implant, physician, pharmacist, nurse)
    client = _client(nurse)
    link = f'href="{url_of(program)}" download'
    for page in (
        reverse("web:program-record", args=[program.id]),
        reverse("web:readback", args=[program.id]),
        reverse("web:patient", args=[implant.episode.patient_id]),
    ):
        response = client.get(page)
        assert response.status_code == 200, page
        assert link in response.content.decode(), page


def test_the_report_is_read_only(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = titrated(implant, physician, pharmacist, nurse)
    assert _client(nurse).post(url_of(program)).status_code == 405
