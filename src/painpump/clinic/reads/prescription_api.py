"""Reads the API needs around prescriptions: a patient's incidents (read audited), the
incident a readback opened and the accepts refused at a prescription's double-check."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import NotFound
from painpump.clinic.models import Incident, Patient, Prescription, Readback
from painpump.clinic.reads.prescription_history import RefusedAccept, refused_accepts
from painpump.clinic.roles import require


@transaction.atomic
def incidents_of(user: User, patient_id: UUID) -> list[Incident]:
    """A patient's incidents, open ones first, each group newest first."""
    actor = require(user, "patient.read")
    if not Patient.objects.filter(id=patient_id).exists():
        raise NotFound(f"patient {patient_id}")
    found = list(Incident.objects.filter(patient_id=patient_id).order_by("-opened_at"))
    found.sort(key=lambda incident: incident.closed_at is not None)
    audit.record(actor, "incident.list", "patient", patient_id, patient_id=patient_id)
    return found


def incident_of(readback: Readback) -> Incident | None:
    """The incident the readback opened (a mismatch), if any."""
    return Incident.objects.filter(readback=readback).first()


def refused_of(record: Prescription) -> tuple[RefusedAccept, ...]:
    """The accepts refused at the prescription's double-check, oldest first."""
    patient_id = record.implant.episode.patient_id
    return refused_accepts(patient_id, [record.id]).get(str(record.id), ())
