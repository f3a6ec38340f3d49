"""Prescriptions and what follows them: a physician signs a prescription (the drugs, a continuous
or flex program, the patient-bolus settings) or previews how it would be judged; a second
clinician double-checks a high-alert one; the settings history lists every version with its
changes, double-checks and programming sessions; after programming, the nurse posts the
programmer's readback (a mismatch opens an incident, which a physician closes). Entries are
parsed by core's helpers (painpump.core.prescription) under the request field's name."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Status

from painpump import clock
from painpump.api import present
from painpump.api.auth import AUTH, current_user
from painpump.api.quantities import quantity, text
from painpump.api.schemas import (
    ERRORS,
    BridgeShownIn,
    CheckedOut,
    CheckIn,
    ContinuousIn,
    DrugIn,
    FlexIn,
    IncidentClose,
    IncidentOut,
    PrescriptionDraft,
    PrescriptionIn,
    PrescriptionOut,
    PrescriptionPreviewOut,
    PrescriptionVersionOut,
    PrimingShownIn,
    PtmIn,
    ReadbackIn,
    ReadbackOut,
    SingleBolusIn,
    StoppedIn,
)
from painpump.clinic.actions import prescriptions, readbacks
from painpump.clinic.reads import prescription_api, prescription_history
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import (
    DOUBLE_CHECK,
    CheckEntries,
    FluidChangeShown,
    Readback,
)
from painpump.core.units import Kind, Q

router = Router(tags=["prescriptions"], auth=AUTH)


def _drugs(given: list[DrugIn], field: str) -> tuple[tuple[str, Q], ...]:
    return tuple(
        (d.drug, quantity(d.concentration, Kind.CONCENTRATION, f"{field}[{i}].concentration"))
        for i, d in enumerate(given)
    )


def _program(spec: ContinuousIn | FlexIn | SingleBolusIn | StoppedIn) -> rx.PrescribedProgram:
    if isinstance(spec, StoppedIn):
        return rx.PrescribedProgram.stopped()
    if isinstance(spec, ContinuousIn):
        return rx.PrescribedProgram.continuous(quantity(spec.dose, Kind.DOSE_RATE, "program.dose"))
    if isinstance(spec, SingleBolusIn):
        bolus = rx.single_bolus(text(spec.dose), text(spec.duration))
        return rx.PrescribedProgram.single_bolus(bolus)
    return rx.flex_program(
        [
            rx.step_row(s.days, s.start, text(s.dose), f"program.steps[{i}]")
            for i, s in enumerate(spec.steps)
        ]
    )


def _ptm(spec: PtmIn | None) -> rx.PatientBolus | None:
    if spec is None:
        return None
    return rx.patient_bolus(
        text(spec.dose), text(spec.duration), text(spec.lockout), str(spec.max_per_day)
    )


def _fluid_change(spec: BridgeShownIn | PrimingShownIn | None) -> FluidChangeShown | None:
    if spec is None:
        return None
    volume = quantity(spec.volume, Kind.VOLUME, "fluid_change.volume")
    if isinstance(spec, BridgeShownIn):
        rate = quantity(spec.rate, Kind.VOLUME_RATE, "fluid_change.rate")
        return FluidChangeShown(rx.FluidChange.BRIDGE, volume, rate)
    return FluidChangeShown(rx.FluidChange.PRIMING, volume)


def _prescription(payload: PrescriptionDraft) -> rx.Prescription:
    return rx.Prescription(
        _drugs(payload.drugs, "drugs"),
        _program(payload.program),
        _ptm(payload.ptm),
        payload.phase,
        payload.fluid_change,
    )


@router.post("/implants/{implant_id}/prescriptions", response={201: PrescriptionOut, **ERRORS})
def prescribe(
    request: HttpRequest, implant_id: UUID, payload: PrescriptionIn
) -> Status[dict[str, Any]]:
    """A new prescription signed by the physician, judged whole (every step, the worst day with
    every patient bolus): a hard limit is a 422; each soft warning needs a reason in
    `overrides`. A high-alert one awaits its double-check, any other is ready to program; an
    earlier one not yet programmed is withdrawn. A stale `version` is a 409."""
    record = prescriptions.prescribe(
        current_user(request),
        implant_id,
        _prescription(payload),
        reason=payload.reason,
        now=clock.now(),
        expected_version=payload.version,
        overrides=dict(payload.overrides),
    )
    return Status(201, present.prescription(record))


@router.post(
    "/implants/{implant_id}/prescriptions/preview",
    response={200: PrescriptionPreviewOut, **ERRORS},
)
def preview_prescription(
    request: HttpRequest, implant_id: UUID, payload: PrescriptionDraft
) -> dict[str, Any]:
    """How the prescription would be judged if signed now, without signing it: the hard limit
    that stops it (`stop`), the warnings that each need a reason, what it changes against the
    one it replaces, and whether it needs a double-check. Entries that cannot be read are a
    422 as at signing."""
    found = prescription_history.preview_prescription(
        current_user(request), implant_id, _prescription(payload), at=clock.now()
    )
    return present.prescription_preview(found)


@router.get(
    "/implants/{implant_id}/prescriptions", response={200: list[PrescriptionVersionOut], **ERRORS}
)
def prescription_versions(request: HttpRequest, implant_id: UUID) -> list[dict[str, Any]]:
    """The pump's settings history, newest first: each prescription with every setting that
    changed, its double-checks and each programming session with its readbacks."""
    found = prescription_history.prescription_versions(current_user(request), implant_id)
    return [present.prescription_version(v) for v in found]


@router.post("/prescriptions/{prescription_id}/checks", response={201: CheckedOut, **ERRORS})
def double_check(
    request: HttpRequest, prescription_id: UUID, payload: CheckIn
) -> Status[dict[str, Any]]:
    """The independent double-check by a physician or pharmacist other than the prescriber.
    Accepting needs the whole order entered: the concentrations, the program (a flex program row
    by row) and the PTM settings, equal to the prescription in any unit (a difference is a 422
    naming the field, e.g. `program.days.mon`, `ptm.dose`). Rejecting needs a comment alone;
    entries given with it come whole, and every difference is recorded."""
    check = prescriptions.double_check(
        current_user(request),
        prescription_id,
        entries=_check_entries(payload),
        accept=payload.accept,
        comment=payload.comment,
        now=clock.now(),
    )
    return Status(201, present.checked(check))


def _check_entries(payload: CheckIn) -> CheckEntries | None:
    """The double-check's entries: whole to accept, or given with a rejection; None for a
    rejection with none (a missing one is refused, naming it)."""
    given = {
        "concentrations": payload.concentrations is not None,
        "program": payload.program is not None,
        "ptm": "ptm" in payload.model_fields_set,
    }
    typed = (payload.concentrations, payload.program, payload.ptm) != (None, None, None)
    if not payload.accept and not typed:
        return None
    missing = [name for name, there in given.items() if not there]
    if missing:
        first, *others = missing
        also = f" (so {'is' if len(others) == 1 else 'are'} {', '.join(others)})" if others else ""
        raise Refusal(
            first,
            "missing",
            "the whole order: concentrations, program and ptm (null when off)"
            + ("" if payload.accept else "; or none of them, to reject with the comment alone"),
            DOUBLE_CHECK,
            ("is required to accept" if payload.accept else "is required with the other entries")
            + also,
        )
    assert payload.concentrations is not None and payload.program is not None
    return CheckEntries(
        _drugs(payload.concentrations, "concentrations"),
        _program(payload.program),
        _ptm(payload.ptm),
        payload.fluid_change,
    )


@router.post("/programs/{program_id}/readbacks", response={201: ReadbackOut, **ERRORS})
def record_readback(
    request: HttpRequest, program_id: UUID, payload: ReadbackIn
) -> Status[dict[str, Any]]:
    """The programmer's readback after programming, compared with the prescription, the
    reservoir expected (the volume filled, or between refills the pump's twin, within the
    clinic's tolerance) and the bridge or priming bolus the refill ran: 201 either way; a
    mismatch stops the session and opens an incident on the patient's record (`incident_id`)."""
    values = Readback(
        quantity(payload.reservoir, Kind.VOLUME, "reservoir"),
        _drugs(payload.drugs, "drugs"),
        _program(payload.program),
        _ptm(payload.ptm),
        _fluid_change(payload.fluid_change),
    )
    found = readbacks.record_readback(current_user(request), program_id, values, clock.now())
    return Status(201, present.readback(found))


@router.post("/incidents/{incident_id}/close", response={200: IncidentOut, **ERRORS})
def close_incident(
    request: HttpRequest, incident_id: UUID, payload: IncidentClose
) -> dict[str, Any]:
    """A physician closes an open incident with what was done about it."""
    closed = readbacks.close_incident(
        current_user(request), incident_id, payload.resolution, clock.now()
    )
    return present.incident(closed)


@router.get("/patients/{patient_id}/incidents", response={200: list[IncidentOut], **ERRORS})
def list_incidents(request: HttpRequest, patient_id: UUID) -> list[dict[str, Any]]:
    """The patient's incidents, open ones first."""
    found = prescription_api.incidents_of(current_user(request), patient_id)
    return [present.incident(i) for i in found]
