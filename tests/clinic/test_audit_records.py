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
from painpump.clinic import audit, audit_keys
from painpump.clinic.actions import library, patients, prescriptions, refills, settings_service
from painpump.clinic.models import (
    AuditEntry,
    ClinicLimit,
    Implant,
    Patient,
    Prescription,
    PrescriptionCheck,
    PrescriptionDrug,
    Program,
    Refill,
)
from painpump.clinic.reads import queries
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper
from report_scenario import changed_concentration

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


def test_an_override_credited_to_another_in_the_database_is_detected(
    implant: Implant, nurse: User, physician: User
) -> None:
    """Where an override was given is stored with it: the nurse's reason relabelled as the
    prescriber's (given at prescribing), or a titration's credit moved, differs from the trail."""
    refill = changed_concentration(nurse, implant)
    [typed] = refill.acknowledged
    assert typed["given_at"] == "refill"
    Refill.objects.filter(id=refill.id).update(acknowledged=[{**typed, "given_at": "prescribing"}])
    program = titrated(
        physician,
        implant.id,
        parse("350 mcg/day", Kind.DOSE_RATE, "d"),
        at=DAY_60 + timedelta(hours=3),
    )
    Program.objects.filter(id=program.id).update(overrides=[{"rule": "x", "reason": "forged"}])
    found = problems()
    assert len(found) == 2
    assert found[0].startswith(f"refill {refill.id}: overrides is ")
    assert "'prescribing'" in found[0] and "'refill'" in found[0]
    assert found[1].startswith(f"program {program.id}: overrides is ")


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


# -- what the second outside attack edited and `audit verify` did not compare yet (issue 14) ---

DAY_60 = FIRST_FILL + timedelta(days=60)
REASON = "pump interrogated, residual re-measured twice"
POLICY = "Baclofen policy BP-7, section 3"


def awaiting_check(physician: User, implant: Implant) -> Prescription:
    """A new high-alert prescription for the pump, waiting for its double-check."""
    drugs = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
    more = rx.PrescribedProgram.continuous(parse("420 mcg/day", Kind.DOSE_RATE, "d"))
    return prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(drugs, more),
        reason="a small increase for the evening spasms",
        now=clock.now(),
        expected_version=Implant.objects.get(id=implant.id).version,
    )


def test_a_program_no_audited_action_created_is_reported(implant: Implant) -> None:
    """Regression: a program inserted in the database (neither a refill nor a program change
    audits it) passed `audit verify`."""
    running = implant.refills.get().program
    stray = Program.objects.create(
        implant=implant,
        prescription=running.prescription,
        dose_mcg_per_day=Decimal(800),
        rate_ml_per_day=Decimal("0.4"),
        started_at=LATER,
        prescribed_by=running.prescribed_by,
        programmed_by="nurse.other",
    )
    assert problems() == (
        f"program {stray.id}: no audit entry records it (created, or its trail deleted, "
        "outside the application)",
    )


def test_a_refill_moved_onto_a_forged_program_names_the_program_its_trail_recorded(
    implant: Implant,
) -> None:
    refill = implant.refills.get()
    audited = refill.program
    forged = Program.objects.get(id=audited.id)
    forged.pk = None  # a copy of it under a new id
    forged.save(force_insert=True)
    Refill.objects.filter(id=refill.id).update(program=forged)
    assert problems() == (
        f"refill {refill.id}: program is '{forged.id}' in the database, '{audited.id}' in its "
        f"audit trail (entry {entry_of('refill.perform')})",
    )


def test_a_refills_alarm_and_empty_dates_moved_in_the_database_are_detected(
    implant: Implant,
) -> None:
    """Regression: a refill's low-reservoir alarm and empty dates moved a month later passed
    `audit verify`."""
    refill = implant.refills.get()
    alarm, empty = refill.alarm_at + timedelta(days=30), refill.empty_at + timedelta(days=30)
    Refill.objects.filter(id=refill.id).update(alarm_at=alarm, empty_at=empty)
    entry = entry_of("refill.perform")
    assert problems() == (
        f"refill {refill.id}: alarm_at is {alarm.isoformat()!r} in the database, "
        f"{refill.alarm_at.isoformat()!r} in its audit trail (entry {entry})",
        f"refill {refill.id}: empty_at is {empty.isoformat()!r} in the database, "
        f"{refill.empty_at.isoformat()!r} in its audit trail (entry {entry})",
    )


def test_a_pump_dated_again_leaves_its_refills_dates_as_audited(
    implant: Implant, admin: User
) -> None:
    """A redate (here by a longer refill margin) moves the pump's dates, audited as
    `pumps.redate`; the refill keeps the dates its twin gave it then, so verify stays ok."""
    refill = implant.refills.get()
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    assert Implant.objects.get(id=implant.id).refill_by != refill.refill_by
    assert Refill.objects.get(id=refill.id).refill_by == refill.refill_by
    assert audit.verify().ok


def test_a_refills_verification_flag_cleared_in_the_database_is_detected(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """Regression: a refill waiting for its second clinician taken off the list by clearing
    `needs_verification` in the database passed `audit verify`."""
    refill = refills.perform_refill(
        physician,
        implant.id,
        idempotency_key="r60",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("6 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        overrides={"reconciliation": REASON},
    )
    assert refill.needs_verification
    assert audit.verify().ok
    Refill.objects.filter(id=refill.id).update(needs_verification=False)
    assert problems() == (
        f"refill {refill.id}: needs_verification is False in the database, True in its audit "
        f"trail (entry {entry_of('refill.perform')})",
    )
    Refill.objects.filter(id=refill.id).update(needs_verification=True)
    refills.verify_refill(pharmacist, refill.id, DAY_60)
    assert audit.verify().ok


def test_a_double_check_row_inserted_in_the_database_is_detected(
    implant: Implant, physician: User
) -> None:
    """Regression: a double-check inserted in the database (a second clinician who never
    checked, accepting) passed `audit verify`."""
    waiting = awaiting_check(physician, implant)
    PrescriptionCheck.objects.create(
        prescription=waiting, checked_by="pharma.cist", checked_at=clock.now(), accepted=True
    )
    found = problems()
    assert len(found) == 1
    assert found[0].startswith(
        f"prescription {waiting.id}: double_check is {{'checked_by': 'pharma.cist', "
        "'accepted': True, "
    )
    assert found[0].endswith(f"None in its audit trail (entry {entry_of('prescription.create')})")


@pytest.mark.parametrize(
    ("field", "value"),
    [("checked_by", "dr.nobody"), ("accepted", False), ("entered", {"concentrations": []})],
)
def test_a_double_check_row_edited_in_the_database_is_detected(
    implant: Implant, field: str, value: object
) -> None:
    check = PrescriptionCheck.objects.get(prescription__implant=implant)
    PrescriptionCheck.objects.filter(id=check.id).update(**{field: value})
    found = problems()
    assert len(found) == 1
    assert found[0].startswith(f"prescription {check.prescription_id}: double_check is ")
    assert found[0].endswith(f"in its audit trail (entry {entry_of('prescription.accept')})")


def test_a_prescriptions_double_checker_forged_in_the_database_is_detected(
    implant: Implant, physician: User
) -> None:
    """The prescription's own record of who double-checked it (a refill changing drug without
    one needs a second clinician afterwards) is compared too, and so is when."""
    waiting = awaiting_check(physician, implant)
    forged_at = clock.now()
    Prescription.objects.filter(id=waiting.id).update(
        checked_by="pharma.cist", checked_at=forged_at
    )
    assert problems() == (
        f"prescription {waiting.id}: checked_by is 'pharma.cist' in the database, '' in its "
        f"audit trail (entry {entry_of('prescription.create')})",
        f"prescription {waiting.id}: checked_at is {forged_at.isoformat()!r} in the "
        f"database, None in its audit trail (entry {entry_of('prescription.create')})",
    )


def test_an_acceptance_from_before_its_time_was_recorded_is_not_compared_for_it(
    implant: Implant,
) -> None:
    """An older trail's `prescription.accept` did not record when the check was done: the
    prescription's `checked_at` has nothing to be compared with, and is no false alarm."""
    entry = AuditEntry.objects.get(action="prescription.accept")
    older = {k: v for k, v in (entry.after or {}).items() if k != "checked_at"}
    tamper.recompute(
        entry.seq, older, lambda fields: audit_keys.require_key().digest("entry", fields)
    )
    assert audit.verify().ok


def test_a_rejected_double_check_verifies_and_its_forged_acceptance_is_detected(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    waiting = awaiting_check(physician, implant)
    prescriptions.double_check(
        pharmacist,
        waiting.id,
        entries=entries_of(waiting),
        accept=False,
        comment="the evening dose was agreed at 410 mcg/day",
        now=clock.now(),
    )
    assert audit.verify().ok
    PrescriptionCheck.objects.filter(prescription=waiting).update(accepted=True)
    assert problems()[0].startswith(f"prescription {waiting.id}: double_check is ")


def entries_of(record: Prescription) -> CheckEntries:
    """A double-check's entries that match the prescription."""
    core = as_core(record)
    return CheckEntries(core.drugs, core.program, core.ptm, core.fluid_change)


def test_a_prescriptions_high_alert_flag_cleared_in_the_database_is_detected(
    implant: Implant,
) -> None:
    """Regression: a baclofen prescription's high-alert flag cleared in the database (its
    successors would then skip the double-check) passed `audit verify`."""
    record = Prescription.objects.get(implant=implant)
    assert record.high_alert
    Prescription.objects.filter(id=record.id).update(high_alert=False)
    assert problems() == (
        f"prescription {record.id}: high_alert is False in the database, True in its audit "
        f"trail (entry {entry_of('prescription.create')})",
    )


def baclofen_daily(user: User, value: str, severity: str) -> ClinicLimit:
    return library.add_limit(
        user,
        drug="baclofen",
        rule="max_daily_dose",
        value=parse(value, Kind.DOSE_RATE, "value"),
        severity=severity,
        source=POLICY,
        idempotency_key=f"{severity}-{value}",
    )


def test_a_clinic_limit_loosened_in_the_database_is_detected(pharmacist: User) -> None:
    """Regression: a clinic's limit raised tenfold in the database passed `audit verify`."""
    row = baclofen_daily(pharmacist, "420 mcg/day", "soft")
    ClinicLimit.objects.filter(id=row.id).update(value=Decimal(4200))
    assert problems() == (
        f"clinic_limit {row.id}: value is '4200 mcg/day' in the database, '420 mcg/day' in "
        f"its audit trail (entry {entry_of('library.limit.add')})",
    )


def test_a_clinic_limit_no_audited_action_created_is_reported(pharmacist: User) -> None:
    stray = ClinicLimit.objects.create(
        drug="baclofen",
        rule="max_daily_dose",
        value=Decimal(420),
        unit="mcg/day",
        severity="soft",
        source=POLICY,
        set_by="pharma.cist",
        set_at=clock.now(),
        approved_by="pharma.cist",
        approved_at=clock.now(),
    )
    assert problems() == (
        f"clinic_limit {stray.id}: no audit entry records it (created, or its trail deleted, "
        "outside the application)",
    )


def test_every_audited_change_of_a_clinic_limit_verifies(pharmacist: User, physician: User) -> None:
    """Added, approved, changed (a pending replacement, approved), its removal asked for and
    approved; a soft one changed in place and archived: the trail holds each state."""
    hard = baclofen_daily(pharmacist, "420 mcg/day", "hard")
    hard = library.approve_limit(physician, hard.id, expected_version=hard.version)
    change = library.change_limit(
        pharmacist,
        hard.id,
        expected_version=hard.version,
        value=parse("410 mcg/day", Kind.DOSE_RATE, "value"),
        severity="hard",
        source=POLICY,
    )
    assert audit.verify().ok
    change = library.approve_limit(physician, change.id, expected_version=change.version)
    change = library.archive_limit(pharmacist, change.id, expected_version=change.version)
    assert audit.verify().ok
    library.approve_limit(physician, change.id, expected_version=change.version)
    soft = baclofen_daily(pharmacist, "400 mcg/day", "soft")
    soft = library.change_limit(
        pharmacist,
        soft.id,
        expected_version=soft.version,
        value=parse("390 mcg/day", Kind.DOSE_RATE, "value"),
        severity="soft",
        source=POLICY,
    )
    library.archive_limit(pharmacist, soft.id, expected_version=soft.version)
    assert audit.verify().ok
    assert ClinicLimit.objects.filter(archived_at__isnull=True).count() == 0


def test_refused_accepts_at_the_double_check_keep_the_trail_and_its_records_verified(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    """Each accept refused because entries differed is an entry of the chain of its own, which
    records no state of the prescription: the trail verifies before and after the accept."""
    waiting = awaiting_check(physician, implant)
    matching = entries_of(waiting)
    for dose in ("410 mcg/day", "4.2 mg/day"):
        typed = rx.PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "d"))
        with pytest.raises(Refusal):
            prescriptions.double_check(
                pharmacist,
                waiting.id,
                entries=CheckEntries(matching.concentrations, typed, None, matching.fluid_change),
                accept=True,
                comment="",
                now=clock.now(),
            )
    assert AuditEntry.objects.filter(action="prescription.accept_refused").count() == 2
    assert audit.verify().ok
    prescriptions.double_check(
        pharmacist, waiting.id, entries=matching, accept=True, comment="", now=clock.now()
    )
    assert audit.verify().ok
