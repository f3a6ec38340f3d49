"""Soft limits pass only with a reason typed for each (recorded on the prescription, the refill or
program and in its audit entry; a reason typed at a refill is still verified by a second
clinician); hard stops never pass, whatever override is sent, and nothing is recorded
(rule-two-tiers)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from frozen import NOW
from hard_stops import OVER_LABEL, every_rule, ziconotide_fill, ziconotide_pump
from painpump.clinic.actions import library, programs, refills
from painpump.clinic.models import AuditEntry, Implant, Prescription, Program, Refill
from painpump.clinic.reads.program_preview import program_record
from painpump.clinic.reads.refill_record import refill_record
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.errors import Refusal
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
REASON = "residual re-measured twice, pump interrogated"


def overinfused(user: User, implant: Implant, overrides: dict[str, str]) -> Refill:
    """A refill on day 60 after aspirating 6 mL where the pump expected 8 mL (a soft warning)."""
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("6 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        overrides=overrides,
    )


def written() -> tuple[int, int, int, int]:
    return (
        Prescription.objects.count(),
        Refill.objects.count(),
        Program.objects.count(),
        AuditEntry.objects.count(),
    )


def test_a_missing_reason_is_refused_naming_the_rule(implant: Implant, nurse: User) -> None:
    before = written()
    with pytest.raises(Refusal) as caught:
        overinfused(nurse, implant, {})
    assert caught.value.field == "overrides"
    assert "reconciliation" in caught.value.value
    with pytest.raises(Refusal) as blank:
        overinfused(nurse, implant, {"reconciliation": "   "})
    assert blank.value.field == "overrides" and "reconciliation" in blank.value.value
    assert written() == before


def test_a_short_reason_is_refused_and_nothing_is_written(implant: Implant, nurse: User) -> None:
    before = written()
    with pytest.raises(Refusal) as caught:
        overinfused(nurse, implant, {"reconciliation": "ok fine"})
    assert caught.value.field == "overrides[reconciliation]"
    assert "at least 8 characters" in caught.value.limit
    assert written() == before


def test_a_reason_for_a_rule_not_shown_is_refused(implant: Implant, nurse: User) -> None:
    before = written()
    with pytest.raises(Refusal) as caught:
        overinfused(nurse, implant, {"reconciliation": REASON, "max_daily_dose": REASON})
    assert caught.value.field == "overrides[max_daily_dose]"
    assert written() == before


def test_the_override_is_stored_with_its_reason_audited_and_still_verified_by_a_second(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    refill = overinfused(physician, implant, {"reconciliation": f"  {REASON}\n"})
    typed = [{"rule": "reconciliation", "reason": REASON, "given_at": "refill"}]
    assert refill.acknowledged == typed
    assert [w["rule"] for w in refill.warnings] == ["reconciliation"]
    assert refill.needs_verification and not refill.verified_by
    entry = AuditEntry.objects.filter(action="refill.perform").last()
    assert entry is not None and entry.after is not None
    assert entry.after["overrides"] == typed
    record = refill_record(physician, refill.id)
    assert [(o.rule, o.reason) for o in record.overrides] == [("reconciliation", REASON)]
    with pytest.raises(Refusal):
        refills.verify_refill(physician, refill.id, DAY_60)  # four eyes: not the one who did it
    assert refills.verify_refill(pharmacist, refill.id, DAY_60).verified_by == "pharma.cist"


def test_a_titration_passing_a_soft_limit_keeps_the_warning_and_its_reason(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    library.add_limit(
        pharmacist,
        drug="baclofen",
        rule="max_daily_dose",
        value=parse("420 mcg/day", Kind.DOSE_RATE, "v"),
        severity="soft",
        source="clinic policy 7",
        idempotency_key="soft-daily",
    )
    at = FIRST_FILL + timedelta(days=3)
    dose = parse("440 mcg/day", Kind.DOSE_RATE, "dose")
    with pytest.raises(Refusal) as caught:
        prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=at)
    assert caught.value.field == "overrides" and "clinic_max_daily_dose" in caught.value.value
    reason = "spasms persist at 400 mcg/day, agreed with pharmacy"
    prescription = prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        dose,
        at=at,
        overrides={"clinic_max_daily_dose": reason},
    )
    given = {"rule": "clinic_max_daily_dose", "reason": reason, "given_at": "prescribing"}
    assert prescription.overrides == [given]
    signed = AuditEntry.objects.get(action="prescription.create", object_id=str(prescription.id))
    assert signed.after is not None
    assert signed.after["overrides"] == [given]
    program = programs.program_pump(
        nurse,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=at,
    )
    assert program.overrides == [given]  # the prescriber's, carried: the nurse typed none
    assert [w["rule"] for w in program.warnings] == ["clinic_max_daily_dose"]
    entry = AuditEntry.objects.get(action="program.change")
    assert entry.after is not None
    assert entry.after["overrides"] == [given]
    shown = program_record(physician, program.id)
    assert [(o.rule, o.reason) for o in shown.overrides] == [("clinic_max_daily_dose", reason)]


def test_a_warning_the_prescriber_did_not_see_needs_a_physicians_reason_at_programming(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """A soft limit set after the titration was prescribed: the nurse may not pass it, the
    physician passes it with a reason of their own."""
    at = FIRST_FILL + timedelta(days=3)
    dose = parse("440 mcg/day", Kind.DOSE_RATE, "dose")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=at)
    library.add_limit(
        pharmacist,
        drug="baclofen",
        rule="max_daily_dose",
        value=parse("420 mcg/day", Kind.DOSE_RATE, "v"),
        severity="soft",
        source="clinic policy 7",
        idempotency_key="soft-daily",
    )
    version = Implant.objects.get(id=implant.id).version
    before = written()
    with pytest.raises(Refusal) as caught:
        programs.program_pump(nurse, implant.id, expected_version=version, now=at)
    assert caught.value.field == "overrides" and "clinic_max_daily_dose" in caught.value.value
    reason = "spasms persist at 400 mcg/day, agreed with pharmacy"
    with pytest.raises(Forbidden, match=r"program\.prescribe"):
        programs.program_pump(
            nurse,
            implant.id,
            expected_version=version,
            now=at,
            overrides={"clinic_max_daily_dose": reason},
        )
    assert written() == before
    program = programs.program_pump(
        physician,
        implant.id,
        expected_version=version,
        now=at,
        overrides={"clinic_max_daily_dose": reason},
    )
    assert program.overrides == [
        {"rule": "clinic_max_daily_dose", "reason": reason, "given_at": "programming"}
    ]


def test_no_override_turns_a_hard_stop_into_a_program_or_a_refill(
    physician: User, nurse: User
) -> None:
    """Ziconotide above its US label maximum (a hard limit): a prescription with overrides
    naming that rule and every other is refused, so there is nothing to program, and a refill
    at that dose is refused as not prescribed; no prescription, program, refill or audit
    entry."""
    implant = ziconotide_pump(physician, nurse)
    before = written()
    over = parse(OVER_LABEL, Kind.DOSE_RATE, "dose")
    with pytest.raises(Refusal) as signed:
        prescribed(
            physician, None, implant.id, ziconotide_fill(), over, at=NOW, overrides=every_rule()
        )
    assert signed.value.field in ("dose", "overrides[max_daily_dose]")
    assert "max_daily_dose" in str(signed.value)
    with pytest.raises(Refusal, match="is not ready to program"):
        programs.program_pump(
            physician,
            implant.id,
            expected_version=Implant.objects.get(id=implant.id).version,
            now=NOW,
            overrides=every_rule(),
        )
    with pytest.raises(Refusal) as refilled:
        refills.perform_refill(
            physician,
            implant.id,
            idempotency_key="zic-over",
            performed_at=NOW,
            expected=parse("18 mL", Kind.VOLUME, "e"),
            aspirated=parse("18 mL", Kind.VOLUME, "a"),
            fill=ziconotide_fill(lot="ZIC-2"),
            dose=over,
            overrides=every_rule(),
        )
    assert refilled.value.field == "dose"
    assert refilled.value.limit.endswith("a new dose is a new prescription, signed by a physician")
    assert written() == before
    assert not Program.objects.filter(dose_mcg_per_day=25).exists()
    assert not Prescription.objects.filter(daily_dose_mcg_per_day=25).exists()


def test_a_nurse_may_not_swap_the_drug_at_a_refill_and_nothing_is_written(
    implant: Implant, nurse: User
) -> None:
    before = written()
    hydromorphone = Fill(
        (("hydromorphone", parse("1 mg/mL", Kind.CONCENTRATION, "c")),),
        parse("20 mL", Kind.VOLUME, "v"),
        "H-1",
    )
    with pytest.raises(Refusal) as caught:
        refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key=str(uuid4()),
            performed_at=DAY_60,
            expected=parse("8 mL", Kind.VOLUME, "e"),
            aspirated=parse("8 mL", Kind.VOLUME, "a"),
            fill=hydromorphone,
            dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
            overrides={"baclofen_stopped": REASON, "max_start_dose": REASON},
        )
    assert caught.value.field == "drugs[0]"
    assert caught.value.problem == "differs from the prescription"
    assert "hydromorphone" in caught.value.value
    assert "baclofen 2000 mcg/mL" in caught.value.limit
    assert caught.value.limit.endswith("signed by a physician")
    assert written() == before


def test_a_drug_typed_otherwise_is_stored_under_its_library_name(
    implant: Implant, nurse: User
) -> None:
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=Fill(
            (("Baclofen ", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),),
            parse("20 mL", Kind.VOLUME, "v"),
            "B-2",
        ),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
    )
    assert [d.drug for d in refill.drugs.all()] == ["baclofen"]
    assert not refill.needs_verification
