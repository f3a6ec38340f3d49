"""Editing a patient's names, birth date and the facts the drug labels' dosing depends on, and
overriding an episode's origin of spasticity with a reason. Each form calls a clinic service; a
refusal appears next to the field it names and nothing is stored; a stale version is a 409."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from painpump.clinic.actions import patient_facts, patients
from painpump.clinic.reads import queries
from painpump.clinic.reads.patient_facts import origin_choice
from painpump.clinic.roles import require
from painpump.core.overrides import MIN_REASON_CHARS
from painpump.core.pathway.indications import Indication
from painpump.core.spasticity import Origin, origin_of
from painpump.core.units import format_decimal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.forms import attempt
from painpump.web.views.records import PatientEditForm


class OriginForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    origin = forms.ChoiceField(
        label="Origin of spasticity",
        choices=[("", "as the indication implies (no override)")]
        + [(o.value, o.value) for o in Origin],
        required=False,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="why the origin differs from the indication's (in words, at least "
        f"{MIN_REASON_CHARS} characters)",
    )


@clinic_page
def edit_patient(request: HttpRequest, patient_id: UUID) -> HttpResponse:
    user = user_of(request)
    require(user, "patient.write")  # the form is shown only to those the service will accept
    patient = patients.read_patient(user, patient_id)
    psychosis, months = patient.psychosis_history, patient.life_expectancy_months
    initial: dict[str, Any] = {
        "version": patient.version,
        "family_name": patient.family_name,
        "given_name": patient.given_name,
        "birth_date": patient.birth_date,
        "weight_kg": "" if patient.weight_kg is None else format_decimal(patient.weight_kg),
        "opioid_status": patient.opioid_status,
        "psychosis_history": "" if psychosis is None else ("yes" if psychosis else "no"),
        "life_expectancy_months": "" if months is None else str(months),
    }
    form = PatientEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        changed = partial(
            patients.update_patient,
            user,
            patient.id,
            expected_version=version,
            today=timezone.localdate(),
            **data,
        )
        if attempt(form, changed) is not None:
            messages.success(request, "Patient record changed.")
            return redirect("web:patient", patient.id)
    status = REFUSED if form.errors else 200
    context = {"form": form, "patient": patient}
    return render(request, "web/records/edit_patient.html", context, status=status)


@clinic_page
def episode_origin(request: HttpRequest, episode_id: UUID) -> HttpResponse:
    """The origin of spasticity in force for the episode, and a physician's override of it."""
    user = user_of(request)
    require(user, "episode.write")
    episode = queries.read_episode(user, episode_id)
    initial = {
        "version": episode.version,
        "origin": episode.origin_override,
        "reason": episode.origin_override_reason,
    }
    form = OriginForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = partial(
            patient_facts.set_origin_override,
            user,
            episode.id,
            expected_version=data["version"],
            origin=data["origin"],
            reason=data["reason"],
        )
        if attempt(form, changed) is not None:
            messages.success(
                request,
                "Origin of spasticity overridden." if data["origin"] else "Override cleared.",
            )
            return redirect(reverse("web:episode", args=[episode.id]))
    status = REFUSED if form.errors else 200
    context = {
        "form": form,
        "episode": episode,
        "patient": episode.patient,
        "choice": origin_choice(episode),
        "implied": origin_of(Indication(episode.indication)),
    }
    return render(request, "web/records/episode_origin.html", context, status=status)
