"""Read use cases of the clinic service (lists and single records the services do not return).
Each checks the reader's role and audits the read in the same transaction, like
services.read_patient: every look at a patient's record leaves a trace."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window

from painpump.clinic import audit
from painpump.clinic.errors import NotFound, get_or_not_found
from painpump.clinic.locale import clinic_today
from painpump.clinic.models import Assessment, Episode, Implant, Patient
from painpump.clinic.roles import require
from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.pathway.sources import DESIGN_PATHWAY
from painpump.core.pathway.stages import Stage

PAGE_SIZE = 50
"""Patients on one page of the list (the total says how many there are in all)."""
SEARCH_LIMIT = PAGE_SIZE  # the former name of the page size, kept for callers
MAX_LIMIT = 100
MAX_OFFSET = 1_000_000_000
"""Rows a page may skip: far beyond any clinic's list, and within the integer range every
database takes for OFFSET (a larger offset was a database error, answered as a conflict)."""
MAX_REFILL_WITHIN = 365
NO_EPISODE = "none"
"""The stage filter's value for patients never referred (no episode of care)."""
LIST_SOURCE = (
    "patients list: paged (0 <= offset <= 1000000000, 1 <= limit <= 100), next refill within "
    "0 to 365 days of the clinic's today, sorted by name, record number or refill-by date"
)


class Sort(StrEnum):
    """How the patients list is ordered; a patient without a pump in place comes last by
    refill-by date."""

    NAME = "name"
    MRN = "mrn"
    REFILL_BY = "refill_by"


ORDERS: dict[Sort, tuple[Any, ...]] = {
    Sort.NAME: ("family_name", "given_name", "mrn"),
    Sort.MRN: ("mrn",),
    Sort.REFILL_BY: (
        F("list_refill_by").asc(nulls_last=True),
        "family_name",
        "given_name",
        "mrn",
    ),
}
STAGES: tuple[str, ...] = (*(s.value for s in Stage), NO_EPISODE)


@dataclass(frozen=True)
class PatientFilters:
    """Which patients the list holds. Empty values do not filter.

    `stage` is the stage of the patient's current episode (the open one, newest referral first;
    else the newest closed one; `none`: no episode). `drug`, `pump` and `refill_within` (days
    from the clinic's today, overdue pumps included) look at the pump in place (not explanted)."""

    query: str = ""
    stage: str = ""
    drug: str = ""
    pump: str = ""
    refill_within: int | None = None
    sort: str = Sort.NAME.value

    def __post_init__(self) -> None:
        if self.stage and self.stage not in STAGES:
            raise Refusal(
                "stage",
                repr(self.stage),
                f"one of {', '.join(STAGES)}",
                DESIGN_PATHWAY,
                "is not a pathway stage",
            )
        if self.drug:
            catalog.drug(self.drug, "drug")  # refuses a drug the catalog does not hold
        if self.pump:
            catalog.pump(self.pump, "pump")
        if self.refill_within is not None and not 0 <= self.refill_within <= MAX_REFILL_WITHIN:
            raise Refusal(
                "refill_within",
                str(self.refill_within),
                f"0 to {MAX_REFILL_WITHIN} days",
                LIST_SOURCE,
                "is out of range",
            )
        if self.sort not in {s.value for s in Sort}:
            raise Refusal(
                "sort",
                repr(self.sort),
                f"one of {', '.join(s.value for s in Sort)}",
                LIST_SOURCE,
                "is not a sort order",
            )

    def applied(self) -> dict[str, Any]:
        """The filters given (not empty), as the audit entry records them."""
        given = {
            "stage": self.stage,
            "drug": self.drug.strip().lower(),
            "pump": self.pump.strip().lower(),
            "refill_within": self.refill_within,
        }
        return {k: v for k, v in given.items() if v not in ("", None)}


@dataclass(frozen=True)
class PatientRow:
    """A patient as the list shows them: the record, the stage of the current episode and the
    pump in place (its model, the drugs of its last fill and its refill-by date), if any."""

    patient: Patient
    stage: str | None
    pump_model: str | None
    drugs: tuple[str, ...]
    refill_by: date | None


@dataclass(frozen=True)
class PatientList:
    """Rows [offset, offset + limit) of the patients matching the filters, and how many match."""

    rows: list[PatientRow]
    total: int
    offset: int
    limit: int
    filters: PatientFilters = field(default_factory=PatientFilters)

    @property
    def patients(self) -> list[Patient]:
        return [row.patient for row in self.rows]

    @property
    def first(self) -> int:
        """The 1-based position of the first row shown (0 when none is)."""
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total


def check_page(offset: int, limit: int, source: str) -> None:
    """Refuses a page outside 0 <= offset <= MAX_OFFSET, 1 <= limit <= MAX_LIMIT (`source`
    states the paging rule)."""
    if offset < 0:
        raise Refusal("offset", str(offset), ">= 0", source, "is negative")
    if offset > MAX_OFFSET:
        raise Refusal("offset", str(offset), f"at most {MAX_OFFSET}", source, "is too large")
    if not 1 <= limit <= MAX_LIMIT:
        raise Refusal("limit", str(limit), f"1 to {MAX_LIMIT}", source, "is out of range")


def _listed(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Each patient with the stage of the current episode and the pump in place (correlated
    subqueries on the indexed foreign keys: one query for the whole page, none per row)."""
    current = Episode.objects.filter(patient=OuterRef("pk")).order_by(
        F("closed_at").asc(nulls_first=True), "-referred_on", "-created_at"
    )
    in_place = Implant.objects.filter(
        episode__patient=OuterRef("pk"), explanted_on__isnull=True
    ).order_by("-implanted_on", "-created_at")
    return patients.annotate(
        list_stage=Subquery(current.values("stage")[:1]),
        list_pump_model=Subquery(in_place.values("pump_model")[:1]),
        list_drug_names=Subquery(in_place.values("drug_names")[:1]),
        list_refill_by=Subquery(in_place.values("refill_by")[:1]),
    )


def _filtered(
    patients: QuerySet[Patient], filters: PatientFilters, today: date | None
) -> QuerySet[Patient]:
    """The patients passing the filters. The pump's filters select the pumps in place first
    (one uncorrelated subquery on the indexed implants), so that a filtered page does not test
    each patient's pump one by one."""
    for word in filters.query.split():
        patients = patients.filter(
            Q(family_name__icontains=word) | Q(given_name__icontains=word) | Q(mrn__icontains=word)
        )
    if filters.stage == NO_EPISODE:
        patients = patients.exclude(id__in=Episode.objects.values("patient_id"))
    elif filters.stage:
        in_stage = Episode.objects.filter(stage=filters.stage).values("patient_id")
        # the current episode's stage decides (a patient's older episode may have closed)
        patients = patients.filter(id__in=in_stage, list_stage=filters.stage)
    pumps = Implant.objects.filter(explanted_on__isnull=True)
    if filters.drug:
        name = filters.drug.strip().lower()  # one of the "+"-joined names, never a part of one
        pumps = pumps.filter(
            Q(drug_names=name)
            | Q(drug_names__startswith=f"{name}+")
            | Q(drug_names__endswith=f"+{name}")
            | Q(drug_names__contains=f"+{name}+")
        )
    if filters.pump:
        pumps = pumps.filter(pump_model=filters.pump.strip().lower())
    if filters.refill_within is not None:
        horizon = (today or clinic_today()) + timedelta(days=filters.refill_within)
        pumps = pumps.filter(refill_by__lte=horizon)
    if filters.drug or filters.pump or filters.refill_within is not None:
        patients = patients.filter(id__in=pumps.values("episode__patient_id"))
    return patients


def _row(patient: Patient) -> PatientRow:
    names = getattr(patient, "list_drug_names", None) or ""
    return PatientRow(
        patient=patient,
        stage=getattr(patient, "list_stage", None),
        pump_model=getattr(patient, "list_pump_model", None),
        drugs=tuple(name for name in names.split("+") if name),
        refill_by=getattr(patient, "list_refill_by", None),
    )


@transaction.atomic
def search_patients(
    user: User,
    query: str = "",
    *,
    include_archived: bool = False,
    stage: str = "",
    drug: str = "",
    pump: str = "",
    refill_within: int | None = None,
    sort: str = Sort.NAME.value,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    today: date | None = None,
) -> PatientList:
    """Patients whose family name, given name or record number contains every word of `query`
    (all patients when it is empty) and who pass the filters (see PatientFilters), in `sort`
    order: rows [offset, offset + limit) and how many patients match in all. A filter value
    that is not allowed is refused (field, value, what is allowed). `today` is the clinic's
    (default: clinic_today()). The entry in the audit trail names the patients shown."""
    actor = require(user, "patient.read")
    filters = PatientFilters(query, stage, drug, pump, refill_within, sort)
    check_page(offset, limit, LIST_SOURCE)
    patients = Patient.objects.all()
    if not include_archived:
        patients = patients.filter(archived_at__isnull=True)
    matching = _filtered(_listed(patients), filters, today)
    found = list(
        matching.annotate(list_total=Window(Count("*"))).order_by(*ORDERS[Sort(sort)])[
            offset : offset + limit
        ]
    )
    # counted with the page, or, for a page past the end, on its own
    total = int(getattr(found[0], "list_total", 0)) if found else matching.count() if offset else 0
    audit.record(
        actor,
        "patient.search",
        "patient",
        "",
        after={
            "query": query,
            "filters": filters.applied(),
            "sort": sort,
            "offset": offset,
            "total": total,
            "results": [str(p.id) for p in found],
        },
    )
    return PatientList([_row(p) for p in found], total, offset, limit, filters)


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
    episode = get_or_not_found(Episode.objects.select_related("patient"), episode_id)
    audit.record(actor, "episode.read", "episode", episode.id, patient_id=episode.patient_id)
    return episode


@transaction.atomic
def assessments_of(user: User, episode_id: UUID) -> list[Assessment]:
    """An episode's assessments in the order they were taken."""
    actor = require(user, "patient.read")
    episode = get_or_not_found(Episode.objects.select_related("patient"), episode_id)
    found = list(episode.assessments.order_by("taken_at", "recorded_at"))
    audit.record(actor, "assessment.list", "episode", episode.id, patient_id=episode.patient_id)
    return found
