"""Titration between refills (physicians): a new daily dose for the drug in the pump, reviewed
before it is given (the rate that follows, the reservoir left, the alarm and refill-by dates
recomputed, every warning with its reason and source, each soft one passed only with a reason
typed for it, a hard limit refused whatever is typed), then
given on the implant's version reviewed (clinic.reads.program_preview, clinic.actions.programs)."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from painpump import clock
from painpump.clinic.actions.programs import confirm_program_change
from painpump.clinic.errors import Conflict
from painpump.clinic.reads.program_preview import (
    ProgramPreview,
    preview_program_change,
    program_record,
)
from painpump.clinic.reads.refill_preview import override_reasons
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.double_submit import answered_once, new_submission_key
from painpump.web.forms import show_refusal, shown_refusal
from painpump.web.views.refill_forms import ProgramForm
from painpump.web.views.refills import override_refused, typed_reasons, warning_rows


def _page(
    request: HttpRequest,
    form: ProgramForm,
    preview: ProgramPreview,
    *,
    override_error: str = "",
    status: int = 200,
) -> HttpResponse:
    reviewing = preview.after is not None or preview.stop is not None
    if reviewing and form.is_bound and form.is_valid():
        form.mark_reviewed(preview.after)
    if preview.stop is not None or (form.is_bound and form.errors):
        status = REFUSED
    context = {
        "form": form,
        "preview": preview,
        "stop": None if preview.stop is None else shown_refusal(form, preview.stop),
        "implant": preview.implant,
        "patient": preview.implant.episode.patient,
        "reviewing": reviewing,
        "warnings": warning_rows(preview.warnings, typed_reasons(request)),
        "override_error": override_error,
    }
    return render(request, "web/program/form.html", context, status=status)


@clinic_page
@require_http_methods(["GET", "POST"])
@answered_once
def change(request: HttpRequest, implant_id: UUID) -> HttpResponse:
    """The titration form; its confirmation, clicked twice, gives the dose once (the second
    click gets the first one's answer)."""
    user = user_of(request)
    now = clock.now()
    if request.method == "GET":
        current = preview_program_change(user, implant_id, at=now)
        dose = current.before.dose
        initial = {
            "version": current.version,
            "dose": str(dose or ""),
            "submission": new_submission_key(),
        }
        form = ProgramForm(initial=initial)
        return _page(request, form, current)
    form = ProgramForm(request.POST)
    if not form.is_valid():
        return _page(request, form, preview_program_change(user, implant_id, at=now))
    data = form.cleaned_data
    phase = Phase(data["phase"]) if data.get("phase") else None
    try:
        preview = preview_program_change(user, implant_id, at=now, dose=data["dose"], phase=phase)
    except Refusal as refusal:
        show_refusal(form, refusal)
        return _page(request, form, preview_program_change(user, implant_id, at=now))
    if request.POST.get("action") == "confirm" and preview.version != data["version"]:
        # Someone changed the pump since the review: that is the answer (409), not what the
        # dose would now break, measured against a program the physician never saw.
        raise Conflict("implant", str(implant_id), data["version"], preview.version)
    if preview.stop is not None:  # a hard limit: shown next to the dose as well
        show_refusal(form, preview.stop)
        return _page(request, form, preview)
    if request.POST.get("action") != "confirm":
        return _page(request, form, preview)
    if data.get("reviewed") != form.fingerprint(preview.after):
        form.add_error(
            None,
            "The dose changed since the review, or what it leads to (rate, refill-by date): check "
            "the review below.",
        )
        return _page(request, form, preview)
    try:
        program = confirm_program_change(
            user,
            implant_id,
            expected_version=data["version"],
            dose=data["dose"],
            now=now,
            overrides=override_reasons(preview.warnings, typed_reasons(request)),
            phase=phase,
        )
    except Refusal as refusal:
        if override_refused(refusal):
            return _page(request, form, preview, override_error=refusal.message, status=REFUSED)
        show_refusal(form, refusal)
        return _page(request, form, preview)
    return redirect("web:program-record", program.id)


@clinic_page
def record(request: HttpRequest, program_id: UUID) -> HttpResponse:
    shown = program_record(user_of(request), program_id)
    context = {"record": shown, "patient": shown.implant.episode.patient}
    return render(request, "web/program/record.html", context)
