"""The scope of a request that only reads (GET, HEAD). Inside it a transaction reads a snapshot
and writes nothing (on SQLite it takes no write lock, so such requests run side by side); the
audit entries of what was read are written once the scope ends, in one transaction, before the
answer leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

_AFTER: ContextVar[list[Callable[[], object]] | None] = ContextVar("read_only_after", default=None)


@contextmanager
def read_only() -> Iterator[None]:
    kept: list[Callable[[], object]] = []
    token = _AFTER.set(kept)
    try:
        yield
    finally:
        _AFTER.reset(token)
        if kept:
            with transaction.atomic():
                for write in kept:
                    write()


def active() -> bool:
    return _AFTER.get() is not None


def after(write: Callable[[], object]) -> None:
    """Run `write` once the read-only scope ends (at once outside one)."""
    kept = _AFTER.get()
    if kept is None:
        with transaction.atomic():
            write()
    else:
        kept.append(write)


class WritingRequired(Exception):
    """Raised by `require_writing()`: the request is run again as one that writes."""


def require_writing() -> None:
    """Called where a read finds it must write first (a proposed visit whose slot has passed
    moves before the worklist lists it): within a read-only scope the attempt ends here and the
    request is run again from the start as a writing one (painpump.plumbing.read_only_requests);
    elsewhere nothing happens."""
    if active():
        raise WritingRequired
