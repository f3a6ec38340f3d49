"""Audit entries of refused attempts, each in a transaction of its own: the refusal rolls its
change back (and, through the API or the web app, the whole request's transaction), yet the
attempt must leave its trace (a checker retrying numbers at the double-check until they match).
Inside a request (painpump.plumbing.kept_apart) the entry is written once the request's
transaction has ended, committed or rolled back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from django.db import transaction

from painpump.clinic import audit

_KEPT: ContextVar[list[Callable[[], None]] | None] = ContextVar("audit_kept_apart", default=None)


def record_apart(
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    *,
    patient_id: UUID | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an entry that outlasts the transaction it is asked from: at once in its own
    transaction when none is open; within `kept_apart()` once its transactions have ended;
    elsewhere (a script's or a test's transaction) in the caller's transaction."""

    def write() -> None:
        with transaction.atomic():
            audit.record(actor, action, object_type, object_id, patient_id=patient_id, after=after)

    kept = _KEPT.get()
    if kept is not None and transaction.get_connection().in_atomic_block:
        kept.append(write)
    else:
        write()


@contextmanager
def kept_apart() -> Iterator[None]:
    """The entries record_apart asks for inside the block, written when it ends (after the
    transactions opened inside it, whatever their outcome), each in its own transaction."""
    kept: list[Callable[[], None]] = []
    token = _KEPT.set(kept)
    try:
        yield
    finally:
        _KEPT.reset(token)
        for write in kept:
            write()
