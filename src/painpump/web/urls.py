"""URL map of the web app (mounted at the site root; the REST API lives under /api/)."""

from __future__ import annotations

from django.urls import path

from painpump.web.views import dashboard, patients, reports, session

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sign-in/", session.sign_in, name="sign-in"),
    path("sign-out/", session.sign_out, name="sign-out"),
    path("patients/", patients.patients, name="patients"),
    path("patients/<uuid:patient_id>/", patients.patient, name="patient"),
    path("refills/<uuid:refill_id>/report.pdf", reports.refill_report, name="refill-report"),
    path(
        "patients/<uuid:patient_id>/summary.pdf",
        reports.patient_summary_report,
        name="patient-summary-report",
    ),
]
