"""Implants and refills, each one transaction: the reconciliation of what was aspirated against
what the pump expected, the drug-library, device and guideline checks of the new fill and
program (stop, or warn and require an acknowledgement), the bridge after a concentration change,
the projection to the next refill and its proposed appointment, the four-eyes flag, the audit
entry. Every number comes from painpump.core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit, library, refill_visits
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Appointment, Implant, Program, Refill, RefillDrug
from painpump.clinic.pathway import apply_step, locked_episode
from painpump.clinic.roles import require
from painpump.clinic.services import NotFound
from painpump.core import catalog, checks
from painpump.core.catalog import Limit
from painpump.core.decision import Finding, Verdict
from painpump.core.device_limits import check_rate, check_volume_fits
from painpump.core.dosing import dose_mcg_per_day, rate_ml_per_day
from painpump.core.errors import Refusal
from painpump.core.refill import (
    DeliveryFinding,
    RefillPlan,
    hours_between,
    plan_refill,
    programmed_since_fill,
    reconcile,
    stability_limit,
)
from painpump.core.units import Q, of, round_places
from painpump.core.volumes import Bridge, bridge

RULES = "painpump refill rules"
LIMITS = {"reservoir": "low-reservoir alarm", "stability": "drug's stability"}
"""What limits a refill-by date (core.refill.RefillPlan.limited_by), in words."""
CLOCK_TOLERANCE = timedelta(minutes=5)  # clocks of the recording devices may differ a little


@dataclass(frozen=True)
class Fill:
    """What goes into the reservoir: drugs with concentrations (principal first), volume, lot."""

    drugs: tuple[tuple[str, Q], ...]
    volume: Q
    lot: str


def _renamed(error: Refusal, field: str) -> Refusal:
    """A core refusal reported under the name of the API field that carried the value."""
    return replace(error, field=field)


def _of_drug(finding: Finding, drug: str) -> Finding:
    """An admixture's finding under its drug's name ("clonidine:max_concentration"), so that
    each drug's warning is read, and acknowledged, on its own."""
    return replace(finding, rule=f"{drug}:{finding.rule}", message=f"{drug}: {finding.message}")


def _about_concentration(finding: Finding) -> bool:
    """True when a stop is about the concentration (its rule, or a limit in an amount per mL,
    as the implausibility guard's), so the refusal names the concentration, not the dose."""
    return "concentration" in finding.rule or finding.limit.endswith("/mL")


def checked_fill(
    pump: catalog.Pump,
    fill: Fill,
    dose: Q,
    previous: Program | None,
    performed_at: datetime,
    origin: str | None,
    region: str | None,
    clinic_limits: Sequence[Limit] | None = None,
) -> tuple[Decimal, list[Finding]]:
    """The rate for the prescribed dose, and every finding of the drug-library and device checks,
    the clinic's own limits included (by default those in force, from clinic.library); a stop is
    raised as a Refusal with its rule, limit and source."""
    if not fill.drugs:
        raise Refusal(
            "drugs", "none", "at least one drug with its concentration", RULES, "is empty"
        )
    check_volume_fits(pump, fill.volume, "volume")
    concentration = fill.drugs[0][1]
    rate = rate_ml_per_day(dose.canonical, concentration.canonical, "drugs[0].concentration")
    findings: list[Finding] = []
    hours = None
    if previous is not None:
        hours = hours_between(previous.started_at, performed_at)
    if clinic_limits is None:
        clinic_limits = library.active_limits(name for name, _ in fill.drugs)
    for index, (name, conc) in enumerate(fill.drugs):
        drug_dose = dose if index == 0 else of(dose_mcg_per_day(rate, conc.canonical), "mcg/day")
        previous_dose = None
        if index == 0 and previous is not None:
            previous_dose = of(previous.dose_mcg_per_day, "mcg/day")
        try:
            decision = checks.check(
                name,
                conc,
                drug_dose,
                previous_dose=previous_dose,
                hours_since_change=hours,
                origin=origin,
                region=region,
                extra_limits=clinic_limits,
            )
        except Refusal as error:
            raise _renamed(error, f"drugs[{index}]") from None
        for finding in decision.findings:
            if finding.verdict is Verdict.STOP:
                raise Refusal(
                    f"drugs[{index}]" if _about_concentration(finding) else "dose",
                    f"{name} {conc}, {drug_dose}",
                    finding.limit,
                    finding.source,
                    f"is stopped by {finding.rule}: {finding.message}",
                )
        if len(fill.drugs) > 1:
            findings += [_of_drug(finding, name) for finding in decision.findings]
        else:
            findings += decision.findings
    # after the drug library, so a mg/mcg slip is named as such, not as a rate
    findings += check_rate(pump, of(rate, "mL/day"), "dose", str(dose))
    return rate, [f for f in findings if f.verdict is Verdict.WARN]


def require_acknowledged(warnings: list[Finding], acknowledged: frozenset[str]) -> None:
    missing = [w for w in warnings if w.rule not in acknowledged]
    if missing:
        first = missing[0]
        raise Refusal(
            "acknowledge",
            ", ".join(sorted(acknowledged)) or "nothing",
            "an acknowledgement of each warning: " + ", ".join(sorted({w.rule for w in missing})),
            first.source,
            f"is missing ({first.message})",
        )


def program_snapshot(program: Program | None, drugs: list[tuple[str, Decimal]]) -> dict[str, Any]:
    if program is None:
        return {}
    return {
        "dose": str(of(program.dose_mcg_per_day, "mcg/day")),
        "rate": str(of(program.rate_ml_per_day, "mL/day")),
        "drugs": [f"{name} {of(conc, 'mcg/mL')}" for name, conc in drugs],
    }


def _last_fill(implant: Implant) -> tuple[Refill | None, list[tuple[str, Decimal]]]:
    last = implant.refills.order_by("-performed_at").first()
    if last is None:
        return None, []
    return last, [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]


def _same_fill(refill: Refill, fill: Fill, dose: Q) -> bool:
    """True when `fill` and `dose` are those `refill` recorded (a retry of the same refill)."""
    drugs = [(d.drug, d.concentration_mcg_per_ml) for d in refill.drugs.all()]
    return (
        drugs == [(name, conc.canonical) for name, conc in fill.drugs]
        and refill.volume_ml == fill.volume.canonical
        and refill.lot == fill.lot.strip()
        and refill.program.dose_mcg_per_day == dose.canonical
    )


def plan_fill(
    implant: Implant,
    pump: catalog.Pump,
    fill: Fill,
    dose: Q,
    rate: Decimal,
    old_drugs: list[tuple[str, Decimal]],
    *,
    first_fill: bool,
    at: datetime,
    margin_days: Decimal,
    tz: tzinfo,
) -> tuple[Bridge | None, RefillPlan, list[Finding]]:
    """What a new fill leads to, computed by core once for the refill and for its preview: the
    bridge a change of concentration of the same drug needs (when the pump's dead volume is
    known), the drug's stability limit and its notes, and the pump's projection."""
    new_drugs = [(name, conc.canonical) for name, conc in fill.drugs]
    changed = bool(old_drugs) and new_drugs != old_drugs
    bridged = None
    if changed and old_drugs[0][0] == new_drugs[0][0] and implant.dead_volume_ml > 0:
        bridged = bridge(
            of(old_drugs[0][1], "mcg/mL"), fill.drugs[0][1], dose, of(implant.dead_volume_ml, "mL")
        )
    names = [name for name, _ in fill.drugs]
    products = {p.canonical for p in catalog.drug(names[0]).products}
    stability, notes = stability_limit(
        names, first_fill=first_fill, diluted=fill.drugs[0][1].canonical not in products
    )
    plan = plan_refill(
        pump,
        fill.volume,
        of(rate, "mL/day"),
        fill_at=at,
        alarm_volume=of(implant.alarm_volume_ml, "mL"),
        margin_days=margin_days,
        stability=stability,
        tz=tz,
    )
    return bridged, plan, list(notes)


@transaction.atomic
def perform_refill(
    user: User,
    implant_id: UUID,
    *,
    idempotency_key: str,
    performed_at: datetime,
    expected: Q | None,
    aspirated: Q | None,
    fill: Fill,
    dose: Q,
    acknowledge: frozenset[str] = frozenset(),
    origin: str | None = None,
) -> Refill:
    """Record a refill (or, with no expected/aspirated volumes, the first fill of an implant).
    Retrying with the same idempotency key returns the refill already recorded."""
    actor = require(user, "refill.perform")
    try:
        implant = Implant.objects.select_for_update().select_related("episode").get(id=implant_id)
    except Implant.DoesNotExist:
        raise NotFound(f"implant {implant_id}") from None
    # Looked up once the pump is locked: a concurrent retry with this key waited for the first
    # and gets its refill, rather than a refusal as a second refill.
    existing = Refill.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.implant_id != implant_id:
            raise Refusal(
                "idempotency_key",
                idempotency_key,
                "a key not used for another pump",
                RULES,
                "was used for another implant",
            )
        if not _same_fill(existing, fill, dose):
            raise Refusal(
                "idempotency_key",
                idempotency_key,
                "a new key for each refill (a retry sends the same drugs, volume, lot and dose)",
                RULES,
                "was used for a different refill",
            )
        return existing
    pump = catalog.pump(implant.pump_model, "pump_model")
    settings = clinic_settings()
    locale = locale_of(settings)
    region = settings.dosing_region
    previous = implant.programs.filter(ended_at__isnull=True).first()
    last, old_drugs = _last_fill(implant)
    if previous is not None and dose.canonical != previous.dose_mcg_per_day:
        require(user, "program.prescribe")
    present = clock.now()
    if performed_at > present + CLOCK_TOLERANCE:
        raise Refusal(
            "performed_at",
            performed_at.isoformat(),
            f"not in the future (now {present.isoformat(timespec='seconds')})",
            RULES,
            "is in the future: a refill is recorded when it is done",
        )
    if last is not None and performed_at <= last.performed_at:
        raise Refusal(
            "performed_at",
            performed_at.isoformat(),
            f"after the last refill ({last.performed_at.isoformat()})",
            RULES,
            "is out of order",
        )
    if previous is not None and performed_at < previous.started_at:
        raise Refusal(
            "performed_at",
            performed_at.isoformat(),
            f"after the start of the current program ({previous.started_at.isoformat()})",
            RULES,
            "is out of order",
        )
    rate, warnings = checked_fill(pump, fill, dose, previous, performed_at, origin, region)

    outcome: dict[str, Any] = {}
    if last is not None:
        if expected is None or aspirated is None:
            raise Refusal(
                "aspirated",
                "missing",
                "the expected and the aspirated residual volume",
                "south-shore-neurologic-itb-refill (refill procedure, step 3): drain the "
                "residual and compare with the programmer's expected volume",
                "is required at every refill",
            )
        delivered = programmed_since_fill(of(last.volume_ml, "mL"), expected)
        check = reconcile(pump, expected, aspirated, delivered)
        outcome = {
            "difference_ml": round_places(check.difference.canonical, 6),
            "delivery_error_percent": round_places(check.delivery_error_percent, 3),
            "finding": check.finding,
        }
        if check.finding is not DeliveryFinding.NONE or check.consequential:
            warnings.append(
                Finding(
                    "reconciliation",
                    Verdict.WARN,
                    check.message,
                    f"+/-{check.accuracy_percent} %",
                    check.accuracy_source,
                    check.accuracy_verified,
                )
            )
    require_acknowledged(warnings, acknowledge)

    new_drugs = [(name, conc.canonical) for name, conc in fill.drugs]
    changed = bool(old_drugs) and new_drugs != old_drugs
    names = [name for name, _ in fill.drugs]
    bridged, plan, notes = plan_fill(
        implant,
        pump,
        fill,
        dose,
        rate,
        old_drugs,
        first_fill=last is None,
        at=performed_at,
        margin_days=Decimal(settings.refill_margin_days),
        tz=locale.zone,
    )

    if previous is not None:
        previous.ended_at = performed_at
        previous.save(update_fields=["ended_at"])
    program = Program.objects.create(
        implant=implant,
        dose_mcg_per_day=dose.canonical,
        rate_ml_per_day=round_places(rate, 6),  # the field's resolution, 1 nL/day, explicitly
        started_at=performed_at,
        prescribed_by=actor,
    )
    refill = Refill.objects.create(
        implant=implant,
        idempotency_key=idempotency_key,
        performed_at=performed_at,
        performed_by=actor,
        expected_ml=expected.canonical if expected else None,
        aspirated_ml=aspirated.canonical if aspirated else None,
        volume_ml=fill.volume.canonical,
        lot=fill.lot.strip(),
        program=program,
        bridge_volume_ml=bridged.bridge_volume.canonical if bridged else None,
        bridge_rate_ml_per_day=bridged.bridge_rate.canonical if bridged else None,
        alarm_at=plan.alarm_at,
        empty_at=plan.empty_at,
        refill_by=plan.refill_by,
        limited_by=plan.limited_by,
        acknowledged=sorted(acknowledge),
        warnings=[w.as_json() for w in warnings],
        needs_verification=changed or bool(acknowledge & {w.rule for w in warnings}),
        **outcome,
    )
    RefillDrug.objects.bulk_create(
        RefillDrug(refill=refill, position=i, drug=name, concentration_mcg_per_ml=conc)
        for i, (name, conc) in enumerate(new_drugs)
    )
    implant.alarm_at, implant.empty_at, implant.refill_by = (
        plan.alarm_at,
        plan.empty_at,
        plan.refill_by,
    )
    implant.high_risk = "baclofen" in names
    implant.drug_names = "+".join(names)
    implant.version += 1  # a form opened before this refill is stale (409), never replayed
    implant.save(
        update_fields=[
            "alarm_at",
            "empty_at",
            "refill_by",
            "high_risk",
            "drug_names",
            "version",
            "updated_at",
        ]
    )
    closed = _close_refill_appointments(
        actor, implant.episode.patient_id, performed_at, locale.today(performed_at)
    )
    refill_visits.propose_refill(actor, implant, f"limited by the {LIMITS[plan.limited_by]}")
    audit.record(
        actor,
        "refill.perform",
        "refill",
        refill.id,
        patient_id=implant.episode.patient_id,
        before=program_snapshot(previous, old_drugs),
        after={
            **program_snapshot(program, new_drugs),
            "volume": str(fill.volume),
            "lot": refill.lot,
            "expected": str(expected) if expected else None,
            "aspirated": str(aspirated) if aspirated else None,
            "finding": refill.finding or None,
            "bridge": str(bridged.bridge_rate) if bridged else None,
            "refill_by": plan.refill_by.isoformat(),
            "appointments_done": closed,
            "acknowledged": sorted(acknowledge),
            "notes": [n.message for n in notes],
        },
    )
    return refill


def _close_refill_appointments(
    actor: str, patient_id: UUID, done_at: datetime, done_on: date
) -> int:
    """The patient's open refill appointments are done by this refill, when it was done (early
    or late, the calendar shows the visit when it happened; the time planned stays in the
    audit). Returns how many."""
    open_ones = Appointment.objects.select_for_update().filter(
        patient_id=patient_id, kind="refill", status__in=("proposed", "booked")
    )
    closed = 0
    for appointment in open_ones:
        before = {"on": appointment.on.isoformat(), "status": appointment.status}
        if appointment.starts_at is not None:
            before["starts_at"] = appointment.starts_at.isoformat()
            appointment.starts_at = done_at
        appointment.on, appointment.status = done_on, "done"
        # late or not is judged by when the refill was done, not by the booking it replaced
        late = appointment.due_by is not None and done_on > appointment.due_by
        if not late:
            appointment.overdue, appointment.late_reason = False, ""
        appointment.version += 1  # a form opened on the open appointment is stale now
        appointment.save(
            update_fields=["on", "starts_at", "status", "overdue", "late_reason", "version"]
        )
        audit.record(
            actor,
            "appointment.update",
            "appointment",
            appointment.id,
            patient_id=patient_id,
            before=before,
            after={
                "on": done_on.isoformat(),
                "status": "done",
                **({"starts_at": done_at.isoformat()} if appointment.starts_at else {}),
            },
        )
        closed += 1
    return closed


@transaction.atomic
def verify_refill(user: User, refill_id: UUID, now: datetime) -> Refill:
    """The second clinician's verification of a refill that changed drug or concentration or
    passed an acknowledged warning; the one who performed it cannot verify it."""
    actor = require(user, "change.verify")
    try:
        refill = (
            Refill.objects.select_for_update().select_related("implant__episode").get(id=refill_id)
        )
    except Refill.DoesNotExist:
        raise NotFound(f"refill {refill_id}") from None
    if not refill.needs_verification or refill.verified_by:
        raise Refusal(
            "refill",
            str(refill.id),
            "a refill waiting for verification",
            RULES,
            "needs no verification",
        )
    if actor == refill.performed_by:
        raise Refusal(
            "verified_by",
            actor,
            "a clinician other than the one who performed it",
            "rule-four-eyes; pharmacologicalsciences-pump-refills (refill procedure, step 6)",
            "cannot verify it",
        )
    refill.verified_by, refill.verified_at = actor, now
    refill.save(update_fields=["verified_by", "verified_at"])
    audit.record(
        actor,
        "refill.verify",
        "refill",
        refill.id,
        patient_id=refill.implant.episode.patient_id,
        after={"verified_by": actor, "verified_at": now.isoformat()},
    )
    return refill


@transaction.atomic
def register_implant(
    user: User,
    episode_id: UUID,
    *,
    expected_version: int,
    now: datetime,
    pump_model: str,
    pump_serial: str,
    catheter_model: str,
    catheter_length_cm: Decimal,
    dead_volume: Q,
    alarm_volume: Q | None,
    implanted_on: date,
    acknowledge: dict[str, str] | None = None,
) -> Implant:
    """The implantation step of the pathway (refused before the test phase's responder decision
    plus the clinic's waiting days, except for tumour pain) and the pump and catheter it placed.
    Its first fill is `perform_refill` with no expected or aspirated volume."""
    actor = require(user, "pathway.decide")
    episode = locked_episode(episode_id)
    pump = catalog.pump(pump_model, "pump_model")
    alarm = alarm_volume or pump.low_reservoir_alarm.value
    if alarm.canonical >= pump.reservoir_volume.value.canonical:
        raise Refusal(
            "alarm_volume",
            str(alarm),
            f"< {pump.reservoir_volume.value}",
            pump.reservoir_volume.source,
            "is not below the reservoir volume",
        )
    apply_step(
        user,
        episode,
        "implant",
        expected_version=expected_version,
        now=now,
        acknowledge=acknowledge,
        on=implanted_on,
    )
    implant = Implant.objects.create(
        episode=episode,
        pump_model=pump.model,
        pump_serial=pump_serial.strip(),
        catheter_model=catheter_model.strip(),
        catheter_length_cm=catheter_length_cm,
        dead_volume_ml=dead_volume.canonical,
        alarm_volume_ml=alarm.canonical,
        implanted_on=implanted_on,
    )
    audit.record(
        actor,
        "implant.register",
        "implant",
        implant.id,
        patient_id=episode.patient_id,
        after={
            "pump": f"{pump.model} {implant.pump_serial}",
            "catheter": f"{implant.catheter_model} {catheter_length_cm} cm",
            "dead_volume": str(dead_volume),
            "alarm_volume": str(alarm),
            "implanted_on": implanted_on.isoformat(),
        },
    )
    return implant
