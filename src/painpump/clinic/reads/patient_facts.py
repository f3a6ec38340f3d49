"""What the dosing checks need from the records, as core values: a patient's facts, the origin of
spasticity in force for an episode, and a pump's dose history. Plain reads for services that
have checked the user's role inside their own transaction."""

from __future__ import annotations

from bisect import bisect_right
from decimal import Decimal

from painpump.clinic.models import Episode, Implant, Patient, Program, Refill
from painpump.core.dose_history import DoseChange
from painpump.core.pathway.indications import Indication
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.spasticity import Origin, OriginChoice, origin_for


def facts_of(patient: Patient) -> PatientFacts:
    """The patient's facts as recorded (None where not recorded)."""
    weight = patient.weight_kg
    return PatientFacts(
        birth_date=patient.birth_date,
        weight_kg=None if weight is None else Decimal(weight),
        opioid_status=OpioidStatus(patient.opioid_status),
        psychosis_history=patient.psychosis_history,
        life_expectancy_months=patient.life_expectancy_months,
    )


def origin_override(episode: Episode) -> Origin | None:
    return Origin(episode.origin_override) if episode.origin_override else None


def origin_choice(episode: Episode) -> OriginChoice:
    """The origin of spasticity in force: the override with its reason, else the indication's
    (origin None for pain indications)."""
    return origin_for(
        Indication(episode.indication), origin_override(episode), episode.origin_override_reason
    )


def dose_history(implant: Implant) -> tuple[DoseChange, ...]:
    """Every program of the pump in start order: when it started, the principal drug (first by
    position) of the latest fill at or before its start, and its daily dose. A program started
    before any fill (nothing in the pump) has no drug and is left out."""
    programs = list(Program.objects.filter(implant=implant).order_by("started_at", "id"))
    refills = list(
        Refill.objects.filter(implant=implant).order_by("performed_at").prefetch_related("drugs")
    )
    moments = [r.performed_at for r in refills]
    changes = []
    for program in programs:
        index = bisect_right(moments, program.started_at)
        if not index:
            continue
        drugs = list(refills[index - 1].drugs.all())  # ordered by position (Meta.ordering)
        if not drugs:
            continue
        changes.append(DoseChange(program.started_at, drugs[0].drug, program.dose_mcg_per_day))
    return tuple(changes)
