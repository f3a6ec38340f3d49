"""Each clinical record against the last state its audit trail recorded: refills (with their
drugs and program), programs changed between refills, prescriptions (drugs and steps), implants
and patients. A record edited in the database without the application (a refill's volume, a
forged second-clinician verification) differs from the `after` of its newest audit entry; a
record no entry created, or an audited record deleted, shows too. Quantities are compared as
the trail shows them (in its unit, to its places: a microlitre for volumes)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import QuerySet

from painpump.clinic.actions.patients import patient_snapshot
from painpump.clinic.actions.refills import program_snapshot
from painpump.clinic.models import AuditEntry, Implant, Patient, Prescription, Program, Refill
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


_QUANTITY = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?) ("
    + "|".join(re.escape(unit) for unit in sorted(DISPLAY_UNITS, key=len, reverse=True))
    + r")(?![\w/])"
)


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
        "finding": Exact(row.finding or None),
        "bridge": Amount(row.bridge_rate_ml_per_day),
        "priming": Amount(row.priming_volume_ml),
        "refill_by": Exact(row.refill_by.isoformat()),
        "ptm_counts": Exact(
            None
            if row.ptm_requests is None
            else {"requests": row.ptm_requests, "given": row.ptm_given}
        ),
        "verified_by": Exact(row.verified_by),
        "verified_at": Moment(row.verified_at),
    }


def _program(row: Program) -> dict[str, Stored]:
    shown = program_snapshot(row, ())
    del shown["drugs"]  # the pump's fill, not the program's
    return {
        **_exact(shown),
        "prescription": Exact(row.prescription.number if row.prescription else None),
    }


OPTIONAL_SETTINGS = (
    *(f"drug {n}" for n in range(1, 10)),
    "bolus duration",
    "lockout",
    "boluses a day",
)
"""Settings a prescription may lack: a drug or bolus setting removed from its rows shows as
missing against the trail that recorded it."""


def _prescription(row: Prescription) -> dict[str, Stored]:
    shown: dict[str, Any] = dict.fromkeys(OPTIONAL_SETTINGS)
    shown |= settings_of(as_core(row))
    shown |= {"number": row.number, "reason": row.reason, "prescribed_by": row.prescribed_by}
    return {name: Worded(value) for name, value in shown.items()} | {"status": Exact(row.status)}


IDENTIFYING = frozenset({"mrn", "family_name", "given_name", "birth_date"})
"""Patient fields whose values a mismatch does not print (it names the field only)."""


def _patient(row: Patient) -> dict[str, Stored]:
    shown = patient_snapshot(row)
    del shown["version"]  # moved by every change, each audited with its own fields
    return _exact(shown)


def _implant(row: Implant) -> dict[str, Stored]:
    return {
        "pump": Exact(f"{row.pump_model} {row.pump_serial}"),
        "catheter": Worded(f"{row.catheter_model} {format_decimal(row.catheter_length_cm)} cm"),
        "dead_volume": Amount(row.dead_volume_ml),
        "alarm_volume": Amount(row.alarm_volume_ml),
        "implanted_on": Exact(row.implanted_on.isoformat()),
    }


@dataclass(frozen=True)
class Kind:
    """One kind of record: the actions whose `after` records its state (reads and previews
    record none), its rows, how they render in the trail's terms, the action whose actor the
    record names, what a record holds before any entry says otherwise, and whether every record
    must have been created by an audited action."""

    name: str
    actions: frozenset[str]
    rows: Callable[[], QuerySet[Any]]
    render: Callable[[Any], dict[str, Stored]]
    actor_field: tuple[str, str] | None = None  # (action, field)
    initially: dict[str, Any] = field(default_factory=dict)
    created_audited: bool = True


KINDS = (
    Kind(
        "refill",
        frozenset({"refill.perform", "refill.verify"}),
        lambda: Refill.objects.select_related("program__prescription").prefetch_related("drugs"),
        _refill,
        ("refill.perform", "performed_by"),
        {"verified_by": "", "verified_at": None},
    ),
    Kind(
        "program",
        frozenset({"program.change"}),
        lambda: Program.objects.select_related("prescription"),
        _program,
        created_audited=False,  # a refill's program is audited with the refill
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
        lambda: Prescription.objects.prefetch_related("drugs", "steps"),
        _prescription,
        ("prescription.create", "prescribed_by"),
    ),
    Kind("implant", frozenset({"implant.register"}), lambda: Implant.objects.all(), _implant),
    Kind(
        "patient",
        frozenset({"patient.create", "patient.update"}),
        lambda: Patient.objects.all(),
        _patient,
    ),
)


def audited_states() -> dict[str, dict[str, dict[str, tuple[object, int]]]]:
    """kind -> object id -> field -> (the newest value the trail recorded, its entry's seq)."""
    by_kind = {kind.name: kind for kind in KINDS}
    states: dict[str, dict[str, dict[str, tuple[object, int]]]] = {k: {} for k in by_kind}
    actions = {action for kind in KINDS for action in kind.actions}
    rows = (
        AuditEntry.objects.filter(object_type__in=list(by_kind), action__in=actions)
        .order_by("seq")
        .values_list("seq", "actor", "action", "object_type", "object_id", "after")
        .iterator(chunk_size=2000)
    )
    for seq, actor, action, kind_name, object_id, after in rows:
        kind = by_kind[kind_name]
        if action not in kind.actions:
            continue
        state = states[kind_name].get(object_id)
        if state is None:
            state = states[kind_name][object_id] = {k: (v, seq) for k, v in kind.initially.items()}
        if isinstance(after, dict):
            state.update((name, (value, seq)) for name, value in after.items())
        if kind.actor_field and action == kind.actor_field[0]:
            state[kind.actor_field[1]] = (actor, seq)
    return states


def mismatches() -> list[str]:
    """Every way a record differs from its trail, each naming the record, the field, the value
    stored and the value audited (a patient's identifying fields by name only)."""
    states = audited_states()
    found: list[str] = []
    for kind in KINDS:
        audited = states[kind.name]
        seen: set[str] = set()
        for row in kind.rows().iterator(chunk_size=2000):
            key = str(row.pk)
            seen.add(key)
            state = audited.get(key)
            if state is None:
                if kind.created_audited:
                    found.append(
                        f"{kind.name} {key}: no audit entry records it (created, or its trail "
                        "deleted, outside the application)"
                    )
                continue
            found += _differences(kind.name, key, kind.render(row), state)
        found += [
            f"{kind.name} {key}: its trail records it (entry {min(s for _, s in state.values())}) "
            "but it is not in the database (deleted outside the application)"
            for key, state in audited.items()
            if key not in seen
        ]
    return found


def _differences(
    kind: str, key: str, stored: dict[str, Stored], state: dict[str, tuple[object, int]]
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
