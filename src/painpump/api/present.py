"""Records as the API shows them (quantities with their units, as core prints them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from painpump import clock
from painpump.clinic import locale
from painpump.clinic.actions.settings_service import TEST_PHASE_FIELDS, tolerance_of
from painpump.clinic.models import (
    AlarmReport,
    Appointment,
    Assessment,
    ClinicSettings,
    Episode,
    Implant,
    Incident,
    PathwayEvent,
    Patient,
    Prescription,
    PrescriptionCheck,
    Program,
    Readback,
    Refill,
)
from painpump.clinic.pathway_state import pathway_settings, state_of
from painpump.clinic.reads.dashboard import Dashboard, RefillRow
from painpump.clinic.reads.drug_units import entry_texts, incident_summary, principal_of
from painpump.clinic.reads.overrides_given import (
    prescription_overrides,
    program_overrides,
    refill_overrides,
)
from painpump.clinic.reads.patient_facts import origin_choice, origin_override
from painpump.clinic.reads.prescription_api import incident_of, refused_of
from painpump.clinic.reads.prescription_history import (
    Change,
    PrescriptionPreview,
    Programming,
    RefusedAccept,
    Version,
)
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.reads.refill_record import priming_of
from painpump.clinic.reads.therapy_queries import ImplantView
from painpump.core import catalog, readback_tolerance
from painpump.core import prescription as rx
from painpump.core.decision import Decision, Finding
from painpump.core.mri import mri_guidance
from painpump.core.overrides import GivenOverride
from painpump.core.trial_phase import planned_test_phase
from painpump.core.units import Q, json_number, of

TYPED = frozenset({"entered"})
"""What a clinician typed, kept as typed in the API's records of entries."""
# The unit each assessment kind's value is stored in; scores have none.
ASSESSMENT_UNITS = {"omed_mg_per_day": "mg/day"}


def _fields(record: object, *names: str) -> dict[str, Any]:
    """The record's attributes of these names, each shown as it is stored."""
    return {name: getattr(record, name) for name in names}


def patient(record: Patient) -> dict[str, Any]:
    return {
        **_fields(record, "id", "mrn", "family_name", "given_name", "birth_date"),
        "archived": record.archived_at is not None,
        "weight_kg": None if record.weight_kg is None else json_number(Decimal(record.weight_kg)),
        **_fields(record, "opioid_status", "psychosis_history", "life_expectancy_months"),
        **_fields(record, "version", "created_at", "updated_at"),
    }


def episode(record: Episode) -> dict[str, Any]:
    choice = origin_choice(record)
    basis = "override" if origin_override(record) is not None else "indication"
    return {
        **_fields(
            record,
            *("id", "patient_id", "indication", "stage", "referred_on", "injury_date"),
            *("closed_at", "closed_reason", "version"),
        ),
        "origin": choice.origin.value if choice.origin else None,
        "origin_basis": basis if choice.origin else None,
        "origin_reason": choice.reason,
        "origin_override": record.origin_override,
        "test_phase": test_phase(record),
    }


def test_phase(record: Episode) -> dict[str, Any] | None:
    """The episode's test-phase plan (core.trial_phase), days left from the clinic's today."""
    settings = pathway_settings(locale.clinic_settings())
    verified = settings.test_phase_days_verified
    today = locale.clinic_today(clock.now())
    plan = planned_test_phase(state_of(record), today, verified=verified)
    if plan is None:
        return None
    return {
        "severity": plan.severity.value,
        **{k: getattr(plan, k) for k in ("planned_days", "started_on", "planned_end")},
        **{k: getattr(plan, k) for k in ("rehabilitation", "ended_on", "days_left")},
        "verified": plan.verified,
        "source": plan.source,
    }


def assessment(record: Assessment) -> dict[str, Any]:
    unit = ASSESSMENT_UNITS.get(record.kind)
    value: Any = Q(record.value, unit).as_json() if unit else json_number(record.value)
    return {
        **_fields(record, "id", "episode_id", "kind", "limb"),
        "value": value,
        **_fields(record, "taken_at", "recorded_at"),
        "recorded_by": record.recorded_by.get_username(),
        "note": record.note,
    }


def _q(canonical: Decimal | None, unit: str) -> dict[str, Any] | None:
    """A stored canonical value (its unit is in the field name) as {"value", "unit"}."""
    return None if canonical is None else of(canonical, unit).as_json()


def _name(record: Patient) -> str:
    return f"{record.family_name}, {record.given_name}"


def decision(found: Decision) -> dict[str, Any]:
    return found.as_json()


def step(record: Episode, found: Decision) -> dict[str, Any]:
    return {"episode": episode(record), **decision(found)}


def pathway_event(record: PathwayEvent) -> dict[str, Any]:
    return _fields(
        record,
        *("action", "facts", "acknowledged", "stage_before", "stage_after"),
        *("recorded_at", "recorded_by"),
    )


def _findings(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored findings as FindingOut (with their tier; null in one kept before tiers were)."""
    return [Finding.from_json(f).as_json() for f in stored]


def _overrides(given: tuple[GivenOverride, ...]) -> list[dict[str, str | bool]]:
    """Overrides as OverrideOut (a bare rule of an older record worded as such)."""
    return [o.as_json() for o in given]


STOPPED_WORDS = "stopped after the bolus: pumps nothing"
"""A stopped bolus's words: the time it stopped is `ends_at` (a timestamp for the caller to show
in its zone), never written into words."""


def _program_bolus(record: Program, prescribed: rx.Prescription) -> dict[str, Any] | None:
    """A single bolus as the pump gives it from the prescribed fluid, running or stopped (None:
    the pump runs a basal program)."""
    bolus = prescribed.program.bolus
    if bolus is None:
        return None
    name, concentration = prescribed.principal
    given = bolus.delivery(name, concentration.canonical)
    run = bolus.run(record.started_at, clock.now())
    stopped = run.state is rx.BolusState.STOPPED
    return {
        "dose": given.dose.as_json(),
        "duration": of(Decimal(bolus.duration_s), "s").as_json(),
        "volume": given.volume.as_json(),
        "rate": given.rate.as_json(),
        "state": run.state.value,
        "ends_at": run.ends_at,
        "words": STOPPED_WORDS if stopped else given.words,
    }


def _priming(record: Refill) -> dict[str, Any] | None:
    """The priming bolus the refill ran: the path's volume, its duration and what it pushed of
    each drug of the fluid before (None: none ran)."""
    primed = priming_of(record)
    if primed is None:
        return None
    return {
        "volume": primed.volume.as_json(),
        "duration": _q(Decimal(primed.duration_s), "min"),
        "pushed": [{"drug": name, "dose": dose.as_json()} for name, dose in primed.pushed],
        "words": primed.words(),
    }


def program(record: Program) -> dict[str, Any]:
    """The program the pump runs: its prescription's days, single bolus and patient boluses (one
    programmed before prescriptions: continuous at its dose, no patient boluses)."""
    prescribed = as_core(record.prescription) if record.prescription else None
    runs = (
        rx.PrescribedProgram.continuous(of(record.dose_mcg_per_day, "mcg/day"))
        if prescribed is None
        else prescribed.program
    )
    bolus = None if prescribed is None else _program_bolus(record, prescribed)
    return {
        "id": record.id,
        "prescription": record.prescription.number if record.prescription else None,
        "kind": runs.kind.label,
        "dose": _q(Decimal(0) if bolus else record.dose_mcg_per_day, "mcg/day"),
        "rate": _q(Decimal(0) if bolus else record.rate_ml_per_day, "mL/day"),
        "bolus": bolus,
        "days": _days(runs),
        "ptm": None if prescribed is None else _ptm(prescribed.ptm),
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "prescribed_by": record.prescribed_by,
        "programmed_by": record.programmed_by,
        "phase": record.phase,
        "warnings": _findings(record.warnings),
        "overrides": _overrides(program_overrides(record)),
    }


def _drugs(record: Refill) -> list[dict[str, Any]]:
    return [
        {"drug": d.drug, "concentration": _q(d.concentration_mcg_per_ml, "mcg/mL")}
        for d in record.drugs.all()
    ]


def refill(record: Refill) -> dict[str, Any]:
    reconciliation = None
    if record.expected_ml is not None and record.difference_ml is not None:
        assert record.aspirated_ml is not None and record.delivery_error_percent is not None
        reconciliation = {
            "expected": _q(record.expected_ml, "mL"),
            "aspirated": _q(record.aspirated_ml, "mL"),
            "difference": _q(record.difference_ml, "mL"),
            "delivery_error_percent": json_number(record.delivery_error_percent),
            "finding": record.finding,
            "twin_expected": None
            if record.twin_least_ml is None or record.twin_most_ml is None
            else {
                "least": _q(record.twin_least_ml, "mL"),
                "most": _q(record.twin_most_ml, "mL"),
            },
        }
    bridge = None
    if record.bridge_volume_ml is not None and record.bridge_rate_ml_per_day is not None:
        bridge = {
            "volume": _q(record.bridge_volume_ml, "mL"),
            "rate": _q(record.bridge_rate_ml_per_day, "mL/day"),
        }
    return {
        **_fields(record, "id", "implant_id", "idempotency_key", "performed_at", "performed_by"),
        "reconciliation": reconciliation,
        "drugs": _drugs(record),
        "volume": _q(record.volume_ml, "mL"),
        "lot": record.lot,
        "program": program(record.program),
        "bridge": bridge,
        "priming": _priming(record),
        **_fields(record, "alarm_at", "empty_at", "refill_by", "limited_by"),
        "warnings": _findings(record.warnings),
        "overrides": _overrides(refill_overrides(record, record.program.prescription)),
        **_fields(record, "needs_verification", "verified_by", "verified_at"),
        **_fields(record, "ptm_requests", "ptm_given"),
    }


def implant(view: ImplantView) -> dict[str, Any]:
    record: Implant = view.implant
    return {
        "id": record.id,
        "episode_id": record.episode_id,
        "patient_id": record.episode.patient_id,
        **_fields(record, "pump_model", "pump_serial", "catheter_model"),
        "catheter_length": _q(record.catheter_length_cm, "cm"),
        "dead_volume": _q(record.dead_volume_ml, "mL"),
        "alarm_volume": _q(record.alarm_volume_ml, "mL"),
        **_fields(record, "implanted_on", "explanted_on", "alarm_at", "empty_at", "refill_by"),
        **_fields(record, "high_risk", "version"),
        "program": program(view.program) if view.program else None,
        "drugs": _drugs(view.last_refill) if view.last_refill else [],
        "last_refill": refill(view.last_refill) if view.last_refill else None,
        "mri": mri(view),
    }


def mri(view: ImplantView) -> dict[str, Any]:
    """The MRI instructions of the implant's pump (core.mri), with the baclofen withdrawal watch
    when its last fill holds baclofen."""
    held = tuple(d.drug for d in view.last_refill.drugs.all()) if view.last_refill else ()
    guidance = mri_guidance(catalog.pump(view.implant.pump_model, "pump_model"), held)
    return {
        "behaviour": guidance.behaviour,
        "summary": guidance.summary,
        "check_labeling": guidance.check_labeling,
        "instructions": [
            {"when": i.when.value, "text": i.text, "source": i.source, "verified": i.verified}
            for i in guidance.instructions
        ],
    }


def alarm(record: AlarmReport) -> dict[str, Any]:
    return {
        "id": record.id,
        "implant_id": record.implant_id,
        "patient_id": record.implant.episode.patient_id,
        "patient": _name(record.implant.episode.patient),
        **_fields(record, "kind", "reported_at", "recorded_by", "note"),
        "high_risk": record.implant.high_risk,
        **_fields(record, "acknowledged_at", "acknowledged_by", "action_taken"),
    }


def appointment(record: Appointment) -> dict[str, Any]:
    return {
        "id": record.id,
        "patient_id": record.patient_id,
        "patient": _name(record.patient),
        **_fields(record, "kind", "on", "due_by", "starts_at", "minutes", "status", "overdue"),
        **_fields(record, "late_reason", "note", "version"),
    }


def _refill_row(row: RefillRow) -> dict[str, Any]:
    return {
        **_fields(row, "patient_id", "patient", "implant_id", "pump_model"),
        "drugs": list(row.drugs),
        **_fields(row, "alarm_at", "refill_by"),
        "priority": {
            "overdue": row.priority.overdue,
            "days_to_alarm": row.priority.days_to_alarm,
            "high_risk": row.priority.high_risk,
            "reasons": [f.as_json() for f in row.priority.reasons],
        },
        "visit": vars(row.visit) if row.visit is not None else None,
    }


def dashboard(board: Dashboard) -> dict[str, Any]:
    return {
        "today": board.today,
        "overdue": [_refill_row(r) for r in board.overdue],
        "due_today": [_refill_row(r) for r in board.due_today],
        "due_week": [_refill_row(r) for r in board.due_week],
        "at_risk": [_refill_row(r) for r in board.at_risk],
        "test_phases": [vars(r) for r in board.test_phases],
        "awaiting_implant": [vars(r) for r in board.awaiting_implant],
        "nearing_replacement": [vars(r) for r in board.nearing_replacement],
        "unverified": [vars(r) for r in board.unverified],
        "awaiting_check": [{**vars(r), "drugs": list(r.drugs)} for r in board.awaiting_check],
        "open_alarms": [vars(r) for r in board.open_alarms],
        "open_incidents": [vars(r) for r in board.open_incidents],
        "stopped": [vars(r) for r in board.stopped],
        "awaiting_readback": [vars(r) for r in board.awaiting_readback],
    }


def clinic_settings(record: ClinicSettings) -> dict[str, Any]:
    return {
        **_fields(record, "implant_wait_days", "stay_min_days", "stay_max_days"),
        **_fields(record, *TEST_PHASE_FIELDS),
        "test_phase_days_verified": pathway_settings(record).test_phase_days_verified,
        **_fields(record, "refill_margin_days", "country", "subdivision", "dosing_region"),
        "time_zone": record.time_zone,
        "open_weekdays": sorted(record.open_weekdays),
        "opens_at": record.opens_at.isoformat("minutes"),
        "closes_at": record.closes_at.isoformat("minutes"),
        **_fields(record, "date_format", "time_format", "refill_visit_minutes"),
        **_fields(record, "refill_capacity_per_day", "version"),
        "readback_tolerance": tolerance_of(record).as_json(),
        "readback_tolerance_verified": readback_tolerance.tolerance().verified,
    }


def _days(program: rx.PrescribedProgram) -> list[dict[str, Any]]:
    """The seven days of a program, Monday first, each with its steps and what it gives (a
    single bolus: none)."""
    if program.bolus is not None:
        return []
    return [
        {
            "day": name,
            "steps": [{"start": s.start, "dose": s.dose.as_json()} for s in day],
            "dose": of(program.day_dose(weekday), "mcg/day").as_json(),
        }
        for weekday, (name, day) in enumerate(zip(rx.WEEKDAYS, program.days, strict=True))
    ]


def prescribed_program(program: rx.PrescribedProgram) -> dict[str, Any]:
    return {
        "kind": program.kind.value,
        "days": _days(program),
        "bolus": None
        if program.bolus is None
        else {
            "dose": program.bolus.dose.as_json(),
            "duration": of(Decimal(program.bolus.duration_s), "s").as_json(),
        },
    }


def _ptm(ptm: rx.PatientBolus | None) -> dict[str, Any] | None:
    if ptm is None:
        return None
    return {
        "dose": ptm.dose.as_json(),
        "duration": of(Decimal(ptm.duration_s), "s").as_json(),
        "lockout": of(Decimal(ptm.lockout_s), "s").as_json(),
        "max_per_day": ptm.max_per_day,
    }


def _refused(found: tuple[RefusedAccept, ...]) -> list[dict[str, Any]]:
    return [{"by": r.by, "at": r.at, "differed": [vars(d) for d in r.differed]} for r in found]


def prescription(
    record: Prescription, refused: tuple[RefusedAccept, ...] | None = None
) -> dict[str, Any]:
    """`refused`: the accepts refused at its double-check, when the caller has read them."""
    value = as_core(record)
    return {
        **_fields(record, "id", "implant_id", "number", "status"),
        "drugs": [{"drug": name, "concentration": conc.as_json()} for name, conc in value.drugs],
        "program": prescribed_program(value.program),
        "ptm": _ptm(value.ptm),
        **_doses(value),
        **_fields(
            record,
            "phase",
            "fluid_change",
            "reason",
            "prescribed_by",
            "prescribed_at",
            "high_alert",
        ),
        "supersedes": record.supersedes.number if record.supersedes else None,
        "warnings": _findings(record.warnings),
        "overrides": _overrides(prescription_overrides(record)),
        **_fields(record, "checked_by", "checked_at"),
        "refused_accepts": _refused(refused_of(record) if refused is None else refused),
        "implant_version": record.implant.version,
    }


def _changes(found: tuple[Change, ...]) -> list[dict[str, str]]:
    return [vars(c) for c in found]


def _compared(found: list[dict[str, Any]], prescribed: Prescription | None) -> list[dict[str, Any]]:
    """Mismatches with what they were compared with in the drugs' units; `entered` stays as the
    clinician typed it (a record of the entry)."""
    principal = principal_of(prescribed)
    return [entry_texts(m, principal, typed=TYPED) for m in found]


def check(record: PrescriptionCheck) -> dict[str, Any]:
    return {
        **_fields(record, "id", "prescription_id", "checked_by", "checked_at", "accepted"),
        "comment": record.comment,
        "entered": record.entered or None,  # empty: a rejection with the comment alone
        "mismatches": _compared(record.mismatches, record.prescription),
    }


def checked(record: PrescriptionCheck) -> dict[str, Any]:
    """A double-check with the prescription it decided."""
    return {**check(record), "prescription": prescription(record.prescription)}


def readback(record: Readback) -> dict[str, Any]:
    opened = incident_of(record)
    return {
        **_fields(record, "id", "program_id", "read_by", "read_at", "matches", "entered"),
        "mismatches": _compared(record.mismatches, record.program.prescription),
        "incident_id": opened.id if opened is not None else None,
    }


def _programming(found: Programming) -> dict[str, Any]:
    return {
        "program_id": found.program.id,
        "at": found.program.started_at,
        "by": found.program.programmed_by,
        "at_refill": found.at_refill,
        "state": found.state,
        "readbacks": [readback(r) for r in found.readbacks],
    }


def prescription_version(found: Version) -> dict[str, Any]:
    return {
        **prescription(found.record, found.refused),
        "changes": _changes(found.changes),
        "checks": [check(c) for c in found.checks],
        "programmed": [_programming(p) for p in found.programmed],
    }


def prescription_preview(found: PrescriptionPreview) -> dict[str, Any]:
    value = found.prescription
    return {
        "version": found.version,
        "stop": found.stop.as_dict() if found.stop is not None else None,
        "warnings": [w.as_json() for w in found.warnings],
        "phase": found.phase,
        "changes": _changes(found.changes),
        "replaces": found.replaces.number if found.replaces is not None else None,
        "needs_double_check": found.needs_double_check,
        "program": prescribed_program(value.program),
        **_doses(value),
        "projected": None
        if found.dates is None
        else {
            "alarm_at": found.dates.alarm_at,
            "empty_at": found.dates.empty_at,
            "refill_by": found.dates.refill_by,
            "limited_by": found.dates.limited_by.value,
        },
    }


def _doses(value: rx.Prescription) -> dict[str, Any]:
    """A basal program's largest day and worst day; a single bolus's delivery instead (its
    daily doses null: it gives no basal dose)."""
    delivery = value.bolus_delivery
    if delivery is not None:
        return {
            "daily_dose": None,
            "worst_day": None,
            "bolus": {
                "dose": delivery.dose.as_json(),
                "duration": of(Decimal(delivery.duration_s), "s").as_json(),
                "volume": delivery.volume.as_json(),
                "rate": delivery.rate.as_json(),
                "words": delivery.words,
            },
        }
    return {
        "daily_dose": value.daily_dose.as_json(),
        "worst_day": value.worst_day.as_json(),
        "bolus": None,
    }


def incident(record: Incident) -> dict[str, Any]:
    return {
        **_fields(record, "id", "patient_id", "implant_id", "kind", "opened_at", "opened_by"),
        "summary": incident_summary(record),
        **_fields(record, "details", "closed_at", "closed_by", "resolution"),
    }
