"""`painpump audit verify` on the command line: an intact chain exits 0 and says how many
entries it checked; an edited entry, a deleted entry (in the middle or the newest) and two
entries swapped in order each exit 1 naming the entry where the chain breaks and why. The
tampering goes around the model (which refuses to change or delete an entry), as an attacker
with database access would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from typer.testing import CliRunner

from painpump.cli.main import _register, app
from painpump.clinic.models import AuditEntry, Implant

pytestmark = pytest.mark.django_db

_register()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The fixtures' users need no slow password hashing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def verify(*extra: str) -> Any:
    return CliRunner().invoke(app, ["audit", "verify", *extra])


def seqs() -> list[int]:
    return list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))


def test_an_intact_chain_exits_0_and_counts_its_entries(implant: Implant) -> None:
    result = verify("--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown == {"ok": True, "entries": AuditEntry.objects.count(), "problem": None}
    assert shown["entries"] > 5
    assert verify().exit_code == 0


def test_an_edited_entry_exits_1_and_is_named(implant: Implant) -> None:
    target = AuditEntry.objects.get(action="refill.perform")
    AuditEntry.objects.filter(seq=target.seq).update(after={"dose": "40 mcg/day"})
    result = verify()
    assert result.exit_code == 1
    assert f"entry {target.seq}: content does not match its hash (the entry was edited)" in (
        result.stdout
    )


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
