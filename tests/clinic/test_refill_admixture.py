"""Admixtures: every drug of a prescription is checked against its own library limits at the dose
the program gives it when the physician prescribes it, so a second drug cannot ride along
unchecked (hazard H-04 of docs/hazards.md), and the refill executing it carries each drug's
warning with the reason given for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic.actions import prescriptions, programs, refills
from painpump.clinic.models import AuditEntry, Implant, Prescription, Program, Refill
from painpump.clinic.reads.prescription_history import preview_prescription
from painpump.clinic.reads.refill_preview import preview_refill
from painpump.clinic.testing import prescribed
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
DOSE = parse("400 mcg/day", Kind.DOSE_RATE, "dose")


def with_clonidine(clonidine: str) -> Fill:
    return Fill(
        drugs=(
            ("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),
            ("clonidine", parse(clonidine, Kind.CONCENTRATION, "c")),
        ),
        volume=parse("20 mL", Kind.VOLUME, "v"),
        lot="LOT-43",
    )


REASON = "clonidine concentration agreed with pharmacy"


def prescribe(
    physician: User, pharmacist: User, implant: Implant, clonidine: str, **kwargs: object
) -> Prescription:
    """The admixture prescribed the morning of the day-60 refill (and double-checked)."""
    return prescribed(
        physician,
        pharmacist,
        implant.id,
        with_clonidine(clonidine),
        DOSE,
        at=DAY_60 - timedelta(hours=2),
        **kwargs,  # type: ignore[arg-type]
    )


def refill(user: User, implant: Implant, fill: Fill) -> Refill:
    return refills.perform_refill(
        user,
        implant.id,
        idempotency_key="admixture",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=fill,
    )


def test_a_hundredfold_slip_in_the_second_drug_of_an_admixture_is_refused_naming_it(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        prescribe(physician, pharmacist, implant, "150 mg/mL")
    assert caught.value.field == "drugs[1]"
    assert "clonidine 150 mg/mL" in caught.value.value
    assert caught.value.source
    assert Prescription.objects.count() == 1
    assert AuditEntry.objects.count() == entries
    with pytest.raises(Refusal, match="differs from the prescription"):
        refill(nurse, implant, with_clonidine("150 mg/mL"))
    assert Refill.objects.count() == 1
    assert Program.objects.filter(ended_at__isnull=True).count() == 1
    assert AuditEntry.objects.count() == entries


def test_the_second_drug_above_its_own_soft_maximum_needs_its_own_reason(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """Clonidine 2000 mcg/mL is above its 1000 mcg/mL maximum (its 400 mcg/day at 0.2 mL/day
    are within its daily maximum): the warning names clonidine and is passed with a reason of its
    own (regression: it read like the baclofen's and an acknowledgement of the rule covered
    both)."""
    with pytest.raises(Refusal) as caught:
        prescribe(physician, pharmacist, implant, "2000 mcg/mL")
    assert caught.value.field == "overrides"
    assert "clonidine:max_concentration" in caught.value.limit
    assert "clonidine:max_concentration" in caught.value.value
    assert "clonidine:max_concentration: clonidine: " in caught.value.problem
    assert Prescription.objects.count() == 1
    shown = preview_prescription(
        physician,
        implant.id,
        rx.Prescription(with_clonidine("2000 mcg/mL").drugs, rx.PrescribedProgram.continuous(DOSE)),
        at=DAY_60 - timedelta(hours=2),
    ).warnings
    reasons = {w.rule: REASON for w in shown if w.rule != "clonidine:max_concentration"}
    with pytest.raises(Refusal):  # the principal drug's rule does not cover clonidine's
        prescribe(
            physician,
            pharmacist,
            implant,
            "2000 mcg/mL",
            overrides={**reasons, "max_concentration": REASON},
        )
    prescribe(
        physician,
        pharmacist,
        implant,
        "2000 mcg/mL",
        overrides={**reasons, "clonidine:max_concentration": REASON},
    )
    at_refill = preview_refill(
        nurse,
        implant.id,
        at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=with_clonidine("2000 mcg/mL"),
    )
    assert at_refill.prescribers_reasons["clonidine:max_concentration"] == REASON
    recorded = refill(nurse, implant, with_clonidine("2000 mcg/mL"))
    (warning,) = [w for w in recorded.warnings if w["rule"] == "clonidine:max_concentration"]
    assert warning["message"].startswith("clonidine: ")
    assert {
        "rule": "clonidine:max_concentration",
        "reason": REASON,
        "given_at": "prescribing",
    } in recorded.acknowledged
    assert {d.drug for d in recorded.drugs.all()} == {"baclofen", "clonidine"}


def test_a_small_single_bolus_of_an_admixture_is_prescribed_and_programmed_not_refused_as_a_slip(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """50 mcg of baclofen from baclofen 2000 + clonidine 60 mcg/mL carries 1.5 mcg of clonidine:
    regression, that share was refused as a mg/mcg slip ("1.5 mg/day is within" clonidine's
    usual range) when the bolus was signed and again when it was programmed."""
    pairs = with_clonidine("60 mcg/mL").drugs
    admixture = rx.Prescription(pairs, rx.PrescribedProgram.continuous(DOSE))
    at = DAY_60 - timedelta(hours=2)
    shown = preview_prescription(physician, implant.id, admixture, at=at).warnings
    prescribe(
        physician, pharmacist, implant, "60 mcg/mL", overrides={w.rule: REASON for w in shown}
    )
    refill(nurse, implant, with_clonidine("60 mcg/mL"))
    bolus = rx.PrescribedProgram.single_bolus(rx.single_bolus("50 mcg", "10 min"))
    later = DAY_60 + timedelta(days=2)
    preview = preview_prescription(physician, implant.id, rx.Prescription(pairs, bolus), at=later)
    assert preview.stop is None
    reasons = {w.rule: "bolus before the planned pump replacement" for w in preview.warnings}
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(pairs, bolus),
        reason="a bolus before the planned replacement",
        now=later,
        expected_version=Implant.objects.get(id=implant.id).version,
        overrides=reasons,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(pairs, bolus, None),
        accept=True,
        comment="",
        now=later,
    )
    program = programs.program_pump(
        nurse, implant.id, expected_version=Implant.objects.get(id=implant.id).version, now=later
    )
    assert program.prescription == record
    assert Program.objects.get(id=program.id).ended_at is None
