"""The audit trail proves itself against an insider with database access (issue 14): entries are
chained with a keyed hash, and the latest signed checkpoint outside the database witnesses the
trail's length and head. Each tampering the outside test found answered ok before; each fails
now: the newest entries deleted and the head rewound, every entry and the head deleted, an entry
edited and every later hash recomputed (with the plain digest, or with the application's own code
under a key of the insider's choosing). Key rotation keeps older entries verifiable."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit, audit_checkpoints, audit_keys
from painpump.clinic.actions import patients
from painpump.clinic.models import AuditEntry, AuditHead, Implant, Patient
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db


def checkpointed() -> audit_checkpoints.Checkpoint:
    """The checkpoint the service writes when the fixtures' transaction commits."""
    written = audit_checkpoints.write()
    assert written is not None
    return written


def refill_entry() -> tuple[int, dict[str, Any]]:
    entry = AuditEntry.objects.filter(action="refill.perform").get()
    return entry.seq, {**(entry.after or {}), "volume": "1 mL"}


def test_an_untouched_trail_verifies_under_its_key_against_its_checkpoint(
    implant: Implant,
) -> None:
    witnessed = checkpointed()
    outcome = audit.verify()
    assert outcome.ok, outcome.problems
    assert outcome.problems == () and outcome.notes == ()
    assert outcome.entries == witnessed.count == AuditEntry.objects.count()
    assert outcome.key_id == witnessed.key_id == audit_keys.require_key().id
    assert outcome.checkpoint == witnessed.count


def test_each_entry_is_hashed_with_the_audit_key_not_a_plain_digest(patient: Patient) -> None:
    entry = AuditEntry.objects.get(action="patient.create")
    fields = audit.hashed_fields(entry)
    assert entry.hash == audit_keys.require_key().digest("entry", fields)
    assert entry.hash != tamper.plain_digest(fields)


def test_a_cut_tail_with_the_head_rewound_fails_against_the_checkpoint(implant: Implant) -> None:
    witnessed = checkpointed()
    tamper.cut_tail(2)
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.problem == (
        f"the trail holds {witnessed.count - 2} entries, but the checkpoint of {witnessed.at} "
        f"witnessed {witnessed.count} ending in {witnessed.head[:12]} "
        f"({audit_checkpoints.path()}): entries were deleted (a cut tail or a wiped trail)"
    )


def test_a_wiped_trail_fails_against_the_checkpoint(implant: Implant) -> None:
    witnessed = checkpointed()
    tamper.wipe()
    outcome = audit.verify()
    assert not outcome.ok and outcome.entries == 0
    assert f"the trail holds 0 entries, but the checkpoint of {witnessed.at}" in outcome.problem


def test_a_wiped_trail_without_its_checkpoints_fails_on_the_records_it_leaves(
    implant: Implant,
) -> None:
    tamper.wipe()
    outcome = audit.verify()
    assert not outcome.ok
    refill = implant.refills.get()
    assert (
        f"refill {refill.id}: no audit entry records it (created, or its trail deleted, outside "
        "the application)"
    ) in outcome.problems
    assert f"implant {implant.id}: no audit entry records it" in " ".join(outcome.problems)


def test_an_entry_edited_and_the_chain_recomputed_with_the_plain_digest_fails(
    implant: Implant,
) -> None:
    checkpointed()
    seq, after = refill_entry()
    tamper.recompute(seq, after, tamper.plain_digest)
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.problem == (
        f"entry {seq}: content does not match its hash (its hash is the plain unkeyed digest: "
        "recomputed without the audit key)"
    )
    assert any("the trail was rewritten" in problem for problem in outcome.problems)


def test_an_entry_edited_and_the_chain_recomputed_with_the_apps_code_under_another_key_fails(
    implant: Implant,
) -> None:
    entry = AuditEntry.objects.get(action="implant.register")
    seq, after = entry.seq, {**(entry.after or {}), "pump": "synchromed-ii-20 FORGED"}
    tamper.recompute(seq, after, tamper.insider_digest)
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.problem == (
        f"entry {seq}: content does not match its hash (the entry was edited, or its hash "
        "recomputed without the audit key)"
    )
    later = AuditEntry.objects.filter(seq__gt=seq).count()
    assert f"{later} later entries fail the check too" in outcome.problems


def test_a_deleted_head_row_is_reported(patient: Patient) -> None:
    AuditHead.objects.all()._raw_delete("default")
    outcome = audit.verify()
    assert not outcome.ok
    assert "but no head row (it was deleted)" in outcome.problem


def test_a_forged_checkpoint_line_is_reported_and_not_believed(implant: Implant) -> None:
    witnessed = checkpointed()
    tamper.forge_checkpoint()
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.checkpoint == witnessed.count  # the forged, higher count is ignored
    assert outcome.problems == (
        f"{audit_checkpoints.path()} line 2: the signature of the checkpoint of 1000000000 "
        "entries at 2030-01-01T00:00:00+00:00 does not match (the line was edited or forged)",
    )


def test_a_damaged_checkpoint_line_is_reported(patient: Patient) -> None:
    checkpointed()
    with audit_checkpoints.path().open("a") as file:
        file.write('{"count": 3, "hea\n')
    outcome = audit.verify()
    assert outcome.problems == (
        f'{audit_checkpoints.path()} line 2: not a checkpoint (\'{{"count": 3, "hea\')',
    )


def test_checkpoints_written_out_of_order_count_by_their_highest(
    patient: Patient, nurse: User
) -> None:
    older = checkpointed()
    patients.read_patient(nurse, patient.id)
    newer = checkpointed()
    lines = audit_checkpoints.path().read_text().splitlines()
    audit_checkpoints.path().write_text(f"{lines[1]}\n{lines[0]}\n")  # a slower process's line
    outcome = audit.verify()
    assert outcome.ok and outcome.checkpoint == newer.count == older.count + 1


def test_entries_beyond_the_latest_checkpoint_are_noted_not_failed(
    patient: Patient, nurse: User
) -> None:
    """A process killed between its commit and its checkpoint leaves entries the next
    checkpoint covers; until then they are checked by the chain alone."""
    checkpointed()
    patients.read_patient(nurse, patient.id)
    transaction.get_connection().run_on_commit.clear()  # committed elsewhere
    outcome = audit.verify()
    assert outcome.ok
    assert outcome.notes == (
        "the 1 newest entries are not covered by a checkpoint yet (written since the latest "
        "one, or its write was lost)",
    )


def test_a_missing_checkpoint_file_is_reported_once_the_trail_holds_entries(
    patient: Patient,
) -> None:
    transaction.get_connection().run_on_commit.clear()  # committed elsewhere
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.problem.startswith(
        f"the checkpoint file {audit_checkpoints.path()} does not exist, though the trail holds "
        "2 entries"  # the nurse's account and the patient
    )


def test_an_empty_trail_with_no_checkpoint_file_verifies() -> None:
    assert audit.verify().ok


# -- key rotation --------------------------------------------------------------------------------


def new_key() -> str:
    return secrets.token_urlsafe(48)


def test_a_rotated_key_keeps_the_older_entries_verifiable(
    implant: Implant, nurse: User, settings: Any
) -> None:
    old = settings.PAINPUMP_AUDIT_KEY
    checkpointed()
    before = AuditEntry.objects.count()
    settings.PAINPUMP_AUDIT_KEY, settings.PAINPUMP_AUDIT_RETIRED_KEYS = new_key(), [old]
    rotation = audit.rotate_key("ad.min")
    assert rotation.after == {
        "key_id": audit_keys.require_key().id,
        "previous_key_id": audit_keys.key_id(old),
    }
    patients.read_patient(nurse, implant.episode.patient_id)
    witnessed = checkpointed()
    assert witnessed.key_id == audit_keys.require_key().id
    outcome = audit.verify()
    assert outcome.ok, outcome.problems
    assert outcome.entries == before + 2 and outcome.key_id == witnessed.key_id

    settings.PAINPUMP_AUDIT_RETIRED_KEYS = []  # the old key lost: its entries cannot be checked
    lost = audit.verify()
    assert not lost.ok
    first = AuditEntry.objects.order_by("seq").values_list("seq", flat=True).first()
    assert lost.problem.startswith(f"entry {first}: content does not match its hash")


def test_a_key_changed_without_rotation_is_named(
    patient: Patient, nurse: User, settings: Any
) -> None:
    old = settings.PAINPUMP_AUDIT_KEY
    settings.PAINPUMP_AUDIT_KEY, settings.PAINPUMP_AUDIT_RETIRED_KEYS = new_key(), [old]
    patients.read_patient(nurse, patient.id)
    outcome = audit.verify()
    assert not outcome.ok
    assert outcome.problem.endswith(
        f"it is keyed with key {audit_keys.require_key().id} while the chain is under key "
        f"{audit_keys.key_id(old)}: the key was changed without `painpump audit rotate-key`)"
    )


def test_rotation_refuses_a_trail_already_under_the_configured_key(patient: Patient) -> None:
    with pytest.raises(ValueError, match="already under the configured key"):
        audit.rotate_key("ad.min")


def test_rotation_refuses_a_trail_that_does_not_verify(patient: Patient, settings: Any) -> None:
    AuditEntry.objects.update(actor="someone else")
    settings.PAINPUMP_AUDIT_RETIRED_KEYS = [settings.PAINPUMP_AUDIT_KEY]
    settings.PAINPUMP_AUDIT_KEY = new_key()
    with pytest.raises(ValueError, match="does not verify"):
        audit.rotate_key("ad.min")
    assert not AuditEntry.objects.filter(action=audit.ROTATE).exists()


def test_a_trail_from_before_the_keyed_chain_is_sealed_by_a_rotation(
    implant: Implant, nurse: User
) -> None:
    first = AuditEntry.objects.order_by("seq").first()
    assert first is not None
    tamper.recompute(first.seq, first.after or {}, tamper.plain_digest)  # as painpump wrote it
    unsealed = audit.verify()
    assert not unsealed.ok and unsealed.key_id == audit_keys.UNKEYED
    assert unsealed.problem == unsealed.unsealed
    assert "seal them under the audit key with `painpump audit rotate-key`" in unsealed.problem

    audit.rotate_key("ad.min")
    patients.read_patient(nurse, implant.episode.patient_id)
    sealed = audit.verify()
    assert sealed.ok, sealed.problems
    assert sealed.key_id == audit_keys.require_key().id


def test_an_entry_of_the_sealed_unkeyed_part_edited_later_breaks_the_seal(
    implant: Implant,
) -> None:
    first = AuditEntry.objects.order_by("seq").first()
    assert first is not None
    tamper.recompute(first.seq, first.after or {}, tamper.plain_digest)
    audit.rotate_key("ad.min")
    tamper.recompute(first.seq, {"forged": True}, tamper.plain_digest)  # all unkeyed, redone
    outcome = audit.verify()
    rotation = AuditEntry.objects.get(action=audit.ROTATE)
    assert not outcome.ok
    assert outcome.problem.startswith(f"entry {rotation.seq}: content does not match its hash")


def test_a_checkpoint_signed_with_an_unknown_key_is_reported(
    patient: Patient, settings: Any
) -> None:
    checkpointed()
    settings.PAINPUMP_AUDIT_KEY = new_key()
    line = json.loads(audit_checkpoints.path().read_text())
    outcome = audit.verify()
    assert (
        f"{audit_checkpoints.path()} line 1: signed with key {line['key_id']!r}, which is neither "
        "PAINPUMP_AUDIT_KEY nor in PAINPUMP_AUDIT_RETIRED_KEYS_FILE: its signature cannot be "
        "checked"
    ) in outcome.problems
