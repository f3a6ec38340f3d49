"""Which double-check history a session report prints (clinical review, round 3: the Becker
refill of #3 said no version was rejected though #4 had been rejected a minute before; the Adler
refill listed #11 as rejected without its three refused accepts). The rule
(clinic.reads.report_data._double_check_history): every version on the way to the prescription
executed with its rejection and every accept refused at it; every version signed after it that
was rejected (or had an accept refused) since the previous session on the pump until this one,
marked as not executed; and under every version, rejected or accepted, its refused accepts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from frozen import ZONE
from painpump.clinic.actions import prescriptions, refills
from painpump.clinic.models import Implant, Prescription, Program, Refill
from painpump.clinic.reads import prescription_history
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill, PtmCounts
from painpump.core.units import Kind, parse
from report_scenario import DAY_60

pytestmark = pytest.mark.django_db

BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
PTM = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
WRONG_PTM = rx.patient_bolus("100 mcg", "2 min", "4 hour", "4")
REASON = "spasms at night: patient boluses"
COMMENT = "four boluses a day were agreed, not three"
DAY_80 = DAY_60 + timedelta(days=20)
NONE_REJECTED = "No version was rejected and no accept was refused at the double-check."


def order(dose: str) -> rx.Prescription:
    return rx.Prescription(
        BACLOFEN,
        rx.PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "d")),
        PTM,
        Phase.MAINTENANCE,
    )


def entries(prescribed: rx.Prescription) -> CheckEntries:
    return CheckEntries(BACLOFEN, prescribed.program, PTM)


def clinic_clock(moment: datetime) -> str:
    return f"{moment.astimezone(ZONE):%Y-%m-%d %H:%M %Z}"


def pdf_text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def download(user: User, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return pdf_text(response.content)


def refill_pdf(user: User, refill: Refill) -> str:
    return download(user, reverse("web:refill-report", args=[refill.id]))


def program_pdf(user: User, program: Program) -> str:
    return download(user, reverse("web:program-report", args=[program.id]))


def history_of(text: str) -> str:
    """The double-check history section of a session PDF."""
    assert "Rejected at the double-check" not in text
    return text.split("Double-check history", 1)[1].split("What was in the pump", 1)[0]


def signed(
    physician: User, implant: Implant, prescribed: rx.Prescription, at: datetime
) -> Prescription:
    preview = prescription_history.preview_prescription(physician, implant.id, prescribed, at=at)
    assert preview.stop is None, preview.stop
    return prescriptions.prescribe(
        physician,
        implant.id,
        prescribed,
        reason=REASON,
        now=at,
        expected_version=preview.version,
        overrides={w.rule: "night spasms wake her, agreed at the visit" for w in preview.warnings},
    )


def refused(
    pharmacist: User, record: Prescription, prescribed: rx.Prescription, at: datetime
) -> None:
    """An accept refused: the patient bolus entered as 100 mcg."""
    with pytest.raises(Refusal):
        prescriptions.double_check(
            pharmacist,
            record.id,
            entries=replace(entries(prescribed), ptm=WRONG_PTM),
            accept=True,
            comment="",
            now=at,
        )


def checked(
    pharmacist: User,
    record: Prescription,
    prescribed: rx.Prescription,
    at: datetime,
    *,
    accept: bool,
) -> None:
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=entries(prescribed),
        accept=accept,
        comment="" if accept else COMMENT,
        now=at,
    )


def refill_on_day_60(nurse: User, implant: Implant) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="history-r60",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "v"), "LOT-60"),
    )


def refill_on_day_80(nurse: User, implant: Implant) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="history-r80",
        performed_at=DAY_80,
        expected=parse("15.7 mL", Kind.VOLUME, "e"),
        aspirated=parse("15.7 mL", Kind.VOLUME, "a"),
        fill=Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "v"), "LOT-80"),
        ptm=PtmCounts(70, 52),
    )


def test_a_version_signed_after_the_one_executed_and_rejected_before_the_refill_is_listed(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    """Becker: the refill runs #2 in force; #3, signed after it, was rejected a minute before."""
    running = order("400 mcg/day")
    second = signed(physician, implant, running, DAY_60 - timedelta(hours=2))
    checked(pharmacist, second, running, DAY_60 - timedelta(hours=1), accept=True)
    earlier = refill_on_day_60(nurse, implant)
    raised = order("420 mcg/day")
    signed_at, rejected_at = DAY_80 - timedelta(hours=2), DAY_80 - timedelta(minutes=1)
    third = signed(physician, implant, raised, signed_at)
    checked(pharmacist, third, raised, rejected_at, accept=False)
    refill = refill_on_day_80(nurse, implant)
    assert refill.program.prescription_id == second.id  # #3 never ran
    for text in (refill_pdf(nurse, refill), program_pdf(nurse, refill.program)):
        history = history_of(text)
        assert NONE_REJECTED not in history
        assert (
            f"Prescription #3 (signed after #2: not executed) by dr.house at "
            f"{clinic_clock(signed_at)}: {REASON}"
        ) in history
        assert f'Rejected by pharma.cist at {clinic_clock(rejected_at)}: "{COMMENT}"' in history
    # the refill before it printed no later rejection: the window ends at its session
    assert NONE_REJECTED in history_of(refill_pdf(nurse, earlier))


def test_a_rejected_version_lists_its_refused_accepts_and_the_executed_one_its_own(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    """Adler: #2 rejected after three refused accepts; #3 accepted after one; the refill runs #3."""
    prescribed = order("400 mcg/day")
    first_signed = DAY_60 - timedelta(hours=4)
    first = signed(physician, implant, prescribed, first_signed)
    attempts = [first_signed + timedelta(minutes=m) for m in (5, 6, 7)]
    for at in attempts:
        refused(pharmacist, first, prescribed, at)
    rejected_at = first_signed + timedelta(minutes=10)
    checked(pharmacist, first, prescribed, rejected_at, accept=False)
    again = signed(physician, implant, prescribed, DAY_60 - timedelta(hours=2))
    retried = DAY_60 - timedelta(hours=1, minutes=30)
    refused(pharmacist, again, prescribed, retried)
    accepted_at = DAY_60 - timedelta(hours=1)
    checked(pharmacist, again, prescribed, accepted_at, accept=True)
    refill = refill_on_day_60(nurse, implant)
    for text in (refill_pdf(nurse, refill), program_pdf(nurse, refill.program)):
        history = history_of(text)
        rejected_one, executed_one = history.split("Prescription #3 (executed)", 1)
        assert f"Prescription #2 by dr.house at {clinic_clock(first_signed)}" in rejected_one
        assert f'Rejected by pharma.cist at {clinic_clock(rejected_at)}: "{COMMENT}"' in (
            rejected_one
        )
        for at in attempts:  # under the rejected version, as the chart lists them
            assert f"pharma.cist {clinic_clock(at)} ptm.dose entered as 100 mcg" in rejected_one
        assert executed_one.startswith(
            f" accepted by pharma.cist at {clinic_clock(accepted_at)} after 1 entry that did "
            "not match"
        )
        assert f"pharma.cist {clinic_clock(retried)} ptm.dose entered as 100 mcg" in executed_one
        assert executed_one.count("entered as") == 1
