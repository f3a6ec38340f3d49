"""Programming the pump between refills with its ready prescription (nurses and physicians): the
prescription shown, then core's review of programming it (the rate that follows, the reservoir
left, the alarm and refill-by dates recomputed, each program and patient-bolus setting against
the prescription in force, every warning with its reason and source; a
warning the prescriber gave a reason for shows that reason and needs none, any other needs a
physician's typed reason; a hard limit refuses), then programmed on the implant's version
reviewed and on to the programmer's readback (clinic.reads.program_preview,
clinic.actions.programs)."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from painpump import clock
from painpump.clinic.actions.programs import program_pump
from painpump.clinic.errors import Conflict
from painpump.clinic.reads.program_preview import (
    ProgramPreview,
    preview_program_change,
    program_record,
)
from painpump.clinic.reads.settings_change import executed_settings, settings_change
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.double_submit import answered_once, new_submission_key
from painpump.web.forms import show_refusal, shown_refusal
from painpump.web.prescription_display import shown
from painpump.web.views.refill_forms import ProgramForm
from painpump.web.views.refills import (
    WarningRow,
    override_refused,
    reasons_typed,
    signed_remedy,
    typed_reasons,
    warning_rows,
)


def _page(
    request: HttpRequest,
    form: ProgramForm,
    preview: ProgramPreview,
    *,
    override_error: str = "",
    status: int = 200,
) -> HttpResponse:
    if form.is_valid():
        form.mark_reviewed(preview.after)
    if preview.stop is not None or form.errors:
        status = REFUSED
    record = preview.prescription
    context = {
        "form": form,
        "preview": preview,
        "stop": None if preview.stop is None else shown_refusal(form, preview.stop),
        "stop_remedy": signed_remedy(record) if preview.stop is not None else "",
        "implant": preview.implant,
        "patient": preview.implant.episode.patient,
        "rx": shown(record),
        "program_settings": settings_change(preview.implant, record),
        "prescriber": record.prescribed_by,
        "warnings": _rows(request, preview),
        "override_error": override_error,
    }
    return render(request, "web/program/form.html", context, status=status)


def _rows(request: HttpRequest, preview: ProgramPreview) -> list[WarningRow]:
    """The warnings with their reason inputs; none for a reason the one looking may not give
    (a physician gives it), nor for one the prescriber gave."""
    rows = warning_rows(preview.warnings, typed_reasons(request), preview.prescribers_reasons)
    return [
        replace(row, physician=True)
        if row.finding.rule in preview.physician_reasons and not (row.hard or row.given)
        else row
        for row in rows
    ]


@clinic_page
@require_http_methods(["GET", "POST"])
@answered_once
def change(request: HttpRequest, implant_id: UUID) -> HttpResponse:
    """The ready prescription and the review of programming it; its confirmation, clicked
    twice, programs the pump once (the second click gets the first one's answer)."""
    user = user_of(request)
    now = clock.now()
    preview = preview_program_change(user, implant_id, at=now)
    if request.method == "GET":
        form = ProgramForm({"version": preview.version, "submission": new_submission_key()})
        return _page(request, form, preview)
    form = ProgramForm(request.POST)
    if not form.is_valid():
        return _page(request, form, preview)
    data = form.cleaned_data
    if preview.version != data["version"]:
        # Someone changed the pump or its prescription since the review: that is the answer
        # (409), not a program the clinician never saw.
        raise Conflict("implant", str(implant_id), data["version"], preview.version)
    if preview.stop is not None:
        return _page(request, form, preview)
    if data.get("reviewed") != form.fingerprint(preview.after):
        form.add_error(
            None,
            "What programming leads to (rate, refill-by date) changed since the review: check "
            "the review below.",
        )
        return _page(request, form, preview)
    try:
        program = program_pump(
            user,
            implant_id,
            expected_version=data["version"],
            now=now,
            overrides=reasons_typed(request, preview.warnings, preview.prescribers_reasons),
        )
    except Forbidden as refused:
        if refused.capability != "program.prescribe":
            raise
        message = f"{refused}: a warning the prescriber gave no reason for needs a physician's"
        return _page(request, form, preview, override_error=message, status=REFUSED)
    except Refusal as refusal:
        if override_refused(refusal):
            return _page(request, form, preview, override_error=refusal.message, status=REFUSED)
        show_refusal(form, refusal)
        return _page(request, form, preview)
    return redirect("web:readback", program.id)


@clinic_page
def record(request: HttpRequest, program_id: UUID) -> HttpResponse:
    shown_record = program_record(user_of(request), program_id)
    context = {
        "record": shown_record,
        "patient": shown_record.implant.episode.patient,
        "program_settings": executed_settings(shown_record.program),
    }
    return render(request, "web/program/record.html", context)
