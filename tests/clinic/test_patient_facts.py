"""The patient facts the drug labels' dosing depends on, the origin-of-spasticity override and the
dose history, as services record them and as the reads give them to core: refusals name the
field, every change is audited with its units, a stale version conflicts."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import BORN, FIRST_FILL
from frozen import TODAY, day
from painpump.clinic import audit
from painpump.clinic.actions import patient_facts, patients
from painpump.clinic.errors import Conflict
from painpump.clinic.models import (
    AuditEntry,
    Episode,
    Implant,
    Patient,
    Program,
    Refill,
    RefillDrug,
)
from painpump.clinic.reads.patient_facts import dose_history, facts_of, origin_choice
from painpump.clinic.roles import Forbidden
from painpump.core.dose_history import DoseChange
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.spasticity import Origin

pytestmark = pytest.mark.django_db(transaction=False)


def _edit(user: User, patient: Patient, **changes: object) -> Patient:
    return patients.update_patient(
        user, patient.id, expected_version=patient.version, today=TODAY, **changes
    )


def test_a_patient_registered_with_facts_keeps_them_and_audits_them_with_units(
    nurse: User,
) -> None:
    created = patients.create_patient(
        nurse,
        mrn="MRN-F1",
        family_name="Fakt",
        given_name="Frida",
        birth_date=BORN,
        today=TODAY,
        weight_kg="72.5",
        opioid_status="tolerant",
        psychosis_history=False,
        life_expectancy_months=9,
    )
    created.refresh_from_db()
    assert facts_of(created) == PatientFacts(
        birth_date=BORN,
        weight_kg=Decimal("72.5"),
        opioid_status=OpioidStatus.TOLERANT,
        psychosis_history=False,
        life_expectancy_months=9,
    )
    entry = AuditEntry.objects.get(action="patient.create")
    assert entry.after is not None
    assert entry.after["weight"] == "72.5 kg"
    assert entry.after["life_expectancy"] == "9 months"
    assert entry.after["opioid_status"] == "tolerant"
    assert entry.after["psychosis_history"] is False


def test_unknown_facts_stay_unknown(patient: Patient) -> None:
    assert facts_of(patient) == PatientFacts(birth_date=BORN)
    assert facts_of(patient).age_on(TODAY) == 56


def test_a_nurse_records_the_weight_but_only_a_prescriber_the_facts_doses_depend_on(
    patient: Patient, nurse: User
) -> None:
    weighed = _edit(nurse, patient, weight_kg=Decimal("64"))
    for fact, value in (("psychosis_history", True), ("opioid_status", "tolerant")):
        with pytest.raises(Forbidden):
            _edit(nurse, weighed, **{fact: value})
    assert Patient.objects.get(id=patient.id).version == weighed.version


def test_a_physician_records_the_facts_and_the_audit_entry_has_before_and_after(
    patient: Patient, physician: User
) -> None:
    changed = _edit(physician, patient, weight_kg=Decimal("64"), psychosis_history=True)
    assert changed.version == 2
    assert changed.weight_kg == Decimal("64.00")
    assert changed.psychosis_history is True
    update = AuditEntry.objects.get(action="patient.update")
    assert update.before is not None and update.after is not None
    assert (update.before["weight"], update.after["weight"]) == (None, "64 kg")
    assert (update.before["psychosis_history"], update.after["psychosis_history"]) == (None, True)
    cleared = _edit(physician, changed, weight_kg=None, psychosis_history=None)
    assert (cleared.weight_kg, cleared.psychosis_history) == (None, None)
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("weight_kg", "0.4", "0.5 to 400 kg"),
        ("weight_kg", "400.01", "0.5 to 400 kg"),
        ("weight_kg", "70.123", "at most 2 decimal places"),
        ("weight_kg", "seventy", "0.5 to 400 kg"),
        ("weight_kg", 70.5, "0.5 to 400 kg"),
        ("life_expectancy_months", -1, "from 0 to 600"),
        ("life_expectancy_months", 601, "from 0 to 600"),
        ("life_expectancy_months", "2.5", "whole number of months"),
        ("opioid_status", "sometimes", "unknown, naive, tolerant"),
        ("psychosis_history", "maybe", "true, false or null"),
    ],
)
def test_implausible_facts_are_refused_naming_field_value_limit_and_source(
    patient: Patient, nurse: User, field: str, value: object, limit: str
) -> None:
    with pytest.raises(Refusal) as caught:
        _edit(nurse, patient, **{field: value})
    assert caught.value.field == field
    assert str(value) in caught.value.value
    assert limit in caught.value.limit
    assert caught.value.source == "painpump input rules"
    patient.refresh_from_db()
    assert patient.version == 1
    assert not AuditEntry.objects.filter(action="patient.update").exists()


def test_the_bounds_themselves_are_allowed(patient: Patient, nurse: User) -> None:
    low = _edit(nurse, patient, weight_kg="0.5", life_expectancy_months=0)
    high = _edit(nurse, low, weight_kg="400", life_expectancy_months=600)
    assert (high.weight_kg, high.life_expectancy_months) == (Decimal("400.00"), 600)


def test_a_refused_fact_at_registration_stores_nothing(nurse: User) -> None:
    with pytest.raises(Refusal) as caught:
        patients.create_patient(
            nurse,
            mrn="MRN-F2",
            family_name="A",
            given_name="B",
            birth_date=BORN,
            today=TODAY,
            life_expectancy_months=700,
        )
    assert caught.value.field == "life_expectancy_months"
    assert Patient.objects.count() == 0


def test_facts_edited_from_a_stale_version_conflict(
    patient: Patient, nurse: User, physician: User
) -> None:
    _edit(physician, patient, weight_kg="80")
    with pytest.raises(Conflict) as caught:
        patients.update_patient(nurse, patient.id, expected_version=1, today=TODAY, weight_kg="81")
    assert caught.value.current_version == 2
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("80.00")


def test_a_pharmacist_cannot_record_facts(patient: Patient, pharmacist: User) -> None:
    with pytest.raises(Forbidden):
        _edit(pharmacist, patient, weight_kg="70")


# The origin of spasticity


def _episode(physician: User, patient: Patient, indication: str) -> Episode:
    injured = day(-800) if indication == "traumatic_brain_injury" else None
    return patients.open_episode(
        physician, patient.id, indication=indication, referred_on=day(-9), injury_date=injured
    )


@pytest.mark.parametrize(
    ("indication", "origin"),
    [
        ("infantile_cerebral_palsy", Origin.CEREBRAL),
        ("multiple_sclerosis", Origin.SPINAL),
        ("paraplegia", Origin.SPINAL),
        ("stroke", Origin.CEREBRAL),
        ("traumatic_brain_injury", Origin.CEREBRAL),
        ("failed_back_surgery_syndrome", None),
        ("tumour_pain", None),
        ("polyneuropathy", None),
    ],
)
def test_the_origin_follows_the_indication_without_an_override(
    patient: Patient, physician: User, indication: str, origin: Origin | None
) -> None:
    choice = origin_choice(_episode(physician, patient, indication))
    assert choice.origin is origin
    assert choice.reason == (f"from the indication ({indication})" if origin else "")


def test_a_physician_overrides_the_origin_with_a_reason_and_clears_it(
    patient: Patient, physician: User
) -> None:
    episode = _episode(physician, patient, "stroke")
    reason = "MRI: spinal cord lesion explains the spasticity"
    changed = patient_facts.set_origin_override(
        physician, episode.id, expected_version=1, origin="spinal", reason=reason
    )
    choice = origin_choice(changed)
    assert (choice.origin, choice.reason) == (Origin.SPINAL, reason)
    entry = AuditEntry.objects.get(action="episode.origin_override")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["origin"], entry.after["origin"]) == ("cerebral", "spinal")
    assert entry.after["origin_override_reason"] == reason
    cleared = patient_facts.set_origin_override(
        physician, episode.id, expected_version=2, origin="", reason="the MRI was misread"
    )
    assert origin_choice(cleared).origin is Origin.CEREBRAL
    assert cleared.origin_override_reason == ""
    clearing = AuditEntry.objects.get(action="episode.origin_override_clear")
    assert clearing.after is not None and clearing.after["clearing_reason"] == "the MRI was misread"


@pytest.mark.parametrize(
    ("indication", "origin", "reason", "field"),
    [
        ("stroke", "spinal", "short", "reason"),
        ("stroke", "spinal", "        ", "reason"),
        ("stroke", "cortical", "a long enough reason", "origin"),
        ("tumour_pain", "spinal", "a long enough reason", "origin"),
    ],
)
def test_a_bad_override_is_refused_and_nothing_changes(
    patient: Patient, physician: User, indication: str, origin: str, reason: str, field: str
) -> None:
    episode = _episode(physician, patient, indication)
    with pytest.raises(Refusal) as caught:
        patient_facts.set_origin_override(
            physician, episode.id, expected_version=1, origin=origin, reason=reason
        )
    assert caught.value.field == field
    episode.refresh_from_db()
    assert (episode.origin_override, episode.version) == ("", 1)
    assert not AuditEntry.objects.filter(action__startswith="episode.origin").exists()


def test_only_a_physician_overrides_and_a_stale_version_conflicts(
    patient: Patient, physician: User, nurse: User
) -> None:
    episode = _episode(physician, patient, "paraplegia")
    with pytest.raises(Forbidden):
        patient_facts.set_origin_override(
            nurse, episode.id, expected_version=1, origin="cerebral", reason="a long enough reason"
        )
    patient_facts.set_origin_override(
        physician, episode.id, expected_version=1, origin="cerebral", reason="hypoxic brain injury"
    )
    with pytest.raises(Conflict):
        patient_facts.set_origin_override(
            physician, episode.id, expected_version=1, origin="", reason=""
        )


# The dose history


def _program(implant: Implant, started: timedelta, dose: str) -> Program:
    return Program.objects.create(
        implant=implant,
        dose_mcg_per_day=Decimal(dose),
        rate_ml_per_day=Decimal("0.2"),
        started_at=FIRST_FILL + started,
        prescribed_by="dr.house",
    )


def _refill(implant: Implant, after: timedelta, *drugs: str) -> Refill:
    """A copy of the first fill `after` it, with `drugs` (the first the principal)."""
    refill = Refill.objects.filter(implant=implant).earliest("performed_at")
    refill.pk = uuid.uuid4()
    refill.idempotency_key = f"copy-{after}"
    refill.performed_at = FIRST_FILL + after
    refill.save(force_insert=True)
    for position, drug in reversed(list(enumerate(drugs))):  # stored out of order on purpose
        RefillDrug.objects.create(
            refill=refill, position=position, drug=drug, concentration_mcg_per_ml=Decimal(1000)
        )
    return refill


def test_the_dose_history_lists_each_program_in_start_order_with_its_fills_principal_drug(
    implant: Implant,
) -> None:
    first = Program.objects.get(implant=implant)
    _program(implant, timedelta(days=-1), "100")  # before any fill: nothing in the pump
    _program(implant, timedelta(days=20), "500")
    _program(implant, timedelta(days=3), "450")
    _refill(implant, timedelta(days=10), "morphine", "clonidine")
    history = dose_history(implant)
    assert history == (
        DoseChange(first.started_at, "baclofen", first.dose_mcg_per_day),
        DoseChange(FIRST_FILL + timedelta(days=3), "baclofen", Decimal("450")),
        DoseChange(FIRST_FILL + timedelta(days=20), "morphine", Decimal("500")),
    )
