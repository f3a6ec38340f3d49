"""URL map of the web app (mounted at the site root; the REST API lives under /api/)."""

from __future__ import annotations

from django.urls import path

from painpump.web.views import dashboard, patients, session

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sign-in/", session.sign_in, name="sign-in"),
    path("sign-out/", session.sign_out, name="sign-out"),
    path("patients/", patients.patients, name="patients"),
    path("patients/<uuid:patient_id>/", patients.patient, name="patient"),
]
