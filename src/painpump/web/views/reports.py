"""Downloads of the printable PDF reports: the session report of a refill, the session report of
a programming of the pump with a prescription (a titration between refills) and the clinician
summary of a patient. Each is an audited read of the patient's record (clinic.reads.report_data,
with the prescriptions: clinic.reads.prescription_work and prescription_history),
sent as an attachment that no cache keeps; a report that cannot be laid out is an error page
(the read stays audited)."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from painpump import clock
from painpump.clinic.reads.prescription_history import prescription_versions
from painpump.clinic.reads.prescription_work import readback_session, refill_programming
from painpump.clinic.reads.report_data import patient_summary, programming_session, refill_session
from painpump.core.locale import ClinicLocale
from painpump.web.access import clinic_page, user_of
from painpump.web.reports.layout import NotLaidOut
from painpump.web.reports.patient_summary import render_patient_summary
from painpump.web.reports.program_session import render_program_session
from painpump.web.reports.refill_session import render_refill_session

logger = logging.getLogger(__name__)
NOT_LAID_OUT = 500
"""The status of a report the service failed to lay out: its fault, not the reader's."""


def _slug(text: str) -> str:
    """A record number as it may stand in a file name (letters, digits and dashes)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "patient"


def _pdf(
    content: bytes, kind: str, mrn: str, moment: datetime, locale: ClinicLocale
) -> HttpResponse:
    """The report as an attachment that no cache keeps, named for its kind, the patient's record
    number and the clinic's day of `moment` (ISO 8601, so the files sort by day)."""
    response = HttpResponse(content, content_type="application/pdf")
    filename = f"{kind}-{_slug(mrn)}-{locale.today(moment).isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@clinic_page
def refill_report(request: HttpRequest, refill_id: UUID) -> HttpResponse:
    user = user_of(request)
    session = refill_session(user, refill_id, now=clock.now())
    try:
        content = render_refill_session(session, refill_programming(user, refill_id))
    except NotLaidOut as failed:
        return _not_laid_out(request, failed)
    return _pdf(content, "refill", session.patient.mrn, session.performed_at, session.locale)


@require_GET
@clinic_page
def program_report(request: HttpRequest, program_id: UUID) -> HttpResponse:
    user = user_of(request)
    session = programming_session(user, program_id, now=clock.now())
    try:
        content = render_program_session(session, readback_session(user, program_id))
    except NotLaidOut as failed:
        return _not_laid_out(request, failed)
    return _pdf(content, "programming", session.patient.mrn, session.programmed_at, session.locale)


@require_GET
@clinic_page
def patient_summary_report(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = user_of(request)
    summary = patient_summary(user, patient_id, now=clock.now())
    in_place = [d for d in summary.devices if d.explanted_on is None]
    versions = prescription_versions(user, in_place[0].implant_id) if in_place else ()
    try:
        content = render_patient_summary(summary, versions)
    except NotLaidOut as failed:
        return _not_laid_out(request, failed)
    return _pdf(content, "summary", summary.patient.mrn, summary.printed_at, summary.locale)


def _not_laid_out(request: HttpRequest, failed: NotLaidOut) -> HttpResponse:
    """The error page of a report that could not be laid out, logged as one line: reportlab's
    own message is neither shown nor logged (it quotes the content, which can be patient data)."""
    logger.error("report not laid out: %s at %s", failed.title, request.path)
    return render(request, "web/refused.html", {"message": str(failed)}, status=NOT_LAID_OUT)
