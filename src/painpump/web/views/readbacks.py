"""The programmer's readback after a refill or a programming (nurses and physicians): what the
clinician programmer shows (reservoir volume, drugs and concentrations, program steps, PTM
settings, and after a refill that ran one the bridge or priming bolus) typed as it shows it and
compared by core with the prescription, the reservoir expected and the refill; a difference stops
the session, names each difference (entered against prescribed) and opens an incident on the
patient's record, which a physician closes with what was done (clinic.actions.readbacks)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from painpump import clock
from painpump.clinic.actions.readbacks import close_incident, record_readback
from painpump.clinic.reads.prescription_work import ReadbackSession, readback_session
from painpump.core.errors import Refusal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.double_submit import answered_once, new_submission_key
from painpump.web.forms import concentrations_in, show_refusal
from painpump.web.views.prescription_forms import MORE_ROWS, ReadbackForm, more_rows


def _initial(session: ReadbackSession) -> dict[str, Any]:
    """A new form: the prescription's drugs and program kind chosen (what the programmer should
    show), every number typed as the programmer shows it."""
    record = session.prescription
    initial: dict[str, Any] = {"submission": new_submission_key(), "kind": record.program_kind}
    for index, drug in enumerate(record.drugs.all()[:3]):
        initial["drug" if index == 0 else f"drug_{index + 1}"] = drug.drug
    return initial


def _page(
    request: HttpRequest, form: ReadbackForm, session: ReadbackSession, *, status: int = 200
) -> HttpResponse:
    program = session.programming.program
    prescribed = [d.drug for d in session.prescription.drugs.all()]
    concentrations_in(form, prescribed)
    form.doses_in(prescribed[0])
    context = {
        "form": form,
        "session": session,
        "program": program,
        "refill": program.refills.first(),
        "implant": session.implant,
        "patient": session.implant.episode.patient,
    }
    return render(request, "web/readback/page.html", context, status=status)


@clinic_page
@require_http_methods(["GET", "POST"])
@answered_once
def readback(request: HttpRequest, program_id: UUID) -> HttpResponse:
    """The readback form of a programming and the state of its session (awaiting readback,
    stopped, complete); recorded once, however often it is sent."""
    user = user_of(request)
    session = readback_session(user, program_id)
    asked = session.fluid_change.kind if session.fluid_change is not None else None
    if request.method == "GET":
        form = ReadbackForm(initial=_initial(session), asked=asked)
        return _page(request, form, session)
    if request.POST.get("action") == MORE_ROWS:
        return _page(request, ReadbackForm(initial=more_rows(request.POST), asked=asked), session)
    form = ReadbackForm(request.POST, asked=asked)
    if not form.is_valid():
        return _page(request, form, session, status=REFUSED)
    try:
        record_readback(user, program_id, form.readback(), clock.now())
    except Refusal as refusal:
        show_refusal(form, refusal, {refusal.field: form.form_field(refusal.field)})
        return _page(request, form, session, status=REFUSED)
    return redirect("web:readback", program_id)


@clinic_page
@require_POST
def close(request: HttpRequest, incident_id: UUID) -> HttpResponse:
    """A physician closes an incident with the resolution typed (a refusal is its own page)."""
    incident = close_incident(
        user_of(request), incident_id, request.POST.get("resolution", "")[:600], clock.now()
    )
    return redirect(reverse("web:patient", args=[incident.patient_id]) + "#incidents")
