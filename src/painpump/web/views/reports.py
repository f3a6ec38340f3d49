"""Downloads of the printable PDF reports: the session report of a refill and the clinician
summary of a patient. Each is an audited read of the patient's record (clinic.report_data),
sent as an attachment that no cache keeps."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from painpump import clock
from painpump.clinic.report_data import patient_summary, refill_session
from painpump.core.locale import ClinicLocale
from painpump.web.access import clinic_page, user_of
from painpump.web.reports.patient_summary import render_patient_summary
from painpump.web.reports.refill_session import render_refill_session


def _slug(text: str) -> str:
    """A record number as it may stand in a file name (letters, digits and dashes)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "patient"


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _stamp(moment: datetime, locale: ClinicLocale) -> str:
    """The clinic's day of a moment in a file name: ISO 8601, so the files sort by day."""
    return locale.today(moment).isoformat()


@require_GET
@clinic_page
def refill_report(request: HttpRequest, refill_id: UUID) -> HttpResponse:
    session = refill_session(user_of(request), refill_id, now=clock.now())
    name = f"refill-{_slug(session.patient.mrn)}-{_stamp(session.performed_at, session.locale)}.pdf"
    return _pdf(render_refill_session(session), name)


@require_GET
@clinic_page
def patient_summary_report(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    summary = patient_summary(user_of(request), patient_id, now=clock.now())
    name = f"summary-{_slug(summary.patient.mrn)}-{_stamp(summary.printed_at, summary.locale)}.pdf"
    return _pdf(render_patient_summary(summary), name)
