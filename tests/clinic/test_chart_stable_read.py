"""Defect found by the PostgreSQL restart drill (docs/faults.md): a patient chart read while a
refill committed could see the new refill without the program it started (on PostgreSQL each
query of a read sees its own snapshot) and was refused, "programs: none is empty" (a 422 page).
The chart and the what-if now read again when a pump's version moved during their read. Here the
refill is recorded right after the read's query of the programs, the moment the drill hit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection

from clinic_fixtures import FIRST_FILL
from frozen import NOW
from painpump.clinic.actions import refills
from painpump.clinic.models import Implant, Patient, Refill
from painpump.clinic.reads.chart import patient_chart
from painpump.clinic.reads.whatif import current_pump
from painpump.clinic.testing import baclofen
from painpump.core.units import Kind, parse

REFILLED_AT = FIRST_FILL + timedelta(days=60)


@contextmanager
def refill_after_the_programs_are_read(nurse: User, implant: Implant) -> Iterator[list[bool]]:
    """Record a refill of `implant` once, just after the first query of the programs table."""
    done: list[bool] = []

    def between(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if not done and 'FROM "clinic_program"' in sql:
            done.append(True)
            refills.perform_refill(
                nurse,
                implant.id,
                idempotency_key="between-the-queries",
                performed_at=REFILLED_AT,
                expected=parse("8 mL", Kind.VOLUME, "e"),
                aspirated=parse("8 mL", Kind.VOLUME, "a"),
                fill=baclofen(),
                dose=parse("400 mcg/day", Kind.DOSE_RATE, "d"),
            )
        return result

    with connection.execute_wrapper(between):
        yield done


def test_a_chart_read_while_a_refill_commits_shows_the_new_fill_with_its_program(
    nurse: User, patient: Patient, implant: Implant
) -> None:
    with refill_after_the_programs_are_read(nurse, implant) as done:
        chart = patient_chart(nurse, patient.id, NOW)
    assert done, "no refill happened during the read"
    assert chart.program is not None and chart.projection is not None
    assert chart.projection.fill_at == REFILLED_AT
    assert len(chart.refills) == Refill.objects.filter(implant=implant).count() == 2


def test_a_what_if_opened_while_a_refill_commits_starts_from_the_new_fill(
    nurse: User, implant: Implant
) -> None:
    with refill_after_the_programs_are_read(nurse, implant) as done:
        current = current_pump(nurse, implant.id, NOW)
    assert done, "no refill happened during the read"
    assert current.fill_at == REFILLED_AT
