"""Patients and their episodes: search, create, read (audited), update under optimistic
concurrency (a stale `version` is a 409), open and list episodes. Views parse, call a clinic
service or query, and present."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from pydantic import Field

from painpump.api import present
from painpump.api.auth import AUTH, current_user
from painpump.api.schemas import (
    ERRORS,
    EpisodeIn,
    EpisodeOut,
    PatientChange,
    PatientIn,
    PatientOut,
    Request,
)
from painpump.clinic.actions import patients
from painpump.clinic.locale import clinic_today
from painpump.clinic.reads import queries

router = Router(tags=["patients"], auth=AUTH)


class Search(Request):
    q: str = Field(default="", max_length=200, description="words of the name or record number")
    stage: str = Field(default="", max_length=40, description="the stage of the current episode")
    drug: str = Field(default="", max_length=40, description="a drug in the pump in place")
    pump: str = Field(default="", max_length=40, description="the model of the pump in place")
    refill_within: int | None = Field(
        default=None, description="next refill-by date within this many days (overdue included)"
    )
    sort: str = Field(default="name", max_length=20, description="name, mrn or refill_by")
    offset: int = Field(0, ge=0, le=queries.MAX_OFFSET, description="patients to skip")
    limit: int = Field(
        queries.PAGE_SIZE, ge=1, le=queries.MAX_LIMIT, description="patients to return at most"
    )


@router.get("", response={200: list[PatientOut], **ERRORS})
def list_patients(
    request: HttpRequest, response: HttpResponse, search: Query[Search]
) -> list[dict[str, Any]]:
    """Patients who match the search and filters, in `sort` order, `limit` of them from
    `offset`; the `X-Total-Count` header says how many match in all."""
    found = queries.search_patients(
        current_user(request),
        search.q,
        stage=search.stage,
        drug=search.drug,
        pump=search.pump,
        refill_within=search.refill_within,
        sort=search.sort,
        offset=search.offset,
        limit=search.limit,
    )
    response["X-Total-Count"] = str(found.total)
    return [present.patient(p) for p in found.patients]


@router.post("", response={201: PatientOut, **ERRORS})
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[dict[str, Any]]:
    created = patients.create_patient(
        current_user(request),
        mrn=payload.mrn,
        family_name=payload.family_name,
        given_name=payload.given_name,
        birth_date=payload.birth_date,
        today=clinic_today(),
        weight_kg=payload.weight_kg,
        opioid_status=payload.opioid_status,
        psychosis_history=payload.psychosis_history,
        life_expectancy_months=payload.life_expectancy_months,
    )
    return Status(201, present.patient(created))


@router.get("/{patient_id}", response={200: PatientOut, **ERRORS})
def read_patient(request: HttpRequest, patient_id: UUID) -> dict[str, Any]:
    return present.patient(patients.read_patient(current_user(request), patient_id))


@router.patch("/{patient_id}", response={200: PatientOut, **ERRORS})
def update_patient(
    request: HttpRequest, patient_id: UUID, payload: PatientChange
) -> dict[str, Any]:
    changes = payload.model_dump(exclude_unset=True, exclude={"version"})
    updated = patients.update_patient(
        current_user(request),
        patient_id,
        expected_version=payload.version,
        today=clinic_today(),
        **changes,
    )
    return present.patient(updated)


@router.get("/{patient_id}/episodes", response={200: list[EpisodeOut], **ERRORS})
def list_episodes(request: HttpRequest, patient_id: UUID) -> list[dict[str, Any]]:
    return [present.episode(e) for e in queries.episodes_of(current_user(request), patient_id)]


@router.post("/{patient_id}/episodes", response={201: EpisodeOut, **ERRORS})
def open_episode(
    request: HttpRequest, patient_id: UUID, payload: EpisodeIn
) -> Status[dict[str, Any]]:
    episode = patients.open_episode(
        current_user(request),
        patient_id,
        indication=payload.indication,
        referred_on=payload.referred_on,
        injury_date=payload.injury_date,
    )
    return Status(201, present.episode(episode))
