"""The clinical pharmacist's case of issue 13 end to end in the clinic: the pump's twin expects
10.255 mL, the pump reports 2 mL and 1.9 mL is aspirated. The preview warns beside the
reconciliation's verdict, the refill is refused without a reason typed for that warning and,
with one, is recorded with the warning and waits for a second clinician."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import written_entries
from painpump.clinic.actions import refills
from painpump.clinic.models import Implant, Refill
from painpump.clinic.reads.refill_preview import preview_refill
from painpump.core.errors import Refusal
from painpump.core.refill import DeliveryFinding
from painpump.core.units import Kind, parse
from twin_case import ASPIRATED, EXPECTED, MORPHINE, REASON, REFILLED, SAID, morphine_pump

pytestmark = pytest.mark.django_db


@pytest.fixture
def implant(physician: User, nurse: User, pharmacist: User) -> Implant:
    return morphine_pump(physician, nurse, pharmacist)


def refill(nurse: User, implant: Implant, overrides: dict[str, str]) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="twin-refill",
        performed_at=REFILLED,
        expected=EXPECTED,
        aspirated=ASPIRATED,
        fill=MORPHINE,
        overrides=overrides,
    )


def test_the_preview_warns_that_the_residual_is_not_what_the_pumps_twin_expects(
    implant: Implant, nurse: User
) -> None:
    preview = preview_refill(
        nurse, implant.id, at=REFILLED, expected=EXPECTED, aspirated=ASPIRATED, fill=MORPHINE
    )
    assert preview.twin_expects is not None
    assert (
        preview.twin_expects.least
        == preview.twin_expects.most
        == parse("10.255 mL", Kind.VOLUME, "t")
    )
    check = preview.reconciliation
    assert check is not None and check.finding is DeliveryFinding.NONE  # 2 mL against 1.9 mL
    (warning,) = preview.warnings
    assert warning.rule == "twin_residual" and check.twin == warning
    for words in SAID:
        assert words in warning.message
    assert preview.needs_verification


def test_the_pharmacists_case_is_refused_without_a_reason_and_changes_nothing(
    implant: Implant, nurse: User
) -> None:
    before = written_entries().count()
    with pytest.raises(Refusal) as refused:
        refill(nurse, implant, {})
    assert (refused.value.field, refused.value.value) == ("overrides", "twin_residual")
    assert SAID[1] in refused.value.problem
    assert Refill.objects.filter(implant=implant).count() == 1
    assert written_entries().count() == before


def test_with_a_reason_the_refill_keeps_the_warning_and_needs_a_second_clinician(
    implant: Implant, nurse: User, pharmacist: User
) -> None:
    recorded = refill(nurse, implant, {"twin_residual": REASON})
    assert recorded.needs_verification and recorded.finding == DeliveryFinding.NONE
    (stored,) = recorded.warnings
    assert stored["rule"] == "twin_residual" and stored["tier"] == "soft"
    assert all(words in stored["message"] for words in SAID)
    assert stored["source"].startswith("rule-pump-twin: ")
    assert recorded.acknowledged == [
        {"rule": "twin_residual", "reason": REASON, "given_at": "refill"}
    ]
    verified = refills.verify_refill(pharmacist, recorded.id, REFILLED)
    assert verified.verified_by == pharmacist.username
