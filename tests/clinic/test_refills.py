"""Refills end to end in one transaction: each executes the pump's prescription (a change is a new
prescription first), each reconciliation outcome, the drug-library and device checks (stop, or
warn and pass with a typed reason), the bridge on a concentration change, four-eyes on a reason
typed at the refill, idempotent retries, and nothing written when anything is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic import audit
from painpump.clinic.actions import refills
from painpump.clinic.models import (
    Appointment,
    AuditEntry,
    Implant,
    Prescription,
    Program,
    Refill,
)
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
REASON = "pump interrogated, residual re-measured twice"


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def refill_at_day_60(
    user: User,
    implant: Implant,
    aspirated: str,
    *,
    key: str = "r60",
    overrides: dict[str, str] | None = None,
    fill: Fill | None = None,
    dose: str = "400 mcg/day",
    phase: Phase | None = None,
) -> Refill:
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key=key,
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse(aspirated, Kind.VOLUME, "a"),
        fill=fill or baclofen(),
        dose=parse(dose, Kind.DOSE_RATE, "dose"),
        overrides=overrides,
        phase=phase,
    )


def test_first_fill_projects_the_refill_and_proposes_an_appointment(implant: Implant) -> None:
    first = Refill.objects.get()
    # 400 mcg/day at 2000 mcg/mL = 0.2 mL/day; 20 mL to the 2 mL alarm = 90 days
    assert first.program.rate_ml_per_day == Decimal("0.2")
    assert first.alarm_at == FIRST_FILL + timedelta(days=90)
    assert first.refill_by == (FIRST_FILL + timedelta(days=83)).date()
    assert Appointment.objects.get().due_by == first.refill_by


def test_refill_within_accuracy_needs_no_override(implant: Implant, nurse: User) -> None:
    refill = refill_at_day_60(nurse, implant, "8 mL")
    assert refill.finding == "none"
    assert refill.difference_ml == 0
    assert not refill.needs_verification
    entry = AuditEntry.objects.filter(action="refill.perform").last()
    assert entry is not None and entry.actor == "nurse.joy"
    assert entry.after is not None and entry.after["expected"] == "8 mL"
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("aspirated", "finding", "error_percent"),
    [
        ("6 mL", "overinfusion", Decimal("16.667")),
        ("10 mL", "underinfusion", Decimal("-16.667")),
        ("0 mL", "empty", Decimal("66.667")),
    ],
    ids=["overinfusion", "underinfusion", "found-empty"],
)
def test_a_refill_outside_the_pump_accuracy_passes_only_with_a_reason(
    implant: Implant, nurse: User, aspirated: str, finding: str, error_percent: Decimal
) -> None:
    with pytest.raises(Refusal) as caught:
        refill_at_day_60(nurse, implant, aspirated)
    assert caught.value.field == "overrides"
    assert "reconciliation" in caught.value.limit
    assert Refill.objects.count() == 1  # nothing written
    refill = refill_at_day_60(nurse, implant, aspirated, overrides={"reconciliation": REASON})
    assert refill.finding == finding
    assert refill.delivery_error_percent == error_percent
    assert refill.needs_verification


def test_a_retried_refill_is_recorded_once(implant: Implant, nurse: User) -> None:
    first = refill_at_day_60(nurse, implant, "8 mL", key="same-key")
    again = refill_at_day_60(nurse, implant, "8 mL", key="same-key")
    assert first.id == again.id
    assert Refill.objects.count() == 2  # the first fill and this refill


def test_an_overfill_is_refused_and_nothing_is_written(implant: Implant, nurse: User) -> None:
    with pytest.raises(Refusal) as caught:
        refill_at_day_60(nurse, implant, "8 mL", fill=baclofen(volume="21 mL"))
    assert caught.value.field == "volume"
    assert "20 mL" in caught.value.limit
    assert Refill.objects.count() == 1
    assert Program.objects.filter(ended_at__isnull=True).count() == 1


def test_a_nurse_cannot_change_the_prescribed_dose(implant: Implant, nurse: User) -> None:
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        refill_at_day_60(nurse, implant, "8 mL", dose="440 mcg/day")
    assert (caught.value.field, caught.value.value) == ("dose", "440 mcg/day")
    assert caught.value.problem == "differs from the prescription"
    assert caught.value.limit.startswith("400 mcg/day as prescribed (prescription #1 by dr.house")
    assert caught.value.limit.endswith("signed by a physician")
    assert Refill.objects.count() == 1
    assert AuditEntry.objects.count() == entries


def test_a_physician_at_a_refill_executes_the_prescription_too(
    implant: Implant, physician: User
) -> None:
    with pytest.raises(Refusal, match="differs from the prescription"):
        refill_at_day_60(physician, implant, "8 mL", dose="440 mcg/day")
    assert Refill.objects.count() == 1


def test_a_step_at_a_refill_is_judged_by_the_maintenance_or_titration_steps(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """Stroke is spasticity of cerebral origin: +20 % at refills (maintenance), +15 % while
    titrating (Lioresal label), both hard: the physician's prescription is refused beyond them
    (judged as titration unless prescribed as maintenance: it may be programmed between
    refills), and the refill executes the one within them in its phase."""
    morning = DAY_60 - timedelta(hours=2)

    def prescribe(daily: str, phase: Phase | None) -> Prescription:
        return prescribed(
            physician, pharmacist, implant.id, baclofen(), dose(daily), at=morning, phase=phase
        )

    with pytest.raises(Refusal) as caught:
        prescribe("500 mcg/day", Phase.MAINTENANCE)
    assert "is stopped by max_step_percent" in caught.value.problem
    assert "above <= 20 %" in caught.value.problem
    for phase in (Phase.TITRATION, None):
        with pytest.raises(Refusal) as stopped:
            prescribe("470 mcg/day", phase)
        assert "is stopped by max_step_percent" in stopped.value.problem
        assert "above <= 15 %" in stopped.value.problem
        assert stopped.value.limit.endswith("(hard limit: no override)")
    assert prescribe("470 mcg/day", Phase.MAINTENANCE).phase == Phase.MAINTENANCE
    refill = refill_at_day_60(nurse, implant, "8 mL", dose="470 mcg/day")
    assert refill.program.dose_mcg_per_day == Decimal("470")
    assert refill.program.phase == Phase.MAINTENANCE


def test_a_concentration_change_is_prescribed_double_checked_then_bridged_at_the_refill(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    """The second clinician checked the new concentration before the refill (rule-double-check):
    the refill that executes it waits for no verification afterwards."""
    with pytest.raises(Refusal, match="differs from the prescription"):
        refill_at_day_60(nurse, implant, "8 mL", fill=baclofen("1000 mcg/mL"))
    prescription = prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen("1000 mcg/mL"),
        dose("400 mcg/day"),
        at=DAY_60 - timedelta(hours=2),
    )
    assert prescription.checked_by == "pharma.cist"
    refill = refill_at_day_60(nurse, implant, "8 mL", fill=baclofen("1000 mcg/mL"))
    # 400 mcg/day at the old 2000 mcg/mL = 0.2 mL/day for the 0.25 mL dead volume
    assert refill.bridge_rate_ml_per_day == Decimal("0.2")
    assert refill.program.rate_ml_per_day == Decimal("0.4")
    assert refill.program.prescription == prescription
    assert not refill.needs_verification
    with pytest.raises(Refusal, match="needs no verification"):
        refills.verify_refill(pharmacist, refill.id, DAY_60)


def test_the_clinician_who_refilled_cannot_verify_it(
    implant: Implant, physician: User, nurse: User, pharmacist: User
) -> None:
    refill = refill_at_day_60(physician, implant, "6 mL", overrides={"reconciliation": REASON})
    assert refill.needs_verification
    with pytest.raises(Refusal, match="cannot verify it"):
        refills.verify_refill(physician, refill.id, DAY_60)
    with pytest.raises(Forbidden):
        refills.verify_refill(nurse, refill.id, DAY_60)
    assert refills.verify_refill(pharmacist, refill.id, DAY_60).verified_by == "pharma.cist"


def test_a_refill_before_the_last_one_is_refused(implant: Implant, nurse: User) -> None:
    with pytest.raises(Refusal) as caught:
        refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key="old",
            performed_at=FIRST_FILL,
            expected=parse("8 mL", Kind.VOLUME, "e"),
            aspirated=parse("8 mL", Kind.VOLUME, "a"),
            fill=baclofen(),
            dose=parse("400 mcg/day", Kind.DOSE_RATE, "d"),
        )
    assert caught.value.field == "performed_at"


def test_regression_a_refill_dated_in_the_future_was_accepted(
    implant: Implant, nurse: User
) -> None:
    future = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(Refusal) as caught:
        refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key="future",
            performed_at=future,
            expected=parse("8 mL", Kind.VOLUME, "e"),
            aspirated=parse("8 mL", Kind.VOLUME, "a"),
            fill=baclofen(),
            dose=parse("400 mcg/day", Kind.DOSE_RATE, "d"),
        )
    assert caught.value.field == "performed_at"
    assert caught.value.problem.startswith("is in the future")


@pytest.mark.django_db(transaction=True)
def test_a_refill_is_its_own_transaction_with_its_audit_entry_outside_any_request(
    implant: Implant,
) -> None:
    """Called with no transaction open (a command, a worker), the refill still commits with its
    audit entry in one transaction (the fixture's first fill runs this way here)."""
    assert implant.refills.count() == 1
    assert AuditEntry.objects.filter(action="refill.perform").count() == 1
