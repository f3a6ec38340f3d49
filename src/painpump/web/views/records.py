"""Registering a patient, opening an episode of care (the referral) and recording assessments:
pain on the numeric rating scale, the modified Ashworth grade of each limb, and the oral
morphine-equivalent daily dose typed with its unit. Each form calls a clinic service; a refusal
appears next to the field it names and nothing is stored."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
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
from django.utils import timezone

from painpump import clock
from painpump.clinic.actions import patients
from painpump.clinic.models import Indication
from painpump.clinic.reads import queries
from painpump.clinic.roles import require
from painpump.core.errors import Refusal
from painpump.core.units import Kind, format_decimal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.clinic_zone import current_locale
from painpump.web.double_submit import answered_once, new_submission_key
from painpump.web.forms import QuantityField, attempt, show_refusal
from painpump.web.templatetags.clinic_time import shown_day
from painpump.web.views.pathway_forms import DATE, DATETIME, DATETIME_FORMATS

CLOCK_TOLERANCE = timedelta(minutes=5)
LIMBS = (
    ("left_arm", "Left arm"),
    ("right_arm", "Right arm"),
    ("left_leg", "Left leg"),
    ("right_leg", "Right leg"),
)
ASHWORTH = [
    ("", "not assessed"),
    ("0", "0: no increase in tone"),
    ("1", "1: slight increase, catch and release"),
    ("1.5", "1+: slight increase, catch and minimal resistance"),
    ("2", "2: marked increase, limb easily moved"),
    ("3", "3: considerable increase, passive movement difficult"),
    ("4", "4: rigid in flexion or extension"),
]
PAIN = [("", "not assessed")] + [(str(n), str(n)) for n in range(11)]


def new_key() -> str:
    """An idempotency key for a form shown once: a retry of the same form sends it again."""
    return secrets.token_urlsafe(24)


OPIOID_STATUS = [
    ("unknown", "not recorded"),
    ("naive", "opioid-naive"),
    ("tolerant", "opioid-tolerant"),
]
PSYCHOSIS = [("", "not recorded"), ("no", "no"), ("yes", "yes")]


class PatientForm(forms.Form):
    """A new patient, with the facts the drug labels' dosing depends on (checked by the
    service, whose refusal appears next to the field)."""

    submission = forms.CharField(widget=forms.HiddenInput, max_length=80, required=False)
    mrn = forms.CharField(label="Medical record number", max_length=40)
    family_name = forms.CharField(label="Family name", max_length=120)
    given_name = forms.CharField(label="Given name", max_length=120)
    birth_date = forms.DateField(label="Date of birth", widget=DATE)
    weight_kg = forms.CharField(
        label="Weight (kg)", max_length=20, required=False, help_text="in kg, e.g. 72.5"
    )
    opioid_status = forms.ChoiceField(
        label="Opioid status before intrathecal therapy",
        choices=OPIOID_STATUS,
        initial="unknown",
        required=False,
    )
    psychosis_history = forms.TypedChoiceField(
        label="History of psychosis",
        choices=PSYCHOSIS,
        required=False,
        coerce=lambda v: v == "yes",
        empty_value=None,
    )
    life_expectancy_months = forms.CharField(
        label="Life expectancy (months)",
        max_length=20,
        required=False,
        help_text="in whole months; it matters for tumour pain (leave empty when not assessed)",
    )


class PatientEditForm(PatientForm):
    """A patient's names, birth date and facts, changed from the version the user read."""

    mrn = None  # type: ignore[assignment]  # the record number is not changed here
    submission = None  # type: ignore[assignment]
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class EpisodeForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    indication = forms.ChoiceField(label="Indication", choices=Indication.choices)
    referred_on = forms.DateField(label="Referred on", widget=DATE)
    injury_date = forms.DateField(
        label="Date of the brain injury",
        widget=DATE,
        required=False,
        help_text="required for traumatic brain injury (long-term therapy waits a year)",
    )


class AssessmentForm(forms.Form):
    """One assessment session: any of the measures, each stored as its own assessment."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=60)
    episode = forms.ChoiceField(label="Episode of care")
    taken_at = forms.DateTimeField(
        label="Assessed at", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    pain_nrs = forms.ChoiceField(
        label="Pain, numeric rating scale 0-10", choices=PAIN, required=False
    )
    omed = QuantityField(
        Kind.DOSE_RATE,
        label="Oral morphine-equivalent daily dose",
        required=False,
        help_text="with its unit, e.g. 120 mg/day (0 mg/day when none)",
    )
    note = forms.CharField(label="Note", max_length=500, required=False)

    def __init__(self, *args: Any, episodes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["episode"].choices = episodes  # type: ignore[attr-defined]
        for limb, label in LIMBS:
            self.fields[f"ashworth_{limb}"] = forms.ChoiceField(
                label=f"Modified Ashworth, {label.lower()}", choices=ASHWORTH, required=False
            )

    @property
    def ashworth_fields(self) -> list[forms.BoundField]:
        return [self[f"ashworth_{limb}"] for limb, _ in LIMBS]

    def clean_taken_at(self) -> Any:
        taken = self.cleaned_data["taken_at"]
        if taken > clock.now() + CLOCK_TOLERANCE:
            raise forms.ValidationError("is in the future: record an assessment once it is done")
        return taken

    def measurements(self) -> list[dict[str, Any]]:
        """kind, value, limb and the form field each came from, for the measures filled in."""
        data = self.cleaned_data
        found: list[dict[str, Any]] = []
        if data.get("pain_nrs"):
            found.append(
                {"kind": "pain_nrs", "value": Decimal(data["pain_nrs"]), "field": "pain_nrs"}
            )
        for limb, _ in LIMBS:
            grade = data.get(f"ashworth_{limb}")
            if grade:
                found.append(
                    {
                        "kind": "ashworth",
                        "value": Decimal(grade),
                        "limb": limb,
                        "field": f"ashworth_{limb}",
                    }
                )
        if data.get("omed") is not None:
            mg = Decimal(format_decimal(data["omed"].to("mg/day").value))
            found.append({"kind": "omed_mg_per_day", "value": mg, "field": "omed"})
        return found

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors and not self.measurements():
            raise forms.ValidationError("Enter at least one measure: pain, Ashworth or dose.")
        return cleaned


@clinic_page
@answered_once
def new_patient(request: HttpRequest) -> HttpResponse:
    """A new patient; a double submission is answered with the patient the first one created."""
    user = user_of(request)
    require(user, "patient.write")  # the form is shown only to those the service will accept
    form = PatientForm(request.POST or None, initial={"submission": new_submission_key()})
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "submission"}
        patient = attempt(
            form, partial(patients.create_patient, user, today=timezone.localdate(), **data)
        )
        if patient is not None:
            messages.success(request, "Patient registered.")
            return redirect("web:patient", patient.id)
    status = REFUSED if form.errors else 200
    return render(request, "web/records/new_patient.html", {"form": form}, status=status)


@clinic_page
def new_episode(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = user_of(request)
    require(user, "episode.write")
    patient = patients.read_patient(user, patient_id)
    initial = {"key": new_key(), "referred_on": timezone.localdate()}
    form = EpisodeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        opened = partial(
            patients.open_episode,
            user,
            patient.id,
            indication=data["indication"],
            referred_on=data["referred_on"],
            injury_date=data["injury_date"],
            idempotency_key=data["key"],
        )
        episode = attempt(form, opened)
        if episode is not None:
            messages.success(request, "Episode of care opened.")
            return redirect("web:episode", episode.id)
    status = REFUSED if form.errors else 200
    context = {"form": form, "patient": patient}
    return render(request, "web/records/new_episode.html", context, status=status)


def _episode_choices(request: HttpRequest, patient_id: UUID) -> list[tuple[str, str]]:
    """The patient's open episodes, newest referral first."""
    episodes = queries.episodes_of(user_of(request), patient_id)
    locale = current_locale()
    return [
        (str(e.id), f"{e.get_indication_display()}, referred {shown_day(e.referred_on, locale)}")
        for e in episodes
        if e.closed_at is None
    ]


@clinic_page
def new_assessment(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = user_of(request)
    require(user, "assessment.write")
    patient = patients.read_patient(user, patient_id)
    episodes = _episode_choices(request, patient_id)
    initial = {
        "key": new_key(),
        "taken_at": timezone.localtime().replace(second=0, microsecond=0),
        "episode": request.GET.get("episode", ""),
    }
    form = AssessmentForm(request.POST or None, initial=initial, episodes=episodes)
    if request.method == "POST" and form.is_valid():
        episode_id = UUID(form.cleaned_data["episode"])
        if _record(user, episode_id, form):
            messages.success(request, "Assessment recorded.")
            return redirect(reverse("web:episode", args=[episode_id]) + "#assessments")
    status = REFUSED if form.errors else 200
    context = {"form": form, "patient": patient, "episodes": episodes}
    return render(request, "web/records/new_assessment.html", context, status=status)


def _record(user: User, episode_id: UUID, form: AssessmentForm) -> bool:
    """Every measure of the session or none: a refusal is shown next to its field."""
    data = form.cleaned_data
    try:
        with transaction.atomic():
            for measure in form.measurements():
                field = measure.pop("field")
                try:
                    patients.record_assessment(
                        user,
                        episode_id,
                        taken_at=data["taken_at"],
                        note=data["note"],
                        idempotency_key=f"{data['key']}-{field}",
                        **measure,
                    )
                except Refusal as refusal:
                    show_refusal(form, refusal, {"value": field, "limb": field})
                    raise
    except Refusal:
        return False
    return True
