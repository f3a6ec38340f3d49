"""painpump.db.read_only: within the scope an audit entry of what was read is appended once the
scope ends, in a transaction of its own; outside it, at once in the caller's transaction."""

from __future__ import annotations

import pytest
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.models import AuditEntry
from painpump.db.read_only import WritingRequired, read_only, require_writing

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_read_is_audited_once_the_read_only_scope_ends() -> None:
    with read_only():
        with transaction.atomic():
            assert audit.record("nurse.n", "patient.read", "patient", "p-1") is None
        assert not AuditEntry.objects.exists()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_id) == ("nurse.n", "patient.read", "p-1")
    assert audit.verify().ok


def test_a_read_outside_the_scope_is_audited_in_the_callers_transaction() -> None:
    with transaction.atomic():
        entry = audit.record("nurse.n", "patient.read", "patient", "p-2")
        assert entry is not None and AuditEntry.objects.filter(pk=entry.pk).exists()


def test_writing_is_required_only_inside_the_scope() -> None:
    require_writing()
    with read_only(), pytest.raises(WritingRequired):
        require_writing()
