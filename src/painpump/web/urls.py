"""URL map of the web app (mounted at the site root; the REST API lives under /api/)."""

from __future__ import annotations

from django.urls import path

from painpump.web.views import (
    admin,
    audit,
    calendar,
    dashboard,
    library,
    pathway,
    patient_facts,
    patients,
    programs,
    records,
    refills,
    reports,
    session,
    whatif,
)

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("sign-in/", session.sign_in, name="sign-in"),
    path("sign-out/", session.sign_out, name="sign-out"),
    path("patients/", patients.patients, name="patients"),
    path("patients/<uuid:patient_id>/", patients.patient, name="patient"),
    path("implants/<uuid:implant_id>/what-if/", whatif.what_if_page, name="what-if"),
    path("patients/new/", records.new_patient, name="new-patient"),
    path("patients/<uuid:patient_id>/edit/", patient_facts.edit_patient, name="edit-patient"),
    path("patients/<uuid:patient_id>/episodes/new/", records.new_episode, name="new-episode"),
    path(
        "patients/<uuid:patient_id>/assessments/new/",
        records.new_assessment,
        name="new-assessment",
    ),
    path("episodes/<uuid:episode_id>/", pathway.episode, name="episode"),
    path("episodes/<uuid:episode_id>/origin/", patient_facts.episode_origin, name="episode-origin"),
    path("episodes/<uuid:episode_id>/steps/<str:action>/", pathway.step, name="step"),
    path("episodes/<uuid:episode_id>/stays/<str:purpose>/", pathway.plan_stay, name="plan-stay"),
    path("episodes/<uuid:episode_id>/implant/", pathway.implant, name="implant"),
    path("calendar/", calendar.calendar, name="calendar"),
    path(
        "calendar/appointments/<uuid:appointment_id>/",
        calendar.change,
        name="appointment-change",
    ),
    path("calendar.ics", calendar.export, name="calendar-ics"),
    path("refills/<uuid:refill_id>/report.pdf", reports.refill_report, name="refill-report"),
    path("implants/<uuid:implant_id>/refill/", refills.refill, name="refill"),
    path("implants/<uuid:implant_id>/refill/live/", refills.refill_live, name="refill-live"),
    path("refills/<uuid:refill_id>/", refills.refill_record_page, name="refill-record"),
    path("refills/<uuid:refill_id>/verify/", refills.verify, name="refill-verify"),
    path("refills/<uuid:refill_id>/book/", refills.book, name="refill-book"),
    path("implants/<uuid:implant_id>/program/", programs.change, name="program"),
    path("programs/<uuid:program_id>/", programs.record, name="program-record"),
    path(
        "patients/<uuid:patient_id>/summary.pdf",
        reports.patient_summary_report,
        name="patient-summary-report",
    ),
    path("library/", library.drugs, name="library"),
    path("library/devices/", library.devices, name="library-devices"),
    path("library/<str:drug>/limits/new/", library.new_limit, name="limit-new"),
    path("library/limits/<uuid:limit_id>/", library.change_limit, name="limit-change"),
    path("library/limits/<uuid:limit_id>/archive/", library.archive_limit, name="limit-archive"),
    path("library/limits/<uuid:limit_id>/approve/", library.approve_limit, name="limit-approve"),
    path("users/", admin.accounts, name="users"),
    path("users/new/", admin.new_account, name="user-new"),
    path("users/<int:user_id>/", admin.account, name="user"),
    path("users/<int:user_id>/roles/", admin.account_roles, name="user-roles"),
    path("users/<int:user_id>/active/", admin.account_active, name="user-active"),
    path("users/<int:user_id>/password/", admin.account_password, name="user-password"),
    path("settings/", admin.clinic_settings, name="settings"),
    path("audit/", audit.log, name="audit"),
    path("audit/verify/", audit.verify, name="audit-verify"),
]
