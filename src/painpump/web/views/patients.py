"""Finding a patient and the patient's chart."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from painpump.clinic.chart import patient_chart
from painpump.clinic.queries import search_patients
from painpump.web.access import clinic_page, user_of
from painpump.web.chart_series import dose_data, outcome_data, reservoir_data

MAX_QUERY = 200


@clinic_page
def patients(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:MAX_QUERY]
    found = search_patients(user_of(request), query)
    template = "web/patient_rows.html" if request.headers.get("HX-Request") else "web/patients.html"
    return render(request, template, {"query": query, "patients": found})


@clinic_page
def patient(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    chart = patient_chart(user_of(request), patient_id, timezone.now())
    context = {
        "chart": chart,
        "patient": chart.patient,
        "episodes": chart.episodes,
        "reservoir_data": reservoir_data(chart),
        "dose_data": dose_data(chart.doses, chart.now),
        "outcome_data": outcome_data(chart.outcomes),
    }
    return render(request, "web/patient.html", context)
