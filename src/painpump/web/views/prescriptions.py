"""Prescriptions on the web: a physician's new prescription for a pump (drugs with their
concentrations, a continuous or flex program, the PTM settings, the phase and the reason; the
form starts from the pump's newest prescription when the double-check rejected it), reviewed as
core judges it (a hard limit next to its entry; each warning with its own reason box; every
setting before and after; whether a double-check follows) and then signed on the implant's
version reviewed; and the second clinician's independent double-check, typed without the
prescribed numbers in view (the checks so far listed, each accept refused with the entries that
did not match) and accepted only when it matches (then the prescription is shown whole, with the
worst day with every patient bolus), or rejected with a comment; the prescriber never opens the
check (clinic.reads.prescription_history, clinic.actions.prescriptions)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from painpump import clock
from painpump.clinic.actions.prescriptions import double_check, prescribe
from painpump.clinic.errors import Conflict
from painpump.clinic.models import Prescription
from painpump.clinic.reads import drug_units
from painpump.clinic.reads.prescription_history import PrescriptionPreview, preview_prescription
from painpump.clinic.reads.prescription_work import (
    CheckEvent,
    CheckTask,
    PrescriptionStart,
    check_task,
    prescription_start,
)
from painpump.clinic.reads.refill_preview import override_reasons
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import DOUBLE_CHECK
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.double_submit import answered_once, new_submission_key
from painpump.web.forms import concentrations_in, show_refusal, shown_refusal
from painpump.web.prescription_display import shown
from painpump.web.refusals import field_label
from painpump.web.views.prescription_forms import (
    MORE_ROWS,
    ROWS,
    SPARE_ROWS,
    CheckForm,
    PrescriptionForm,
    more_rows,
)
from painpump.web.views.refills import override_refused, typed_reasons, warning_rows

COMPARED = ("concentrations.", "program.", "ptm")
"""The fields a double-check's difference names (core.prescription_compare.compare_check)."""
HISTORY = "#prescriptions"
"""The chart's settings history, where a signed or checked prescription is shown."""


def _chart(start: PrescriptionStart | CheckTask) -> str:
    return reverse("web:patient", args=[start.implant.episode.patient_id]) + HISTORY


def _rows(drug: str, program: rx.PrescribedProgram) -> list[tuple[str, str, str]]:
    """A flex program as step rows (days, start, dose in the drug's unit): a step is given on
    its weekdays as the fewest sets the form names (every day; mon-fri, sat-sun; one weekday),
    one row each."""
    given: dict[tuple[str, str], set[int]] = {}
    for weekday, day in enumerate(program.days):
        for step in day:
            given.setdefault((step.start, drug_units.shown(drug, step.dose)), set()).add(weekday)
    return [
        (name, start, dose)
        for (start, dose), weekdays in sorted(given.items())
        for name in _named_sets(weekdays)
    ]


def _named_sets(weekdays: set[int]) -> list[str]:
    """The weekdays as the fewest weekday sets the form names, the largest first."""
    names: list[str] = []
    left = set(weekdays)
    for name, days in sorted(rx.WEEKDAY_SETS.items(), key=lambda item: -len(item[1])):
        if days <= left:
            names.append(name)
            left -= days
    return names


def _initial(start: PrescriptionStart) -> dict[str, Any]:
    """A new form on the pump's newest prescription when the double-check rejected it (all of
    it, the reason left to type), else on the prescription it replaces (the physician changes
    what is to change), each quantity in its drug's unit."""
    initial: dict[str, Any] = {"version": start.version, "submission": new_submission_key()}
    if start.rejected is not None:
        values = start.rejected.values
        phase = values.phase.value if values.phase is not None else ""
        chosen = {"phase": phase, "fluid_change": values.fluid_change.value}
        return initial | _entries(values) | chosen
    if start.current_values is None:
        return initial
    return initial | _entries(start.current_values)


def _entries(current: rx.Prescription) -> dict[str, Any]:
    """The form's entries for the drugs, the program and the PTM settings of `current`."""
    initial: dict[str, Any] = {}
    for index, (name, conc) in enumerate(current.drugs[:3]):
        suffix = "" if index == 0 else f"_{index + 1}"
        initial[f"drug{suffix}"] = name
        initial[f"concentration{suffix}"] = drug_units.shown(name, conc)
    principal = current.principal[0]
    initial["kind"] = current.program.kind.value
    bolus = current.program.bolus
    if current.program.kind is rx.ProgramKind.CONTINUOUS:
        initial["dose"] = drug_units.shown(principal, current.daily_dose)
    elif bolus is not None:
        initial["bolus_dose"] = drug_units.shown(principal, bolus.dose)
        initial["bolus_duration"] = rx.duration_words(bolus.duration_s)
    else:
        rows = _rows(principal, current.program)
        for i, (days, begins, dose) in enumerate(rows):
            initial[f"step_{i}_days"], initial[f"step_{i}_start"] = days, begins
            initial[f"step_{i}_dose"] = dose
        initial[ROWS] = len(rows) + SPARE_ROWS
    if current.ptm is not None:
        initial["ptm_dose"] = drug_units.shown(principal, current.ptm.dose)
        initial["ptm_duration"] = rx.duration_words(current.ptm.duration_s)
        initial["ptm_lockout"] = rx.duration_words(current.ptm.lockout_s)
        initial["ptm_max_per_day"] = str(current.ptm.max_per_day)
    return initial


def _show(form: PrescriptionForm | CheckForm, refusal: Refusal) -> Refusal:
    """The refusal next to the entry that carried the value it names; returned as shown (worded
    with that entry's label)."""
    fields = {refusal.field: form.form_field(refusal.field)}
    shown_as = shown_refusal(form, refusal, fields)
    show_refusal(form, refusal, fields)
    return shown_as


def _page(
    request: HttpRequest,
    form: PrescriptionForm,
    start: PrescriptionStart,
    preview: PrescriptionPreview | None,
    *,
    stop: Refusal | None = None,
    override_error: str = "",
    status: int = 200,
) -> HttpResponse:
    if preview is not None and stop is None and form.is_valid():
        form.mark_reviewed(None)
    if stop is not None or form.errors:
        status = REFUSED
    chosen = form.chosen()
    concentrations_in(form, chosen)
    form.doses_in(chosen[0])
    context = {
        "form": form,
        "implant": start.implant,
        "patient": start.implant.episode.patient,
        "current": shown(start.current) if start.current is not None else None,
        "rejected": start.rejected,
        "preview": preview,
        "stop": stop,
        "warnings": warning_rows(preview.warnings, typed_reasons(request)) if preview else [],
        "override_error": override_error,
    }
    return render(request, "web/prescription/form.html", context, status=status)


@clinic_page
@require_http_methods(["GET", "POST"])
@answered_once
def new(request: HttpRequest, implant_id: UUID) -> HttpResponse:
    """The new-prescription form, its review and its signature (signed once, however often the
    signature is clicked); More step rows shows the form again as entered, nothing judged."""
    user = user_of(request)
    now = clock.now()
    start = prescription_start(user, implant_id)
    if request.method == "GET":
        return _page(request, PrescriptionForm(initial=_initial(start)), start, None)
    if request.POST.get("action") == MORE_ROWS:
        return _page(request, PrescriptionForm(initial=more_rows(request.POST)), start, None)
    form = PrescriptionForm(request.POST)
    if not form.is_valid():
        return _page(request, form, start, None)
    data = form.cleaned_data
    try:
        values = form.prescription()
    except Refusal as refusal:
        _show(form, refusal)
        return _page(request, form, start, None)
    preview = preview_prescription(user, implant_id, values, at=now)
    if request.POST.get("action") == "sign" and preview.version != data["version"]:
        # The pump or its prescriptions changed since the review: that is the answer (409).
        raise Conflict("implant", str(implant_id), data["version"], preview.version)
    if preview.stop is not None:
        return _page(request, form, start, preview, stop=_show(form, preview.stop))
    if request.POST.get("action") != "sign":
        return _page(request, form, start, preview)
    if data.get("reviewed") != form.fingerprint(None):
        form.add_error(None, "The entries changed since the review: check the review below.")
        return _page(request, form, start, preview)
    try:
        prescribe(
            user,
            implant_id,
            values,
            reason=data["reason"],
            now=now,
            expected_version=data["version"],
            overrides=override_reasons(preview.warnings, typed_reasons(request)),
        )
    except Refusal as refusal:
        if override_refused(refusal):
            return _page(
                request, form, start, preview, override_error=refusal.message, status=REFUSED
            )
        _show(form, refusal)
        return _page(request, form, start, preview)
    return redirect(_chart(start))


def _check_page(
    request: HttpRequest,
    form: CheckForm,
    task: CheckTask,
    *,
    mismatch: bool = False,
    status: int = 200,
) -> HttpResponse:
    decided = task.record.status != Prescription.Status.AWAITING_CHECK
    context = {
        "form": form,
        "task": task,
        "history": [(event, _differed(event)) for event in task.history],
        "implant": task.implant,
        "patient": task.implant.episode.patient,
        "mismatch": mismatch,
        # decided, the check is over: the prescription is shown whole, never before
        "rx": shown(task.record) if decided else None,
    }
    return render(request, "web/prescription/check.html", context, status=status)


def _differed(event: CheckEvent) -> str:
    """The entries of an accept refused that did not match, as the form labels them."""
    return ", ".join(field_label(field) for field in event.differed)


@clinic_page
@require_http_methods(["GET", "POST"])
@answered_once
def check(request: HttpRequest, prescription_id: UUID) -> HttpResponse:
    """The double-check: the concentrations, the program (flex: every step row) and the PTM
    settings typed independently, then Accept (refused where an entry differs, naming the entry
    but never the prescribed value; accepted, the page shows the prescription whole) or Reject
    with a comment (the entries optional); More step rows shows the form again as typed, nothing
    judged."""
    user = user_of(request)
    task = check_task(user, prescription_id)
    if request.method == "GET":
        initial = {"submission": new_submission_key(), "kind": task.record.program_kind}
        form = CheckForm(initial=initial, drugs=task.drug_names)
        return _check_page(request, form, task)
    if request.POST.get("action") == MORE_ROWS:
        form = CheckForm(initial=more_rows(request.POST), drugs=task.drug_names)
        return _check_page(request, form, task)
    accept = request.POST.get("action") == "accept"
    form = CheckForm(request.POST, drugs=task.drug_names, rejecting=not accept)
    if not form.is_valid():
        return _check_page(request, form, task, status=REFUSED)
    try:
        double_check(
            user,
            prescription_id,
            entries=form.entries(),
            accept=accept,
            comment=form.cleaned_data["comment"],
            now=clock.now(),
        )
    except Refusal as refusal:
        _show(form, refusal)
        differs = accept and refusal.source == DOUBLE_CHECK and refusal.field.startswith(COMPARED)
        return _check_page(request, form, task, mismatch=differs, status=REFUSED)
    if accept:
        return redirect("web:prescription-check", prescription_id)
    return redirect(_chart(task))
