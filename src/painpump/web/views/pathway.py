"""The episode page: where the episode stands, the steps its stage allows (each a form with its
facts), the stays to plan, the implantation to register on the earliest day the rules allow, and the
timeline. A step is previewed first (clinic.reads.therapy_queries.preview_step): its warnings are
shown with reason and source and taken only once acknowledged; a refusal appears next to the field
it names; a refused step changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from painpump import clock
from painpump.clinic.actions import admissions, implantation
from painpump.clinic.actions.admissions import OPEN
from painpump.clinic.locale import clinic_today
from painpump.clinic.models import Implant
from painpump.clinic.reads import catheters, therapy_queries
from painpump.clinic.reads.episode_view import EpisodeOverview, StayProposal, episode_overview
from painpump.clinic.reads.patient_facts import origin_choice
from painpump.core.decision import Finding
from painpump.core.errors import Refusal
from painpump.core.pathway.indications import Outcome
from painpump.core.pathway.sources import IMPLANT_INTERVAL_SOURCE
from painpump.core.pathway.stages import Action, Stage
from painpump.core.units import format_decimal
from painpump.plumbing.status import REFUSED
from painpump.web.access import clinic_page, user_of
from painpump.web.clinic_zone import current_locale
from painpump.web.forms import show_refusal
from painpump.web.templatetags.clinic_time import shown_day, shown_moment
from painpump.web.views.pathway_forms import (
    STEP_FORMS,
    TITLES,
    AcknowledgingForm,
    ImplantForm,
    PlanStayForm,
    StepForm,
)

STEP_FIELDS = {
    "bolus": "dose",
    "bolus.given_at": "given_at",
    "acknowledge[tumour_pain_test_phase]": "note_tumour_pain_test_phase",
}
IMPLANT_FIELDS = {
    "on": "implanted_on",
    "pump": "pump_model",
    "catheter_length_cm": "catheter_length",
}
STAYS = {"test-phase": Action.START_TEST_PHASE, "implantation": Action.IMPLANT}
STAY_SLUGS = {action: slug for slug, action in STAYS.items()}
F = TypeVar("F", bound=AcknowledgingForm)
STAY_TITLES = {
    Action.START_TEST_PHASE: "Plan the test phase",
    Action.IMPLANT: "Plan the implantation",
}


def _offered(overview: EpisodeOverview, action: Action) -> bool:
    """Of the steps the stage allows, those that make sense now (the others would be refused by
    core's rules for a reason the page already shows)."""
    state = overview.state
    if action is Action.RECORD_SCREENING_BOLUS:
        return overview.next_screening is not None and overview.next_screening.action == "give"
    if action is Action.DECIDE_TEST_PHASE:
        return state.outcome is None
    if action is Action.RECORD_CATHETER_REMOVAL:
        return state.outcome is not None and state.catheter_removed_on is None
    if action is Action.CLOSE_NON_RESPONDER:
        return state.outcome is Outcome.NON_RESPONDER
    if action is Action.IMPLANT:
        return overview.proposed_implant is not None
    if action is Action.DISCHARGE:
        return state.discharged_on is None
    if action is Action.START_REHABILITATION:
        return state.discharged_on is not None
    if action is Action.START_MAINTENANCE:
        return state.stage is Stage.REHABILITATION or state.discharged_on is not None
    return True


def _step_initial(overview: EpisodeOverview, action: Action, now: datetime) -> dict[str, Any]:
    today = clinic_today(now)
    initial: dict[str, Any] = {"version": overview.episode.version, "on": today}
    if action is Action.START_TEST_PHASE:
        booked = [s.on for s in overview.stays if s.status in OPEN and s.on <= today]
        if booked:
            initial["on"] = booked[-1]
    if action is Action.RECORD_SCREENING_BOLUS and overview.next_screening is not None:
        initial["dose"] = str(overview.next_screening.dose)
        initial["given_at"] = timezone.localtime(now).replace(second=0, microsecond=0)
    return initial


def _stay_form(overview: EpisodeOverview, plan: StayProposal) -> PlanStayForm:
    initial = {
        "version": overview.episode.version,
        "admit_on": plan.admit_on,
        "discharge_on": plan.discharge_on,
    }
    return PlanStayForm(initial=initial, prefix=_stay_prefix(plan.purpose), purpose=plan.purpose)


def _stay_prefix(purpose: Action) -> str:
    return f"plan-{STAY_SLUGS[purpose]}"


def _implant_form(overview: EpisodeOverview, now: datetime) -> ImplantForm:
    """Proposes the earliest day the rules allow after a test phase (today without one)."""
    tested = overview.state.test_ended_on is not None
    today = clinic_today(now)
    day = overview.earliest_implant if tested else today
    initial: dict[str, Any] = {"version": overview.episode.version}
    if day is not None and day <= today:
        initial["implanted_on"] = day
    return ImplantForm(initial=initial, prefix="implant")


def _timeline(overview: EpisodeOverview) -> list[dict[str, Any]]:
    rows = []
    for event in overview.history:
        try:
            title = TITLES[Action(event.action)]
        except ValueError:
            title = event.action
        rows.append(
            {
                "event": event,
                "title": title,
                "facts": _facts_text(event.facts),
                "acknowledged": event.acknowledged,
            }
        )
    return rows


def _facts_text(facts: Mapping[str, Any]) -> list[str]:
    """The facts of a recorded step in words: the bolus with its unit, days and times written
    as the rest of the app writes them ("on Tue 24 Nov 2026"), yes or no for a flag."""
    out = []
    for name, value in facts.items():
        if name == "bolus" and isinstance(value, dict):
            dose = value.get("dose") or {}
            amount = format_decimal(Decimal(str(dose.get("value"))))
            response = "positive response" if value.get("positive") else "no response"
            given = _moment(value.get("given_at"))
            out.append(f"bolus {amount} {dose.get('unit')}, {response}, given {given}")
        elif name == "on":
            out.append(f"on {_moment(value)}")
        elif isinstance(value, bool):
            out.append(f"{name.replace('_', ' ')}: {'yes' if value else 'no'}")
        else:
            out.append(f"{name.replace('_', ' ')}: {str(value).replace('_', ' ')}")
    return out


def _moment(value: object) -> str:
    """A stored ISO day ("Tue 2026-11-24") or instant ("Tue 2026-11-24 10:00 EST", on the
    clinic's wall clock), in the clinic's formats; anything else as it was stored."""
    text = str(value or "")
    try:
        if "T" not in text:
            return shown_day(date.fromisoformat(text), current_locale())
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if timezone.is_naive(moment):
        return text
    return shown_moment(moment, current_locale())


def _page(
    request: HttpRequest,
    overview: EpisodeOverview,
    now: datetime,
    bound: AcknowledgingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The episode page; `bound` replaces the blank form of the step it was sent for."""
    steps = []
    for action in overview.actions:
        if action is Action.IMPLANT or not _offered(overview, action):
            continue
        prefix = action.value
        form = (
            bound
            if bound is not None and bound.prefix == prefix
            else STEP_FORMS[action](initial=_step_initial(overview, action, now), prefix=prefix)
        )
        steps.append({"action": action, "title": TITLES[action], "form": form})
    plans = []
    for plan in overview.plans:
        prefix = _stay_prefix(plan.purpose)
        form = bound if bound is not None and bound.prefix == prefix else _stay_form(overview, plan)
        plans.append(
            {"slug": STAY_SLUGS[plan.purpose], "title": STAY_TITLES[plan.purpose], "form": form}
        )
    implant_form = None
    if Action.IMPLANT in overview.actions and _offered(overview, Action.IMPLANT):
        implant_form = bound if isinstance(bound, ImplantForm) else _implant_form(overview, now)
    context = {
        "o": overview,
        "episode": overview.episode,
        "patient": overview.episode.patient,
        "state": overview.state,
        "steps": steps,
        "plans": plans,
        "implant_form": implant_form,
        "timeline": _timeline(overview),
        "today": clinic_today(now),
        "implant_source": IMPLANT_INTERVAL_SOURCE,
        "origin": origin_choice(overview.episode),
    }
    return render(request, "web/pathway/episode.html", context, status=status)


def _overview(request: HttpRequest, episode_id: UUID, now: datetime) -> EpisodeOverview:
    return episode_overview(user_of(request), episode_id, clinic_today(now))


def _figure_used(implant: Implant) -> str:
    """Which catheter figure the implant's dead volume was judged against, as recorded."""
    figure = catheters.figure_recorded(implant)
    if figure is None:
        return (
            f"Dead volume not checked: no catalog figure or approved clinic entry for "
            f"{implant.catheter_model}."
        )
    return f"Dead volume checked against {figure['model']}: {figure['words']}."


def _done(request: HttpRequest, episode_id: UUID, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect(reverse("web:episode", args=[episode_id]) + "#timeline")


@clinic_page
def episode(request: HttpRequest, episode_id: UUID) -> HttpResponse:
    now = clock.now()
    return _page(request, _overview(request, episode_id, now), now)


def _acknowledged(
    request: HttpRequest,
    episode_id: UUID,
    now: datetime,
    bind: Callable[[Sequence[Finding]], F],
    preview: Callable[[F], Sequence[Finding]],
    take: Callable[[F, dict[str, str]], str],
    fields: Mapping[str, str],
) -> HttpResponse:
    """A change of the episode through its form: `bind` the form (with the warnings to
    acknowledge), `preview` its findings, and once every warning is acknowledged `take` it (the
    message to show); a refusal of either appears next to the field it names (through `fields`)."""
    form = bind(())
    if not form.is_valid():
        return _page(request, _overview(request, episode_id, now), now, form, REFUSED)
    try:
        findings = preview(form)
    except Refusal as refusal:
        return _refused(request, episode_id, now, form, refusal, fields)
    form = bind(findings)
    form.is_valid()
    acks = form.acknowledgements()
    if acks is None:
        status = REFUSED if form.errors else 200
        return _page(request, _overview(request, episode_id, now), now, form, status)
    try:
        with transaction.atomic():
            done = take(form, acks)
    except Refusal as refusal:
        return _refused(request, episode_id, now, form, refusal, fields)
    return _done(request, episode_id, done)


def _refused(
    request: HttpRequest,
    episode_id: UUID,
    now: datetime,
    form: AcknowledgingForm,
    refusal: Refusal,
    fields: Mapping[str, str],
) -> HttpResponse:
    show_refusal(form, refusal, fields)
    return _page(request, _overview(request, episode_id, now), now, form, REFUSED)


@require_POST
@clinic_page
def step(request: HttpRequest, episode_id: UUID, action: str) -> HttpResponse:
    try:
        act = Action(action)
        form_class = STEP_FORMS[act]
    except (ValueError, KeyError):
        raise Http404("no such step") from None
    user, now = user_of(request), clock.now()

    def preview(form: StepForm) -> Sequence[Finding]:
        facts = form.facts()
        return therapy_queries.preview_step(user, episode_id, act.value, now=now, **facts).findings

    def take(form: StepForm, acks: dict[str, str]) -> str:
        version = form.cleaned_data["version"]
        admissions.step(
            user,
            episode_id,
            act,
            expected_version=version,
            now=now,
            acknowledge=acks,
            **form.facts(),
        )
        return f"{TITLES[act]}: recorded."

    def bind(warnings: Sequence[Finding]) -> StepForm:
        return form_class(request.POST, prefix=act.value, warnings=warnings)

    return _acknowledged(request, episode_id, now, bind, preview, take, STEP_FIELDS)


@require_POST
@clinic_page
def plan_stay(request: HttpRequest, episode_id: UUID, purpose: str) -> HttpResponse:
    if purpose not in STAYS:
        raise Http404("no such stay")
    act = STAYS[purpose]
    user, now = user_of(request), clock.now()

    def preview(form: PlanStayForm) -> Sequence[Finding]:
        data = form.cleaned_data
        plan = admissions.preview_admission(
            user,
            episode_id,
            purpose=act,
            admit_on=data["admit_on"],
            discharge_on=data["discharge_on"],
            now=now,
        )
        return plan.decision.findings

    def take(form: PlanStayForm, acks: dict[str, str]) -> str:
        data = form.cleaned_data
        booked = admissions.plan_admission(
            user,
            episode_id,
            expected_version=data["version"],
            purpose=act,
            admit_on=data["admit_on"],
            discharge_on=data["discharge_on"],
            protocol=data.get("protocol"),
            acknowledge=acks,
            now=now,
        )
        booked_on = shown_day(booked.on, current_locale())
        return f"{STAY_TITLES[act]}: admission booked on {booked_on}."

    def bind(warnings: Sequence[Finding]) -> PlanStayForm:
        return PlanStayForm(request.POST, prefix=_stay_prefix(act), purpose=act, warnings=warnings)

    return _acknowledged(request, episode_id, now, bind, preview, take, {"purpose": "admit_on"})


@require_POST
@clinic_page
def implant(request: HttpRequest, episode_id: UUID) -> HttpResponse:
    user, now = user_of(request), clock.now()

    def preview(form: ImplantForm) -> Sequence[Finding]:
        data = form.cleaned_data
        return implantation.preview_implantation(
            user,
            episode_id,
            implanted_on=data["implanted_on"],
            discharged_on=data["discharged_on"],
            now=now,
            catheter=(data["catheter_model"], data["catheter_length"], data["dead_volume"]),
        ).findings

    def take(form: ImplantForm, acks: dict[str, str]) -> str:
        data = form.cleaned_data
        implant = implantation.register_implantation(
            user,
            episode_id,
            expected_version=data["version"],
            now=now,
            pump_model=data["pump_model"],
            pump_serial=data["pump_serial"],
            catheter_model=data["catheter_model"],
            catheter_length_cm=data["catheter_length"].to("cm").value,
            dead_volume=data["dead_volume"],
            alarm_volume=data["alarm_volume"],
            implanted_on=data["implanted_on"],
            discharged_on=data["discharged_on"],
            acknowledge=acks,
        )
        implanted_on = shown_day(data["implanted_on"], current_locale())
        return f"Implantation on {implanted_on}: registered. {_figure_used(implant)}"

    def bind(warnings: Sequence[Finding]) -> ImplantForm:
        return ImplantForm(request.POST, prefix="implant", warnings=warnings)

    return _acknowledged(request, episode_id, now, bind, preview, take, IMPLANT_FIELDS)
