"""Reads of pumps with their refills and programs that hold together while a refill commits.
On PostgreSQL (READ COMMITTED) each query of a read sees the database as it is when that query
starts, so a page reading a pump's programs and then its refills could see a refill without the
program it started, and the projection refused it ("programs: none is empty"). Every refill and
titration raises its pump's version in its own transaction, so a read during which no pump's
version moved saw one state; otherwise it is read again, and after a few tries it is read with
the pumps locked (a refill waits for the read). SQLite's transactions do not overlap."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from painpump.clinic.models import Implant

T = TypeVar("T")
OPTIMISTIC_TRIES = 3


def stable(read: Callable[[], T], pumps: Callable[[T], Iterable[Implant]]) -> T:
    """`read()` once no pump it read (`pumps(found)`) changed while it ran."""
    for _ in range(OPTIMISTIC_TRIES):
        found = read()
        seen = {implant.id: implant.version for implant in pumps(found)}
        now = dict(Implant.objects.filter(id__in=seen).values_list("id", "version"))
        if now == seen:
            return found
    list(Implant.objects.select_for_update().filter(id__in=seen).values_list("id"))
    return read()
