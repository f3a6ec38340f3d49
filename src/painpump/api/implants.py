"""Implants, their refills and the alarms patients report: register the implant (the pathway's
implantation step), read an implant with its current program and projection, record a refill
that executes the pump's prescription (idempotent: a retry with the same key returns the refill
already recorded, 200 instead of 201, never a second one), program the pump with its ready
prescription between refills, verify a refill (four eyes), report and acknowledge alarms. The
numbers (reconciliation, rate, bridge, refill-by date) all come from the clinic services and
core."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from pydantic import Field

from painpump import clock
from painpump.api import idempotency, present
from painpump.api.auth import AUTH, current_user
from painpump.api.catheters import ImplantRegisteredOut, figure_out
from painpump.api.errors import SCHEMA_RULES
from painpump.api.quantities import optional, quantity
from painpump.api.schemas import (
    ERRORS,
    AlarmAcknowledgement,
    AlarmIn,
    AlarmOut,
    ImplantIn,
    ImplantOut,
    ProgramIn,
    ProgramOut,
    RefillIn,
    RefillOut,
    Request,
)
from painpump.clinic.actions import alarms, implantation, programs, refills
from painpump.clinic.actions.refills import confirm_refill
from painpump.clinic.reads import catheters, therapy_queries
from painpump.clinic.reads.therapy_queries import ImplantView
from painpump.core.errors import Refusal
from painpump.core.refill_decision import PTM_COUNTS_SOURCE, Fill, PtmCounts
from painpump.core.units import Kind
from painpump.plumbing.idempotency import REPLAYED

router = Router(tags=["implants"], auth=AUTH)

IDEMPOTENCY_SOURCE = (
    "rule-idempotent-retry: a command whose outcome is unknown is retried idempotently "
    "(a client key), never a second dose"
)
KEY_LENGTH = 80


@router.post("/episodes/{episode_id}/implants", response={201: ImplantRegisteredOut, **ERRORS})
def register_implant(
    request: HttpRequest, episode_id: UUID, payload: ImplantIn
) -> Status[dict[str, Any]]:
    """The implantation step of the episode's pathway and the pump and catheter placed (refused
    before the test phase's responder decision plus the clinic's waiting days, except for tumour
    pain), the booked admission done, and the discharge when given (its stay's warning
    acknowledged under `hospital_stay`). The answer names the catheter figure the dead volume
    was judged against (`catheter_figure`). The first fill is a refill without expected and
    aspirated volumes."""
    implant = implantation.register_implantation(
        current_user(request),
        episode_id,
        expected_version=payload.version,
        now=clock.now(),
        pump_model=payload.pump_model,
        pump_serial=payload.pump_serial,
        catheter_model=payload.catheter_model,
        catheter_length_cm=quantity(payload.catheter_length, Kind.LENGTH, "catheter_length")
        .to("cm")
        .value,
        dead_volume=quantity(payload.dead_volume, Kind.VOLUME, "dead_volume"),
        alarm_volume=optional(payload.alarm_volume, Kind.VOLUME, "alarm_volume"),
        implanted_on=payload.implanted_on,
        discharged_on=payload.discharged_on,
        acknowledge=dict(payload.acknowledge),
    )
    registered = present.implant(ImplantView(implant, None, None))
    figure = figure_out(catheters.figure_recorded(implant))
    return Status(201, {**registered, "catheter_figure": figure})


@router.get("/implants/{implant_id}", response={200: ImplantOut, **ERRORS})
def read_implant(request: HttpRequest, implant_id: UUID) -> dict[str, Any]:
    return present.implant(therapy_queries.read_implant(current_user(request), implant_id))


@router.get("/patients/{patient_id}/implants", response={200: list[ImplantOut], **ERRORS})
def list_implants(request: HttpRequest, patient_id: UUID) -> list[dict[str, Any]]:
    found = therapy_queries.implants_of(current_user(request), patient_id)
    return [present.implant(v) for v in found]


def _idempotency_key(request: HttpRequest, sent: str | None) -> str:
    """The client's key, from the body or the Idempotency-Key header (the same if both)."""
    header = request.headers.get("Idempotency-Key")
    if header is not None:
        header = header.strip()
        if not 1 <= len(header) <= KEY_LENGTH:
            raise Refusal(
                "Idempotency-Key",
                repr(header[:100]),
                f"1 to {KEY_LENGTH} characters",
                SCHEMA_RULES,
                "is empty or too long",
            )
        if sent is not None and sent != header:
            raise Refusal(
                "idempotency_key",
                sent,
                f"the key of the Idempotency-Key header ({header})",
                SCHEMA_RULES,
                "differs from the header",
            )
        return header
    if sent is None:
        raise Refusal(
            "idempotency_key",
            "missing",
            "a client key per refill, in the body or the Idempotency-Key header",
            IDEMPOTENCY_SOURCE,
            "is required",
        )
    return sent


@router.post("/implants/{implant_id}/refills", response={200: RefillOut, 201: RefillOut, **ERRORS})
@idempotency.own_key("the refill's own key (Refill.idempotency_key), unique per user")
def perform_refill(
    request: HttpRequest, implant_id: UUID, payload: RefillIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    """A refill (or an implant's first fill, without expected and aspirated volumes) executing
    the pump's prescription (the ready one, else the one in force): the fill's drugs and
    concentrations, and the dose if typed, must be the prescription's, else it is refused (422)
    naming who may change them. 201 with the reconciliation, the program (its id for the
    readback, the prescription it executes), bridge and refill-by date; a retry with the same
    key is 200 with the refill already recorded (Idempotent-Replayed: true). `version` is
    required: a refill of a pump changed since (another refill, a programming) is refused (409)."""
    key = _idempotency_key(request, payload.idempotency_key)
    user = current_user(request)
    retried = therapy_queries.refill_recorded(user.get_username(), key)
    fill = Fill(
        drugs=tuple(
            (d.drug, quantity(d.concentration, Kind.CONCENTRATION, f"drugs[{i}].concentration"))
            for i, d in enumerate(payload.drugs)
        ),
        volume=quantity(payload.volume, Kind.VOLUME, "volume"),
        lot=payload.lot,
    )
    arguments: dict[str, Any] = {
        "idempotency_key": key,
        "performed_at": payload.performed_at,
        "expected": optional(payload.expected, Kind.VOLUME, "expected"),
        "aspirated": optional(payload.aspirated, Kind.VOLUME, "aspirated"),
        "fill": fill,
        "dose": optional(payload.dose, Kind.DOSE_RATE, "dose"),
        "overrides": dict(payload.overrides),
        "phase": payload.phase,
        "ptm": _ptm_counts(payload),
    }
    refill = confirm_refill(user, implant_id, expected_version=payload.version, **arguments)
    if retried:
        response[REPLAYED] = "true"
    return Status(200 if retried else 201, present.refill(refill))


def _ptm_counts(payload: RefillIn) -> PtmCounts | None:
    """The patient-bolus counts, both or neither."""
    if payload.ptm_requests is None and payload.ptm_given is None:
        return None
    if payload.ptm_requests is None or payload.ptm_given is None:
        missing = "ptm_requests" if payload.ptm_requests is None else "ptm_given"
        raise Refusal(
            missing,
            "missing",
            "both the requests and the boluses given, as the pump reports them",
            PTM_COUNTS_SOURCE,
            "is required with the other count",
        )
    return PtmCounts(payload.ptm_requests, payload.ptm_given)


@router.get("/implants/{implant_id}/refills", response={200: list[RefillOut], **ERRORS})
def list_refills(request: HttpRequest, implant_id: UUID) -> list[dict[str, Any]]:
    found = therapy_queries.refills_of(current_user(request), implant_id)
    return [present.refill(r) for r in found]


@router.post("/implants/{implant_id}/programs", response={201: ProgramOut, **ERRORS})
def program_pump(
    request: HttpRequest, implant_id: UUID, payload: ProgramIn
) -> Status[dict[str, Any]]:
    """The pump programmed between refills with its ready prescription (prescribed by a
    physician and, if high-alert, double-checked), checked like a refill's program; the pump's
    projection is recomputed from the volume it computes as left. A stale `version` is a 409.
    The readback follows at /programs/{id}/readbacks."""
    program = programs.program_pump(
        current_user(request),
        implant_id,
        expected_version=payload.version,
        now=clock.now(),
        overrides=dict(payload.overrides),
    )
    return Status(201, present.program(program))


@router.post("/refills/{refill_id}/verify", response={200: RefillOut, **ERRORS})
def verify_refill(request: HttpRequest, refill_id: UUID) -> dict[str, Any]:
    """The second clinician's verification (not the one who performed the refill)."""
    verified = refills.verify_refill(current_user(request), refill_id, clock.now())
    return present.refill(verified)


@router.post("/implants/{implant_id}/alarms", response={201: AlarmOut, **ERRORS})
def report_alarm(
    request: HttpRequest, implant_id: UUID, payload: AlarmIn
) -> Status[dict[str, Any]]:
    alarm = alarms.report_alarm(
        current_user(request),
        implant_id,
        kind=payload.kind,
        reported_at=payload.reported_at,
        note=payload.note,
    )
    return Status(201, present.alarm(alarm))


@router.post("/alarms/{alarm_id}/acknowledge", response={200: AlarmOut, **ERRORS})
def acknowledge_alarm(
    request: HttpRequest, alarm_id: UUID, payload: AlarmAcknowledgement
) -> dict[str, Any]:
    """Close an open alarm with what was done about it."""
    alarm = alarms.acknowledge_alarm(
        current_user(request), alarm_id, now=clock.now(), action_taken=payload.action_taken
    )
    return present.alarm(alarm)


class AlarmFilter(Request):
    open: bool = Field(default=True, description="only the alarms not yet acknowledged")


@router.get("/alarms", response={200: list[AlarmOut], **ERRORS})
def list_alarms(request: HttpRequest, filters: Query[AlarmFilter]) -> list[dict[str, Any]]:
    found = therapy_queries.alarms_list(current_user(request), open_only=filters.open)
    return [present.alarm(a) for a in found]
