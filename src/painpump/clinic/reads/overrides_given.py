"""Who gave each override, when and where, from the records: a prescription's own were the
prescriber's when signing it; a refill's or a programming's as each stored where it was given (at
prescribing, for a reason that travelled with the prescription; core.overrides.attributed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from painpump.clinic.models import Prescription, Program, Refill
from painpump.core.overrides import (
    GivenAt,
    GivenOverride,
    Override,
    attributed,
    given_at_prescribing,
)


def _overrides(stored: Sequence[Any]) -> list[Override]:
    return [Override.from_json(o) for o in stored]


def prescription_overrides(prescription: Prescription) -> tuple[GivenOverride, ...]:
    """The overrides the prescriber gave when signing."""
    return given_at_prescribing(
        _overrides(prescription.overrides), prescription.prescribed_by, prescription.prescribed_at
    )


def _given(
    stored: Sequence[Any],
    prescription: Prescription | None,
    by: str,
    at: datetime,
    where: GivenAt,
) -> tuple[GivenOverride, ...]:
    return attributed(
        _overrides(stored),
        signed=(prescription.prescribed_by, prescription.prescribed_at) if prescription else None,
        by=by,
        at=at,
        where=where,
    )


def refill_overrides(
    refill: Refill, prescription: Prescription | None
) -> tuple[GivenOverride, ...]:
    """The soft limits the refill passed (`prescription`: the one its program executed), each
    with its reason and who gave it (a refill recorded before reasons were required has its
    bare rules, worded so)."""
    return _given(
        refill.acknowledged, prescription, refill.performed_by, refill.performed_at, GivenAt.REFILL
    )


def program_overrides(program: Program) -> tuple[GivenOverride, ...]:
    """The soft limits a programming between refills passed (a refill's program has them on the
    refill), each with who gave it: the physician who programmed it, or the prescriber."""
    by = program.programmed_by or program.prescribed_by
    return _given(
        program.overrides, program.prescription, by, program.started_at, GivenAt.PROGRAMMING
    )
