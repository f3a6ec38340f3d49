"""The refill workflow as a guided form that executes the pump's prescription (shown: its
number, prescriber, double-check, drugs, program and PTM settings): (1) what was left in the pump
and the reconciliation verdict, (2) the new fill, its drugs and concentrations typed from the
syringe label and refused next to the entry where they differ from the prescription, (3) the rate
and bridge that follow, (4) the review of every setting before and after (the program's mode, a
flex program's steps and the PTM settings against the prescription in force, a change marked)
and of the program and PTM settings the pump is programmed with (with the worst day with every
patient bolus), each soft warning passed with the prescriber's reason or one typed for it (a hard
limit refuses, takes no reason and offers no confirmation), (5) the confirmation, recorded once
whatever the retries; then the programmer's readback (web.views.readbacks), the refill as
recorded with its next appointment, and the second clinician's verification. Works as plain
posts; htmx answers each changed entry at once. Every number comes from the clinic services and
painpump.core (clinic.reads.refill_preview, clinic.reads.refill_record)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from painpump import clock
from painpump.clinic.actions import appointments
from painpump.clinic.actions.refills import confirm_refill, verify_refill
from painpump.clinic.errors import Conflict
from painpump.clinic.models import Prescription
from painpump.clinic.reads.prescriptions import PRESCRIBE
from painpump.clinic.reads.refill_preview import (
    RefillPreview,
    override_reasons,
    preview_refill,
    warning_key,
)
from painpump.clinic.reads.refill_record import refill_record
from painpump.clinic.reads.settings_change import executed_settings, settings_change
from painpump.clinic.reads.therapy_queries import refill_recorded
from painpump.clinic.roles import who_may
from painpump.core.decision import Finding, Tier
from painpump.core.errors import Refusal
from painpump.plumbing.status import BAD_REQUEST, REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import concentrations_in, show_refusal, shown_refusal
from painpump.web.prescription_display import shown
from painpump.web.views.refill_forms import RefillForm

PARTS = {
    "reconciliation": ("expected", "aspirated"),
    "program": (
        "drug",
        "concentration",
        "drug_2",
        "concentration_2",
        "drug_3",
        "concentration_3",
        "volume",
    ),
}
"""The entries of each part of the form that htmx answers at once."""


def _initial(preview: RefillPreview) -> dict[str, Any]:
    """A new form: the implant's version, a fresh idempotency key, and the drugs the
    prescription names (their concentrations are typed from the syringe label)."""
    initial: dict[str, Any] = {"version": preview.version, "idempotency_key": uuid.uuid4().hex}
    if preview.prescription is not None:
        for index, drug in enumerate(preview.prescription.drugs.all()[:3]):
            initial["drug" if index == 0 else f"drug_{index + 1}"] = drug.drug
    return initial


OVERRIDE_INPUT = "override-"
"""The name of a warning's reason input: this prefix and the warning's key (warning_key)."""


def typed_reasons(request: HttpRequest) -> dict[str, str]:
    """The reasons typed in the review, by the key of the warning each was typed for."""
    return {
        name.removeprefix(OVERRIDE_INPUT): request.POST.get(name, "")
        for name in request.POST
        if name.startswith(OVERRIDE_INPUT)
    }


def override_refused(refusal: Refusal) -> bool:
    """True for a refusal of the overrides (a reason missing, too short, or for no soft
    warning), shown above the warnings rather than next to an entry."""
    return refusal.field == "overrides" or refusal.field.startswith("overrides[")


@dataclass(frozen=True)
class WarningRow:
    """A warning in the review: its reason input (`name`, the reason typed so far), or none for a
    hard limit, which no reason passes, or for a warning the prescriber already gave a reason
    for (`given`)."""

    finding: Finding
    name: str
    reason: str
    given: str = ""
    physician: bool = False
    """A reason only a physician gives here (a warning the prescriber did not see, at
    programming by someone who is none): no input, whom to ask instead."""

    @property
    def hard(self) -> bool:
        return self.finding.tier is Tier.HARD


def warning_rows(
    warnings: Sequence[Finding], typed: Mapping[str, str], given: Mapping[str, str] | None = None
) -> list[WarningRow]:
    """Each warning with the name of its reason input, the reason typed so far and the reason
    the prescriber gave for its rule (`given`: rule -> reason), if any."""
    given = given or {}
    return [
        WarningRow(
            w, OVERRIDE_INPUT + warning_key(w), typed.get(warning_key(w), ""), given.get(w.rule, "")
        )
        for w in warnings
    ]


def reasons_typed(
    request: HttpRequest, warnings: Sequence[Finding], given: Mapping[str, str]
) -> dict[str, str]:
    """The reasons typed for the warnings the prescriber gave none for (rule -> reason)."""
    open_ones = [w for w in warnings if w.rule not in given]
    return override_reasons(open_ones, typed_reasons(request))


def _preview(
    request: HttpRequest,
    implant_id: UUID,
    form: RefillForm,
    *,
    partial: bool = False,
    at: datetime | None = None,
) -> RefillPreview | None:
    """The refill as entered, previewed. A refusal lands next to its field (None returned): a
    drug or concentration other than the prescription's next to the entry that differs; a hard
    limit is the preview's stop, shown next to its field as well."""
    user = user_of(request)
    try:
        preview = preview_refill(
            user,
            implant_id,
            at=at or clock.now(),
            expected=form.cleaned_data.get("expected"),
            aspirated=form.cleaned_data.get("aspirated"),
            fill=form.fill(),
            partial=partial,
            ptm=form.ptm_counts(),
        )
    except Refusal as refusal:
        show_refusal(form, refusal, _fields(form, preview_refill(user, implant_id, at=clock.now())))
        return None
    if preview.stop is not None:  # a hard limit: shown next to its field as well
        show_refusal(form, preview.stop, _fields(form, preview))
    return preview


def _fields(form: RefillForm, preview: RefillPreview) -> dict[str, str]:
    prescribed = preview.prescription
    names = tuple(d.drug for d in prescribed.drugs.all()) if prescribed is not None else ()
    return form.refill_fields(names)


def _page(
    request: HttpRequest,
    implant_id: UUID,
    form: RefillForm,
    preview: RefillPreview | None,
    *,
    override_error: str = "",
    status: int = 200,
) -> HttpResponse:
    if preview is None:  # the entries were refused: the pump as it is, without the review
        preview = preview_refill(user_of(request), implant_id, at=clock.now())
        status = REFUSED
    reviewing = preview.after is not None or preview.stop is not None
    if reviewing and form.is_bound and form.is_valid():
        form.mark_reviewed(preview.after)
    if preview.stop is not None:
        status = REFUSED
    given = preview.prescribers_reasons
    if preview.prescription is not None:
        concentrations_in(form, [d.drug for d in preview.prescription.drugs.all()])
    stop = _stop(form, preview)
    context = {
        "form": form,
        "preview": preview,
        "stop": stop,
        "stop_remedy": _remedy(preview) if stop is not None else "",
        "prescription_stop": shown_refusal(form, preview.prescription_stop)
        if preview.prescription_stop is not None
        else None,
        "who_prescribes": who_may(PRESCRIBE),
        "implant": preview.implant,
        "patient": preview.implant.episode.patient,
        "reviewing": reviewing,
        "warnings": warning_rows(preview.warnings, typed_reasons(request), given),
        "override_error": override_error,
        "rx": shown(preview.prescription) if preview.prescription is not None else None,
        "program_settings": settings_change(preview.implant, preview.prescription)
        if reviewing and preview.prescription is not None
        else (),
        "prescriber": preview.prescription.prescribed_by if preview.prescription else "",
    }
    return render(request, "web/refill/form.html", context, status=status)


NURSES_ENTRIES = frozenset(
    {"expected", "aspirated", "volume", "lot", "ptm", "ptm.requests", "ptm.given", "performed_at"}
)
"""What a refusal of the refill may name that the nurse typed (besides the drugs and
concentrations from the syringe label); any other limit comes from the prescription."""


def _remedy(preview: RefillPreview) -> str:
    """What ends a hard stop of the refill: the nurse's entries, or a new prescription when the
    stop lies in the prescription as signed (its dose, program, fluid change)."""
    assert preview.stop is not None
    field = preview.stop.field
    if field in NURSES_ENTRIES or field.startswith("drugs"):
        return ""
    return signed_remedy(preview.prescription)


def signed_remedy(prescription: Prescription | None) -> str:
    """A hard stop in the prescription as signed, in words for the nurse: who may end it."""
    number = f" #{prescription.number}" if prescription is not None else ""
    return (
        f"it lies in the prescription{number} as signed, which no entry here changes: ask "
        f"{who_may(PRESCRIBE)} to prescribe anew"
    )


def _stop(form: RefillForm, preview: RefillPreview | None) -> Refusal | None:
    """The preview's hard limit worded with the form's field names (as next to the field)."""
    if preview is None or preview.stop is None:
        return None
    return shown_refusal(form, preview.stop, _fields(form, preview))


@clinic_page
@require_http_methods(["GET", "POST"])
def refill(request: HttpRequest, implant_id: UUID) -> HttpResponse:
    live = reverse("web:refill-live", args=[implant_id])
    if request.method == "GET":
        preview = preview_refill(user_of(request), implant_id, at=clock.now())
        form = RefillForm(initial=_initial(preview), live=live)
        return _page(request, implant_id, form, preview)
    form = RefillForm(request.POST, live=live)
    if not form.is_valid():
        return _page(request, implant_id, form, None)
    if request.POST.get("action") == "confirm":
        return _confirm(request, implant_id, form)
    return _page(request, implant_id, form, _preview(request, implant_id, form))


def _confirm(request: HttpRequest, implant_id: UUID, form: RefillForm) -> HttpResponse:
    data = form.cleaned_data
    fill = form.fill()
    assert fill is not None  # a valid form has a complete fill
    arguments: dict[str, Any] = {
        "expected_version": data["version"],
        "idempotency_key": data["idempotency_key"],
        "expected": data.get("expected"),
        "aspirated": data.get("aspirated"),
        "fill": fill,
        "dose": None,  # the prescription's
        "ptm": form.ptm_counts(),
    }
    user = user_of(request)
    if refill_recorded(user.get_username(), data["idempotency_key"]):  # a retry: recorded
        done = confirm_refill(user, implant_id, performed_at=clock.now(), overrides={}, **arguments)
        return redirect("web:readback", done.program_id)
    at = clock.now()  # the refill is recorded at the moment its confirmation is reviewed again
    preview = _preview(request, implant_id, form, at=at)
    if preview is not None and preview.version != data["version"]:
        # Another refill or a titration since the review: that is the answer (409), not what
        # the entries would now break against a pump the nurse never reviewed.
        raise Conflict("implant", str(implant_id), data["version"], preview.version)
    if preview is None or preview.stop is not None:
        return _page(request, implant_id, form, preview)
    if data.get("reviewed") != form.fingerprint(preview.after):
        form.add_error(
            None,
            "The entries changed since the review, or what they lead to (rate, refill-by date): "
            "check the review below.",
        )
        return _page(request, implant_id, form, preview, status=REFUSED)
    try:
        done = confirm_refill(
            user,
            implant_id,
            performed_at=at,
            overrides=reasons_typed(request, preview.warnings, preview.prescribers_reasons),
            **arguments,
        )
    except Refusal as refusal:
        if override_refused(refusal):
            return _page(
                request,
                implant_id,
                form,
                preview,
                override_error=refusal.message,
                status=REFUSED,
            )
        show_refusal(form, refusal, _fields(form, preview))
        return _page(request, implant_id, form, preview, status=REFUSED)
    return redirect("web:readback", done.program_id)


@clinic_page
@require_POST
def refill_live(request: HttpRequest, implant_id: UUID) -> HttpResponse:
    """The answer to one changed entry (htmx): the reconciliation verdict, or the rate, bridge
    and checks of the fill and program entered so far."""
    part = request.GET.get("part", "")
    if part not in PARTS:
        return HttpResponse("unknown part", status=BAD_REQUEST, content_type="text/plain")
    form = RefillForm(request.POST, partial=True)
    preview = None
    if form.is_valid():
        preview = _preview(request, implant_id, form, partial=True)
    errors: list[tuple[object, object]] = [("", e) for e in form.non_field_errors()]
    stop = _stop(form, preview)
    shown = stop.message if stop is not None else None
    errors += [
        (form[name].label, e)
        for name in PARTS[part]
        for e in form.errors.get(name, [])
        if e != shown  # the hard limit is shown once, with its source, below
    ]
    context = {"preview": preview, "stop": stop, "part": part, "errors": errors}
    return render(request, "web/refill/live.html", context)


@clinic_page
def refill_record_page(request: HttpRequest, refill_id: UUID) -> HttpResponse:
    record = refill_record(user_of(request), refill_id)
    context = {
        "record": record,
        "patient": record.implant.episode.patient,
        "program_settings": executed_settings(record.refill.program),
    }
    return render(request, "web/refill/record.html", context)


@clinic_page
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, refill_id: UUID) -> HttpResponse:
    """The second clinician's page: the refill before and after, its warnings, and Verify."""
    user = user_of(request)
    error, status = "", 200
    if request.method == "POST":
        try:
            verify_refill(user, refill_id, clock.now())
        except Refusal as refusal:
            error, status = refusal.message, REFUSED
        else:
            return redirect("web:refill-record", refill_id)
    record = refill_record(user, refill_id)
    context = {
        "record": record,
        "patient": record.implant.episode.patient,
        "error": error,
        "program_settings": executed_settings(record.refill.program),
    }
    return render(request, "web/refill/verify.html", context, status=status)


@clinic_page
@require_POST
def book(request: HttpRequest, refill_id: UUID) -> HttpResponse:
    """Books the refill appointment the refill proposed (the version shown, or a conflict)."""
    record = refill_record(user_of(request), refill_id)
    appointment = record.appointment
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = 0
    if appointment is None or str(appointment.id) != request.POST.get("appointment"):
        return render(
            request,
            "web/refused.html",
            {"message": "appointment: not the one this refill proposed; reload the page"},
            status=REFUSED,
        )
    appointments.update_appointment(
        user_of(request),
        appointment.id,
        status="booked",
        late_reason=request.POST.get("late_reason", "")[: appointments.MAX_REASON + 1] or None,
        expected_version=version,
    )
    return redirect("web:refill-record", refill_id)
