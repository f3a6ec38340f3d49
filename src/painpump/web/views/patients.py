"""Finding a patient and the patient's chart."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from painpump.clinic.queries import episodes_of, search_patients
from painpump.clinic.services import read_patient
from painpump.clinic.therapy_queries import implants_of
from painpump.web.access import clinic_page, user_of

MAX_QUERY = 200


@clinic_page
def patients(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:MAX_QUERY]
    found = search_patients(user_of(request), query)
    template = "web/patient_rows.html" if request.headers.get("HX-Request") else "web/patients.html"
    return render(request, template, {"query": query, "patients": found})


@clinic_page
def patient(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = user_of(request)
    context = {
        "patient": read_patient(user, patient_id),
        "episodes": episodes_of(user, patient_id),
        "implants": implants_of(user, patient_id),
    }
    return render(request, "web/patient.html", context)
