"""What a clinic use case answers besides a Refusal: the record is not there, or someone else
changed it since it was read."""

from __future__ import annotations

from dataclasses import dataclass


class NotFound(Exception):
    """No record with that id (or it is archived)."""


@dataclass(frozen=True)
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
