"""Requests Django treats as safe (GET, HEAD, OPTIONS, TRACE) run in the read-only scope
(painpump.plumbing.read_only_requests), whatever view answers them; a write method never does."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from painpump.clinic import audit
from painpump.clinic.models import AuditEntry, Patient
from painpump.db import read_only
from painpump.plumbing.read_only_requests import ReadOnlyRequestsMiddleware


def _in_scope(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(read_only.active()))


@pytest.mark.parametrize(
    ("method", "scoped"),
    [("GET", True), ("HEAD", True), ("OPTIONS", True), ("TRACE", True), ("POST", False)],
)
def test_each_safe_method_runs_in_the_read_only_scope_and_a_write_never(
    method: str, scoped: bool
) -> None:
    request = RequestFactory().generic(method, "/patients/")
    response = ReadOnlyRequestsMiddleware(_in_scope)(request)
    assert isinstance(response, HttpResponse) and response.content == str(scoped).encode()


def test_options_on_a_chart_reads_it_in_the_read_only_scope_and_audits_the_read(
    nurse: User, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: OPTIONS /patients/{id}/ rendered the whole chart outside the read-only scope."""
    seen: list[bool] = []
    record = audit.record

    def spied(*args: Any, **kwargs: Any) -> Any:
        seen.append(read_only.active())
        return record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", spied)
    client = Client()
    client.force_login(nurse)
    response = client.options(f"/patients/{patient.id}/")
    assert response.status_code == 200
    assert seen and all(seen)
    entry = AuditEntry.objects.filter(action="patient.chart").get()
    assert (entry.actor, entry.patient_id) == (nurse.username, patient.id)
