"""The audit log for the auditor and the admin (clinic.reads.audit_queries): entries newest first,
filtered by patient, actor, action and days, each with what changed shown field by field before
and after; and the verification of the hash chain on request. Every read is itself audited.

Verifying reads the whole trail (seconds of a core on a large clinic's): it runs one at a time
across the clinic and once a minute per user (painpump.plumbing.pace), a press past that answered
429 with when to try again; and it reads inside a read-only scope, so on SQLite it holds no write
lock and the clinic's work goes on beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from painpump.clinic.audit import Verification
from painpump.clinic.models import AuditEntry
from painpump.clinic.reads import audit_queries
from painpump.clinic.reads.audit_queries import AuditFilter, AuditPage
from painpump.clinic.roles import Forbidden, may, require
from painpump.core.errors import Refusal
from painpump.db.read_only import read_only
from painpump.plumbing import pace
from painpump.plumbing.status import FORBIDDEN, REFUSED, TOO_MANY_REQUESTS
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import show_refusal

EMPTY = "—"
SEQ_MAX = 2**63 - 1
"""The largest sequence number the database holds (a bigint): a larger one is refused."""
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class FilterForm(forms.Form):
    patient = forms.CharField(
        label="Patient",
        max_length=150,
        required=False,
        help_text="patient id, or record number for the roles that read patient records",
    )
    actor = forms.CharField(label="Who", max_length=150, required=False, help_text="username")
    action = forms.CharField(
        label="Action",
        max_length=150,
        required=False,
        help_text="e.g. refill (all refill actions) or refill.verify",
    )
    since = forms.DateField(label="From (day)", widget=DATE, required=False)
    until = forms.DateField(label="To (day, inclusive)", widget=DATE, required=False)
    before = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1, max_value=SEQ_MAX
    )


LONG_LIST = 5
"""A list value of more items than this (the patients a dashboard read showed) is shown as its
count, the items themselves behind a disclosure."""


@dataclass(frozen=True)
class Shown:
    """A value as the log shows it: its text, or for a long list its count (`text`) with every
    item in `full`, collapsed."""

    text: str
    full: str = ""


@dataclass(frozen=True)
class Change:
    """One field of an entry: its value before and after."""

    field: str
    before: Shown
    after: Shown
    changed: bool


def readable(value: object) -> str:
    """An audit value in words: lists joined, mappings as "key: value", nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(readable(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')}: {readable(v)}" for key, v in value.items())
    return str(value)


def shown(name: str, value: object) -> Shown:
    """A field's value; a long list as "120 patients" with the items kept in full."""
    if isinstance(value, list) and len(value) > LONG_LIST:
        what = name.replace("_", " ") if name.endswith("s") else "items"
        return Shown(f"{len(value)} {what}", readable(value))
    return Shown(readable(value))


def changes(entry: AuditEntry) -> list[Change]:
    """The fields of an entry's before and after, in the order they were recorded."""
    before: dict[str, Any] = entry.before if isinstance(entry.before, dict) else {}
    after: dict[str, Any] = entry.after if isinstance(entry.after, dict) else {}
    names = list(before) + [name for name in after if name not in before]
    rows = []
    for name in names:
        old = shown(name, before.get(name)) if entry.before is not None else Shown(EMPTY)
        new = shown(name, after.get(name)) if entry.after is not None else Shown(EMPTY)
        changed = (old.full or old.text) != (new.full or new.text)
        rows.append(Change(name.replace("_", " "), old, new, changed))
    return rows


def _filters(form: FilterForm) -> AuditFilter:
    data = form.cleaned_data
    return AuditFilter(
        patient=data.get("patient") or "",
        actor=data.get("actor") or "",
        action=data.get("action") or "",
        since=data.get("since"),
        until=data.get("until"),
    )


def _older_link(form: FilterForm, page: AuditPage) -> str | None:
    if page.older is None:
        return None
    params = {k: v for k, v in form.data.items() if k not in ("before", "csrfmiddlewaretoken")}
    return "?" + urlencode({**params, "before": page.older})


def _page(
    request: HttpRequest, form: FilterForm, verification: Verification | None = None
) -> HttpResponse:
    user = user_of(request)
    require(user, "audit.read")  # before the filters are even looked at
    page = None
    if form.is_valid():
        try:
            page = audit_queries.audit_page(
                user, _filters(form), before=form.cleaned_data.get("before")
            )
        except Refusal as refusal:
            show_refusal(form, refusal)
    context = {
        "form": form,
        "page": page,
        "rows": [(entry, changes(entry)) for entry in page.entries] if page else [],
        "older": _older_link(form, page) if page else None,
        "verification": verification,
        "may_open_patients": may(user, "patient.read"),
    }
    status = REFUSED if form.errors else 200
    return render(request, "web/audit/log.html", context, status=status)


@clinic_page
def log(request: HttpRequest) -> HttpResponse:
    return _page(request, FilterForm(request.GET))


VERIFY = "audit.verify"
VERIFY_EVERY = timedelta(minutes=1)
"""How often one user may verify the trail from this page (`painpump audit verify` is not paced)."""
LATER = {
    pace.Why.YOURS_RECENT: "You started a verification less than a minute ago (one a minute each)",
    pace.Why.ANOTHER_RUNNING: "Another verification of the chain is running (one at a time)",
}


@transaction.non_atomic_requests  # a run's start and end commit on their own (plumbing.pace)
@require_POST
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not may(user, "audit.read"):  # answered here: no request transaction to roll back
        refused = Forbidden(user.get_username(), "audit.read")
        return render(request, "web/refused.html", {"message": str(refused)}, status=FORBIDDEN)
    try:
        with pace.paced(VERIFY, user.get_username(), VERIFY_EVERY), read_only():
            result = audit_queries.verify_chain(user)
    except pace.Paced as paced:
        shown = {"reason": LATER[paced.why], "wait": paced.wait}
        response = render(request, "web/audit/verify_later.html", shown, status=TOO_MANY_REQUESTS)
        response["Retry-After"] = str(paced.wait)
        return response
    with read_only(), transaction.atomic():
        return _page(request, FilterForm({}), result)
