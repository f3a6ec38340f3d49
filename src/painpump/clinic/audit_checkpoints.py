"""Signed checkpoints of the audit trail, kept outside the database: once a transaction that
appended entries commits, one line (the entry count, the head's hash, the time, the key id and
a signature over them) is appended to PAINPUMP_AUDIT_CHECKPOINTS, and sent to syslog when
PAINPUMP_AUDIT_SYSLOG is set. Against the latest one, a trail cut at its end or wiped no longer
matches what was witnessed, whatever the database says.

Several processes append to the one file: each line is one write() to a file opened O_APPEND,
and the reader takes the line with the highest count, whatever the order of the lines. Every
sound line is kept by its count too: the entry at that count must still have its head, so a
trail cut and grown back past the count it was cut from still fails."""

from __future__ import annotations

import hmac
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from functools import cache
from logging.handlers import SysLogHandler
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from painpump import clock
from painpump.clinic import audit_keys
from painpump.clinic.audit_keys import AuditKey
from painpump.clinic.models import AuditHead


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    at: str
    key_id: str


def path() -> Path:
    return Path(settings.PAINPUMP_AUDIT_CHECKPOINTS)


def after_commit() -> None:
    """Have a checkpoint written once the current transaction commits: one per transaction,
    however many entries it appends, and none when it rolls back."""
    if not pending():
        transaction.on_commit(write, robust=True)


def pending() -> bool:
    """True when the current transaction appended entries whose checkpoint its commit writes."""
    return any(hook[1] is write for hook in transaction.get_connection().run_on_commit)


def write() -> Checkpoint | None:
    """Append a checkpoint of the trail as committed now (None while it holds no entry)."""
    head = AuditHead.objects.filter(id=1).values_list("count", "last_hash").first()
    if head is None:
        return None
    key = audit_keys.require_key()
    checkpoint = Checkpoint(head[0], head[1], clock.now().isoformat(), key.id)
    fields = asdict(checkpoint)
    line = json.dumps({**fields, "signature": key.digest("checkpoint", fields)})
    append(path(), line)
    if settings.PAINPUMP_AUDIT_SYSLOG:
        record = logging.makeLogRecord({"msg": line, "levelno": logging.INFO})
        _syslog(settings.PAINPUMP_AUDIT_SYSLOG).handle(record)
    return checkpoint


def append(file: Path, line: str) -> None:
    data = (line + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        descriptor = os.open(file, flags, 0o600)
    except FileNotFoundError:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(file, flags, 0o600)
    try:
        written = os.write(descriptor, data)
    finally:
        os.close(descriptor)
    if written != len(data):
        raise OSError(f"{file}: wrote {written} of the checkpoint's {len(data)} bytes")


@cache
def _syslog(address: str) -> SysLogHandler:
    """The syslog handler of `address`: a socket path (/dev/log) or host:port (UDP)."""
    target: str | tuple[str, int] = address
    if not address.startswith("/"):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(
                f"PAINPUMP_AUDIT_SYSLOG {address!r} is neither a socket path (/dev/log) nor "
                "host:port"
            )
        target = (host, int(port))
    handler = SysLogHandler(address=target, facility=SysLogHandler.LOG_AUTHPRIV)
    handler.setFormatter(logging.Formatter("painpump-audit-checkpoint: %(message)s"))
    return handler


@dataclass(frozen=True)
class Witnessed:
    """What the checkpoint file says: its latest sound checkpoint (the highest count), the head
    every sound line names by its count (`rivals`: other heads named for a count, which only a
    rewritten trail gives), the problems of its lines, and whether the file exists at all."""

    latest: Checkpoint | None
    problems: tuple[str, ...]
    exists: bool
    lines: int
    heads: dict[int, str] = field(default_factory=dict)
    rivals: dict[int, list[str]] = field(default_factory=dict)


def read(keys: dict[str, AuditKey]) -> Witnessed:
    file = path()
    latest: Checkpoint | None = None
    heads: dict[int, str] = {}
    rivals: dict[int, list[str]] = {}
    problems: list[str] = []
    lines = 0
    try:
        text = file.open(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return Witnessed(None, (), False, 0)
    with text:
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            lines += 1
            found = _checked(line.rstrip("\n"), keys)
            if isinstance(found, str):
                problems.append(f"{file} line {number}: {found}")
                continue
            if latest is None or found.count >= latest.count:
                latest = found
            named = heads.setdefault(found.count, found.head)
            if named != found.head and found.head not in rivals.setdefault(found.count, []):
                rivals[found.count].append(found.head)
    return Witnessed(latest, tuple(problems), True, lines, heads, rivals)


def _checked(line: str, keys: dict[str, AuditKey]) -> Checkpoint | str:
    """The checkpoint on `line`, or what is wrong with it."""
    try:
        data: Any = json.loads(line)
        checkpoint = Checkpoint(
            int(data["count"]), str(data["head"]), str(data["at"]), str(data["key_id"])
        )
        signature = str(data["signature"])
    except (ValueError, TypeError, KeyError):
        return f"not a checkpoint ({line[:80]!r})"
    key = keys.get(checkpoint.key_id)
    if key is None or key.id == audit_keys.UNKEYED:
        return (
            f"signed with key {checkpoint.key_id!r}, which is neither PAINPUMP_AUDIT_KEY nor in "
            "PAINPUMP_AUDIT_RETIRED_KEYS_FILE: its signature cannot be checked"
        )
    if not hmac.compare_digest(key.digest("checkpoint", asdict(checkpoint)), signature):
        return (
            f"the signature of the checkpoint of {checkpoint.count} entries at {checkpoint.at} "
            "does not match (the line was edited or forged)"
        )
    return checkpoint
