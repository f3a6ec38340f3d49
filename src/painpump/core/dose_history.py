"""A pump's recorded dose history and the phase of its program: what the titration rules count
(increases in a rolling 7 days, hours since the last increase)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise


class Phase(StrEnum):
    """A program's phase: the labels give different steps while titrating and at maintenance."""

    TITRATION = "titration"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class DoseChange:
    """A program start: when, the drug (principal) and its daily dose in mcg/day."""

    at: datetime
    drug: str
    dose_mcg_per_day: Decimal


WEEK = timedelta(days=7)


def increases_within(history: Sequence[DoseChange], drug: str, now: datetime) -> int:
    """Increases of `drug`'s daily dose that started in the 7 days before `now` (rolling)."""
    ordered = sorted(history, key=lambda c: c.at)
    count = 0
    for before, after in pairwise(ordered):
        if (
            after.drug == drug == before.drug
            and after.dose_mcg_per_day > before.dose_mcg_per_day
            and now - WEEK < after.at <= now
        ):
            count += 1
    return count


def last_increase(history: Sequence[DoseChange], drug: str) -> datetime | None:
    """When `drug`'s daily dose last rose, if ever."""
    ordered = sorted(history, key=lambda c: c.at)
    rises = [
        after.at
        for before, after in pairwise(ordered)
        if after.drug == drug == before.drug and after.dose_mcg_per_day > before.dose_mcg_per_day
    ]
    return rises[-1] if rises else None
