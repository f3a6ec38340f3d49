"""Reports whose content is taller than a page: a table row splits across pages (a row taller
than a page stopped the PDF with reportlab's LayoutError, a 500) and nothing is cut off; a report
that still cannot be laid out is a clean error page, its read audited."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from clinic_fixtures import FIRST_FILL
from frozen import NOW, ZONE
from painpump.clinic.actions import refills
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Implant, Program
from painpump.clinic.reads.report_data import PatientIdentity
from painpump.clinic.testing import baclofen
from painpump.core.units import Kind, parse
from painpump.web.reports import layout

pytestmark = pytest.mark.django_db

REFILLS = 36
"""Refills executing the one prescription in force: its row lists a programming a line, far
taller than a page (DEMO-00025 of the seeded demo, 26 programmings: 1,765 pt on a 729 pt page)."""


def _refilled_daily(nurse: User, implant: Implant) -> list[Program]:
    """The first-fill prescription executed again at a refill each day after the first fill."""
    for days in range(1, REFILLS + 1):
        refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key=f"daily-{days}",
            performed_at=FIRST_FILL + timedelta(days=days),
            expected=parse("19.8 mL", Kind.VOLUME, "expected"),
            aspirated=parse("19.8 mL", Kind.VOLUME, "aspirated"),
            fill=baclofen(),
            dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        )
    return list(Program.objects.order_by("started_at"))


def _pages(content: bytes, title: str) -> list[str]:
    """The text of each page without its header and footer (drawn last, after the content)."""
    pages = PdfReader(BytesIO(content)).pages
    return [" ".join((p.extract_text() or "").rsplit(f"{title} · ", 1)[0].split()) for p in pages]


def _run_on(pages: list[str], header: str) -> str:
    """The pages' text as one, the table header a page repeats left out (so a cell's line split
    over pages reads whole)."""
    return " ".join(" ".join(page.removeprefix(header) for page in pages).split())


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_prescription_programmed_at_more_refills_than_a_page_holds_prints_every_one(
    implant: Implant, nurse: User
) -> None:
    programs = _refilled_daily(nurse, implant)
    assert len({p.prescription_id for p in programs}) == 1
    response = _client(nurse).get(
        reverse("web:patient-summary-report", args=[implant.episode.patient_id])
    )
    assert response.status_code == 200
    pages = _pages(response.content, "Clinician summary")
    header = "Version Prescribed Settings Double-check Programmed"
    listed = _run_on(pages, header).split("Prescriptions", 1)[1].split("Next refill")[0]
    first_fill, *refilled = programs
    for by, program in [("dr.house", first_fill), *(("nurse.joy", p) for p in refilled)]:
        started = f"{program.started_at.astimezone(ZONE):%Y-%m-%d %H:%M %Z}"
        assert f"{by} {started}" in listed, started
    # the row runs on over pages, under the table's header repeated on each
    spanned = [page for page in pages if "(awaiting readback)" in page]
    assert len(spanned) >= 2
    assert all(header in p for p in spanned)


def test_a_row_that_cannot_split_is_a_clean_error_page_and_the_read_stays_audited(
    implant: Implant, nurse: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before rows split, the summary of such a pump was reportlab's LayoutError: a 500."""
    _refilled_daily(nurse, implant)
    monkeypatch.setattr(layout, "SPLIT_IN_ROW", 0)  # reportlab's default: rows never split
    response = _client(nurse).get(
        reverse("web:patient-summary-report", args=[implant.episode.patient_id])
    )
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Clinician summary: the PDF could not be laid out" in page
    assert f"limit: {layout.HEIGHT:.0f} pt, the text area of an A4 page" in page
    assert "Nothing was changed." in page
    for internal in ("Traceback", "LayoutError", "reportlab", "Flowable"):
        assert internal not in page
    read = AuditEntry.objects.get(action="report.patient_summary")
    assert read.patient_id == implant.episode.patient_id


LONG = [f"step {n:03d} of a cell taller than a page" for n in range(1, 401)]


@pytest.mark.parametrize("kind", ["table", "facts"])
def test_a_cell_taller_than_a_page_runs_on_over_pages_without_losing_a_line(
    implant: Implant, kind: str
) -> None:
    """Both reports build every table with layout.table or layout.facts (the refill session's
    prescription, warnings, readbacks and checks too): a cell of 400 steps spans pages whole."""
    cell = "; ".join(LONG)
    grid = (
        layout.table(["Setting", "Value"], [["every step", cell]], [0.3, 0.7])
        if kind == "table"
        else layout.facts([("Every step", cell)], columns=1)
    )
    patient = implant.episode.patient
    identity = PatientIdentity(patient.id, "Muster, Erika", patient.mrn, patient.birth_date, False)
    content = layout.render(
        [grid], title="Tall", identity=identity, printed_at=NOW, locale=clinic_locale()
    )
    pages = _pages(content, "Tall")
    assert len(pages) >= 3
    text = _run_on(pages, "Setting Value")
    assert [line for line in LONG if line not in text] == []
