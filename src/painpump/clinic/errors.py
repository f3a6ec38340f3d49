"""What a clinic use case answers besides a Refusal: the record is not there, someone else
changed it since it was read, or a row holds a value no audited action stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


class NotFound(Exception):
    """No record with that id (or it is archived)."""


def get_or_not_found(records: QuerySet[M], record_id: UUID) -> M:
    """The record with that id among `records`, or NotFound naming it ("implant <id>")."""
    try:
        return records.get(id=record_id)
    except ObjectDoesNotExist:
        raise NotFound(f"{records.model._meta.verbose_name} {record_id}") from None


@dataclass(eq=False)
class Conflict(Exception):
    """Someone else changed the record since the version the client read: nothing was written."""

    object_type: str
    object_id: str
    expected_version: int
    current_version: int

    def __str__(self) -> str:
        return (
            f"{self.object_type} {self.object_id} was changed by someone else (version "
            f"{self.current_version}, you edited version {self.expected_version}): reload it"
        )


@dataclass(eq=False)
class UnreadableRow(ValueError):
    """A stored row holds a value the application never writes (a step on weekday 9, a patient
    bolus without its lockout): written outside the application, so it is not read as if it
    were sound. Names the record, the field, the value stored and what the field holds."""

    record: str
    field: str
    value: object
    expected: str

    def __str__(self) -> str:
        return (
            f"{self.record}: its row cannot be read: {self.field} is {self.value!r}, not "
            f"{self.expected}: a row written outside the application"
        )
