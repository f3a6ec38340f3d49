"""Each clinical record against the last state its audit trail recorded (issue 14: a refill's
volume edited in the database, the trail untouched, went unnoticed). A record edited around the
application is named with the field, the value stored and the value audited; so is a record no
audited action created, and an audited record deleted. A patient's identifying fields are named
without their values."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db.models import F

from clinic_fixtures import FIRST_FILL, titrated
from frozen import TODAY
from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import patients, prescriptions
from painpump.clinic.models import (
    AuditEntry,
    Implant,
    Patient,
    Prescription,
    PrescriptionDrug,
    Program,
    Refill,
)
from painpump.clinic.reads import queries
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

LATER = FIRST_FILL + timedelta(hours=2)


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def entry_of(action: str) -> int:
    return AuditEntry.objects.filter(action=action).order_by("seq").last().seq  # type: ignore[union-attr]


def test_untouched_records_match_their_trail(implant: Implant, physician: User) -> None:
    titrated(physician, implant.id, parse("350 mcg/day", Kind.DOSE_RATE, "d"), at=LATER)
    assert audit.verify().ok


def test_a_refill_volume_edited_in_the_database_is_named_with_both_values(
    implant: Implant,
) -> None:
    refill = implant.refills.get()
    Refill.objects.filter(id=refill.id).update(volume_ml=F("volume_ml") + Decimal(5))
    assert problems() == (
        f"refill {refill.id}: volume is '25 mL' in the database, '20 mL' in its audit trail "
        f"(entry {entry_of('refill.perform')})",
    )


def test_a_refill_by_date_moved_in_the_database_is_detected(implant: Implant) -> None:
    """Regression: a refill's refill-by date moved 60 days later passed `audit verify`."""
    refill = implant.refills.get()
    later = refill.refill_by + timedelta(days=60)
    Refill.objects.filter(id=refill.id).update(refill_by=later)
    assert problems() == (
        f"refill {refill.id}: refill_by is {later.isoformat()!r} in the database, "
        f"{refill.refill_by.isoformat()!r} in its audit trail (entry {entry_of('refill.perform')})",
    )


def test_a_forged_second_clinician_verification_is_detected(implant: Implant) -> None:
    refill_id = tamper.forge_verification()
    found = problems()
    assert (
        f"refill {refill_id}: verified_by is 'demo.pharmacist1' in the database, '' in its "
        f"audit trail (entry {entry_of('refill.perform')})"
    ) in found
    assert any(f"refill {refill_id}: verified_at is " in problem for problem in found)


def test_a_refill_moved_in_time_or_to_another_nurse_is_detected(implant: Implant) -> None:
    refill = implant.refills.get()
    Refill.objects.filter(id=refill.id).update(
        performed_at=refill.performed_at - timedelta(days=2), performed_by="nurse.other"
    )
    found = problems()
    assert len(found) == 2
    assert found[0].startswith(f"refill {refill.id}: performed_at is ")
    assert found[1].startswith(f"refill {refill.id}: performed_by is 'nurse.other' in the")


def test_a_refills_program_dose_edited_is_detected(implant: Implant) -> None:
    program = implant.refills.get().program
    Program.objects.filter(id=program.id).update(dose_mcg_per_day=Decimal(800))
    assert problems()[0].startswith(
        f"refill {implant.refills.get().id}: dose is '800 mcg/day' in the database, "
        "'400 mcg/day' in its audit trail"
    )


def test_a_reprogrammed_dose_edited_is_detected(implant: Implant, physician: User) -> None:
    program = titrated(physician, implant.id, parse("350 mcg/day", Kind.DOSE_RATE, "d"), at=LATER)
    Program.objects.filter(id=program.id).update(rate_ml_per_day=F("rate_ml_per_day") * 2)
    assert problems()[0].startswith(f"program {program.id}: rate is ")


def test_a_prescribed_concentration_edited_is_detected(implant: Implant) -> None:
    drug = PrescriptionDrug.objects.get(prescription__implant=implant)
    PrescriptionDrug.objects.filter(id=drug.id).update(
        concentration_mcg_per_ml=drug.concentration_mcg_per_ml * 2
    )
    found = problems()
    assert found[0].startswith(f"prescription {drug.prescription_id}: drug 1 is 'baclofen ")


def test_a_double_check_skipped_by_a_database_edit_is_detected(
    implant: Implant, physician: User
) -> None:
    """Regression: a prescription awaiting its double-check set to 'ready' in the database
    passed `audit verify`."""
    drugs = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
    more = rx.PrescribedProgram.continuous(parse("420 mcg/day", Kind.DOSE_RATE, "d"))
    waiting = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(drugs, more),
        reason="a small increase for the evening spasms",
        now=clock.now(),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    assert waiting.status == Prescription.Status.AWAITING_CHECK
    Prescription.objects.filter(id=waiting.id).update(status=Prescription.Status.READY)
    assert problems() == (
        f"prescription {waiting.id}: status is 'ready' in the database, 'awaiting_check' in "
        f"its audit trail (entry {entry_of('prescription.create')})",
    )


def test_an_implant_serial_edited_is_detected(implant: Implant) -> None:
    Implant.objects.filter(id=implant.id).update(pump_serial="NGP999999H")
    assert problems() == (
        f"implant {implant.id}: pump is 'synchromed-ii-20 NGP999999H' in the database, "
        f"'synchromed-ii-20 NGP123456H' in its audit trail (entry {entry_of('implant.register')})",
    )


def test_a_patients_name_edited_is_named_without_its_values(patient: Patient) -> None:
    Patient.objects.filter(id=patient.id).update(family_name="Mustermann")
    assert problems() == (
        f"patient {patient.id}: family_name in the database differs from its audit trail "
        f"(entry {entry_of('patient.create')}; the values are patient-identifying and not "
        "shown)",
    )


def test_an_audited_change_is_the_state_compared(patient: Patient, nurse: User) -> None:
    patients.update_patient(
        nurse, patient.id, expected_version=patient.version, today=TODAY, family_name="Neu"
    )
    assert audit.verify().ok
    Patient.objects.filter(id=patient.id).update(family_name="Muster")  # back, around the app
    assert "family_name in the database differs" in problems()[0]


def test_a_record_no_audited_action_created_is_reported(patient: Patient) -> None:
    stray = Patient.objects.create(
        mrn="MRN-STRAY", family_name="X", given_name="Y", birth_date=patient.birth_date
    )
    assert problems() == (
        f"patient {stray.id}: no audit entry records it (created, or its trail deleted, "
        "outside the application)",
    )


def test_an_audited_record_deleted_is_reported(patient: Patient) -> None:
    Patient.objects.filter(id=patient.id)._raw_delete("default")
    assert problems() == (
        f"patient {patient.id}: its trail records it (entry {entry_of('patient.create')}) but "
        "it is not in the database (deleted outside the application)",
    )


def test_reads_and_searches_record_no_state_to_compare(implant: Implant, nurse: User) -> None:
    """A search is audited under the "patient" type with no patient's id, a read with no
    `after`: neither is a record's state."""
    queries.search_patients(nurse, "Muster", today=TODAY)
    patients.read_patient(nurse, implant.episode.patient_id)
    assert audit.verify().ok
