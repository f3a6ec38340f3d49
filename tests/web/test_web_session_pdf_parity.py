"""The session PDFs tell what they must (issue 13's clinical review), read back with pypdf: a
refill's dates, once a later programming or refill replaced them, beside a box naming what
replaced them with the pump's dates and next visit now (the dashboard's figures); the pump's
next visit as stored, proposed or booked; the patient-bolus counts the refill recorded; the
version rejected at the double-check with its comment and the accept refused before the one
that passed; the lines for the nurse, the prescribing physician and the second clinician; the
box on page 1 while a differing readback stops the session; and, in both PDFs, the worst day
with every patient bolus beside the daily dose, in the drug's unit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic_fixtures import titrated
from drug_units_flow import MORPHINE, first_fill
from frozen import ZONE
from painpump.clinic.actions import prescriptions, refills, settings_service
from painpump.clinic.actions.readbacks import record_readback
from painpump.clinic.models import Appointment, Implant, Prescription, Program, Refill
from painpump.clinic.reads import prescription_history
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.prescription import FluidChange, PrescribedProgram
from painpump.core.prescription_compare import CheckEntries, FluidChangeShown, Readback
from painpump.core.refill_decision import Fill, PtmCounts
from painpump.core.units import Kind, parse
from painpump.web.reports.session_sections import LATE_UNEXPLAINED
from report_scenario import DAY_60, changed_concentration

pytestmark = pytest.mark.django_db

BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
PTM = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
ORDER = rx.Prescription(
    BACLOFEN,
    rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
    PTM,
    Phase.MAINTENANCE,
)
REASON = "spasms at night: patient boluses"
COMMENT = "four boluses a day were agreed, not three"
SIGNED = DAY_60 - timedelta(hours=3)
REJECTED_AT = SIGNED + timedelta(minutes=10)
SIGNED_AGAIN = SIGNED + timedelta(hours=1)
REFUSED_AT = SIGNED_AGAIN + timedelta(minutes=10)
CHECKED_AT = SIGNED_AGAIN + timedelta(minutes=20)
DAY_80 = DAY_60 + timedelta(days=20)
TITRATED_AT = DAY_60 + timedelta(days=5, hours=2)
COUNTED = PtmCounts(70, 52)
"""The patient-bolus requests and boluses given the pump reports at the refill on day 80."""


def clinic_clock(moment: datetime) -> str:
    """A moment as the test clinic writes it (ISO dates, 24 h, New York): "2026-10-31 05:00 EDT"."""
    return f"{moment.astimezone(ZONE):%Y-%m-%d %H:%M %Z}"


def pdf_text(content: bytes) -> str:
    """The text of every page, whitespace collapsed (PDF text runs break lines anywhere)."""
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def first_page(content: bytes) -> str:
    return " ".join((PdfReader(BytesIO(content)).pages[0].extract_text() or "").split())


def download(user: User, url: str) -> bytes:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return response.content


def refill_pdf(user: User, refill: Refill) -> str:
    return pdf_text(download(user, reverse("web:refill-report", args=[refill.id])))


def program_pdf(user: User, program: Program) -> str:
    return pdf_text(download(user, reverse("web:program-report", args=[program.id])))


def between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def _signed(physician: User, implant: Implant, at: datetime) -> Prescription:
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


def refilled_with_boluses(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> Refill:
    """Patient boluses prescribed: #2 rejected with a comment, #3 signed again, an accept refused
    (the bolus entered as 100 mcg), then accepted; the nurse's refill on day 60 executes it."""
    first = _signed(physician, implant, SIGNED)
    entries = CheckEntries(BACLOFEN, ORDER.program, PTM)
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
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="parity-r60",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "v"), "LOT-60"),
    )


def refilled_again(nurse: User, implant: Implant, counts: PtmCounts = COUNTED) -> Refill:
    """The next refill, 20 days on, with the counts the pump reports."""
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="parity-r80",
        performed_at=DAY_80,
        expected=parse("15.7 mL", Kind.VOLUME, "e"),
        aspirated=parse("15.7 mL", Kind.VOLUME, "a"),
        fill=Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "v"), "LOT-80"),
        ptm=counts,
    )


def next_visit() -> str:
    """The patient's open refill visit as stored, as the PDFs word it."""
    visit = Appointment.objects.get(kind="refill", status__in=("proposed", "booked"))
    assert visit.starts_at is not None
    late = ", after the refill-by date: " + (visit.late_reason or LATE_UNEXPLAINED)
    return f"{clinic_clock(visit.starts_at)} ({visit.status}{late if visit.overdue else ''})"


def dates_now(implant: Implant) -> str:
    """The pump's dates and next visit as stored now (the dashboard's), as the box words them."""
    pump = Implant.objects.get(id=implant.id)
    assert pump.alarm_at is not None and pump.refill_by is not None
    return (
        f"the pump's dates now: alarm {clinic_clock(pump.alarm_at)}, refill by "
        f"{pump.refill_by.isoformat()} ({pump.refill_by:%a}), next visit {next_visit()}"
    )


def test_a_refill_replaced_by_a_programming_prints_its_dates_and_the_pumps_dates_now(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    refill = changed_concentration(nurse, implant)
    at_refill = refill_pdf(nurse, refill)
    assert "DATES REPLACED" not in at_refill and "replaced:" not in at_refill
    titrated(
        physician,
        implant.id,
        parse("440 mcg/day", Kind.DOSE_RATE, "d"),
        at=TITRATED_AT,
        checker=pharmacist,
        programmer=nurse,
    )
    pump = Implant.objects.get(id=implant.id)
    assert (pump.alarm_at, pump.refill_by) != (refill.alarm_at, refill.refill_by)
    text = refill_pdf(nurse, refill)
    dates = between(text, "Next refill", "Signatures")
    # the dates as they were at the refill, still printed
    assert f"Low-reservoir alarm expected {clinic_clock(refill.alarm_at)}" in dates
    assert f"Refill by {refill.refill_by.isoformat()}" in dates
    # and the box: what replaced them, and the dates every page shows now
    assert "DATES REPLACED" in dates
    assert (
        f"replaced: programming on {clinic_clock(TITRATED_AT)} (prescription #3); "
        f"{dates_now(implant)}"
    ) in dates
    assert "none booked" not in text


def test_the_refill_pdf_shows_the_pumps_next_visit_proposed_not_none_booked(
    implant: Implant, nurse: User
) -> None:
    refill = changed_concentration(nurse, implant)
    assert Appointment.objects.get(kind="refill", status__in=("proposed", "booked")).status == (
        "proposed"
    )
    text = refill_pdf(nurse, refill)
    assert f"Next refill visit (as stored now) {next_visit()}" in text
    assert "none booked" not in text
    assert "DATES REPLACED" not in text and "DATES CHANGED" not in text


def test_a_refill_dated_again_after_a_longer_refill_margin_prints_the_pumps_dates_now(
    implant: Implant, nurse: User, admin: User
) -> None:
    refill = changed_concentration(nurse, implant)
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    assert Implant.objects.get(id=implant.id).refill_by == refill.refill_by - timedelta(days=3)
    text = refill_pdf(nurse, refill)
    assert f"Refill by {refill.refill_by.isoformat()}" in text  # as the refill gave it
    assert "DATES REPLACED" not in text
    assert (
        "DATES CHANGED the pump was dated again since (a change of the clinic's refill margin, "
        f"time zone or drug library); {dates_now(implant)}"
    ) in text


def test_a_programming_replaced_by_a_later_one_prints_the_box_and_one_not_replaced_does_not(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    first = titrated(
        physician,
        implant.id,
        parse("440 mcg/day", Kind.DOSE_RATE, "d"),
        at=DAY_60,
        checker=pharmacist,
        programmer=nurse,
    )
    alone = program_pdf(nurse, first)
    assert "DATES REPLACED" not in alone
    assert f"Refill by {Implant.objects.get(id=implant.id).refill_by}" in alone
    assert f"Next refill visit (as stored now) {next_visit()}" in alone
    titrated(
        physician,
        implant.id,
        parse("460 mcg/day", Kind.DOSE_RATE, "d"),
        at=TITRATED_AT,
        checker=pharmacist,
        programmer=nurse,
    )
    text = program_pdf(nurse, first)
    assert f"Refill by {first.refill_by}" in text  # its own dates, still printed
    assert (
        f"DATES REPLACED replaced: programming on {clinic_clock(TITRATED_AT)} "
        f"(prescription #3); {dates_now(implant)}"
    ) in text


def test_a_refill_replaced_by_two_later_ones_names_the_first_and_the_newest(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    refill = refilled_with_boluses(implant, physician, pharmacist, nurse)
    titrated(
        physician,
        implant.id,
        parse("420 mcg/day", Kind.DOSE_RATE, "d"),
        at=TITRATED_AT,
        checker=pharmacist,
        programmer=nurse,
    )
    refilled_again(nurse, implant, PtmCounts(20, 16))  # boluses for the 5 days before #4
    text = refill_pdf(nurse, refill)
    assert (
        f"replaced: programming on {clinic_clock(TITRATED_AT)} (prescription #4), then refill "
        f"on {clinic_clock(DAY_80)} (prescription #4); {dates_now(implant)}"
    ) in text


def test_the_refill_pdf_prints_the_patient_bolus_counts_recorded_at_the_refill(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    first = refilled_with_boluses(implant, physician, pharmacist, nurse)
    counted = refilled_again(nurse, implant)
    text = refill_pdf(nurse, counted)
    in_pump = between(text, "What was in the pump", "What was put in")
    since = DAY_60.astimezone(ZONE).date()
    assert (
        f"Patient-bolus requests since the last fill ({since.isoformat()} ({since:%a})) 70 "
        "Patient boluses given 52"
    ) in in_pump
    before = between(refill_pdf(nurse, first), "What was in the pump", "What was put in")
    assert "none recorded (required only while patient boluses are prescribed)" in before


def test_the_refill_pdf_prints_the_rejected_version_and_the_refused_accept_before_the_pass(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    text = refill_pdf(nurse, refilled_with_boluses(implant, physician, pharmacist, nurse))
    executed = between(text, "Prescription executed", "Double-check history")
    assert "Prescription #3" in executed
    assert (
        f"pharma.cist {clinic_clock(CHECKED_AT)} accepted after 1 entry that did not match"
    ) in executed
    history = between(text, "Double-check history", "What was in the pump")
    for shown in (
        f"Prescription #2 by dr.house at {clinic_clock(SIGNED)}: {REASON}",
        f'Rejected by pharma.cist at {clinic_clock(REJECTED_AT)}: "{COMMENT}"',
        f"Prescription #3 (executed) accepted by pharma.cist at {clinic_clock(CHECKED_AT)} "
        "after 1 entry that did not match",
        f"pharma.cist {clinic_clock(REFUSED_AT)} ptm.dose entered as 100 mcg",
    ):
        assert shown in history, shown


def test_the_refill_pdf_has_lines_for_the_nurse_the_prescriber_and_the_second_clinician(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    text = refill_pdf(nurse, refilled_with_boluses(implant, physician, pharmacist, nurse))
    signatures = text.split("Signatures", 1)[1]
    for line in (
        "Nurse (filled and programmed: nurse.joy) ____",
        "Prescribing physician (dr.house) ____",
        f"Second clinician (double-check: pharma.cist at {clinic_clock(CHECKED_AT)}) ____",
    ):
        assert line in signatures, line
    assert signatures.count("date ____") == 3


def test_a_differing_readback_puts_its_box_on_the_refill_pdfs_first_page(
    implant: Implant, nurse: User
) -> None:
    refill = changed_concentration(nurse, implant)
    assert "READBACK DIFFERS" not in refill_pdf(nurse, refill)
    values = Readback(
        parse("12 mL", Kind.VOLUME, "r"),
        (("baclofen", parse("1000 mcg/mL", Kind.CONCENTRATION, "c")),),
        PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
        None,
        FluidChangeShown(
            FluidChange.BRIDGE,
            parse("0.25 mL", Kind.VOLUME, "v"),
            parse("0.2 mL/day", Kind.VOLUME_RATE, "r"),
        ),
    )
    record_readback(nurse, refill.program_id, values, DAY_60 + timedelta(minutes=30))
    page = first_page(download(nurse, reverse("web:refill-report", args=[refill.id])))
    assert "READBACK DIFFERS" in page
    assert page.index("READBACK DIFFERS") < page.index("Patient, pump and catheter")
    assert "differs from prescription #2" in page


def test_both_pdfs_print_the_worst_day_with_every_patient_bolus_beside_the_daily_dose(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    refill = refilled_with_boluses(implant, physician, pharmacist, nurse)
    worst = "Daily dose (largest day) 400 mcg/day Worst day with every patient bolus 440 mcg/day"
    assert worst in refill_pdf(nurse, refill)
    programmed = program_pdf(nurse, refill.program)
    assert worst in programmed
    changed = between(programmed, "Settings before and after", "Program before and after")
    # #1 had no patient bolus: its worst day is its largest day
    assert "Worst day with every patient bolus 400 mcg/day 440 mcg/day" in changed


def test_the_worst_day_is_printed_in_the_drugs_unit(
    physician: User, nurse: User, pharmacist: User
) -> None:
    """Morphine ordered in mg: 4 mg/day and four boluses of 0.1 mg, never 4400 mcg/day."""
    flow = first_fill(physician, nurse, pharmacist, MORPHINE)
    text = refill_pdf(nurse, flow.refill)
    assert "Daily dose (largest day) 4 mg/day Worst day with every patient bolus 4.4 mg/day" in (
        text
    )
    assert "4400 mcg" not in text


def test_without_patient_boluses_no_worst_day_is_printed(implant: Implant, nurse: User) -> None:
    text = refill_pdf(nurse, Refill.objects.get())
    assert "Daily dose (largest day) 400 mcg/day" in text
    assert "worst day" not in text.lower()
