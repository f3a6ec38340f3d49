"""What the prescription pages read, each an audited read: the pump a physician prescribes for
(with the prescription a new one starts from: its newest one when the double-check rejected it,
with the checker's comment), a prescription awaiting its double-check (the page shows its
drugs, program kind, reason and the checks so far, never its numbers; never to its
prescriber), a programming session with its readbacks (also the one a refill made, for its
session report), and the incidents open on a patient's record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import NotFound, get_or_not_found
from painpump.clinic.models import Implant, Incident, Prescription, Program, Readback, Refill
from painpump.clinic.reads import prescriptions
from painpump.clinic.reads.prescription_history import Programming, refused_accepts
from painpump.clinic.reads.readback_expected import fluid_change_run, reservoir_tolerance
from painpump.clinic.roles import Forbidden, require
from painpump.core import prescription as rx
from painpump.core.catalog import Sourced
from painpump.core.prescription_compare import FluidChangeShown


@dataclass(frozen=True)
class Rejection:
    """A prescription rejected at its double-check: who rejected it, when, and their comment
    for the prescriber; `values` are what it prescribed (a new form starts from them)."""

    number: int
    prescribed_by: str
    rejected_by: str
    rejected_at: datetime
    comment: str
    values: rx.Prescription


def rejection(implant: Implant) -> Rejection | None:
    """The pump's newest prescription when it was rejected at its double-check (None once a new
    one is signed)."""
    newest = implant.prescriptions.order_by("-number").first()
    if newest is None or newest.status != Prescription.Status.REJECTED:
        return None
    check = newest.checks.filter(accepted=False).order_by("-checked_at").first()
    if check is None:
        return None
    return Rejection(
        newest.number,
        newest.prescribed_by,
        check.checked_by,
        check.checked_at,
        check.comment,
        prescriptions.as_core(newest),
    )


@dataclass(frozen=True)
class PrescriptionStart:
    """The pump a new prescription is for, the newest one (open or in force) it replaces, and
    its newest prescription if the double-check rejected it (the form starts from that one)."""

    implant: Implant
    version: int
    current: Prescription | None
    current_values: rx.Prescription | None
    rejected: Rejection | None = None


@transaction.atomic
def prescription_start(user: User, implant_id: UUID) -> PrescriptionStart:
    """For the new-prescription form (physicians, as prescribe)."""
    actor = require(user, "program.prescribe")
    implant = get_or_not_found(Implant.objects.select_related("episode__patient"), implant_id)
    current = prescriptions.newest_open(implant) or prescriptions.in_force(implant)
    audit.record(
        actor, "prescription.read", "implant", implant.id, patient_id=implant.episode.patient_id
    )
    values = prescriptions.as_core(current) if current is not None else None
    return PrescriptionStart(implant, implant.version, current, values, rejection(implant))


class CheckOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ACCEPT_REFUSED = "accept refused"
    """Entries that did not match the prescription (nothing recorded but the audit entry)."""


@dataclass(frozen=True)
class CheckEvent:
    """A step of a prescription's double-check: who, when, the outcome, the comment, and for an
    accept refused the entries that did not match (their paths: never a value, neither the
    prescribed one nor the one typed, which would prompt the next checker)."""

    outcome: CheckOutcome
    by: str
    at: datetime
    comment: str = ""
    differed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckTask:
    """A prescription as the second clinician sees it before entering the values: the drugs by
    name, the program kind and the reason (the numbers stay hidden), and the checks so far."""

    record: Prescription
    implant: Implant
    drug_names: tuple[str, ...]
    history: tuple[CheckEvent, ...]
    """The checks so far, oldest first, with the accepts refused as the chart lists them."""


@transaction.atomic
def check_task(user: User, prescription_id: UUID) -> CheckTask:
    """For the double-check page (physicians and pharmacists, as double_check, never the
    prescriber: Forbidden before anything is shown)."""
    actor = require(user, "prescription.check")
    record = get_or_not_found(
        Prescription.objects.select_related("implant__episode__patient"), prescription_id
    )
    if actor == record.prescribed_by:
        raise Forbidden(
            actor,
            "prescription.check",
            "a second clinician, another physician or a pharmacist, double-checks it "
            "(rule-double-check: never the prescriber)",
            doing=f"double-check their own prescription #{record.number}",
        )
    implant = record.implant
    audit.record(
        actor,
        "prescription.read",
        "prescription",
        record.id,
        patient_id=implant.episode.patient_id,
    )
    names = tuple(drug.drug for drug in record.drugs.all())
    return CheckTask(record, implant, names, check_history(record))


def check_history(record: Prescription) -> tuple[CheckEvent, ...]:
    """The prescription's checks and the accepts refused at it (from the audit trail), oldest
    first."""
    checks = [
        CheckEvent(
            CheckOutcome.ACCEPTED if c.accepted else CheckOutcome.REJECTED,
            c.checked_by,
            c.checked_at,
            c.comment,
        )
        for c in record.checks.all()
    ]
    patient_id = record.implant.episode.patient_id
    refused = [
        CheckEvent(
            CheckOutcome.ACCEPT_REFUSED,
            attempt.by,
            attempt.at,
            differed=tuple(d.field for d in attempt.differed),
        )
        for attempt in refused_accepts(patient_id, [record.id]).get(str(record.id), ())
    ]
    return tuple(sorted(refused + checks, key=lambda event: event.at))


@dataclass(frozen=True)
class ReadbackSession:
    """A programming of the pump with the prescription it executes, its readbacks (the last
    decides the session's state) and the incidents they opened."""

    implant: Implant
    prescription: Prescription
    programming: Programming
    in_force: bool
    incidents: tuple[Incident, ...]
    """Oldest first: the last is the one the newest differing readback opened."""
    fluid_change: FluidChangeShown | None = None
    """The bridge or priming bolus the refill ran (its readback asks what the programmer shows
    of it)."""
    tolerance: Sourced | None = None
    """How far the reservoir read back may lie from the volume expected (the clinic's)."""

    @property
    def last(self) -> Readback | None:
        readbacks = self.programming.readbacks
        return readbacks[-1] if readbacks else None


@transaction.atomic
def readback_session(user: User, program_id: UUID) -> ReadbackSession:
    """For the readback page (anyone who reads patients; recording it is the services')."""
    actor = require(user, "patient.read")
    program = get_or_not_found(
        Program.objects.select_related("implant__episode__patient", "prescription"), program_id
    )
    session = _session(actor, program)
    if session is None:
        raise NotFound(f"program {program_id} programmed from a prescription")
    return session


@transaction.atomic
def refill_programming(user: User, refill_id: UUID) -> ReadbackSession | None:
    """The programming a refill made, for its session report; None for a refill recorded
    before refills executed prescriptions."""
    actor = require(user, "patient.read")
    refill = get_or_not_found(
        Refill.objects.select_related("program__implant__episode__patient"), refill_id
    )
    return _session(actor, refill.program)


def _session(actor: str, program: Program) -> ReadbackSession | None:
    if program.prescription is None:
        return None
    implant = program.implant
    readbacks = tuple(program.readbacks.all())
    opened = Incident.objects.filter(readback__program=program).order_by("opened_at", "id")
    incidents = tuple(opened)
    audit.record(
        actor, "readback.read", "program", program.id, patient_id=implant.episode.patient_id
    )
    refill = program.refills.first()
    return ReadbackSession(
        implant,
        program.prescription,
        Programming(program, refill is not None, readbacks),
        program.ended_at is None,
        incidents,
        fluid_change_run(refill),
        reservoir_tolerance(),
    )


@transaction.atomic
def open_incidents(user: User, patient_id: UUID) -> tuple[Incident, ...]:
    """The incidents open on a patient's record, newest first (shown on the chart, whose read
    is audited with it)."""
    require(user, "patient.read")
    return tuple(
        Incident.objects.filter(patient_id=patient_id, closed_at__isnull=True).select_related(
            "readback__program__prescription"
        )
    )


@dataclass(frozen=True)
class ReadbackDiffering:
    """An open incident of a readback that differed, with the settings that differed (from the
    readback's mismatches, in the order compared)."""

    incident: Incident
    fields: tuple[str, ...]

    @property
    def reservoir_only(self) -> bool:
        """Only the reservoir volume differed: the program read back is the prescription's, and
        the volume entered into the programmer (or the pump's estimate) is what to check."""
        return self.fields == (RESERVOIR,)


RESERVOIR = "reservoir"
"""The readback mismatch field of the reservoir volume (core.prescription_compare)."""


def readbacks_differing(
    incidents: Sequence[Incident], implant_id: UUID
) -> tuple[ReadbackDiffering, ...]:
    """Those of `incidents` that say the pump's programmer read back other values than its
    prescription (the pump may run those until it is reprogrammed and read back again), each
    with the settings that differed."""
    return tuple(
        ReadbackDiffering(i, _fields_differing(i))
        for i in incidents
        if i.implant_id == implant_id and i.kind == Incident.Kind.READBACK_MISMATCH
    )


def _fields_differing(incident: Incident) -> tuple[str, ...]:
    readback = incident.readback
    found = readback.mismatches if readback is not None else []
    return tuple(dict.fromkeys(str(m.get("field", "")) for m in found if isinstance(m, dict)))
