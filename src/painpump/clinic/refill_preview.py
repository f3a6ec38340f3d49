"""A refill looked at before it is committed: the reconciliation verdict, the drug-library and
device findings (a stop, or the warnings to acknowledge), the bridge, the program and projection
before and after, the proposed appointment and whether a second clinician must verify. Every
number comes from painpump.core through the helpers perform_refill uses, so the review shows what
the refill will record; confirm_refill commits only if nobody refilled or reprogrammed the pump
since the form was shown (the implant's version)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump import clock
from painpump.clinic import audit, refill_visits
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant, Program, Refill
from painpump.clinic.refills import Fill, checked_fill, perform_refill, plan_fill
from painpump.clinic.roles import require
from painpump.clinic.services import Conflict, NotFound
from painpump.core import catalog
from painpump.core.booking import Visit
from painpump.core.decision import Finding, Verdict
from painpump.core.errors import Refusal
from painpump.core.refill import (
    DeliveryFinding,
    Reconciliation,
    programmed_since_fill,
    reconcile,
    residual_ml,
)
from painpump.core.units import Q, of
from painpump.core.volumes import Bridge

ASPIRATION_SOURCE = (
    "south-shore-neurologic-itb-refill (refill procedure, step 3): drain the residual and compare "
    "with the programmer's expected volume"
)


@dataclass(frozen=True)
class Setting:
    """One side of a before/after review: what is in the pump and how it runs. Concentrations
    and doses are in the drug's own units (mg for morphine, mcg for baclofen)."""

    drugs: tuple[tuple[str, Q], ...] = ()
    reservoir: Q | None = None
    dose: Q | None = None
    rate: Q | None = None
    alarm_at: datetime | None = None
    empty_at: datetime | None = None
    refill_by: date | None = None
    limited_by: str = ""


@dataclass(frozen=True)
class RefillPreview:
    """What a refill would do, or why it cannot be done (`stop`: a hard limit, not overridable).
    `after` is None until the fill and dose are given, and when a hard limit stops it."""

    implant: Implant
    version: int
    first_fill: bool
    before: Setting
    after: Setting | None
    programmed: Q | None
    reconciliation: Reconciliation | None
    stop: Refusal | None
    warnings: tuple[Finding, ...]
    notes: tuple[Finding, ...]
    bridge: Bridge | None
    appointment: Visit | None
    needs_verification: bool
    dose_changed: bool


def in_drug_units(name: str, concentration_mcg_per_ml: Decimal) -> Q:
    """A stored concentration in the drug's own unit (25 mg/mL rather than 25000 mcg/mL)."""
    return of(concentration_mcg_per_ml, catalog.drug(name).concentration_unit)


def dose_in_drug_units(name: str, dose_mcg_per_day: Decimal) -> Q:
    return of(dose_mcg_per_day, catalog.drug(name).dose_rate_unit)


def warning_key(finding: Finding) -> str:
    """The identity of a warning as it was shown: its rule and a digest of its words, so an
    acknowledgement counts only for the very warning the clinician read."""
    text = "\x1f".join((finding.rule, finding.message, finding.limit, finding.source))
    return f"{finding.rule}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def acknowledged_rules(warnings: Iterable[Finding], keys: Iterable[str]) -> frozenset[str]:
    """The rules acknowledged: those whose every warning shown was ticked (by its key)."""
    ticked = frozenset(keys)
    shown = list(warnings)
    rules = {w.rule for w in shown}
    return frozenset(
        rule for rule in rules if all(warning_key(w) in ticked for w in shown if w.rule == rule)
    )


def reconciliation_warning(check: Reconciliation) -> Finding | None:
    """The warning a reconciliation gives (beyond the pump's accuracy, or a possible pocket
    fill), as perform_refill records it; None when the volumes agree."""
    if check.finding is DeliveryFinding.NONE and not check.consequential:
        return None
    return Finding(
        "reconciliation",
        Verdict.WARN,
        check.message,
        f"+/-{check.accuracy_percent} %",
        check.accuracy_source,
        check.accuracy_verified,
    )


def _implant(implant_id: UUID) -> Implant:
    try:
        return Implant.objects.select_related("episode__patient").get(id=implant_id)
    except Implant.DoesNotExist:
        raise NotFound(f"implant {implant_id}") from None


def _last_fill(implant: Implant) -> tuple[Refill | None, list[tuple[str, Decimal]]]:
    last = implant.refills.order_by("-performed_at").first()
    if last is None:
        return None, []
    return last, [(d.drug, d.concentration_mcg_per_ml) for d in last.drugs.all()]


def _running(implant: Implant) -> Program | None:
    return implant.programs.filter(ended_at__isnull=True).first()


def residual_now(implant: Implant, last: Refill, at: datetime) -> Q:
    """The volume the pump computes as left at `at`: the last fill less what each program since
    delivered (core.refill.residual_ml)."""
    history = [
        (p.rate_ml_per_day, p.started_at, p.ended_at)
        for p in implant.programs.filter(started_at__gte=last.performed_at)
    ]
    return of(residual_ml(last.volume_ml, history, at), "mL")


def current_setting(implant: Implant, at: datetime, reservoir: Q | None = None) -> Setting:
    """The pump as it runs now: the last fill's drugs, the running program, the projection the
    last refill or titration stored; the reservoir as given (interrogated) or as computed."""
    last, drugs = _last_fill(implant)
    if last is None:
        return Setting()
    program = _running(implant)
    principal = drugs[0][0]
    return Setting(
        drugs=tuple((name, in_drug_units(name, conc)) for name, conc in drugs),
        reservoir=reservoir or residual_now(implant, last, at),
        dose=dose_in_drug_units(principal, program.dose_mcg_per_day) if program else None,
        rate=of(program.rate_ml_per_day, "mL/day") if program else None,
        alarm_at=implant.alarm_at,
        empty_at=implant.empty_at,
        refill_by=implant.refill_by,
        limited_by=last.limited_by,
    )


def _reconciled(
    pump: catalog.Pump, last: Refill, expected: Q, aspirated: Q
) -> tuple[Q, Reconciliation]:
    """The volume programmed since the last fill and the reconciliation, refused as
    perform_refill refuses them (fields named as the form names them)."""
    delivered = programmed_since_fill(of(last.volume_ml, "mL"), expected)
    return delivered, reconcile(pump, expected, aspirated, delivered)


@transaction.atomic
def preview_refill(
    user: User,
    implant_id: UUID,
    *,
    at: datetime,
    expected: Q | None = None,
    aspirated: Q | None = None,
    fill: Fill | None = None,
    dose: Q | None = None,
    origin: str | None = None,
    partial: bool = False,
) -> RefillPreview:
    """What a refill at `at` would record, without recording it. Given only the volumes, the
    reconciliation; with the fill and dose, everything (and then the volumes are required at a
    refill, unless `partial`: a form being filled in). Bad volumes are refused (Refusal); a
    hard limit of the fill is returned as `stop`; a change of the prescribed dose by a role that
    may not prescribe is Forbidden, as in perform_refill. The look is audited."""
    actor = require(user, "refill.perform")
    implant = _implant(implant_id)
    pump = catalog.pump(implant.pump_model, "pump_model")
    previous = _running(implant)
    last, old_drugs = _last_fill(implant)
    if last is not None and at <= last.performed_at:
        raise Refusal(
            "performed_at",
            at.isoformat(),
            f"after the last refill ({last.performed_at.isoformat()})",
            "painpump refill rules",
            "is out of order",
        )
    if last is not None and fill is not None and not partial:
        for name, given in (("expected", expected), ("aspirated", aspirated)):
            if given is None:
                raise Refusal(
                    name,
                    "missing",
                    "the expected and the aspirated residual volume",
                    ASPIRATION_SOURCE,
                    "is required at every refill",
                )
    before = current_setting(implant, at, expected)
    programmed = check = None
    warnings: list[Finding] = []
    if last is not None and expected is not None and aspirated is not None:
        programmed, check = _reconciled(pump, last, expected, aspirated)
        found = reconciliation_warning(check)
        if found is not None:
            warnings.append(found)
    preview = RefillPreview(
        implant=implant,
        version=implant.version,
        first_fill=last is None,
        before=before,
        after=None,
        programmed=programmed,
        reconciliation=check,
        stop=None,
        warnings=tuple(warnings),
        notes=(),
        bridge=None,
        appointment=None,
        needs_verification=bool(warnings),
        dose_changed=False,
    )
    if fill is not None and dose is not None:
        dose_changed = previous is not None and dose.canonical != previous.dose_mcg_per_day
        if dose_changed:
            require(user, "program.prescribe")
        preview = replace(preview, dose_changed=dose_changed)
        try:
            preview = _with_fill(preview, pump, last, old_drugs, previous, fill, dose, at, origin)
        except Refusal as stop:
            preview = replace(preview, stop=stop)
    audit.record(
        actor,
        "refill.preview",
        "implant",
        implant.id,
        patient_id=implant.episode.patient_id,
        after={
            "stop": preview.stop.message if preview.stop else None,
            "warnings": sorted({w.rule for w in preview.warnings}),
        },
    )
    return preview


def _with_fill(
    preview: RefillPreview,
    pump: catalog.Pump,
    last: Refill | None,
    old_drugs: list[tuple[str, Decimal]],
    previous: Program | None,
    fill: Fill,
    dose: Q,
    at: datetime,
    origin: str | None,
) -> RefillPreview:
    """The fill's checks, bridge, projection and appointment, computed as perform_refill does."""
    implant = preview.implant
    settings = clinic_settings()
    locale = locale_of(settings)
    rate, fill_warnings = checked_fill(
        pump, fill, dose, previous, at, origin, settings.dosing_region
    )
    warnings = [*fill_warnings, *preview.warnings]
    new_drugs = [(name, conc.canonical) for name, conc in fill.drugs]
    changed = bool(old_drugs) and new_drugs != old_drugs
    names = [name for name, _ in fill.drugs]
    try:
        bridged, plan, notes = plan_fill(
            implant,
            pump,
            fill,
            dose,
            rate,
            old_drugs,
            first_fill=last is None,
            at=at,
            margin_days=Decimal(settings.refill_margin_days),
            tz=locale.zone,
        )
    except Refusal as error:  # a fill too small for the alarm volume: the volume's fault
        raise replace(error, field="volume") from None
    visit = refill_visits.visit_for(
        plan.refill_by,
        clock.now(),
        locale,
        refill_visits.booking_rules(settings),
        high_risk="baclofen" in names,
    )
    after = Setting(
        drugs=tuple((n, c.to(catalog.drug(n).concentration_unit)) for n, c in fill.drugs),
        reservoir=fill.volume,
        dose=dose.to(catalog.drug(names[0]).dose_rate_unit),
        rate=of(rate, "mL/day"),
        alarm_at=plan.alarm_at,
        empty_at=plan.empty_at,
        refill_by=plan.refill_by,
        limited_by=plan.limited_by,
    )
    return replace(
        preview,
        after=after,
        warnings=tuple(warnings),
        notes=(*notes, *plan.warnings),
        bridge=bridged,
        appointment=visit,
        needs_verification=changed or bool(warnings),
    )


@transaction.atomic
def confirm_refill(
    user: User,
    implant_id: UUID,
    *,
    expected_version: int,
    idempotency_key: str,
    performed_at: datetime,
    expected: Q | None,
    aspirated: Q | None,
    fill: Fill,
    dose: Q,
    acknowledge: frozenset[str],
    origin: str | None = None,
) -> Refill:
    """perform_refill, if the pump is still as the clinician reviewed it (its version); a retry
    with an idempotency key already recorded returns that refill, as perform_refill does."""
    require(user, "refill.perform")
    if not Refill.objects.filter(idempotency_key=idempotency_key).exists():
        implant = Implant.objects.select_for_update().filter(id=implant_id).first()
        if implant is None:
            raise NotFound(f"implant {implant_id}")
        retried = Refill.objects.filter(idempotency_key=idempotency_key).exists()
        if not retried and implant.version != expected_version:
            raise Conflict("implant", str(implant.id), expected_version, implant.version)
    return perform_refill(
        user,
        implant_id,
        idempotency_key=idempotency_key,
        performed_at=performed_at,
        expected=expected,
        aspirated=aspirated,
        fill=fill,
        dose=dose,
        acknowledge=acknowledge,
        origin=origin,
    )
