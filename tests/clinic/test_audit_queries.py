"""The audit log as the auditor and the admin read it: filtered by patient, actor, action and
days, a page at a time, every read itself audited; the chain verification finds an edited entry."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import BORN
from frozen import TODAY, ZONE, day
from painpump.clinic.models import AuditEntry, Implant, Patient
from painpump.clinic.reads import audit_queries, queries
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


IDENTITY = ("Muster", "Erika", "MRN-0001", BORN.isoformat())


def test_the_admin_reads_who_did_what_but_no_patient_identity(
    admin: User, nurse: User, implant: Implant, patient: Patient
) -> None:
    """Regression: an admin, who may not read patient records, read names, record numbers and
    birth dates in the audit log; now a patient's entries show their fields, not their values,
    and a search's words are hidden too."""
    queries.search_patients(nurse, "Muster", today=TODAY)
    page = audit_queries.audit_page(admin, AuditFilter(), size=500)
    shown = str([(e.before, e.after) for e in page.entries])
    assert not [found for found in IDENTITY if found in shown]
    created = next(e for e in page.entries if e.action == "patient.create")
    assert created.patient_id == patient.id and created.actor == "nurse.joy"
    assert created.after is not None and set(created.after) >= {"mrn", "family_name"}
    assert created.after["mrn"] == audit_queries.HIDDEN
    search = next(e for e in page.entries if e.action == "patient.search")
    assert search.after is not None and search.after["query"] == audit_queries.HIDDEN
    stored = AuditEntry.objects.get(seq=created.seq)
    assert stored.after is not None and stored.after["mrn"] == "MRN-0001"  # the trail is intact


def test_the_auditor_reads_patient_records_and_the_trail_in_full(
    auditor: User, implant: Implant
) -> None:
    page = audit_queries.audit_page(auditor, AuditFilter(), size=500)
    shown = str([(e.before, e.after) for e in page.entries])
    assert all(found in shown for found in IDENTITY)


def test_for_the_admin_a_record_number_filter_is_no_oracle_and_a_patient_id_works(
    admin: User, patient: Patient, implant: Implant
) -> None:
    """The admin filters by patient id only: a record number, known or not, is refused alike
    without being looked up, so the filter never tells whether it exists."""
    answers = []
    for typed in ("MRN-0001", "NOPE"):
        with pytest.raises(Refusal) as caught:
            audit_queries.audit_page(admin, AuditFilter(patient=typed))
        answers.append(caught.value.message.replace(typed, "?"))
    assert answers[0] == answers[1] and "patient id" in answers[0]
    page = audit_queries.audit_page(admin, AuditFilter(patient=str(patient.id)))
    assert page.entries and all(e.patient_id == patient.id for e in page.entries)
