"""Reports downloaded in the browser: a nurse opens the patient's page, clicks "Clinician
summary (PDF)" and gets a PDF that names the patient, the pump and the unverified refill; the
session report of that refill downloads with the same signed-in session."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from django.contrib.auth.models import User
from playwright.sync_api import Page
from pypdf import PdfReader

from painpump.clinic.models import Implant
from report_scenario import changed_concentration


def _text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def test_a_nurse_downloads_the_clinician_summary_and_the_session_report(
    sign_in: Callable[[User], Page],
    live_server: object,
    implant: Implant,
    nurse: User,
    tmp_path: Path,
) -> None:
    refill = changed_concentration(nurse, implant)
    page = sign_in(nurse)
    page.goto(f"{live_server}/patients/{implant.episode.patient_id}/")
    with page.expect_download() as started:
        page.get_by_role("link", name="Clinician summary (PDF)").click()
    download = started.value
    assert download.suggested_filename.startswith("summary-MRN-0001-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = _text(saved.read_bytes())
    assert "Clinician summary" in text
    assert "Muster, Erika" in text
    assert "NGP123456H" in text
    assert "NOT YET VERIFIED" in text

    response = page.request.get(f"{live_server}/refills/{refill.id}/report.pdf")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    session = _text(response.body())
    assert "Refill and programming session" in session
    assert "baclofen 1000 mcg/mL" in session
    assert "NOT YET VERIFIED" in session
