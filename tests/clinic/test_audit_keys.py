"""The audit key comes from the environment or a key file, never the database, and must be
random: a weak one refuses to start, as a missing one does for every command and the service,
and no audit entry is written without one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from painpump import runtime
from painpump import settings as painpump_settings
from painpump.clinic import audit, audit_keys
from painpump.clinic.models import AuditEntry

RANDOM = "k3J9-fQ2_zL8pW5xR1tY7vB4nM6cH0dS-audit"


@pytest.fixture
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("PAINPUMP_AUDIT_KEY", "PAINPUMP_AUDIT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "key",
    [
        "x" * 40,
        " " * 40,
        "ab" * 20,
        "short-but-random-Q7f",
        "abcdefghijklmnopqrstuvwxyzabcdef",
        "qwertyuiopasdfghjklzxcvbnm1234567890",
    ],
    ids=["same", "spaces", "two", "short", "alphabet-and-on", "keyboard-walk"],
)
def test_a_weak_audit_key_refuses_to_start(no_key_in_environment: Any, key: str) -> None:
    no_key_in_environment.setenv("PAINPUMP_AUDIT_KEY", key)
    with pytest.raises(ImproperlyConfigured, match=r"^PAINPUMP_AUDIT_KEY must hold a random key"):
        painpump_settings._audit_key()


def test_a_retired_key_is_held_to_the_rule_it_was_configured_under(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A retired key verifies the entries before its rotation and cannot be changed: one that
    met the older rule (32 characters, 16 different) is still read."""
    older = "abcdefghijklmnopqrstuvwxyzabcdef"
    path = tmp_path / "retired"
    path.write_text(f"{older}\n")
    monkeypatch.setenv("PAINPUMP_AUDIT_RETIRED_KEYS_FILE", str(path))
    assert painpump_settings._retired_audit_keys() == [older]


def test_a_weak_audit_key_file_is_named(no_key_in_environment: Any, tmp_path: Path) -> None:
    path = tmp_path / "audit-key"
    path.write_text("password" * 5 + "\n")
    no_key_in_environment.setenv("PAINPUMP_AUDIT_KEY_FILE", str(path))
    with pytest.raises(
        ImproperlyConfigured, match=re.escape(f"PAINPUMP_AUDIT_KEY_FILE {path} must hold")
    ):
        painpump_settings._audit_key()


def test_the_audit_key_is_read_from_its_file(no_key_in_environment: Any, tmp_path: Path) -> None:
    path = tmp_path / "audit-key"
    path.write_text(RANDOM + "\n")
    no_key_in_environment.setenv("PAINPUMP_AUDIT_KEY_FILE", str(path))
    assert painpump_settings._audit_key() == RANDOM


def test_a_weak_retired_key_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "retired"
    path.write_text(f"{RANDOM}\n\n{'z' * 40}\n")
    monkeypatch.setenv("PAINPUMP_AUDIT_RETIRED_KEYS_FILE", str(path))
    with pytest.raises(ImproperlyConfigured, match=re.escape(f"{path}: key 2 is not a random key")):
        painpump_settings._retired_audit_keys()


def test_no_audit_key_is_none_for_the_settings_and_a_refusal_for_every_command(
    no_key_in_environment: Any, settings: Any
) -> None:
    assert painpump_settings._audit_key() == ""
    settings.PAINPUMP_AUDIT_KEY = ""
    with pytest.raises(ImproperlyConfigured, match=r"^PAINPUMP_AUDIT_KEY .* has no default"):
        runtime.setup_django()


@pytest.mark.django_db
def test_no_audit_entry_is_written_without_the_key(settings: Any) -> None:
    settings.PAINPUMP_AUDIT_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="PAINPUMP_AUDIT_KEY"), transaction.atomic():
        audit.record("someone", "patient.read", "patient", "1")
    assert not AuditEntry.objects.exists()


def test_a_key_is_known_by_an_id_that_does_not_reveal_it() -> None:
    assert audit_keys.key_id(RANDOM) == audit_keys.key_id(RANDOM)
    assert len(audit_keys.key_id(RANDOM)) == 16 and RANDOM[:8] not in audit_keys.key_id(RANDOM)
    assert audit_keys.key_id(RANDOM) != audit_keys.key_id(RANDOM + "x")
