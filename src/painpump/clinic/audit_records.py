"""Each clinical record against the last state its audit trail recorded: refills (with their
drugs, program and the twin's dates), programs (changed between refills, or started by a refill),
prescriptions (drugs and steps, high-alert flag, double-check), implants (with the dates the
dashboard reads, as the refill, program change or redate that wrote them recorded), patients,
incidents and the clinic's drug-library limits, each with its owner (pump, episode, and the
patient its entries name). A record edited in the database without the application (a refill's
volume, a forged second-clinician verification or double-check, a refill moved to another
patient's pump, an overdue pump's refill-by date moved) differs from the `after` of its newest
audit entry; a record no entry created, an audited record deleted,
or a row that cannot be read shows too. Quantities are compared as the trail shows them (in its
unit, to its places: a microlitre for volumes). A field an entry did not record (written before
it was) is not compared. The records of care around the pump (episodes, assessments,
appointments, alarms, readbacks) are kinds of painpump.clinic.audit_care, compared alike."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from painpump.clinic.actions.catheters import snapshot as catheter_snapshot
from painpump.clinic.actions.library import snapshot as limit_snapshot
from painpump.clinic.actions.patients import patient_snapshot
from painpump.clinic.actions.refills import program_snapshot
from painpump.clinic.errors import UnreadableRow
from painpump.clinic.models import (
    AuditEntry,
    ClinicCatheter,
    ClinicLimit,
    Implant,
    Incident,
    Patient,
    Prescription,
    PrescriptionCheck,
    Program,
    Refill,
    RefillDrug,
)
from painpump.clinic.reads.prescription_history import settings_of
from painpump.clinic.reads.prescriptions import as_core
from painpump.core.units import DISPLAY_UNITS, format_decimal, of


class Stored(Protocol):
    def matches(self, audited: object) -> bool: ...

    def shown(self, audited: object) -> object: ...


@dataclass(frozen=True)
class Exact:
    value: object

    def matches(self, audited: object) -> bool:
        return audited == self.value

    def shown(self, audited: object) -> object:
        return self.value


@dataclass(frozen=True)
class Amount:
    """A quantity stored in its canonical unit, read in the unit the trail wrote it in."""

    canonical: Decimal | None

    def matches(self, audited: object) -> bool:
        if audited is None or self.canonical is None:
            return audited is None and self.canonical is None
        return str(self.shown(audited)) == audited

    def shown(self, audited: object) -> object:
        if self.canonical is None:
            return None
        unit = str(audited).rpartition(" ")[2]
        return str(of(self.canonical, unit)) if unit in DISPLAY_UNITS else self.canonical


@dataclass(frozen=True)
class Moment:
    value: datetime | None

    def matches(self, audited: object) -> bool:
        if audited is None or self.value is None:
            return audited is None and self.value is None
        try:
            return datetime.fromisoformat(str(audited)) == self.value
        except ValueError:
            return False

    def shown(self, audited: object) -> object:
        return self.value.isoformat() if self.value else None


@dataclass(frozen=True)
class Number:
    """A plain number (a percentage), equal whatever places the trail wrote it to."""

    value: Decimal | None

    def matches(self, audited: object) -> bool:
        if audited is None or self.value is None:
            return audited is None and self.value is None
        try:
            return Decimal(str(audited)) == self.value
        except InvalidOperation:
            return False

    def shown(self, audited: object) -> object:
        return None if self.value is None else str(self.value)


@dataclass(frozen=True)
class Owner:
    """Who a record belongs to, held by more than one row (a refill's pump, and its program's):
    each must be the one the trail recorded."""

    values: tuple[object, ...]

    def matches(self, audited: object) -> bool:
        return all(str(value) == audited for value in self.values)

    def shown(self, audited: object) -> object:
        return next((str(v) for v in self.values if str(v) != audited), str(self.values[0]))


_QUANTITY = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?(?:E[+-]?\d+)?) ("  # 5E+1: a length painpump once wrote so
    + "|".join(re.escape(unit) for unit in sorted(DISPLAY_UNITS, key=len, reverse=True))
    + r")(?![\w/])"
)


STORED_PLACE = Decimal("0.000001")
"""The last place a decimal column keeps (decimal_places=6)."""


@dataclass(frozen=True)
class Derived:
    """A column the application derives from the record's other rows, which are compared with
    the trail themselves (a prescription's daily dose from its steps, a pump's drugs from its
    newest refill): it must hold what `source` gives, whatever the trail recorded."""

    value: object
    derived: object
    source: str
    unit: str = ""

    def consistent(self) -> bool:
        if isinstance(self.value, Decimal) and isinstance(self.derived, Decimal):
            return abs(self.value - self.derived) <= STORED_PLACE
        return self.value == self.derived

    def matches(self, audited: object) -> bool:
        return audited == self.value

    def shown(self, audited: object) -> object:
        return self.value

    def problem(self, kind: str, key: str, name: str) -> str:
        return (
            f"{kind} {key}: {name} is {self._words(self.value)} in the database, but "
            f"{self.source} gives {self._words(self.derived)}: it was changed outside the "
            "application"
        )

    def _words(self, value: object) -> str:
        if isinstance(value, Decimal):
            return f"{format_decimal(value)} {self.unit}".rstrip()
        return repr(value)


def _canonical_words(text: object) -> object:
    """`text` with each quantity in the canonical unit of its kind ("10 mg/mL" and
    "10000 mcg/mL" read alike)."""
    if not isinstance(text, str):
        return text

    def canonical(found: re.Match[str]) -> str:
        kind, factor, _ = DISPLAY_UNITS[found[2]]
        return f"{format_decimal(Decimal(found[1]) * factor)} [{kind.name}]"

    return _QUANTITY.sub(canonical, text)


@dataclass(frozen=True)
class Worded:
    """A text that may hold quantities, each compared whatever unit it is written in."""

    value: object

    def matches(self, audited: object) -> bool:
        return _canonical_words(audited) == _canonical_words(self.value)

    def shown(self, audited: object) -> object:
        return self.value


def _exact(values: Mapping[str, Any]) -> dict[str, Stored]:
    return {name: Exact(value) for name, value in values.items()}


def _refill(row: Refill) -> dict[str, Stored]:
    program = row.program
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in row.drugs.all()]
    return {
        **_exact(program_snapshot(program, drugs)),
        "prescription": Exact(program.prescription.number if program.prescription else None),
        "performed_at": Moment(row.performed_at),
        "performed_by": Exact(row.performed_by),
        "volume": Amount(row.volume_ml),
        "lot": Exact(row.lot),
        "expected": Amount(row.expected_ml),
        "aspirated": Amount(row.aspirated_ml),
        "twin_least": Amount(row.twin_least_ml),
        "twin_most": Amount(row.twin_most_ml),
        "finding": Exact(row.finding or None),
        "bridge": Amount(row.bridge_rate_ml_per_day),
        "priming": Amount(row.priming_volume_ml),
        "priming_duration_s": Exact(row.priming_duration_s),
        "bridge_volume": Amount(row.bridge_volume_ml),
        "difference": Amount(row.difference_ml),
        "delivery_error_percent": Number(row.delivery_error_percent),
        "implant": Owner((row.implant_id, program.implant_id)),
        "program": Owner((row.program_id,)),
        "patient": Owner((row.implant.episode.patient_id,)),
        "refill_by": Exact(row.refill_by.isoformat()),
        "alarm_at": Moment(row.alarm_at),
        "empty_at": Moment(row.empty_at),
        "limited_by": Exact(row.limited_by),
        "needs_verification": Exact(row.needs_verification),
        "ptm_counts": Exact(
            None
            if row.ptm_requests is None
            else {"requests": row.ptm_requests, "given": row.ptm_given}
        ),
        "verified_by": Exact(row.verified_by),
        "verified_at": Moment(row.verified_at),
        "overrides": Exact(row.acknowledged),
        "warnings": Exact(row.warnings),
        "idempotency_key": Exact(row.idempotency_key),
    }


def _dates(row: Implant | Program) -> dict[str, Stored]:
    return {
        "alarm_at": Moment(row.alarm_at),
        "empty_at": Moment(row.empty_at),
        "refill_by": Exact(row.refill_by.isoformat() if row.refill_by else None),
    }


def _program(row: Program) -> dict[str, Stored]:
    shown = program_snapshot(row, ())
    del shown["drugs"]  # the pump's fill, not the program's
    return {
        **_exact(shown),
        **_dates(row),
        "started_at": Moment(row.started_at),
        "ended_at": Moment(row.ended_at),
        "programmed_by": Exact(row.programmed_by),
        "prescribed_by": _prescriber(row),
        "limited_by": Exact(row.limited_by),
        "prescription": Exact(row.prescription.number if row.prescription else None),
        "overrides": Exact(row.overrides),
        "warnings": Exact(row.warnings),
        "implant": Owner((row.implant_id,)),
        "patient": Owner((row.implant.episode.patient_id,)),
        **_awaiting(row),
    }


def _awaiting(row: Program) -> dict[str, Stored]:
    """Whether the program in force awaits its readback (the dashboard lists it): an ended one
    is listed nowhere and can no longer be read back, and those ended before the flag was stored
    never held it, so it is compared only while the program runs."""
    return {} if row.ended_at is not None else {"awaiting_readback": Exact(row.awaiting_readback)}


def _prescriber(row: Program) -> Derived:
    """A program's prescriber is its prescription's (the trail records who signed that); a
    program recorded before prescriptions were kept names whoever entered it, with nothing to
    derive it from."""
    prescribed = row.prescription
    if prescribed is None:
        return Derived(row.prescribed_by, row.prescribed_by, "")
    return Derived(
        row.prescribed_by,
        prescribed.prescribed_by,
        f"its prescription (#{prescribed.number}, signed by {prescribed.prescribed_by})",
    )


OPTIONAL_SETTINGS = (
    *(f"drug {n}" for n in range(1, 10)),
    "bolus duration",
    "lockout",
    "boluses a day",
)
"""Settings a prescription may lack: a drug or bolus setting removed from its rows shows as
missing against the trail that recorded it."""


def _prescription(row: Prescription) -> dict[str, Stored]:
    prescribed = as_core(row)
    shown: dict[str, Any] = dict.fromkeys(OPTIONAL_SETTINGS)
    shown |= settings_of(prescribed)
    shown |= {"number": row.number, "reason": row.reason, "prescribed_by": row.prescribed_by}
    return {name: Worded(value) for name, value in shown.items()} | {
        "status": Exact(row.status),
        "high_alert": Exact(row.high_alert),
        "checked_by": Exact(row.checked_by),
        "checked_at": Moment(row.checked_at),
        "double_check": Exact(_double_check(row.checks.all())),
        "overrides": Exact(row.overrides),
        "warnings": Exact(row.warnings),
        "fluid_change": Exact(row.fluid_change),
        "supersedes": Exact(str(row.supersedes_id) if row.supersedes_id else None),
        "prescribed_at": Moment(row.prescribed_at),
        "implant": Owner((row.implant_id,)),
        "patient": Owner((row.implant.episode.patient_id,)),
        "daily_dose_mcg_per_day": Derived(
            row.daily_dose_mcg_per_day,
            prescribed.daily_dose.canonical,
            "its program (the largest day of its steps, or its single bolus)",
            "mcg/day",
        ),
    }


def _check(
    checked_by: str, accepted: bool, entered: object, mismatches: object, comment: object
) -> dict[str, object]:
    return {
        "checked_by": checked_by,
        "accepted": accepted,
        "entered": entered,
        "mismatches": mismatches,
        "comment": comment,
    }


def _double_check(rows: Iterable[PrescriptionCheck]) -> object:
    """A prescription's double-check rows in the trail's terms: None, the one row, or a list of
    them (which no audited action writes: the first check ends the wait for one)."""
    checks = [_check(c.checked_by, c.accepted, c.entered, c.mismatches, c.comment) for c in rows]
    return checks[0] if len(checks) == 1 else (checks or None)


IDENTIFYING = frozenset({"mrn", "family_name", "given_name", "birth_date"})
"""Patient fields whose values a mismatch does not print (it names the field only)."""


def _patient(row: Patient) -> dict[str, Stored]:
    shown = patient_snapshot(row)
    del shown["version"]  # moved by every change, each audited with its own fields
    return _exact(shown)


def _implant(row: Implant) -> dict[str, Stored]:
    newest: Refill | None = next(iter(getattr(row, "newest_refill", ())), None)
    names = [d.drug for d in newest.drugs.all()] if newest is not None else []
    fill = "a pump not yet filled"
    if newest is not None:
        fill = f"its newest refill ({newest.id}, {'+'.join(names)})"
    return {
        "high_risk": Derived(row.high_risk, "baclofen" in names, fill),
        "drug_names": Derived(row.drug_names, "+".join(names), fill),
        "pump": Exact(f"{row.pump_model} {row.pump_serial}"),
        "catheter": Worded(f"{row.catheter_model} {format_decimal(row.catheter_length_cm)} cm"),
        "dead_volume": Amount(row.dead_volume_ml),
        "alarm_volume": Amount(row.alarm_volume_ml),
        "implanted_on": Exact(row.implanted_on.isoformat()),
        "explanted_on": Exact(row.explanted_on.isoformat() if row.explanted_on else None),
        **_dates(row),
        "episode": Owner((row.episode_id,)),
        "patient": Owner((row.episode.patient_id,)),
    }


def _incident(row: Incident) -> dict[str, Stored]:
    return {
        "kind": Exact(row.kind),
        "summary": Exact(row.summary),
        "opened_by": Exact(row.opened_by),
        "opened_at": Moment(row.opened_at),
        "closed_by": Exact(row.closed_by),
        "closed_at": Moment(row.closed_at),
        "resolution": Exact(row.resolution),
        "implant": Owner((row.implant_id,)),
        "patient": Owner((row.patient_id, row.implant.episode.patient_id)),
    }


def _incident_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    """Who opened it; when it was closed, the close entry's `after` tells (an entry older than
    that record does not, and leaves nothing to compare)."""
    if action == "incident.open":
        return {"opened_by": actor}
    return {} if "closed_at" in after else {"closed_at": UNRECORDED}


UNRECORDED = object()
"""A field an entry changed without recording its new value (an entry older than the field's
record): nothing to compare it with until a later entry records it."""

AuditedState = dict[str, tuple[object, int]]
"""Field -> (the newest value the trail recorded, its entry's seq)."""
States = dict[str, dict[str, AuditedState]]
"""Kind -> object id -> its audited state."""


def _refill_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    return {"performed_by": actor} if action == "refill.perform" else {}


def _prescription_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    """The prescriber; at the double-check, the check itself and, if accepted, the checker as
    the prescription's own record of it (when, the entry's `after` tells; an entry older than
    that record does not, and leaves nothing to compare)."""
    if action == "prescription.create":
        return {"prescribed_by": actor}
    if action not in ("prescription.accept", "prescription.reject"):
        return {}
    accepted = action == "prescription.accept"
    check = _check(
        actor, accepted, after.get("entered"), after.get("mismatches"), after.get("comment")
    )
    noted: dict[str, object] = {"double_check": check}
    if accepted:
        noted["checked_by"] = actor
    if "checked_at" not in after:
        noted["checked_at"] = UNRECORDED
    return noted


def _program_noted(action: str, actor: str, after: Mapping[str, Any]) -> dict[str, object]:
    return {"programmed_by": actor} if "started_at" in after else {}


def _refill_programs(states: States) -> set[str]:
    """The programs audited refills started (audited with the refill, not on their own)."""
    audited = states["refill"]
    return {
        str(program)
        for refill, program in Refill.objects.values_list("id", "program_id").iterator(2000)
        if str(refill) in audited
    }


Carried = Callable[[str, str, Mapping[str, Any]], Iterable[tuple[str, dict[str, object]]]]
"""What an entry of another record's action records of this kind's records: (actor, the entry's
object id, its `after`) -> each record's id with the fields recorded for it."""

PUMP_DATES = ("alarm_at", "empty_at", "refill_by")


def _recorded(after: Mapping[str, Any], names: Iterable[str]) -> dict[str, object]:
    return {name: after.get(name, UNRECORDED) for name in names}


def _pump_refilled(
    actor: str, key: str, after: Mapping[str, Any]
) -> Iterable[tuple[str, dict[str, object]]]:
    return [(str(after["implant"]), _recorded(after, PUMP_DATES))] if "implant" in after else []


def _pumps_redated(
    actor: str, key: str, after: Mapping[str, Any]
) -> Iterable[tuple[str, dict[str, object]]]:
    dated = after.get("dated")
    return [(pump, dict(dates)) for pump, dates in dated.items()] if isinstance(dated, dict) else []


def _ended(after: Mapping[str, Any], at: str) -> list[tuple[str, dict[str, object]]]:
    return [(str(after["ends"]), {"ended_at": after[at]})] if after.get("ends") else []


def _program_started(
    actor: str, key: str, after: Mapping[str, Any]
) -> Iterable[tuple[str, dict[str, object]]]:
    """A program change: the program it ended; the program itself runs until a later one."""
    if "started_at" not in after:
        return []
    started: dict[str, object] = {"ended_at": None, "awaiting_readback": _needs_readback(after)}
    return [(key, started), *_ended(after, "started_at")]


def _needs_readback(after: Mapping[str, Any]) -> bool:
    """A program from a prescription awaits its readback from its start (the refill or program
    change that started it records the prescription; one from before prescriptions needs
    none)."""
    return after.get("prescription") is not None


def _program_read_back(
    actor: str, key: str, after: Mapping[str, Any]
) -> Iterable[tuple[str, dict[str, object]]]:
    """A readback: the program it read back awaits none any more."""
    return [(str(after["program"]), {"awaiting_readback": False})] if "program" in after else []


def _program_refilled(
    actor: str, key: str, after: Mapping[str, Any]
) -> Iterable[tuple[str, dict[str, object]]]:
    """A refill: the program it started (its dates the refill's) and the one it ended."""
    if "program" not in after:
        return []
    started = {
        **_recorded(
            after, (*PUMP_DATES, "limited_by", "dose", "rate", "phase", "prescription", "implant")
        ),
        "started_at": after["performed_at"],
        "ended_at": None,
        "awaiting_readback": _needs_readback(after),
        "programmed_by": actor,
        "warnings": [],  # a refill's warnings and overrides are the refill's own
        "overrides": [],
    }
    return [(str(after["program"]), started), *_ended(after, "performed_at")]


@dataclass(frozen=True)
class Kind:
    """One kind of record: the actions whose `after` records its state (reads and previews
    record none), its rows, how they render in the trail's terms, what an entry tells beyond its
    `after` (who acted, as what), what a record holds before any entry says otherwise, the
    records another kind's audited action created (every other one must have an entry of its
    own), whether its entries name its patient (compared as its "patient"), the actions on
    other records whose entries record its state too (Carried), and the fields its entries
    record only since a later version (a record whose entries predate one is named in a note)."""

    name: str
    actions: frozenset[str]
    rows: Callable[[], QuerySet[Any]]
    render: Callable[[Any], dict[str, Stored]]
    noted: Callable[[str, str, Mapping[str, Any]], dict[str, object]] | None = None
    initially: dict[str, Any] = field(default_factory=dict)
    created_elsewhere: Callable[[States], set[str]] | None = None
    names_patient: bool = True
    carried: Mapping[str, Carried] = field(default_factory=dict)
    recorded_later: frozenset[str] = frozenset()


NEWEST_REFILL = Prefetch(
    "refills",
    Refill.objects.only("id", "implant", "performed_at")
    .order_by("-performed_at")
    .prefetch_related(Prefetch("drugs", RefillDrug.objects.only("refill", "position", "drug")))[:1],
    to_attr="newest_refill",
)
"""A pump's last fill, which its stored drugs and high-risk flag come from (refills._dated)."""

KINDS = (
    Kind(
        "refill",
        frozenset({"refill.perform", "refill.verify"}),
        lambda: Refill.objects.select_related(
            "program__prescription", "implant__episode"
        ).prefetch_related("drugs"),
        _refill,
        _refill_noted,
        {"verified_by": "", "verified_at": None},
        recorded_later=frozenset({"warnings", "idempotency_key", "twin_least", "twin_most"}),
    ),
    Kind(
        "program",
        frozenset({"program.change"}),
        lambda: Program.objects.select_related("prescription", "implant__episode"),
        _program,
        _program_noted,
        created_elsewhere=_refill_programs,
        carried={
            "program.change": _program_started,
            "refill.perform": _program_refilled,
            "readback.record": _program_read_back,
        },
        recorded_later=frozenset({"limited_by", "warnings"}),
    ),
    Kind(
        "prescription",
        frozenset(
            {
                "prescription.create",
                "prescription.accept",
                "prescription.reject",
                "prescription.withdraw",
                "prescription.in_force",
                "prescription.supersede",
            }
        ),
        lambda: Prescription.objects.select_related("implant__episode").prefetch_related(
            "drugs", "steps", "checks"
        ),
        _prescription,
        _prescription_noted,
        {"checked_by": "", "checked_at": None, "double_check": None},
        recorded_later=frozenset({"warnings"}),
    ),
    Kind(
        "implant",
        frozenset({"implant.register"}),
        lambda: Implant.objects.select_related("episode").prefetch_related(NEWEST_REFILL),
        _implant,
        initially={"explanted_on": None},
        carried={
            "refill.perform": _pump_refilled,
            "program.change": _pump_refilled,
            "pumps.redate": _pumps_redated,
        },
    ),
    Kind(
        "patient",
        frozenset({"patient.create", "patient.update"}),
        lambda: Patient.objects.all(),
        _patient,
        names_patient=False,
    ),
    Kind(
        "incident",
        frozenset({"incident.open", "incident.close"}),
        lambda: Incident.objects.select_related("implant__episode"),
        _incident,
        _incident_noted,
        {"closed_by": "", "closed_at": None, "resolution": ""},
    ),
    Kind(
        "clinic_limit",
        frozenset(
            {
                "library.limit.add",
                "library.limit.change",
                "library.limit.approve",
                "library.limit.archive",
                "library.limit.archive_request",
                "library.limit.replace",
            }
        ),
        lambda: ClinicLimit.objects.all(),
        lambda row: _exact(limit_snapshot(row)),
        names_patient=False,
    ),
    Kind(
        "clinic_catheter",
        frozenset(
            {
                "catheter.add",
                "catheter.approve",
                "catheter.replace",
                "catheter.archive_request",
                "catheter.archive",
            }
        ),
        lambda: ClinicCatheter.objects.all(),
        lambda row: _exact(catheter_snapshot(row)),
        names_patient=False,
    ),
)


def all_kinds() -> tuple[Kind, ...]:
    """These kinds and the records of care around the pump (painpump.clinic.audit_care, which
    builds on this module)."""
    from painpump.clinic import audit_care

    return KINDS + audit_care.KINDS


def audited_states() -> States:
    kinds = all_kinds()
    by_kind = {kind.name: kind for kind in kinds}
    states: States = {k: {} for k in by_kind}
    actions = {action for kind in kinds for action in kind.actions}
    carriers = [(kind.name, kind.carried) for kind in kinds if kind.carried]
    rows = (
        AuditEntry.objects.filter(
            action__in=actions | {action for _, carried in carriers for action in carried}
        )
        .order_by("seq")
        .values_list("seq", "actor", "action", "object_type", "object_id", "patient_id", "after")
        .iterator(chunk_size=2000)
    )
    for seq, actor, action, kind_name, object_id, patient_id, after in rows:
        recorded = after if isinstance(after, dict) else {}
        kind = by_kind.get(kind_name)
        if kind is not None and action in kind.actions:
            state = states[kind_name].get(object_id)
            if state is None:
                state = states[kind_name][object_id] = {
                    k: (v, seq) for k, v in kind.initially.items()
                }
            state.update((name, (value, seq)) for name, value in recorded.items())
            if kind.names_patient and patient_id is not None:
                state["patient"] = (str(patient_id), seq)
            _note(state, kind.noted(action, actor, recorded) if kind.noted else {}, seq)
        for name, carried in carriers:
            if action in carried:
                for key, fields in carried[action](actor, object_id, recorded):
                    _note(states[name].setdefault(key, {}), fields, seq)
    return states


def _note(state: AuditedState, fields: Mapping[str, object], seq: int) -> None:
    for name, value in fields.items():
        if value is UNRECORDED:
            state.pop(name, None)
        else:
            state[name] = (value, seq)


def compare() -> tuple[list[str], list[str]]:
    """Every way a record differs from its trail, each naming the record, the field, the value
    stored and the value audited (a patient's identifying fields by name only); and the notes
    naming records whose entries predate the record of a field (not compared)."""
    states = audited_states()
    found: list[str] = []
    predating: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for kind in all_kinds():
        audited = states[kind.name]
        elsewhere = kind.created_elsewhere(states) if kind.created_elsewhere else set()
        seen: set[str] = set()
        for key, stored in _rendered(kind):
            seen.add(key)
            if isinstance(stored, str):
                found.append(stored)
                continue
            found += [
                column.problem(kind.name, key, name)
                for name, column in stored.items()
                if isinstance(column, Derived) and not column.consistent()
            ]
            state = audited.get(key)
            if state is None:
                if key not in elsewhere:
                    found.append(
                        f"{kind.name} {key}: no audit entry records it (created, or its trail "
                        "deleted, outside the application)"
                    )
                continue
            found += _differences(kind.name, key, stored, state)
            missing = tuple(sorted(kind.recorded_later - state.keys()))
            if missing:
                predating.setdefault((kind.name, missing), []).append(key)
        found += [
            f"{kind.name} {key}: its trail records it (entry {min(s for _, s in state.values())}) "
            "but it is not in the database (deleted outside the application)"
            for key, state in audited.items()
            if key not in seen
        ]
    return found, [_predating(kind, fields, keys) for (kind, fields), keys in predating.items()]


SHOWN = 5
"""Records a note names before it counts the rest."""


def _predating(kind: str, fields: tuple[str, ...], keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    plural = "s" if len(keys) > 1 else ""
    return (
        f"the entries of {len(keys)} {kind}{plural} predate the record of "
        f"{' and '.join(fields)}, which {'are' if len(fields) > 1 else 'is'} not compared: "
        f"{', '.join(keys[:SHOWN])}{more}"
    )


UNREADABLE = (
    AssertionError,
    TypeError,
    ValueError,
    ArithmeticError,
    LookupError,
    AttributeError,
    ValidationError,
)
"""What reading a malformed row raises (a value no audited action stores: text in a number, an
unknown choice, a patient bolus without its lockout)."""

CHUNK = 500
"""Records read per query (the ids fit SQLite's limit on a query's parameters)."""


def _rendered(kind: Kind) -> Iterator[tuple[str, dict[str, Stored] | str]]:
    """Each record of `kind` by id, in the trail's terms, or, where a row cannot be read, the
    problem naming it; only a chunk holding such a row is read again record by record."""
    keys = list(kind.rows().values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        try:
            yield from [(str(row.pk), kind.render(row)) for row in kind.rows().filter(pk__in=chunk)]
        except UNREADABLE:
            yield from (_one(kind, key) for key in chunk)


def _one(kind: Kind, key: object) -> tuple[str, dict[str, Stored] | str]:
    try:
        return str(key), kind.render(kind.rows().get(pk=key))
    except UnreadableRow as error:  # names the field and its value itself
        return str(key), str(error)
    except UNREADABLE as error:
        why = str(error) or "values that do not fit together"
        return str(key), (
            f"{kind.name} {key}: its row cannot be read ({type(error).__name__}: {why}): a "
            "value no audited action stores, written outside the application"
        )


def _differences(
    kind: str, key: str, stored: dict[str, Stored], state: AuditedState
) -> Iterable[str]:
    for name, (value, seq) in state.items():
        current = stored.get(name)
        if current is None or current.matches(value):
            continue
        if kind == "patient" and name in IDENTIFYING:
            yield (
                f"patient {key}: {name} in the database differs from its audit trail (entry "
                f"{seq}; the values are patient-identifying and not shown)"
            )
        else:
            yield (
                f"{kind} {key}: {name} is {current.shown(value)!r} in the database, "
                f"{value!r} in its audit trail (entry {seq})"
            )
