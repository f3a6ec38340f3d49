"""Each audited object's entries against one another, and verify on malformed audit rows (issue:
a database edit was laundered by the next ordinary update, whose `before` recorded the edited value
and whose `after` carried it on; and `painpump audit verify` crashed on rows SQLite lets in)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection

from clinic_fixtures import FIRST_FILL, second_clinician
from frozen import TODAY
from painpump.clinic import audit
from painpump.clinic.actions import patients, prescriptions
from painpump.clinic.models import AuditEntry, Implant, Patient, Prescription
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db


def weighed(physician: User, patient: Patient, weight: str) -> Patient:
    return patients.update_patient(
        physician, patient.id, expected_version=patient.version, today=TODAY, weight_kg=weight
    )


def test_a_database_edit_carried_on_by_a_later_update_is_reported(
    patient: Patient, physician: User
) -> None:
    patient = weighed(physician, patient, "81.4")
    left_by = AuditEntry.objects.filter(action="patient.update").last()
    Patient.objects.filter(id=patient.id).update(weight_kg=Decimal("9.0"))
    assert not audit.verify().ok
    patients.update_patient(
        physician, patient.id, expected_version=patient.version, today=TODAY, given_name="Erika"
    )
    found = AuditEntry.objects.filter(action="patient.update").last()
    assert left_by is not None and found is not None
    outcome = audit.verify()
    assert not outcome.ok
    assert any(
        p.startswith(f"patient {patient.id}: entry {found.seq} records weight before as")
        and f"but entry {left_by.seq} left it as '81.4 kg'" in p
        and "changed outside the application" in p
        for p in outcome.problems
    ), outcome.problems


def test_a_skipped_double_check_carried_on_by_a_withdrawal_is_reported(
    implant: Implant, physician: User
) -> None:
    dose = parse("350 mcg/day", Kind.DOSE_RATE, "dose")
    signed = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, rx.PrescribedProgram.continuous(dose)),
        reason="titration agreed at the clinic visit",
        now=FIRST_FILL,
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    assert signed.status == Prescription.Status.AWAITING_CHECK
    Prescription.objects.filter(id=signed.id).update(status=Prescription.Status.READY)
    checker = second_clinician(physician)
    prescribed(physician, checker, implant.id, baclofen(), dose, at=FIRST_FILL)  # withdraws it
    withdrawn = AuditEntry.objects.get(action="prescription.withdraw", object_id=str(signed.id))
    outcome = audit.verify()
    assert not outcome.ok
    assert any(
        p.startswith(
            f"prescription {signed.id}: entry {withdrawn.seq} records status before as 'ready'"
        )
        and "left it as 'awaiting_check'" in p
        for p in outcome.problems
    ), outcome.problems


def test_ordinary_updates_after_one_another_verify(patient: Patient, physician: User) -> None:
    patient = weighed(physician, patient, "81.4")
    weighed(physician, patient, "80")
    assert audit.verify().ok


def test_an_implanted_and_filled_pump_verifies(implant: Implant) -> None:
    assert audit.verify().ok


def write(sql: str, *params: str | int) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the malformed value")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def created(patient: Patient) -> int:
    return AuditEntry.objects.get(action="patient.create", object_id=str(patient.id)).seq


@pytest.mark.parametrize("at", ["bad", "2026-13-01 00:00:00"])
def test_an_entry_with_a_malformed_time_is_named(patient: Patient, at: str) -> None:
    seq = created(patient)
    write("UPDATE clinic_auditentry SET at = %s WHERE seq = %s", at, seq)
    outcome = audit.verify()
    assert not outcome.ok
    assert any(p.startswith(f"entry {seq}: its row cannot be read") for p in outcome.problems)


def test_an_entry_with_a_malformed_patient_id_is_named(patient: Patient) -> None:
    seq = created(patient)
    write("UPDATE clinic_auditentry SET patient_id = 'nope' WHERE seq = %s", seq)
    outcome = audit.verify()
    assert not outcome.ok
    assert any(p.startswith(f"entry {seq}: its row cannot be read") for p in outcome.problems)


def test_a_record_with_a_malformed_id_is_named(patient: Patient) -> None:
    write("UPDATE clinic_patient SET id = 'nope' WHERE id = %s", patient.id.hex)
    outcome = audit.verify()
    assert not outcome.ok
    assert "patient 'nope': its id is not a UUID: a row written outside the application" in (
        outcome.problems
    )


def test_a_head_whose_count_is_not_a_number_is_named(patient: Patient) -> None:
    write("UPDATE clinic_audithead SET count = 'abc'")
    outcome = audit.verify()
    assert not outcome.ok
    assert any(p.startswith("the head records 'abc' as its count") for p in outcome.problems)
