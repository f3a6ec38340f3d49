"""Finding a patient (the patients list: searched, filtered, sorted and paged, every filter and
the page in the URL so that a list can be bookmarked) and the patient's chart."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from painpump import clock
from painpump.clinic.errors import UnreadableRow
from painpump.clinic.locale import clinic_today
from painpump.clinic.reads import queries
from painpump.clinic.reads.chart import Chart, patient_chart
from painpump.clinic.reads.prescription_history import Version, prescription_versions
from painpump.clinic.reads.prescription_work import open_incidents, readbacks_differing
from painpump.clinic.reads.queries import PatientList, search_patients
from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.chart_series import dose_data, outcome_data, reservoir_data

logger = logging.getLogger(__name__)

MAX_QUERY = 200
PAGE_ROWS = queries.PAGE_SIZE
LAST_PAGE = queries.MAX_OFFSET // PAGE_ROWS + 1
WHOLE = re.compile(r"[+-]?[0-9]+")
FILTERS = ("q", "stage", "drug", "pump", "refill_within", "sort")
LABELS = {
    "q": "Name or record number",
    "stage": "Stage",
    "drug": "Drug in the pump",
    "pump": "Pump model",
    "refill_within": "Next refill within (days)",
    "sort": "Sort by",
    "page": "Page",
}
"""The list's fields as the page names them (a refusal is worded with these)."""
SORTS = {
    queries.Sort.NAME: "Name",
    queries.Sort.MRN: "Record number",
    queries.Sort.REFILL_BY: "Next refill-by date",
}


def _whole(text: str, field: str, allowed: str) -> int:
    """A whole number typed in a field, or a refusal naming the field, the text and `allowed`."""
    try:
        if WHOLE.fullmatch(text):
            return int(text)
    except ValueError:  # more digits than Python converts
        pass
    raise Refusal(field, repr(text), allowed, queries.LIST_SOURCE, "is not a whole number")


def _page(text: str) -> int:
    if not text:
        return 1
    allowed = f"a page number from 1 to {LAST_PAGE}"
    number = _whole(text, "page", allowed)
    if not 1 <= number <= LAST_PAGE:
        raise Refusal("page", text, allowed, queries.LIST_SOURCE, "is not a page of the list")
    return number


def _url(given: dict[str, str], page: int) -> str:
    """The list's address with the filters given and `page` (the first page needs no number)."""
    params = {k: v for k, v in given.items() if v} | ({"page": str(page)} if page > 1 else {})
    return reverse("web:patients") + ("?" + urlencode(params) if params else "")


def _choices() -> dict[str, Any]:
    return {
        "stages": [
            (s, "not referred (no episode)" if s == queries.NO_EPISODE else s.replace("_", " "))
            for s in queries.STAGES
        ],
        "drugs": sorted(catalog.drugs()),
        "pumps": [(model, pump.name) for model, pump in catalog.pumps().items()],
        "sorts": [(s.value, label) for s, label in SORTS.items()],
    }


def _listing(request: HttpRequest, given: dict[str, str], page: int) -> PatientList:
    within = given["refill_within"].strip()
    allowed = f"0 to {queries.MAX_REFILL_WITHIN} days"
    return search_patients(
        user_of(request),
        given["q"],
        stage=given["stage"],
        drug=given["drug"],
        pump=given["pump"],
        refill_within=_whole(within, "refill_within", allowed) if within else None,
        sort=given["sort"] or queries.Sort.NAME.value,
        offset=(page - 1) * PAGE_ROWS,
        limit=PAGE_ROWS,
    )


@clinic_page
def patients(request: HttpRequest) -> HttpResponse:
    """GET /patients/?q=&stage=&drug=&pump=&refill_within=&sort=&page=: a page of 50 patients
    with the total; a value not allowed is refused (422, or in the rows htmx swaps in) with
    the field, the value and what is allowed, and nothing is read. A refill-by date before the
    clinic's today is marked overdue."""
    given = {name: request.GET.get(name, "")[:MAX_QUERY] for name in FILTERS}
    live = bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )
    listing: PatientList | None = None
    refused: Refusal | None = None
    page = 1
    try:
        page = _page(request.GET.get("page", "")[:MAX_QUERY])
        listing = _listing(request, given, page)
    except Refusal as refusal:
        refused = replace(refusal, field=LABELS.get(refusal.field, refusal.field))
        error_field = refusal.field
    else:
        error_field = ""
    last_page = max(1, -(-listing.total // PAGE_ROWS)) if listing else 1
    context = {
        "query": given["q"],
        "given": given,
        "filtered": any(given[name] for name in FILTERS if name != "sort"),
        "listing": listing,
        "page": page,
        "last_page": last_page,
        "previous_url": _url(given, min(page - 1, last_page)) if page > 1 else None,
        "next_url": _url(given, page + 1) if listing and listing.has_next else None,
        "refused": refused,
        "error_field": error_field,
        "live": live,
        "labels": LABELS,
        "today": clinic_today(),  # a refill-by date before it is marked overdue
        **_choices(),
    }
    template = "web/patient_rows.html" if live else "web/patients.html"
    # a refusal in the rows htmx swaps in is a 200: htmx swaps no 4xx answer, the user would
    # see nothing
    status = REFUSED if refused and not live else 200
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@clinic_page
def patient(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = user_of(request)
    chart = patient_chart(user, patient_id, clock.now())
    pump = chart.pump
    incidents = open_incidents(user, patient_id)
    versions, unreadable = _versions(user, chart)
    context = {
        "chart": chart,
        "patient": chart.patient,
        "episodes": chart.episodes,
        "reservoir_data": reservoir_data(chart),
        "dose_data": dose_data(chart.doses, chart.now),
        "outcome_data": outcome_data(chart.outcomes),
        "versions": versions,
        "unreadable": tuple(dict.fromkeys(chart.unreadable + unreadable)),
        "incidents": incidents,
        "readbacks_differing": readbacks_differing(incidents, pump.implant_id) if pump else (),
    }
    return render(request, "web/patient.html", context)


def _versions(user: User, chart: Chart) -> tuple[tuple[Version, ...], tuple[str, ...]]:
    """The pump's settings history; none, and the row that cannot be read (written outside the
    application) named and logged, rather than an error page."""
    if chart.pump is None:
        return (), ()
    try:
        return prescription_versions(user, chart.pump.implant_id), ()
    except UnreadableRow as error:
        logger.error(
            "the chart shows pump %s without its settings history: %s", chart.pump.implant_id, error
        )
        return (), (str(error),)
