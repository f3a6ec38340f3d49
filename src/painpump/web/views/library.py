"""The drug library and the device catalog as pages, for every member of the team: every value
with its unit, its source and whether the sources confirm it (an unconfirmed value is marked
"verify against the labeling"); and the clinic's own stricter limits, added, changed and archived
by a pharmacist or an admin through clinic.reads.clinic_limits and actions.library, a hard one
applied once a second pharmacist or physician has approved it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from painpump.clinic.actions import library
from painpump.clinic.errors import NotFound
from painpump.clinic.models import ClinicLimit
from painpump.clinic.reads import clinic_limits
from painpump.clinic.roles import may, require
from painpump.core import catalog
from painpump.core.catalog import RULE_LABELS, Drug, Limit, Sourced, SourcedNumber, Stability
from painpump.core.clinic_limits import CLINIC_RULES, RULES, parse_value
from painpump.core.errors import Refusal
from painpump.core.units import Q, format_decimal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import attempt

SEVERITIES = [
    ("hard", "Hard: stops, cannot be overridden"),
    ("soft", "Soft: warns, needs a recorded acknowledgement"),
]
STABILITY_LABELS = {
    "first_refill": "first refill within",
    "max_interval": "longest time between refills",
    "max_interval_diluted": "longest time between refills, diluted",
    "max_interval_undiluted": "longest time between refills, undiluted",
    "stopped_pump_max_interval": "longest time in a stopped pump, for a drug with no rule",
}
KINDS = {
    "programmable": "programmable implanted pump",
    "constant_flow": "constant-flow implanted pump",
    "external": "external pump (test phase)",
}
MRI = {
    "motor_stall": "the magnet stops the motor and suspends infusion for the scan; the pump should "
    "resume afterwards, with a delay (below)",
    "valve_shutoff": "the flow-activated valve shuts off in the magnet and stays closed until it "
    "is reset by hand",
    "none": "no MRI behaviour in the fact sheets",
}
MRI_SOURCE = (
    "medtronic-mri-guidelines-synchromed-ii, prometra-ii-ifu (Medtronic MRI guidelines for "
    "SynchroMed II; Prometra II IFU p.14)"
)
NEXT_REFILL_RESERVE = "prometra-ptc-guide"
"""The source key of a reserve that is the programmer's next-refill rule, not a pump alarm."""
EXTRA_LABELS = {
    "eri_to_stop": "from the replacement alarm (ERI) to the pump stopping",
    "mri_resume_delay": "delay before proper infusion resumes after an MRI",
    "pocket_fill_threshold": "aspiration gap that may mean a pocket fill",
    "mri_flow_on_shutoff": "flow delivered before the valve shuts off in an MRI",
}


@dataclass(frozen=True)
class Value:
    """One catalog value as the page shows it."""

    label: str
    value: str
    source: str
    verified: bool
    applies: str = ""
    severity: str = ""


def new_key() -> str:
    """An idempotency key for a form shown once: a retry of the same form sends it again."""
    return secrets.token_urlsafe(24)


def _limit_value(limit: Limit) -> str:
    if limit.rule == "max_increases_per_week":
        return f"{limit.text()} increases"
    return limit.text()


def _applies(limit: Limit) -> str:
    where = []
    if "region" in limit.when:
        where.append(f"{limit.when['region'].upper()} labeling")
    if "origin" in limit.when:
        where.append(f"spasticity of {limit.when['origin']} origin")
    return ", ".join(where) or "always"


def _limits(drug: Drug) -> list[Value]:
    return [
        Value(
            RULE_LABELS[lim.rule],
            _limit_value(lim),
            lim.source,
            lim.verified,
            _applies(lim),
            lim.severity,
        )
        for lim in drug.limits
    ]


def _stability(rules: tuple[Stability, ...]) -> list[Value]:
    return [
        Value(STABILITY_LABELS.get(s.rule, s.rule), f"{s.days} day", s.source, s.verified)
        for s in rules
    ]


def _restart(drug: Drug) -> list[Value]:
    after = drug.restart_as_start_after
    if after is None:
        return []
    label = "a restart is judged against the start dose after a stop longer than"
    return [Value(label, str(after.value), after.source, after.verified)]


def _drug(drug: Drug, limits: list[ClinicLimit]) -> dict[str, Any]:
    mine = [row for row in limits if row.drug == drug.name]
    return {
        "drug": drug,
        "products": ", ".join(str(p) for p in drug.products),
        "limits": _limits(drug),
        "stability": _stability(drug.stability),
        "restart": _restart(drug),
        "conversions": [
            Value(
                f"{c.from_route} : {c.to_route}",
                f"{format_decimal(c.ratio)} : 1",
                c.source,
                c.verified,
            )
            for c in drug.conversions
        ],
        "clinic": [_clinic_row(row) for row in mine if row.archived_at is None],
        "archived": [_clinic_row(row) for row in mine if row.archived_at is not None],
    }


def _clinic_row(row: ClinicLimit, user: User | None = None) -> dict[str, Any]:
    value = clinic_limits.value_of(row)
    drug = catalog.drug(row.drug)
    shown = clinic_limits.shown_value(row)
    if isinstance(value, Q):
        unit = drug.unit_for(value.kind)
        if value.unit != unit:
            shown = f"{shown} (= {value.to(unit)})"
    replaces = row.replaces
    return {
        "row": row,
        "label": RULE_LABELS[row.rule],
        "value": shown,
        "replaces": f"{clinic_limits.shown_value(replaces)} ({replaces.severity})"
        if replaces is not None
        else "",
        "may_approve": user is not None
        and (row.pending or row.removal_pending)
        and may(user, "library.approve")
        and user.get_username() != row.awaiting,
    }


@clinic_page
def drugs(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    limits = clinic_limits.list_limits(user)
    context = {
        "pending": [_clinic_row(row, user) for row in limits if row.pending or row.removal_pending],
        "drugs": [_drug(drug, limits) for drug in catalog.drugs().values()],
        "admixtures": [
            {"admixture": a, "stability": _stability(a.stability)} for a in catalog.admixtures()
        ],
        "held": _stability((catalog.held_in_stopped_pump(),)),
        "may_edit": may(user, "library.write"),
    }
    return render(request, "web/library/drugs.html", context)


def _sourced(label: str, value: Sourced) -> Value:
    return Value(label, str(value.value), value.source, value.verified)


def _number(label: str, value: SourcedNumber | None, template: str) -> list[Value]:
    if value is None:
        return []
    shown = template.format(format_decimal(value.value))
    return [Value(label, shown, value.source, value.verified)]


def _reserve_label(pump: catalog.Pump) -> str:
    """What the pump's `low_reservoir_alarm` volume is: a pump alarm, or (Prometra) the reserve
    its programmer sets the Date of Next Refill against, or a clinic reference volume."""
    if pump.low_reservoir_alarm.source.startswith(NEXT_REFILL_RESERVE):
        return "reserve at the Date of Next Refill (programmer's refill rule, not a pump alarm)"
    if not pump.announces_alarms:
        return "reference volume refills are projected against (no alarm)"
    return "low-reservoir alarm"


def _pump(pump: catalog.Pump) -> dict[str, Any]:
    values = [
        _sourced("reservoir volume", pump.reservoir_volume),
        _sourced(_reserve_label(pump), pump.low_reservoir_alarm),
        _sourced("lowest rate", pump.min_rate),
        _sourced("highest rate", pump.max_rate),
        *_number("delivery accuracy", pump.accuracy_percent, "± {} %"),
        *_number("accuracy, under-infusion side", pump.accuracy_under_percent, "- {} %"),
        *_number("rate steps per day", pump.flex_steps_per_day, "{} steps"),
        *_number("service life", pump.service_life_years, "{} years"),
        *_number(
            "schedule the replacement before its end", pump.replace_months_before_end, "{} months"
        ),
    ]
    values += [_sourced(EXTRA_LABELS.get(key, key), extra) for key, extra in pump.extras.items()]
    return {
        "pump": pump,
        "kind": KINDS.get(pump.kind, pump.kind),
        "mri": MRI.get(pump.mri, pump.mri),
        "mri_source": MRI_SOURCE,
        "approved_for": ", ".join(pump.approved_for) or "none in the fact sheets",
        "values": values,
    }


def _catheter(catheter: catalog.Catheter) -> dict[str, Any]:
    per_cm = f"{format_decimal(catheter.volume_per_cm)} mL/cm"
    return {
        "catheter": catheter,
        "values": [
            _sourced("full length", catheter.full_length),
            Value(
                "volume per cm",
                per_cm,
                catheter.volume_per_cm_source,
                catheter.volume_per_cm_verified,
            ),
        ],
    }


@clinic_page
def devices(request: HttpRequest) -> HttpResponse:
    clinic_limits.require_reader(user_of(request))
    context = {
        "pumps": [_pump(p) for p in catalog.pumps().values()],
        "catheters": [_catheter(c) for c in catalog.catheters().values()],
    }
    return render(request, "web/library/devices.html", context)


class LimitForm(forms.Form):
    """The value (typed with its unit), the kind of limit and its source."""

    value = forms.CharField(
        label="Limit",
        max_length=60,
        help_text="a number and its unit: 10 mg/day, 20 mg/mL; a step or a decrease in percent as "
        "20 %; a wait as 48 hour; a single bolus as 0.3 mg",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    severity = forms.ChoiceField(label="Kind of limit", choices=SEVERITIES)
    source = forms.CharField(
        label="Source: the clinic's policy document",
        max_length=500,
        help_text="e.g. Opioid policy v3, section 2 (shown with every warning or stop it gives)",
        error_messages={"required": "Name the clinic policy this limit comes from."},
    )

    fixed_rule: str | None = None

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        rule = self.cleaned_data.get("rule_choice") or self.fixed_rule
        text = self.cleaned_data.get("value")
        if rule and text:
            try:
                self.cleaned_data["parsed"] = parse_value(rule, text)
            except Refusal as refusal:
                self.add_error("value", refusal.message)
        return cleaned


class NewLimitForm(LimitForm):
    key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    rule_choice = forms.ChoiceField(
        label="Rule",
        choices=[(r.name, f"{r.label} (e.g. {r.example})") for r in RULES.values()],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["rule_choice", "value", "severity", "source"])


class ChangeLimitForm(LimitForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, limit: ClinicLimit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_rule = limit.rule


SERVICE_FIELDS = {"rule": "rule_choice"}


def _waiting(row: ClinicLimit) -> str:
    """What a saved limit still needs, for the message after the form."""
    if not row.pending:
        return ""
    return (
        " It waits for a second pharmacist or physician to approve it and does not apply "
        "until then."
    )


def _known_drug(name: str) -> Drug:
    try:
        return catalog.drug(name)
    except Refusal:
        raise NotFound(f"drug {name}") from None


def _back(drug: str) -> str:
    return f"{reverse('web:library')}#drug-{drug}"


@clinic_page
def new_limit(request: HttpRequest, drug: str) -> HttpResponse:
    user = user_of(request)
    require(user, "library.write")  # the form is shown only to those the service will accept
    known = _known_drug(drug)
    form = NewLimitForm(request.POST or None, initial={"key": new_key()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        added = partial(
            library.add_limit,
            user,
            drug=known.name,
            rule=data["rule_choice"],
            value=data["parsed"],
            severity=data["severity"],
            source=data["source"],
            idempotency_key=data["key"],
        )
        row = attempt(form, added, SERVICE_FIELDS)
        if row is not None:
            messages.success(request, f"Clinic limit added for {known.name}.{_waiting(row)}")
            return redirect(_back(known.name))
    context = {"form": form, "drug": known, "packaged": _limits(known)}
    status = REFUSED if form.errors else 200
    return render(request, "web/library/limit_new.html", context, status=status)


@clinic_page
def change_limit(request: HttpRequest, limit_id: UUID) -> HttpResponse:
    user = user_of(request)
    row = clinic_limits.read_limit(user, limit_id)
    initial = {
        "value": clinic_limits.shown_value(row),
        "severity": row.severity,
        "source": row.source,
        "version": row.version,
    }
    form = ChangeLimitForm(request.POST or None, initial=initial, limit=row)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = partial(
            library.change_limit,
            user,
            limit_id,
            expected_version=data["version"],
            value=data["parsed"],
            severity=data["severity"],
            source=data["source"],
        )
        saved = attempt(form, changed)
        if saved is not None:
            messages.success(request, f"Clinic limit for {row.drug} changed.{_waiting(saved)}")
            return redirect(_back(row.drug))
    drug = catalog.drug(row.drug)
    context = {
        "form": form,
        "limit": _clinic_row(row),
        "drug": drug,
        "packaged": _limits(drug),
        **_standing(row),
    }
    status = REFUSED if form.errors else 200
    return render(request, "web/library/limit_change.html", context, status=status)


def _standing(row: ClinicLimit) -> dict[str, Any]:
    """Where a limit stands among its versions: in force (the current one), waiting for its
    second approver, or no longer applying: replaced (the newer limit approved in its place,
    `replaces`) or archived. With the limit it replaces, and a change of it still waiting."""
    in_force = row.approved_at is not None and row.archived_at is None
    newer = None
    if row.archived_at is not None:
        approved = row.replacements.filter(approved_at__isnull=False)
        newer = approved.order_by("approved_at").first()
    waiting = None
    if in_force:
        waiting = row.replacements.filter(
            archived_at__isnull=True, approved_at__isnull=True
        ).first()
    return {
        "in_force": in_force,
        "replaced_by": None if newer is None else _clinic_row(newer),
        "waiting_change": None if waiting is None else _clinic_row(waiting),
        "replaces": None if row.replaces is None else _clinic_row(row.replaces),
    }


class ArchiveForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def _version(request: HttpRequest) -> int:
    """The version of the limit the page showed, posted with an archive or an approval."""
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        raise Refusal("version", "missing", "the version of the limit shown", CLINIC_RULES)
    return int(form.cleaned_data["version"])


@require_POST
@clinic_page
def archive_limit(request: HttpRequest, limit_id: UUID) -> HttpResponse:
    with transaction.atomic():
        row = library.archive_limit(user_of(request), limit_id, expected_version=_version(request))
    if row.removal_pending:
        messages.success(
            request,
            f"Removal of the hard clinic limit for {row.drug} asked for: it applies until a "
            "second pharmacist or physician approves the removal.",
        )
    else:
        messages.success(request, f"Clinic limit for {row.drug} archived: it no longer applies.")
    return redirect(_back(row.drug))


@require_POST
@clinic_page
def approve_limit(request: HttpRequest, limit_id: UUID) -> HttpResponse:
    """The second approval of a pending clinic limit or of a hard one's removal (library.approve,
    not its author)."""
    with transaction.atomic():
        row = library.approve_limit(user_of(request), limit_id, expected_version=_version(request))
    if row.archived_at is not None:
        messages.success(
            request, f"Removal of the clinic limit for {row.drug} approved: it no longer applies."
        )
    else:
        messages.success(request, f"Clinic limit for {row.drug} approved: it applies from now on.")
    return redirect(_back(row.drug))
