"""Checkpoints outside the database, as the service writes them: one signed line per committed
transaction that appended entries (however many), none for one rolled back; lines appended by
several processes at once stay whole; and a checkpoint file lost is reported once the trail
holds entries. With PAINPUMP_AUDIT_SYSLOG, each line goes to syslog as well."""

from __future__ import annotations

import json
import multiprocessing
import socket
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit, audit_checkpoints, audit_keys
from painpump.clinic.actions import patients
from painpump.clinic.models import AuditHead, Patient

pytestmark = pytest.mark.django_db(transaction=True)


def lines() -> list[dict[str, object]]:
    if not audit_checkpoints.path().exists():
        return []
    return [json.loads(line) for line in audit_checkpoints.path().read_text().splitlines()]


def test_a_committed_write_leaves_one_signed_checkpoint_of_all_its_entries(
    patient: Patient, nurse: User
) -> None:
    written = len(lines())
    with transaction.atomic():
        patients.read_patient(nurse, patient.id)
        patients.read_patient(nurse, patient.id)
    found = lines()
    assert len(found) == written + 1
    head = AuditHead.objects.get(id=1)
    newest = found[-1]
    assert (newest["count"], newest["head"]) == (head.count, head.last_hash)
    assert newest["key_id"] == audit_keys.require_key().id
    read = audit_checkpoints.read(audit_keys.known_keys())
    assert read.problems == () and read.latest is not None and read.latest.count == head.count
    assert audit.verify().ok


def test_a_rolled_back_write_leaves_no_checkpoint(patient: Patient, nurse: User) -> None:
    written = len(lines())

    class Undone(Exception):
        pass

    with pytest.raises(Undone), transaction.atomic():
        patients.read_patient(nurse, patient.id)
        raise Undone
    assert len(lines()) == written
    assert audit.verify().ok


def test_a_lost_checkpoint_file_is_reported(patient: Patient) -> None:
    audit_checkpoints.path().unlink()
    outcome = audit.verify()
    assert not outcome.ok
    assert f"the checkpoint file {audit_checkpoints.path()} does not exist" in outcome.problem


def _append_many(path: str, worker: int) -> None:
    for number in range(300):
        line = json.dumps({"worker": worker, "number": number, "padding": "x" * 150})
        audit_checkpoints.append(Path(path), line)


def test_lines_appended_by_processes_at_once_stay_whole(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.log"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    found = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((f["worker"], f["number"]) for f in found) == [
        (w, n) for w in range(4) for n in range(300)
    ]
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_checkpoint_goes_to_syslog_too_when_asked(patient: Patient, settings: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        settings.PAINPUMP_AUDIT_SYSLOG = f"127.0.0.1:{server.getsockname()[1]}"
        written = audit_checkpoints.write()
        message = server.recv(4096).decode()
    assert written is not None
    assert "painpump-audit-checkpoint: " in message
    sent = json.loads(message.split("painpump-audit-checkpoint: ", 1)[1].rstrip("\x00"))
    assert sent == lines()[-1] and sent["count"] == written.count
