"""The fault drills' check of refills (painpump.devtools.faults.checks) finds every way a refill can
be half-written (its drugs, the pump's version bump, the end of the program before it, its audit
entry, its appointment, the pump's refill-by date), so a drill that passes it proves something;
a whole refill passes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db.models import F

from clinic_fixtures import FIRST_FILL
from painpump.clinic.actions import refills
from painpump.clinic.models import Appointment, AuditEntry, Implant, Program, Refill, RefillDrug
from painpump.clinic.testing import baclofen
from painpump.core.units import Kind, parse
from painpump.devtools.faults import checks


def refill(nurse: User, implant: Implant) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="drill-check-1",
        performed_at=FIRST_FILL + timedelta(days=60),
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "d"),
    )


def test_a_whole_refill_passes_the_check(nurse: User, implant: Implant) -> None:
    start = checks.baseline((implant.id,))
    done = refill(nurse, implant)
    assert checks.refill_problems((implant.id,), start) == []
    assert checks.keys_recorded((implant.id,)) == {"drill-check-1": str(done.id)}
    assert checks.recorded("drill-check-1") == str(done.id) and checks.recorded("x") is None
    assert checks.audit_problem() is None


def _newest_appointment(done: Refill) -> None:
    patient = Implant.objects.get(id=done.implant_id).episode.patient_id
    newest = Appointment.objects.filter(patient_id=patient, kind="refill").order_by("-on").first()
    assert newest is not None
    newest.delete()


TEARS: dict[str, tuple[Callable[[Refill], object], str]] = {
    "drugs": (lambda r: RefillDrug.objects.filter(refill=r).delete(), "lacks its drugs"),
    "version": (
        lambda r: Implant.objects.filter(id=r.implant_id).update(version=F("version") - 1),
        "version",
    ),
    "program": (
        lambda r: Program.objects.filter(implant=r.implant_id).update(ended_at=None),
        "running programs",
    ),
    "audit": (lambda r: AuditEntry.objects.filter(object_id=str(r.id)).delete(), "audit entries"),
    "appointment": (_newest_appointment, "refill appointments"),
    "refill-by": (
        lambda r: Implant.objects.filter(id=r.implant_id).update(refill_by=None),
        "refill-by",
    ),
}


@pytest.mark.parametrize("part", sorted(TEARS))
def test_a_refill_missing_a_part_is_found_half_written(
    nurse: User, implant: Implant, part: str
) -> None:
    start = checks.baseline((implant.id,))
    done = refill(nurse, implant)
    tear, finding = TEARS[part]
    tear(done)
    problems = checks.refill_problems((implant.id,), start)
    assert any(finding in problem for problem in problems), problems
