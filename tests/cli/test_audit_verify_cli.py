"""`painpump audit verify` on the command line: an intact trail exits 0 and says how many
entries it checked, under which key, against which checkpoint; an edited entry, a deleted entry
(in the middle or the newest), two entries swapped in order, a cut tail with the head rewound, a
wiped trail and a chain recomputed without the audit key each exit 1 naming every problem. The
tampering goes around the model (which refuses to change or delete an entry), as an attacker
with database access would. `painpump audit rotate-key` moves the chain to a new key; without
an audit key no command starts."""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from typer.testing import CliRunner

from clinic_fixtures import PASSWORD
from painpump.cli.console_proof import PASSWORD_ENV
from painpump.cli.main import _register, app
from painpump.cli.serve import local_checkpoints_warning
from painpump.clinic import audit, audit_checkpoints, audit_keys
from painpump.clinic.models import AuditEntry, Implant
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

_register()
PAINPUMP = Path(sys.executable).parent / "painpump"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The fixtures' users need no slow password hashing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def verify(*extra: str) -> Any:
    return CliRunner().invoke(app, ["audit", "verify", *extra])


def seqs() -> list[int]:
    return list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))


@pytest.fixture
def committed(implant: Implant) -> audit_checkpoints.Checkpoint:
    """The fixtures' trail with the checkpoint the service writes at their commit."""
    written = audit_checkpoints.write()
    assert written is not None
    return written


def test_an_intact_chain_exits_0_and_counts_its_entries(
    committed: audit_checkpoints.Checkpoint,
) -> None:
    result = verify("--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown == {
        "ok": True,
        "entries": AuditEntry.objects.count(),
        "problem": None,
        "problems": [],
        "notes": [],
        "key_id": audit_keys.require_key().id,
        "checkpoint": committed.count,
        "checkpoints_file": str(audit_checkpoints.path()),
    }
    assert shown["entries"] == committed.count > 5
    text = verify()
    assert text.exit_code == 0
    assert text.stdout.startswith(
        f"ok: {committed.count} entries checked, key {committed.key_id}, latest checkpoint "
        f"{committed.count} entries ({audit_checkpoints.path()})"
    )


def test_an_edited_entry_exits_1_and_is_named(implant: Implant) -> None:
    target = AuditEntry.objects.get(action="refill.perform")
    AuditEntry.objects.filter(seq=target.seq).update(after={"dose": "40 mcg/day"})
    result = verify()
    assert result.exit_code == 1
    assert (
        f"problem: entry {target.seq}: content does not match its hash (the entry was edited, or "
        "its hash recomputed without the audit key)"
    ) in result.stdout


def test_a_prescription_row_that_cannot_be_read_exits_1_naming_it_not_an_internal_error(
    implant: Implant,
) -> None:
    """Regression: a patient bolus dose without its lockout, set in the database, ended verify
    in an internal error (AssertionError)."""
    record = implant.prescriptions.get()
    implant.prescriptions.filter(ptm_dose_mcg__isnull=True).update(ptm_dose_mcg=500)
    result = verify()
    assert result.exit_code == 1, result.output
    assert (
        f"prescription {record.id}: its row cannot be read: ptm_duration_s is None, not a positive "
        "number (the patient bolus's dose is set): a row written outside the application"
    ) in result.stdout
    assert "internal error" not in result.output


def test_a_deleted_entry_exits_1_and_names_the_entry_after_the_gap(implant: Implant) -> None:
    middle = seqs()[2]
    AuditEntry.objects.filter(seq=middle).delete()  # a query, not the model's refusing delete
    result = verify()
    assert result.exit_code == 1
    after = seqs()[2]
    assert f"entry {after}: link to the entry before is broken" in result.stdout


def test_a_deleted_newest_entry_exits_1(implant: Implant) -> None:
    AuditEntry.objects.filter(seq=seqs()[-1]).delete()
    result = verify()
    assert result.exit_code == 1
    assert "entries were removed at the end" in result.stdout


def test_two_entries_swapped_in_order_exit_1(implant: Implant) -> None:
    first, second = seqs()[1:3]
    spare = seqs()[-1] + 1000
    with transaction.atomic():  # swap the sequence numbers of two neighbours
        AuditEntry.objects.filter(seq=first).update(seq=spare)
        AuditEntry.objects.filter(seq=second).update(seq=first)
        AuditEntry.objects.filter(seq=spare).update(seq=second)
    result = verify()
    assert result.exit_code == 1
    assert f"entry {first}: link to the entry before is broken" in result.stdout
    assert "reordered" in result.stdout


def test_an_entry_moved_to_the_end_exits_1(implant: Implant) -> None:
    moved = seqs()[0]
    AuditEntry.objects.filter(seq=moved).update(seq=seqs()[-1] + 1)
    result = verify("--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False


def test_a_cut_tail_a_wiped_trail_and_a_recomputed_chain_each_exit_1_naming_why(
    committed: audit_checkpoints.Checkpoint,
) -> None:
    """Issue 14: each of these answered ok before the chain was keyed and checkpointed."""
    tamper.cut_tail(2)
    cut = verify("--json")
    assert cut.exit_code == 1
    assert "entries were deleted (a cut tail or a wiped trail)" in json.loads(cut.stdout)["problem"]

    tamper.wipe()
    wiped = json.loads(verify("--json").stdout)
    assert wiped["ok"] is False and wiped["entries"] == 0
    assert wiped["problem"].startswith(
        f"the trail holds 0 entries, but the checkpoint of {committed.at} witnessed "
        f"{committed.count}"
    )
    assert any("no audit entry records it" in problem for problem in wiped["problems"])


def test_a_chain_recomputed_with_the_plain_digest_exits_1(
    committed: audit_checkpoints.Checkpoint,
) -> None:
    first = AuditEntry.objects.order_by("seq").first()
    assert first is not None
    tamper.recompute(first.seq, {**(first.after or {}), "family_name": "X"}, tamper.plain_digest)
    result = verify()
    assert result.exit_code == 1
    assert "recomputed without the audit key" in result.stdout
    assert "the trail was rewritten" in result.stdout


@pytest.fixture
def admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin of `rotate-key` gives their password (painpump.cli.console_proof)."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.mark.usefixtures("admin_password")
def test_rotate_key_moves_the_chain_to_the_configured_key(
    committed: audit_checkpoints.Checkpoint, admin: User, settings: Any
) -> None:
    old = settings.PAINPUMP_AUDIT_KEY
    settings.PAINPUMP_AUDIT_KEY = secrets.token_urlsafe(48)
    settings.PAINPUMP_AUDIT_RETIRED_KEYS = [old]
    result = CliRunner().invoke(app, ["audit", "rotate-key", "ad.min", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["key_id"] == audit_keys.require_key().id
    assert shown["previous_key_id"] == audit_keys.key_id(old)
    assert AuditEntry.objects.get(seq=shown["entry"]).actor == "ad.min"
    audit_checkpoints.write()
    assert audit.verify().ok

    again = CliRunner().invoke(app, ["audit", "rotate-key", "ad.min"])
    assert again.exit_code == 1 and "already under the configured key" in again.output


@pytest.mark.usefixtures("admin_password")
def test_rotate_key_needs_an_admin(committed: audit_checkpoints.Checkpoint) -> None:
    result = CliRunner().invoke(app, ["audit", "rotate-key", "nurse.joy"])
    assert result.exit_code == 1
    assert "may not change the clinic settings" in result.output


@pytest.mark.skipif(not PAINPUMP.exists(), reason="the painpump console script is not installed")
@pytest.mark.parametrize("command", [["audit", "verify"], ["manage", "check"]])
def test_no_command_starts_without_an_audit_key(command: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAINPUMP_AUDIT")}
    env |= {"PAINPUMP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [str(PAINPUMP), *command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "PAINPUMP_AUDIT_KEY (or PAINPUMP_AUDIT_KEY_FILE) must hold" in done.stderr


def test_the_service_does_not_start_without_an_audit_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAINPUMP_AUDIT")}
    env |= {"PAINPUMP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "import painpump.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "PAINPUMP_AUDIT_KEY (or PAINPUMP_AUDIT_KEY_FILE) must hold" in done.stderr


@pytest.mark.skipif(not PAINPUMP.exists(), reason="the painpump console script is not installed")
def test_the_demo_keeps_its_audit_key_and_its_trail_verifies_after_a_restart_and_a_reseed(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAINPUMP_AUDIT")}
    env |= {"PAINPUMP_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PAINPUMP), *command], env=env, capture_output=True, text=True, timeout=180
        )

    first = run("demo", "--no-serve", "--patients", "3")
    assert first.returncode == 0, first.stderr
    key = tmp_path / "demo-audit-key"
    assert f"no PAINPUMP_AUDIT_KEY configured, using {key}" in first.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    env["PAINPUMP_AUDIT_KEY_FILE"] = str(key)  # as the demo runs its commands
    assert run("audit", "verify").returncode == 0

    restarted = run("demo", "--no-serve")
    assert "reusing the demo clinic" in restarted.stdout, restarted.stderr
    assert run("audit", "verify").returncode == 0

    again = run("demo", "--no-serve", "--reseed", "--patients", "3")
    assert again.returncode == 0, again.stderr
    verified = run("audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["checkpoint"] == json.loads(verified.stdout)["entries"]
    assert len(list(tmp_path.glob("painpump-seeded-*.audit-checkpoints.log"))) == 1


def test_serving_with_checkpoints_beside_the_database_only_warns_where_they_should_go(
    settings: Any,
) -> None:
    settings.PAINPUMP_AUDIT_SYSLOG = ""
    assert "PAINPUMP_AUDIT_SYSLOG" in local_checkpoints_warning()
    settings.PAINPUMP_AUDIT_SYSLOG = "/dev/log"
    assert local_checkpoints_warning() == ""


def test_a_weak_secret_key_is_a_configuration_refusal_with_exit_2_not_an_internal_error(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PAINPUMP_SECRET_KEY": "a" * 40, "PAINPUMP_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from painpump.cli.main import run; run()", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("configuration refused: PAINPUMP_SECRET_KEY")
    assert "internal error" not in done.stderr
