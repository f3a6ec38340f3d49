"""Read use cases of the clinic service (lists and single records the services do not return).
Each checks the reader's role and audits the read in the same transaction, like
services.read_patient: every look at a patient's record leaves a trace."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from painpump.clinic import audit
from painpump.clinic.models import Assessment, Episode, Patient
from painpump.clinic.roles import require
from painpump.clinic.services import NotFound

SEARCH_LIMIT = 50


@transaction.atomic
def search_patients(
    user: User, query: str = "", *, include_archived: bool = False, limit: int = SEARCH_LIMIT
) -> list[Patient]:
    """Patients whose family name, given name or record number contains every word of `query`
    (all patients when it is empty), ordered by name, at most `limit` of them."""
    actor = require(user, "patient.read")
    patients = Patient.objects.all()
    if not include_archived:
        patients = patients.filter(archived_at__isnull=True)
    for word in query.split():
        patients = patients.filter(
            Q(family_name__icontains=word) | Q(given_name__icontains=word) | Q(mrn__icontains=word)
        )
    found = list(patients.order_by("family_name", "given_name", "mrn")[: max(0, limit)])
    audit.record(
        actor,
        "patient.search",
        "patient",
        "",
        after={"query": query, "results": [str(p.id) for p in found]},
    )
    return found


def _episode(episode_id: UUID) -> Episode:
    try:
        return Episode.objects.select_related("patient").get(id=episode_id)
    except Episode.DoesNotExist:
        raise NotFound(f"episode {episode_id}") from None


@transaction.atomic
def episodes_of(user: User, patient_id: UUID) -> list[Episode]:
    """A patient's episodes of care, newest referral first."""
    actor = require(user, "patient.read")
    if not Patient.objects.filter(id=patient_id).exists():
        raise NotFound(f"patient {patient_id}")
    episodes = list(Episode.objects.filter(patient_id=patient_id).order_by("-referred_on"))
    audit.record(actor, "episode.list", "patient", patient_id, patient_id=patient_id)
    return episodes


@transaction.atomic
def read_episode(user: User, episode_id: UUID) -> Episode:
    actor = require(user, "patient.read")
    episode = _episode(episode_id)
    audit.record(actor, "episode.read", "episode", episode.id, patient_id=episode.patient_id)
    return episode


@transaction.atomic
def assessments_of(user: User, episode_id: UUID) -> list[Assessment]:
    """An episode's assessments in the order they were taken."""
    actor = require(user, "patient.read")
    episode = _episode(episode_id)
    found = list(episode.assessments.order_by("taken_at", "recorded_at"))
    audit.record(actor, "assessment.list", "episode", episode.id, patient_id=episode.patient_id)
    return found
