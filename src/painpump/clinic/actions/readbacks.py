"""After programming, the programmer's readback: the nurse enters what the clinician programmer
shows, core compares it with the prescription, the reservoir expected (clinic.reads.
readback_expected) and the bridge or priming bolus the refill ran, and any difference stops the
session and opens an incident on the patient's record (rule-readback). One transaction with its
audit entries."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.models import Incident, Program, Readback
from painpump.clinic.reads import prescriptions
from painpump.clinic.reads.readback_expected import expected_reservoir, fluid_change_run
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.overrides import checked_reason
from painpump.core.prescription_compare import READBACK, FluidChangeShown, compare_readback
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.readback_severity import severity_of


@transaction.atomic
def record_readback(user: User, program_id: UUID, values: ReadValues, now: datetime) -> Readback:
    """The readback of the program in force, compared with the prescription it executes."""
    actor = require(user, "refill.perform")
    program = get_or_not_found(
        Program.objects.select_for_update(of=("self",)).select_related(
            "implant__episode", "prescription"
        ),
        program_id,
    )
    if program.prescription is None or program.ended_at is not None:
        raise Refusal(
            "program",
            str(program.id),
            "the program in force, programmed from a prescription",
            READBACK,
            "has no readback to compare",
        )
    reservoir = expected_reservoir(program, now)
    mismatches = compare_readback(
        prescriptions.as_core(program.prescription),
        values,
        reservoir=reservoir,
        fluid_change=fluid_change_run(program.refills.first()),
    )
    readback = Readback.objects.create(
        program=program,
        read_by=actor,
        read_at=now,
        entered={
            "reservoir": values.reservoir.typed,
            **prescriptions.order_json("drugs", values.drugs, values.program, values.ptm),
            **_fluid_change_json(values.fluid_change),
        },
        mismatches=[m.as_json() for m in mismatches],
    )
    if program.awaiting_readback:
        program.awaiting_readback = False
        program.save(update_fields=["awaiting_readback"])
    patient_id = program.implant.episode.patient_id
    audit.record(
        actor,
        "readback.record",
        "readback",
        readback.id,
        patient_id=patient_id,
        after={
            "program": str(program.id),
            "prescription": program.prescription.number,
            "read_at": now.isoformat(),
            "entered": readback.entered,
            "reservoir_expected": reservoir.words,
            "mismatches": readback.mismatches,
        },
    )
    if mismatches:
        incident = Incident.objects.create(
            patient_id=patient_id,
            implant=program.implant,
            kind=Incident.Kind.READBACK_MISMATCH,
            readback=readback,
            opened_at=now,
            opened_by=actor,
            summary=(
                f"Programmer readback differs from prescription #{program.prescription.number}: "
                + "; ".join(m.message for m in mismatches)
            )[:1000],
            details={
                "program": str(program.id),
                "severity": severity_of(m.field for m in mismatches).value,
            },
        )
        audit.record(
            actor,
            "incident.open",
            "incident",
            incident.id,
            patient_id=patient_id,
            after={
                "kind": incident.kind,
                "summary": incident.summary,
                "severity": incident.details["severity"],
                "implant": str(program.implant_id),
                "opened_at": incident.opened_at.isoformat(),
            },
        )
    return readback


def _fluid_change_json(shown: FluidChangeShown | None) -> dict[str, dict[str, str]]:
    """The bridge or priming bolus read back, each value with its unit as typed (nothing when
    none was read back)."""
    if shown is None:
        return {}
    entered = {"kind": shown.kind.value, "volume": shown.volume.typed}
    if shown.rate is not None:
        entered["rate"] = shown.rate.typed
    return {"fluid_change": entered}


@transaction.atomic
def close_incident(user: User, incident_id: UUID, resolution: str, now: datetime) -> Incident:
    """A physician closes an open incident with what was done."""
    actor = require(user, "incident.close")
    incident = get_or_not_found(Incident.objects.select_for_update(), incident_id)
    if incident.closed_at is not None:
        raise Refusal(
            "incident", str(incident.id), "an open incident", READBACK, "is already closed"
        )
    incident.resolution = checked_reason("resolution", resolution)
    incident.closed_at, incident.closed_by = now, actor
    incident.save(update_fields=["resolution", "closed_at", "closed_by"])
    audit.record(
        actor,
        "incident.close",
        "incident",
        incident.id,
        patient_id=incident.patient_id,
        before={"closed_at": None},
        after={
            "closed_by": actor,
            "resolution": incident.resolution,
            "closed_at": now.isoformat(),
        },
    )
    return incident
