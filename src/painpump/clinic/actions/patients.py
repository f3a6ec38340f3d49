"""Patients, their episodes and assessments: each use case checks the user's role, validates the
input (refusing with field, value, limit and source), changes the records in one transaction and
appends the audit entry in that same transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from painpump.clinic import audit
from painpump.clinic.actions import patient_facts
from painpump.clinic.actions.pathway import state_digest
from painpump.clinic.errors import Conflict, get_or_not_found
from painpump.clinic.models import Assessment, ClinicSettings, Episode, Indication, Patient
from painpump.clinic.pathway_state import dump_state
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.outcomes import ASHWORTH_SOURCE, is_ashworth_grade
from painpump.core.pathway.transitions import refer
from painpump.core.record_numbers import RULE as RECORD_NUMBER_RULE
from painpump.core.record_numbers import record_number, skeleton
from painpump.core.text import escaped, plain_text
from painpump.core.units import format_decimal

RULES = "painpump clinic rules"


def patient_snapshot(patient: Patient) -> dict[str, Any]:
    return {
        "mrn": patient.mrn,
        "family_name": patient.family_name,
        "given_name": patient.given_name,
        "birth_date": patient.birth_date.isoformat(),
        "archived": patient.archived_at is not None,
        **patient_facts.facts_snapshot(patient),
        "version": patient.version,
    }


def _text(value: object, field: str, max_length: int) -> str:
    return plain_text(value, field, max_length, RULES)


def _new_record_number(typed: str) -> str:
    """The record number, refused when it breaks the rule or a reader could take it for an
    existing patient's (the rule holds for new records; older ones are compared as they are)."""
    mrn = record_number(typed)
    ClinicSettings.objects.select_for_update().get_or_create(id=1)  # one new number at a time
    if Patient.objects.filter(mrn=mrn).exists():
        raise Refusal(
            "mrn", mrn, "a medical record number not yet used", RULES, "belongs to another patient"
        )
    seen = skeleton(mrn)
    for existing in Patient.objects.values_list("mrn", flat=True).iterator():
        if skeleton(existing) == seen:
            raise Refusal(
                "mrn",
                mrn,
                "a record number no reader could take for another's (case, separators, "
                "look-alike characters and leading zeros aside)",
                RECORD_NUMBER_RULE,
                f"looks like {escaped(existing)}, another patient's record number",
            )
    return mrn


def _birth_date(value: date | None, today: date) -> date:
    if not isinstance(value, date):
        raise Refusal("birth_date", repr(value), "a date from 1900-01-01", RULES, "is not a date")
    if value > today or value.year < 1900:
        raise Refusal(
            "birth_date",
            value.isoformat(),
            f"from 1900-01-01 to {today.isoformat()}",
            RULES,
            "is not a plausible birth date",
        )
    return value


@transaction.atomic
def create_patient(
    user: User,
    *,
    mrn: str,
    family_name: str,
    given_name: str,
    birth_date: date,
    today: date,
    weight_kg: object = None,
    opioid_status: object = None,
    psychosis_history: object = None,
    life_expectancy_months: object = None,
) -> Patient:
    """A new patient, with the facts the drug labels' dosing depends on when known (weight in
    kg, opioid status, history of psychosis, life expectancy in months; unknown by default)."""
    actor = require(user, "patient.write")
    mrn = _new_record_number(mrn)
    family_name = _text(family_name, "family_name", 120)
    given_name = _text(given_name, "given_name", 120)
    birth_date = _birth_date(birth_date, today)
    facts = patient_facts.checked_facts(
        {
            "weight_kg": weight_kg,
            "opioid_status": opioid_status,
            "psychosis_history": psychosis_history,
            "life_expectancy_months": life_expectancy_months,
        }
    )
    patient = Patient.objects.create(
        mrn=mrn, family_name=family_name, given_name=given_name, birth_date=birth_date, **facts
    )
    audit.record(
        actor,
        "patient.create",
        "patient",
        patient.id,
        patient_id=patient.id,
        after=patient_snapshot(patient),
    )
    return patient


def _patient(patient_id: UUID, *, lock: bool = False) -> Patient:
    query = Patient.objects.select_for_update() if lock else Patient.objects.all()
    return get_or_not_found(query, patient_id)


@transaction.atomic
def read_patient(user: User, patient_id: UUID) -> Patient:
    """A patient record; the read itself is audited (who looked at whom, when)."""
    actor = require(user, "patient.read")
    patient = _patient(patient_id)
    audit.record(actor, "patient.read", "patient", patient.id, patient_id=patient.id)
    return patient


@transaction.atomic
def update_patient(
    user: User, patient_id: UUID, *, expected_version: int, today: date, **changes: Any
) -> Patient:
    """Change demographic fields and the patient facts (patient_facts.FACTS), only if nobody
    changed the patient since `expected_version`; a fact the dosing checks switch on
    (patient_facts.PRESCRIBING_FACTS) is changed only by a prescriber."""
    actor = require(user, "patient.write")
    patient = _patient(patient_id, lock=True)
    if patient.version != expected_version:
        raise Conflict("patient", str(patient.id), expected_version, patient.version)
    before = patient_snapshot(patient)
    allowed = {"family_name": 120, "given_name": 120}
    for name, value in changes.items():
        if name in allowed:
            setattr(patient, name, _text(value, name, allowed[name]))
        elif name == "birth_date":
            patient.birth_date = _birth_date(value, today)
        elif name in patient_facts.FACTS:
            checked = patient_facts.checked_facts({name: value})[name]
            if name in patient_facts.PRESCRIBING_FACTS and checked != getattr(patient, name):
                require(user, "program.prescribe")  # the checks of every dose depend on it
            setattr(patient, name, checked)
        else:
            raise Refusal(
                name,
                repr(value),
                f"one of family_name, given_name, birth_date, {', '.join(patient_facts.FACTS)}",
                RULES,
                "cannot be changed",
            )
    updated = Patient.objects.filter(id=patient.id, version=expected_version).update(
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        **{name: getattr(patient, name) for name in patient_facts.FACTS},
        version=F("version") + 1,
    )
    if updated != 1:
        raise Conflict("patient", str(patient.id), expected_version, patient.version + 1)
    patient.refresh_from_db()
    audit.record(
        actor,
        "patient.update",
        "patient",
        patient.id,
        patient_id=patient.id,
        before=before,
        after=patient_snapshot(patient),
    )
    return patient


@transaction.atomic
def open_episode(
    user: User,
    patient_id: UUID,
    *,
    indication: str,
    referred_on: date,
    injury_date: date | None = None,
    idempotency_key: str | None = None,
) -> Episode:
    """A referral: a new episode of care in the `referred` stage. A retry with the same
    idempotency key returns the episode already opened for this patient."""
    actor = require(user, "episode.write")
    patient = _patient(patient_id, lock=True)
    if idempotency_key:
        opened = Episode.objects.filter(idempotency_key=idempotency_key).first()
        if opened is not None:
            return _same_patient(opened, patient.id, idempotency_key)
    if indication not in Indication.values:
        raise Refusal(
            "indication",
            repr(indication),
            f"one of {', '.join(Indication.values)}",
            RULES,
            "is not a known indication",
        )
    if patient.archived_at is not None:
        raise Refusal("patient", str(patient.id), "an active patient", RULES, "is archived")
    state = refer(indication, on=referred_on, injury_date=injury_date)
    episode = Episode.objects.create(
        patient=patient,
        indication=indication,
        referred_on=referred_on,
        injury_date=injury_date,
        stage=state.stage.value,
        pathway_state=dump_state(state),
        idempotency_key=idempotency_key or None,
    )
    audit.record(
        actor,
        "episode.open",
        "episode",
        episode.id,
        patient_id=patient.id,
        after={
            "indication": indication,
            "stage": episode.stage,
            "referred_on": referred_on.isoformat(),
            "injury_date": injury_date.isoformat() if injury_date else None,
            "state_digest": state_digest(episode.pathway_state),
        },
    )
    return episode


def _same_patient(episode: Episode, patient_id: UUID, key: str) -> Episode:
    """The record a key already made, refused when the key was made for another patient."""
    if episode.patient_id != patient_id:
        raise Refusal(
            "idempotency_key", key, "a new key for each form", RULES, "was used for another patient"
        )
    return episode


ASSESSMENT_RANGES: dict[str, tuple[Decimal, Decimal, str, str]] = {
    "pain_nrs": (Decimal(0), Decimal(10), "", "numeric rating scale 0-10"),
    "ashworth": (Decimal(0), Decimal(4), "", "modified Ashworth scale 0-4 (1+ recorded as 1.5)"),
    "omed_mg_per_day": (
        Decimal(0),
        Decimal(100000),
        " mg/day",
        "oral morphine-equivalent daily dose",
    ),
}


@transaction.atomic
def record_assessment(
    user: User,
    episode_id: UUID,
    *,
    kind: str,
    value: object,
    taken_at: datetime,
    limb: str = "",
    note: str = "",
    idempotency_key: str | None = None,
) -> Assessment:
    """One outcome measurement; a retry with the same idempotency key returns the assessment
    already recorded."""
    actor = require(user, "assessment.write")
    episode = get_or_not_found(Episode.objects.select_related("patient"), episode_id)
    if idempotency_key:
        recorded = Assessment.objects.filter(idempotency_key=idempotency_key).first()
        if recorded is not None:
            _same_patient(recorded.episode, episode.patient_id, idempotency_key)
            return recorded
    if kind not in ASSESSMENT_RANGES:
        raise Refusal(
            "kind",
            repr(kind),
            f"one of {', '.join(ASSESSMENT_RANGES)}",
            RULES,
            "is not an assessment kind",
        )
    low, high, unit, scale = ASSESSMENT_RANGES[kind]
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not low <= number <= high:
        raise Refusal(
            "value",
            f"{value}{unit}",
            f"{low} to {high}{unit} ({scale})",
            RULES,
            "is outside the scale",
        )
    if kind == "ashworth" and not is_ashworth_grade(number):
        raise Refusal(
            "value",
            str(value),
            "a grade 0, 1, 1+ (recorded as 1.5), 2, 3 or 4",
            ASHWORTH_SOURCE,
            "is not a grade of the modified Ashworth scale",
        )
    if kind == "ashworth" and not limb:
        raise Refusal("limb", "missing", "the limb assessed, e.g. left_leg", RULES, "is required")
    assessment = Assessment.objects.create(
        episode=episode,
        kind=kind,
        value=number,
        limb=limb,
        taken_at=taken_at,
        recorded_by=user,
        note=note,
        idempotency_key=idempotency_key or None,
    )
    audit.record(
        actor,
        "assessment.record",
        "assessment",
        assessment.id,
        patient_id=episode.patient_id,
        after={
            "kind": kind,
            "value": f"{format_decimal(number)}{unit}",
            "limb": limb,
            "taken_at": taken_at.isoformat(),
            "recorded_at": assessment.recorded_at.isoformat(),
            "note": note,
            "episode": str(episode.id),
        },
    )
    return assessment
