"""The audit log as the auditor and the admin read it: filtered by patient, actor, action and
days, a page at a time, every read itself audited; the chain verification finds an edited entry."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User

from frozen import TODAY, ZONE, day
from painpump.clinic.models import AuditEntry, Implant, Patient
from painpump.clinic.reads import audit_queries
from painpump.clinic.reads.audit_queries import AuditFilter
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


def test_the_auditor_filters_by_patient_record_number(
    auditor: User, implant: Implant, patient: Patient
) -> None:
    page = audit_queries.audit_page(auditor, AuditFilter(patient="MRN-0001"))
    assert page.entries
    assert all(e.patient_id == patient.id for e in page.entries)
    assert page.patient_id == patient.id


def test_filters_by_actor_and_action_prefix(admin: User, implant: Implant) -> None:
    page = audit_queries.audit_page(admin, AuditFilter(actor="DR.HOUSE", action="refill"))
    assert [e.action for e in page.entries] == ["refill.perform"]


def test_filters_by_days(auditor: User, implant: Implant) -> None:
    today = TODAY
    assert audit_queries.audit_page(auditor, AuditFilter(since=today, until=today)).entries
    tomorrow = today + timedelta(days=1)
    assert not audit_queries.audit_page(auditor, AuditFilter(since=tomorrow)).entries


def test_a_day_is_the_clinic_s_day_and_the_calendar_s_end_is_no_error(
    auditor: User, implant: Implant
) -> None:
    late = datetime.combine(TODAY, time(23, 30), tzinfo=ZONE)  # the next day in UTC
    AuditEntry.objects.filter(action="refill.perform").update(at=late)
    on_the_day = audit_queries.audit_page(auditor, AuditFilter(since=TODAY, until=TODAY))
    assert "refill.perform" in [e.action for e in on_the_day.entries]
    next_day = audit_queries.audit_page(auditor, AuditFilter(since=day(1), until=day(1)))
    assert "refill.perform" not in [e.action for e in next_day.entries]
    assert audit_queries.audit_page(auditor, AuditFilter(until=date.max)).entries


def test_a_range_ending_before_it_starts_is_refused(auditor: User) -> None:
    with pytest.raises(Refusal) as caught:
        audit_queries.audit_page(auditor, AuditFilter(since=day(-207), until=day(-208)))
    assert caught.value.field == "until"


def test_an_unknown_record_number_is_refused(auditor: User) -> None:
    with pytest.raises(Refusal) as caught:
        audit_queries.audit_page(auditor, AuditFilter(patient="NOPE"))
    assert caught.value.field == "patient"


def test_pages_continue_below_the_last_entry_shown(auditor: User, implant: Implant) -> None:
    total = AuditEntry.objects.count()
    first = audit_queries.audit_page(auditor, AuditFilter(), size=2)
    assert len(first.entries) == 2 and first.older == first.entries[-1].seq
    second = audit_queries.audit_page(auditor, AuditFilter(), before=first.older, size=total)
    assert second.entries[0].seq < first.entries[-1].seq
    assert second.older is None


def test_reading_the_log_is_audited(auditor: User) -> None:
    audit_queries.audit_page(auditor, AuditFilter(actor="nurse.joy"))
    entry = AuditEntry.objects.get(action="audit.read")
    assert entry.actor == "audi.tor"
    assert entry.after == {"filters": {"actor": "nurse.joy"}, "before": None}


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist"])
def test_clinical_roles_may_not_read_the_log(
    request: pytest.FixtureRequest, role_user: str
) -> None:
    with pytest.raises(Forbidden):
        audit_queries.audit_page(request.getfixturevalue(role_user), AuditFilter())
    with pytest.raises(Forbidden):
        audit_queries.verify_chain(request.getfixturevalue(role_user))


def test_the_chain_verification_finds_an_edited_entry_and_is_audited(
    auditor: User, implant: Implant
) -> None:
    assert audit_queries.verify_chain(auditor).ok
    target = AuditEntry.objects.filter(action="refill.perform").get()
    AuditEntry.objects.filter(seq=target.seq).update(actor="mallory")  # bypasses append-only save
    result = audit_queries.verify_chain(auditor)
    assert not result.ok
    assert f"entry {target.seq}" in result.problem and "edited" in result.problem
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None and last.action == "audit.verify"
    assert last.after is not None and last.after["ok"] is False
