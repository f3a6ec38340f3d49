"""The eighth outside attack on the library page: a hard clinic limit inserted in the database
(morphine at most 25 000 mcg/mL, "set by" the pharmacist, not approved) was put in force by an
honest physician pressing Approve on /library/, and verify then named nothing. The approval is
refused (422) naming the limit as written outside painpump, nothing changes, verify fails before
and after; the pharmacist may still withdraw it; an honest limit still approves and verifies."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import library
from painpump.clinic.models import AuditEntry, ClinicLimit
from painpump.core.units import Kind, parse
from raw_rows import insert

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def inserted_limit(set_by: str) -> str:
    key = uuid.uuid4()
    now = clock.now()
    insert(
        ClinicLimit,
        id=key,
        drug="morphine",
        rule="max_concentration",
        value=Decimal("25000"),
        unit="mcg/mL",
        severity="hard",
        source="the insider's policy",
        set_by=set_by,
        set_at=now,
        archived_by="",
        approved_by="",
        archive_requested_by="",
        version=1,
        created_at=now,
        updated_at=now,
    )
    return str(key)


def test_an_inserted_hard_limit_is_refused_at_the_approve_button(
    pharmacist: User, physician: User
) -> None:
    key = inserted_limit(pharmacist.username)
    named = f"clinic_limit {key}: no audit entry records it"
    assert any(p.startswith(named) for p in audit.verify().problems)
    client = client_for(physician)
    assert f"/library/limits/{key}/approve/" in client.get("/library/").content.decode()
    entries = AuditEntry.objects.count()
    refused = client.post(f"/library/limits/{key}/approve/", {"version": "1"})
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "has no audit entry (`library.limit.add` or `library.limit.change` enters one)" in (
        page.replace("&#x27;", "'").replace("&#96;", "`")
    )
    assert "it was written outside painpump" in page
    row = ClinicLimit.objects.get(id=key)
    assert (row.approved_by, row.approved_at, row.version) == ("", None, 1)
    assert AuditEntry.objects.count() == entries
    assert any(p.startswith(named) for p in audit.verify().problems)
    withdrawn = client_for(pharmacist).post(f"/library/limits/{key}/archive/", {"version": "1"})
    assert withdrawn.status_code == 302
    assert ClinicLimit.objects.get(id=key).archived_at is not None
    assert audit.verify().ok, audit.verify().problems


def test_an_honest_hard_limit_still_approves_at_the_button(
    pharmacist: User, physician: User
) -> None:
    row = library.add_limit(
        pharmacist,
        drug="morphine",
        rule="max_daily_dose",
        value=parse("10 mg/day", Kind.DOSE_RATE, "value"),
        severity="hard",
        source="Opioid policy v3, section 2",
        idempotency_key="k-honest",
    )
    done = client_for(physician).post(f"/library/limits/{row.id}/approve/", {"version": "1"})
    assert done.status_code == 302
    row.refresh_from_db()
    assert (row.approved_by, row.pending) == ("dr.house", False)
    assert audit.verify().ok, audit.verify().problems
