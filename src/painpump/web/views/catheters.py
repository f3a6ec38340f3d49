"""The clinic's own catheter entries as pages (clinic.actions.catheters): every member of the team
reads them beside the catalog's catheters; a pharmacist enters a figure, or a new figure for one
in force, and archives one; a second pharmacist or physician approves it."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from painpump.clinic.actions import catheters
from painpump.clinic.errors import NotFound
from painpump.clinic.models import ClinicCatheter
from painpump.clinic.reads import catheters as entries
from painpump.clinic.roles import may
from painpump.core import catalog
from painpump.core.clinic_catheters import ENTRY_RULES, EXAMPLES, parse_volume_per_cm
from painpump.core.errors import Refusal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.double_submit import answered_once, new_submission_key
from painpump.web.forms import attempt

LIST = "web:clinic-catheters"


def _entry(row: ClinicCatheter, user: User, waiting_models: set[str]) -> dict[str, Any]:
    asked = row.pending or row.removal_pending
    active = row.archived_at is None
    return {
        "row": row,
        "per_cm": entries.shown_per_cm(row),
        "status": entries.status_of(row).value,
        "replaces": entries.shown_per_cm(row.replaces) if row.replaces else "",
        "may_approve": asked
        and may(user, "library.approve")
        and user.get_username() != row.awaiting,
        "may_archive": active and not row.removal_pending and may(user, "library.harden"),
        "may_replace": row.in_force
        and row.model not in waiting_models
        and may(user, "library.harden"),
    }


@clinic_page
def entries_page(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    rows = entries.list_catheters(user)
    waiting_models = {row.model for row in rows if row.pending}
    shown = [_entry(row, user, waiting_models) for row in rows]
    rules = catalog.clinic_catheter_rules()
    context = {
        "catalog": list(catalog.catheters().values()),
        "waiting": [e for e in shown if e["row"].pending or e["row"].removal_pending],
        "in_force": [e for e in shown if e["row"].in_force],
        "archived": [e for e in shown if e["row"].archived_at is not None],
        "may_enter": may(user, "library.harden"),
        "low": rules.volume_per_cm_min,
        "high": rules.volume_per_cm_max,
    }
    return render(request, "web/library/catheters.html", context)


class CatheterForm(forms.Form):
    """An entry: the model, its name and manufacturer, the figure typed with its units and where
    it was read; a replacement also carries the entry in force and the version shown."""

    submission = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)
    replaces = forms.UUIDField(widget=forms.HiddenInput, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
    model = forms.CharField(
        label="Catheter model", max_length=60, help_text="as on its label, e.g. 8709SC"
    )
    name = forms.CharField(
        label="Name", max_length=100, help_text="e.g. Medtronic intrathecal catheter 8709SC"
    )
    manufacturer = forms.CharField(label="Manufacturer", max_length=100)
    volume_per_cm = forms.CharField(
        label="Volume per cm",
        max_length=60,
        help_text=f"with its units, e.g. {EXAMPLES}: this model's own figure from its labeling, "
        "never another model's",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    source = forms.CharField(
        label="Source: where you read it",
        max_length=500,
        help_text="the document's number, version and page (shown with every check it gives)",
        error_messages={"required": "Name the document the figure was read from."},
    )

    def clean_volume_per_cm(self) -> Any:
        try:
            return parse_volume_per_cm(self.cleaned_data["volume_per_cm"], "Volume per cm")
        except Refusal as refusal:
            raise forms.ValidationError(refusal.message) from None

    def replacing(self) -> tuple[UUID, int] | None:
        replaces, version = self.cleaned_data.get("replaces"), self.cleaned_data.get("version")
        return (replaces, version) if replaces is not None and version is not None else None


def _replaced(user: User, request: HttpRequest) -> ClinicCatheter | None:
    """The entry in force a replacement form is for (?replaces=<id>), if any."""
    wanted = request.GET.get("replaces")
    if not wanted:
        return None
    try:
        entry_id = UUID(wanted)
    except ValueError:
        raise NotFound(f"clinic catheter {wanted[:40]}") from None
    return entries.read_catheter(user, entry_id)


@clinic_page
@answered_once
def new_entry(request: HttpRequest) -> HttpResponse:
    """A new entry, or with ?replaces=<id> a new figure for the entry in force; a double
    submission is answered with the first one's redirect."""
    user = user_of(request)
    catheters.require_pharmacist(user)  # the form is shown only to those the service accepts
    replaced = _replaced(user, request)
    initial: dict[str, Any] = {"submission": new_submission_key()}
    if replaced is not None:
        initial |= {
            "replaces": replaced.id,
            "version": replaced.version,
            "model": replaced.model,
            "name": replaced.name,
            "manufacturer": replaced.manufacturer,
        }
    form = CatheterForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        added = partial(
            catheters.add_catheter,
            user,
            model=data["model"],
            name=data["name"],
            manufacturer=data["manufacturer"],
            volume_per_cm=data["volume_per_cm"],
            source=data["source"],
            replaces=form.replacing(),
        )
        row = attempt(form, added, {"replaces": "__all__"})
        if row is not None:
            messages.success(
                request,
                f"Catheter entry for {row.model} entered ({entries.shown_per_cm(row)}). It waits "
                "for a second pharmacist or physician and does not apply until then.",
            )
            return redirect(LIST)
    context = {
        "form": form,
        "replaced": replaced,
        "replaced_per_cm": entries.shown_per_cm(replaced) if replaced else "",
    }
    status = REFUSED if form.errors else 200
    return render(request, "web/library/catheter_new.html", context, status=status)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def _version(request: HttpRequest) -> int:
    """The version of the entry the page showed, posted with an approval or an archiving."""
    form = VersionForm(request.POST)
    if not form.is_valid():
        raise Refusal("version", "missing", "the version of the entry shown", ENTRY_RULES)
    return int(form.cleaned_data["version"])


@require_POST
@clinic_page
def approve(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    """The second approval of a waiting entry or of an entry's archiving (library.approve, not
    the one who asked)."""
    with transaction.atomic():
        row = catheters.approve_catheter(
            user_of(request), entry_id, expected_version=_version(request)
        )
    if row.archived_at is not None:
        text = (
            f"Archiving of the catheter entry for {row.model} approved: implants of this model "
            "are no longer checked against it."
        )
    else:
        text = (
            f"Catheter entry for {row.model} approved: implantations check the dead volume "
            "against it from now on."
        )
    messages.success(request, text)
    return redirect(LIST)


@require_POST
@clinic_page
def archive(request: HttpRequest, entry_id: UUID) -> HttpResponse:
    with transaction.atomic():
        row = catheters.archive_catheter(
            user_of(request), entry_id, expected_version=_version(request)
        )
    if row.removal_pending:
        text = (
            f"Archiving of the catheter entry for {row.model} asked for: it applies until a "
            "second pharmacist or physician approves the archiving."
        )
    else:
        text = f"Catheter entry for {row.model} withdrawn: it never applied and stays on record."
    messages.success(request, text)
    return redirect(LIST)
