"""A pump's settings history, like a programmer's session log: every prescription version with
each setting before and after, who prescribed it, who double-checked it (and what they entered,
and each accept refused because entries differed, from the audit trail), when and by whom the
pump was programmed with it, and the programmer's readbacks; and a prescription looked at before
it is signed (core.prescription_decision, audited)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch

from painpump.clinic import audit
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.models import (
    AuditEntry,
    Implant,
    Prescription,
    PrescriptionCheck,
    Program,
    Readback,
)
from painpump.clinic.reads import drug_units, prescriptions, pump_history
from painpump.clinic.reads.overrides_given import prescription_overrides
from painpump.clinic.reads.pump_state import dosing_rules, judged_state
from painpump.clinic.reads.refill_preview import record_preview
from painpump.clinic.roles import require
from painpump.core import prescription as rx
from painpump.core.decision import Finding
from painpump.core.errors import Refusal
from painpump.core.overrides import GivenOverride
from painpump.core.prescription_decision import PrescriptionDecision, decide_prescription
from painpump.core.pump_twin import TwinDates, with_program


@dataclass(frozen=True)
class Change:
    """One setting that differs from the version before (text with units, "" where unset)."""

    setting: str
    before: str
    after: str


@dataclass(frozen=True)
class Programming:
    """The pump programmed with a prescription: when, by whom, at a refill or between refills,
    and the readbacks entered after it (the last decides whether the session completed)."""

    program: Program
    at_refill: bool
    readbacks: tuple[Readback, ...]

    @property
    def state(self) -> str:
        """awaiting readback; stopped (a readback differed, and its incident is still open, or
        the last readback differs); complete (the last readback matches and every incident a
        readback opened has been closed by a physician)."""
        if not self.readbacks:
            return "awaiting readback"
        matches = self.readbacks[-1].matches
        return "complete" if matches and not self.incident_open else "stopped"

    @property
    def incident_open(self) -> bool:
        """A readback differed and the incident it opened is not closed yet."""
        return any(
            not r.matches and (not hasattr(r, "incident") or r.incident.closed_at is None)
            for r in self.readbacks
        )

    @property
    def state_words(self) -> str:
        """The state as the pages word it: a stopped session says why, so a matching readback
        never reads as a complete session while its incident is open."""
        if self.state != "stopped":
            return self.state
        if self.readbacks[-1].matches:
            return f"stopped: {INCIDENT_OPEN}; the latest readback matches"
        also = f"; {INCIDENT_OPEN}" if self.incident_open else ""
        return f"stopped: the latest readback differs{also}"


INCIDENT_OPEN = "incident open (a physician must close it)"


ACCEPT_REFUSED = "prescription.accept_refused"
"""The audit action of an accept refused at the double-check because entries differed."""
ACCEPTS_STOPPED = "prescription.accepts_stopped"
"""The audit action, once per checker and prescription, of accepts stopped before comparing
after too many were refused (clinic.actions.prescriptions.REFUSED_ACCEPTS_MAX)."""


def refused_by(patient_id: UUID, prescription_id: UUID, actor: str) -> tuple[int, bool]:
    """How many of `actor`'s accepts were refused at the prescription's double-check, and
    whether their further accepts were stopped, from the audit trail."""
    actions = list(
        AuditEntry.objects.filter(
            patient_id=patient_id,
            action__in=[ACCEPT_REFUSED, ACCEPTS_STOPPED],
            object_type="prescription",
            object_id=str(prescription_id),
            actor=actor,
        ).values_list("action", flat=True)
    )
    return actions.count(ACCEPT_REFUSED), ACCEPTS_STOPPED in actions


@dataclass(frozen=True)
class Differed:
    """An entry of a refused accept that differed from the prescription, as it was entered."""

    field: str
    entered: str


@dataclass(frozen=True)
class RefusedAccept:
    """An accept refused at the double-check: who tried, when, and each entry that differed (the
    prescribed values are not kept)."""

    by: str
    at: datetime
    differed: tuple[Differed, ...]


def refused_accepts(
    patient_id: UUID, prescription_ids: Iterable[UUID]
) -> dict[str, tuple[RefusedAccept, ...]]:
    """The accepts refused for each of the patient's prescriptions, oldest first, by the id's
    text, from their audit entries (one query, in the trail's patient index)."""
    found: dict[str, list[RefusedAccept]] = {}
    for object_id, actor, at, after in (
        AuditEntry.objects.filter(
            patient_id=patient_id,
            action=ACCEPT_REFUSED,
            object_type="prescription",
            object_id__in=[str(i) for i in prescription_ids],
        )
        .order_by("seq")
        .values_list("object_id", "actor", "at", "after")
    ):
        kept = after if isinstance(after, dict) else {}
        attempted = kept.get("attempted_at")
        found.setdefault(object_id, []).append(
            RefusedAccept(
                actor,
                datetime.fromisoformat(attempted) if isinstance(attempted, str) else at,
                tuple(Differed(d["field"], d["entered"]) for d in kept.get("differed", [])),
            )
        )
    return {key: tuple(rows) for key, rows in found.items()}


@dataclass(frozen=True)
class Version:
    record: Prescription
    prescription: rx.Prescription
    changes: tuple[Change, ...]
    checks: tuple[PrescriptionCheck, ...]
    programmed: tuple[Programming, ...]
    refused: tuple[RefusedAccept, ...] = ()
    """The accepts refused at its double-check (entries that did not match), oldest first."""
    replaced: rx.Prescription | None = None
    """The version it was compared with (None: the pump's first)."""
    basis: int | None = None
    """That version's number."""

    @property
    def shown_changes(self) -> tuple[Change, ...]:
        """Its changes as the pages show them, with the doses core derives (shown_settings)."""
        return changes(self.replaced, self.prescription, shown_settings)

    @property
    def doses(self) -> dict[str, str]:
        return doses_of(self.prescription)

    @property
    def refused_words(self) -> str:
        """How many accepts were refused: "2 entries that did not match" ("" for none)."""
        count = len(self.refused)
        if not count:
            return ""
        return f"{count} {'entry' if count == 1 else 'entries'} that did not match"

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(Finding.from_json(w) for w in self.record.warnings)

    @property
    def overrides(self) -> tuple[GivenOverride, ...]:
        return prescription_overrides(self.record)


def settings_of(prescription: rx.Prescription) -> dict[str, str]:
    """Every setting of a prescription as text with its unit, by name, in the order shown: each
    drug's quantities in its unit (clinic.reads.drug_units), whatever unit they were typed in."""
    shown: dict[str, str] = {}
    for index, (name, conc) in enumerate(prescription.drugs):
        shown[f"drug {index + 1}"] = f"{name} {drug_units.shown(name, conc)}"
    shown["program"] = prescription.program.kind.label
    principal = prescription.principal[0]
    delivery = prescription.bolus_delivery
    if delivery is not None:
        shown[SINGLE_BOLUS] = drug_units.bolus_delivery(principal, delivery)
    elif prescription.program.kind is not rx.ProgramKind.STOPPED:
        shown[DAILY_DOSE] = drug_units.shown(principal, prescription.daily_dose)
        for weekday, day in zip(rx.WEEKDAYS, prescription.program.days, strict=True):
            shown[f"steps {weekday}"] = drug_units.steps(principal, day)
    ptm = prescription.ptm
    shown["patient bolus"] = "off" if ptm is None else drug_units.shown(principal, ptm.dose)
    if ptm is not None:
        shown["bolus duration"] = rx.duration_words(ptm.duration_s)
        shown["lockout"] = rx.duration_words(ptm.lockout_s)
        shown["boluses a day"] = str(ptm.max_per_day)
    shown["phase"] = prescription.phase.value if prescription.phase else ""
    if prescription.fluid_change is not rx.FluidChange.NONE:
        shown[FLUID_CHANGE] = FLUID_CHANGE_WORDS[prescription.fluid_change]
    return shown


def doses_of(prescription: rx.Prescription) -> dict[str, str]:
    """The daily doses core derives from a basal program, in the principal drug's unit: its
    largest day, a flex program's weekly average and, with patient boluses, the worst day with
    every allowed bolus given (a single bolus or a stopped pump: none)."""
    if prescription.program.kind in (rx.ProgramKind.SINGLE_BOLUS, rx.ProgramKind.STOPPED):
        return {}
    principal = prescription.principal[0]
    doses = {DAILY_DOSE: drug_units.shown(principal, prescription.daily_dose)}
    if prescription.program.kind is rx.ProgramKind.FLEX:
        doses[WEEKLY_AVERAGE] = drug_units.shown(principal, prescription.program.average_day)
    if prescription.ptm is not None:
        doses[WORST_DAY] = drug_units.shown(principal, prescription.worst_day)
    return doses


def shown_settings(prescription: rx.Prescription) -> dict[str, str]:
    """settings_of as the pages show it: the doses core derives (doses_of) next to the largest
    day. The audit trail and the API keep settings_of's."""
    shown: dict[str, str] = {}
    for name, value in settings_of(prescription).items():
        shown[name] = value
        if name == DAILY_DOSE:
            shown |= doses_of(prescription)
    return shown


DAILY_DOSE = "daily dose (largest day)"
WEEKLY_AVERAGE = "weekly average daily dose"
WORST_DAY = "worst day with every patient bolus"
BASAL = frozenset(
    {DAILY_DOSE, WEEKLY_AVERAGE, WORST_DAY, *(f"steps {weekday}" for weekday in rx.WEEKDAYS)}
)
"""The settings of a basal program, which a single bolus or a stopped pump has none of."""
SINGLE_BOLUS = "single bolus"
"""The setting a single bolus shows instead of a basal program's daily dose and steps."""
FLUID_CHANGE = "when the fluid changes"
FLUID_CHANGE_WORDS = {
    rx.FluidChange.NONE: "the old fluid at the new rate",
    rx.FluidChange.BRIDGE: "bridge",
    rx.FluidChange.PRIMING: "priming bolus",
}


def changes(
    before: rx.Prescription | None,
    after: rx.Prescription,
    settings: Callable[[rx.Prescription], dict[str, str]] = settings_of,
) -> tuple[Change, ...]:
    """Each setting (as `settings` words them) that differs from the version before."""
    old = settings(before) if before is not None else {}
    new = settings(after)
    # how the old fluid was delivered belongs to the change that ran it, not to the next one
    old.pop(FLUID_CHANGE, None)
    if DAILY_DOSE not in new:
        # a bolus or a stop gives no basal program: the old daily dose and steps are not
        # compared (a bolus's row replaces them, a stop's program row says it)
        old = {name: value for name, value in old.items() if name not in BASAL}
    names = list(new) + [name for name in old if name not in new]
    return tuple(
        Change(name, old.get(name, ""), new.get(name, ""))
        for name in names
        if old.get(name, "") != new.get(name, "")
    )


def versions(implant: Implant) -> tuple[Version, ...]:
    """The pump's prescriptions, newest first, each compared with the settings the pump ran when
    it was signed: the newest version programmed by then (a draft withdrawn or rejected before
    programming is never the basis), else the one it replaced."""
    records = list(
        implant.prescriptions.order_by("number").prefetch_related(
            "drugs",
            "steps",
            "checks",
            Prefetch(
                "programs",
                queryset=Program.objects.order_by("started_at").prefetch_related(
                    "readbacks__incident", "refills"
                ),
            ),
        )
    )
    core = {record.id: prescriptions.as_core(record) for record in records}
    refused = refused_accepts(implant.episode.patient_id, core) if records else {}
    found = []
    for index, record in enumerate(records):
        ran = [
            r
            for r in records[:index]
            if any(p.started_at <= record.prescribed_at for p in r.programs.all())
        ]
        basis = ran[-1] if ran else next((r for r in records if r.id == record.supersedes_id), None)
        replaced = core[basis.id] if basis is not None else None
        found.append(
            Version(
                record,
                core[record.id],
                changes(replaced, core[record.id]),
                tuple(record.checks.all()),
                tuple(
                    Programming(p, bool(p.refills.all()), tuple(p.readbacks.all()))
                    for p in record.programs.all()
                ),
                refused.get(str(record.id), ()),
                replaced,
                basis.number if basis is not None else None,
            )
        )
    return tuple(reversed(found))


@transaction.atomic
def prescription_versions(user: User, implant_id: UUID) -> tuple[Version, ...]:
    """The settings history of a pump, for its chart or the API (read audited)."""
    actor = require(user, "patient.read")
    implant = get_or_not_found(Implant.objects.select_related("episode"), implant_id)
    audit.record(
        actor,
        "prescription.read",
        "implant",
        implant.id,
        patient_id=implant.episode.patient_id,
    )
    return versions(implant)


@dataclass(frozen=True)
class PrescriptionPreview:
    """A prescription as core judges it before it is signed: the hard limit that stops it, or
    the warnings that each need a reason; and what it changes against the one it replaces."""

    implant: Implant
    version: int
    prescription: rx.Prescription
    stop: Refusal | None
    warnings: tuple[Finding, ...]
    phase: str
    changes: tuple[Change, ...]
    replaces: Prescription | None
    dates: TwinDates | None = None
    """The twin's dates were the pump programmed with it now on its current fill (None: a
    refused prescription, a pump never filled, or another fluid, which a refill brings)."""
    replaced: rx.Prescription | None = None
    """`replaces` as core's value."""

    @property
    def shown_changes(self) -> tuple[Change, ...]:
        """What changes as the review shows it, with the doses core derives (shown_settings)."""
        return changes(self.replaced, self.prescription, shown_settings)

    @property
    def doses(self) -> dict[str, str]:
        return doses_of(self.prescription)

    @property
    def needs_double_check(self) -> bool:
        """High-alert itself, or replacing a high-alert one (stopping baclofen, say)."""
        replaced = self.replaces is not None and self.replaces.high_alert
        return self.prescription.high_alert or replaced


@transaction.atomic
def preview_prescription(
    user: User, implant_id: UUID, prescription: rx.Prescription, *, at: datetime
) -> PrescriptionPreview:
    """What `prescription` would be judged as if signed at `at`, without signing it (physicians
    only, as prescribe). Malformed entries are refused (Refusal); a hard limit is `stop`."""
    actor = require(user, "program.prescribe")
    implant = get_or_not_found(Implant.objects.select_related("episode__patient"), implant_id)
    decision = decide_prescription(
        judged_state(implant, prescription.program), prescription, at, dosing_rules()
    )
    replaces = prescriptions.newest_open(implant) or prescriptions.in_force(implant)
    before = prescriptions.as_core(replaces) if replaces is not None else None
    preview = PrescriptionPreview(
        implant=implant,
        version=implant.version,
        prescription=decision.prescription,
        stop=decision.stop,
        warnings=decision.warnings,
        phase=decision.phase.value,
        changes=changes(before, decision.prescription),
        replaces=replaces,
        dates=_projected(implant, decision, at),
        replaced=before,
    )
    record_preview(actor, "prescription.preview", implant, preview.stop, preview.warnings)
    return preview


def _projected(implant: Implant, decision: PrescriptionDecision, at: datetime) -> TwinDates | None:
    """The pump's twin run with the prescription programmed at `at` on the fluid it holds."""
    if decision.stop is not None:
        return None
    history = pump_history.history_of(implant)
    drugs = tuple((name, conc.canonical) for name, conc in decision.prescription.drugs)
    if not history.fills or history.fills[-1].drugs != drugs:
        return None
    return pump_history.twin_dates(with_program(history, at, decision.prescription), at)
