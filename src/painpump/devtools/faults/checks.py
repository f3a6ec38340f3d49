"""What the drills check in the database after every fault: each refill wholly recorded (its
drugs, its program, the program before it ended, its audit entry, its appointment, the pump's
version bumped once) or not at all, one refill per key, the audit chain intact, and SQLite's own
integrity check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from uuid import UUID

from django.db import connection, connections

from painpump.clinic import audit
from painpump.clinic.models import Appointment, AuditEntry, Implant, Program, Refill


@dataclass(frozen=True)
class Baseline:
    """The pumps' versions and refill counts when the drill began."""

    versions: dict[UUID, int]
    refills: dict[UUID, int]


def _fresh() -> None:
    """Reconnect for a fresh look after whatever happened to the server or the database (not
    inside a transaction, which is its owner's to end)."""
    if not connection.in_atomic_block:
        connections.close_all()


def baseline(implants: tuple[UUID, ...]) -> Baseline:
    found = Implant.objects.filter(id__in=implants)
    counts = Counter(Refill.objects.filter(implant__in=implants).values_list("implant", flat=True))
    return Baseline({i.id: i.version for i in found}, {i: counts[i] for i in implants})


def refill_problems(implants: tuple[UUID, ...], start: Baseline) -> list[str]:
    """Every way a refill of these pumps is not whole (an empty list when all are)."""
    _fresh()
    problems: list[str] = []
    for implant in Implant.objects.filter(id__in=implants).select_related("episode"):
        problems += _pump_problems(implant, start)
    return problems


def _pump_problems(implant: Implant, start: Baseline) -> list[str]:
    name = f"pump {implant.pump_serial}"
    refills = list(
        Refill.objects.filter(implant=implant).select_related("program").prefetch_related("drugs")
    )
    programs = list(Program.objects.filter(implant=implant))
    problems = []
    added = len(refills) - start.refills[implant.id]
    if implant.version - start.versions[implant.id] != added:
        problems.append(
            f"{name}: version {implant.version} after {added} refills "
            f"(from version {start.versions[implant.id]})"
        )
    if len(programs) != len(refills):
        problems.append(f"{name}: {len(programs)} programs for {len(refills)} refills")
    running = [p for p in programs if p.ended_at is None]
    if refills and [p.id for p in running] != [refills[-1].program_id]:
        problems.append(f"{name}: the running programs are {running}, not the last refill's")
    if refills and implant.refill_by != refills[-1].refill_by:
        problems.append(f"{name}: refill-by {implant.refill_by} is not the last refill's")
    audited = Counter(
        AuditEntry.objects.filter(
            action="refill.perform", patient_id=implant.episode.patient_id
        ).values_list("object_id", flat=True)
    )
    if sorted(audited) != sorted(str(r.id) for r in refills) or any(
        n != 1 for n in audited.values()
    ):
        problems.append(f"{name}: {sum(audited.values())} audit entries for {len(refills)} refills")
    booked = Appointment.objects.filter(patient_id=implant.episode.patient_id, kind="refill")
    if booked.count() != len(refills):
        problems.append(f"{name}: {booked.count()} refill appointments for {len(refills)} refills")
    for refill in refills:
        if [d.drug for d in refill.drugs.all()] != ["baclofen"]:
            problems.append(f"{name}: refill {refill.idempotency_key} lacks its drugs")
        if refill.program.implant_id != implant.id or refill.program.started_at != (
            refill.performed_at
        ):
            problems.append(f"{name}: refill {refill.idempotency_key} has a foreign program")
    return problems


def recorded(key: str) -> str | None:
    """The id of the refill recorded under `key`, if any."""
    _fresh()
    found = Refill.objects.filter(idempotency_key=key).values_list("id", flat=True).first()
    return str(found) if found else None


def keys_recorded(implants: tuple[UUID, ...]) -> dict[str, str]:
    """Key -> refill id of the drill's refills of these pumps (the first fills excluded)."""
    rows = Refill.objects.filter(implant__in=implants, idempotency_key__startswith="drill-")
    pairs = rows.exclude(idempotency_key__startswith="drill-first-fill-").values_list(
        "idempotency_key", "id"
    )
    return {key: str(refill) for key, refill in pairs}


def audit_problem() -> str | None:
    outcome = audit.verify()
    return None if outcome.ok else f"audit chain broken: {outcome.problem}"


def sqlite_integrity() -> str:
    """SQLite's PRAGMA integrity_check ("ok" when the file is sound); "n/a" on PostgreSQL."""
    if connection.vendor != "sqlite":
        return "n/a"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        return "; ".join(str(row[0]) for row in cursor.fetchall())
