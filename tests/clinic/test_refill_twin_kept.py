"""Clinical review findings A and B in the clinic: the residual the pump's twin expected is
stored with the refill (least and most, equal when known), written in its audit entry, compared
by `audit verify` and shown on the recorded refill; an aspirate only the reconciliation and the
twin both find off asks one reason, whose warning names the twin's figure, the drug the
difference holds and the advice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from painpump.clinic import audit
from painpump.clinic.actions import refills
from painpump.clinic.models import AuditEntry, Implant, Refill
from painpump.clinic.reads.pump_history import Expected
from painpump.clinic.reads.refill_record import refill_record
from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse
from twin_case import MORPHINE, REASON, REFILLED, morphine_pump

pytestmark = pytest.mark.django_db

TWIN = parse("10.255 mL", Kind.VOLUME, "t")


@pytest.fixture
def implant(physician: User, nurse: User, pharmacist: User) -> Implant:
    return morphine_pump(physician, nurse, pharmacist)


def refill(
    nurse: User, implant: Implant, expected: str, aspirated: str, **overrides: str
) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="twin-kept",
        performed_at=REFILLED,
        expected=parse(expected, Kind.VOLUME, "e"),
        aspirated=parse(aspirated, Kind.VOLUME, "a"),
        fill=MORPHINE,
        overrides=overrides,
    )


def test_a_refill_without_a_warning_keeps_the_twins_figure_and_audits_it(
    implant: Implant, nurse: User
) -> None:
    recorded = refill(nurse, implant, "10.3 mL", "10.2 mL")
    assert recorded.warnings == [] and not recorded.needs_verification
    stored = Refill.objects.get(id=recorded.id)
    assert stored.twin_least_ml == stored.twin_most_ml == Decimal("10.255")
    entry = AuditEntry.objects.filter(action="refill.perform").order_by("seq").last()
    assert entry is not None and entry.after is not None
    assert (entry.after["twin_least"], entry.after["twin_most"]) == ("10.255 mL", "10.255 mL")
    assert refill_record(nurse, recorded.id).twin_expected == Expected(TWIN, TWIN)
    assert audit.verify().ok


def test_a_first_fill_has_no_twin_figure(implant: Implant, nurse: User) -> None:
    first = implant.refills.get()
    assert first.twin_least_ml is None and first.twin_most_ml is None
    assert refill_record(nurse, first.id).twin_expected is None


def test_a_twin_figure_edited_in_the_database_is_named_by_audit_verify(
    implant: Implant, nurse: User
) -> None:
    recorded = refill(nurse, implant, "10.3 mL", "10.2 mL")
    Refill.objects.filter(id=recorded.id).update(twin_least_ml=Decimal("9.5"))
    outcome = audit.verify()
    assert not outcome.ok
    (problem,) = outcome.problems
    assert f"refill {recorded.id}: twin_least is '9.5 mL' in the database, '10.255 mL'" in problem


def test_an_aspirate_off_the_pump_and_the_twin_asks_one_reason_naming_the_drug_amount(
    implant: Implant, nurse: User
) -> None:
    """The pump reports what the twin expects, 8 mL is aspirated: 2.255 mL (45.1 mg of
    morphine) less than both; the reconciliation's one warning carries the twin."""
    with pytest.raises(Refusal) as refused:
        refill(nurse, implant, "10.255 mL", "8 mL")
    assert (refused.value.field, refused.value.value) == ("overrides", "reconciliation")
    recorded = refill(nurse, implant, "10.255 mL", "8 mL", reconciliation=REASON)
    (warning,) = recorded.warnings
    assert warning["rule"] == "reconciliation"
    assert (
        "8 mL was aspirated, 2.255 mL less (45.1 mg of morphine at 20 mg/mL)"
        in (warning["message"])
    )
    assert "watch the patient for an overdose" in warning["message"]
    assert "rule-pump-twin" in warning["source"]
    assert recorded.needs_verification
    assert [o["rule"] for o in recorded.acknowledged] == ["reconciliation"]
