"""The programming and refill PDFs after the clinical review, round 3: an accepted version's
refused accepts print under their own words, never under "Rejected at the double-check"; the
worst day of a prescription without patient boluses is its largest day, never "—", in the
settings changed; the nurse's signature line names the nurse who recorded the refill, as the
physician's names the prescriber and the programmer's the programmer."""

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
from frozen import ZONE
from painpump.clinic.actions import prescriptions, refills
from painpump.clinic.models import Implant, Prescription, Program, Refill
from painpump.clinic.reads import prescription_history
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse
from report_scenario import DAY_60

pytestmark = pytest.mark.django_db

BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
PTM = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
ORDER = rx.Prescription(
    BACLOFEN,
    rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
    PTM,
    Phase.MAINTENANCE,
)
SIGNED = DAY_60 - timedelta(hours=2)
REFUSED_AT = SIGNED + timedelta(minutes=10)
CHECKED_AT = SIGNED + timedelta(minutes=20)
TITRATED_AT = DAY_60 + timedelta(days=5, hours=2)


def clinic_clock(moment: datetime) -> str:
    return f"{moment.astimezone(ZONE):%Y-%m-%d %H:%M %Z}"


def pdf(user: User, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    reader = PdfReader(BytesIO(response.content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def program_pdf(user: User, program: Program) -> str:
    return pdf(user, reverse("web:program-report", args=[program.id]))


def refill_pdf(user: User, refill: Refill) -> str:
    return pdf(user, reverse("web:refill-report", args=[refill.id]))


def with_boluses(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Refill:
    """#2 (patient boluses) accepted after two refused accepts, run by the refill on day 60."""
    preview = prescription_history.preview_prescription(physician, implant.id, ORDER, at=SIGNED)
    record: Prescription = prescriptions.prescribe(
        physician,
        implant.id,
        ORDER,
        reason="spasms at night: patient boluses",
        now=SIGNED,
        expected_version=preview.version,
        overrides={w.rule: "night spasms wake her, agreed at the visit" for w in preview.warnings},
    )
    entries = CheckEntries(BACLOFEN, ORDER.program, PTM)
    for minutes in (0, 1):
        with pytest.raises(Refusal):
            prescriptions.double_check(
                pharmacist,
                record.id,
                entries=replace(entries, ptm=rx.patient_bolus("100 mcg", "2 min", "4 hour", "4")),
                accept=True,
                comment="",
                now=REFUSED_AT + timedelta(minutes=minutes),
            )
    prescriptions.double_check(
        pharmacist, record.id, entries=entries, accept=True, comment="", now=CHECKED_AT
    )
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="round3-r60",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "v"), "LOT-60"),
    )


def test_an_accepted_versions_refused_accepts_are_not_printed_as_rejected(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    refill = with_boluses(implant, physician, pharmacist, nurse)
    text = program_pdf(nurse, refill.program)
    assert "Rejected at the double-check" not in text
    history = text.split("Double-check history", 1)[1].split("Settings before and after", 1)[0]
    assert (
        f"Prescription #2 (executed) accepted by pharma.cist at {clinic_clock(CHECKED_AT)} after "
        "2 entries that did not match"
    ) in history
    assert "Rejected" not in history and "rejected" not in history
    for minutes in (0, 1):
        at = clinic_clock(REFUSED_AT + timedelta(minutes=minutes))
        assert f"pharma.cist {at} ptm.dose entered as 100 mcg" in history


def test_once_patient_boluses_are_removed_the_worst_day_is_the_largest_day(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    with_boluses(implant, physician, pharmacist, nurse)
    program = titrated(
        physician,
        implant.id,
        parse("420 mcg/day", Kind.DOSE_RATE, "d"),
        at=TITRATED_AT,
        checker=pharmacist,
        programmer=nurse,
    )
    assert program.prescription is not None and program.prescription.ptm_dose_mcg is None
    text = program_pdf(nurse, program)
    changed = text.split("Settings before and after", 1)[1].split("Program before and after")[0]
    assert "Before (#2) After (#3)" in changed
    assert "Worst day with every patient bolus 440 mcg/day 420 mcg/day" in changed
    assert "Patient bolus 10 mcg off" in changed
    assert "Worst day with every patient bolus 440 mcg/day —" not in changed


def test_without_patient_boluses_on_either_side_no_worst_day_row_is_added(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    program = titrated(
        physician,
        implant.id,
        parse("440 mcg/day", Kind.DOSE_RATE, "d"),
        at=DAY_60,
        checker=pharmacist,
        programmer=nurse,
    )
    changed = program_pdf(nurse, program).split("Settings before and after", 1)[1]
    changed = changed.split("Program before and after")[0]
    assert "Daily dose (largest day) 400 mcg/day 440 mcg/day" in changed
    assert "worst day" not in changed.lower()


def test_the_signature_lines_name_the_nurse_the_programmer_and_the_prescriber(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    refill = with_boluses(implant, physician, pharmacist, nurse)
    signatures = refill_pdf(nurse, refill).split("Signatures", 1)[1]
    assert "Nurse (filled and programmed: nurse.joy) ____" in signatures
    assert "Prescribing physician (dr.house) ____" in signatures
    programmed = program_pdf(nurse, refill.program).split("Signatures", 1)[1]
    assert "Programmer (nurse.joy) ____" in programmed
    assert "Prescribing physician (dr.house) ____" in programmed
