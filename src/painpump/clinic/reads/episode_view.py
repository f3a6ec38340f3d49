"""One episode of care as its page shows it, read in one audited transaction: the record and its
pathway state, the steps the stage allows, the earliest implantation day and the one proposed,
the next screening bolus, the timeline of steps, the assessments and the booked stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from painpump.clinic import audit
from painpump.clinic.errors import get_or_not_found
from painpump.clinic.locale import calendar_of, clinic_settings
from painpump.clinic.models import Appointment, Assessment, Episode, PathwayEvent
from painpump.clinic.pathway_state import pathway_settings, state_of
from painpump.clinic.roles import require
from painpump.core.baclofen import ScreeningStep, next_screening_step
from painpump.core.pathway.episode import Episode as CoreEpisode
from painpump.core.pathway.episode import PathwaySettings
from painpump.core.pathway.stages import TERMINAL, Action, Stage, allowed_actions
from painpump.core.scheduling import earliest_working_day
from painpump.core.stay_plan import earliest_admission, proposed_implant_day, usual_discharge
from painpump.core.trial_phase import TrialPlan, planned_test_phase


@dataclass(frozen=True)
class EpisodeOverview:
    """What the episode page shows; every date and dose in it comes from core."""

    episode: Episode
    state: CoreEpisode
    settings: PathwaySettings
    actions: tuple[Action, ...]
    earliest_implant: date | None
    proposed_implant: date | None
    next_screening: ScreeningStep | None
    history: list[PathwayEvent]
    assessments: list[Assessment]
    stays: list[Appointment]
    plans: tuple[StayProposal, ...]
    test_plan: TrialPlan | None = None

    @property
    def closed(self) -> bool:
        return self.state.stage in TERMINAL


@dataclass(frozen=True)
class StayProposal:
    """A stay the team may book next, with the admission and discharge days proposed."""

    purpose: Action
    admit_on: date
    discharge_on: date


def _plans(
    state: CoreEpisode,
    settings: PathwaySettings,
    proposed_implant: date | None,
    stays: list[Appointment],
    today: date,
) -> tuple[StayProposal, ...]:
    """No proposal while an admission is booked; else the test phase from referral and the
    implantation from its earliest working day."""
    if any(s.status in ("proposed", "booked") for s in stays):
        return ()
    calendar = calendar_of(clinic_settings())
    found = []
    if state.stage is Stage.REFERRED:
        found.append((Action.START_TEST_PHASE, max(today, state.last_event_on)))
    if proposed_implant is not None:
        found.append((Action.IMPLANT, proposed_implant))
    out = []
    for purpose, day in found:
        admit = earliest_working_day(day, calendar)
        out.append(StayProposal(purpose, admit, usual_discharge(admit, settings)))
    return tuple(out)


def _next_screening(state: CoreEpisode) -> ScreeningStep | None:
    """The label's next screening step while a baclofen bolus test phase is undecided."""
    if state.stage is not Stage.TEST_PHASE or not state.spasticity_screening:
        return None
    if state.outcome is not None:
        return None
    return next_screening_step(state.screening, small_patient=state.small_patient)


@transaction.atomic
def episode_overview(user: User, episode_id: UUID, today: date) -> EpisodeOverview:
    actor = require(user, "patient.read")
    episode = get_or_not_found(Episode.objects.select_related("patient"), episode_id)
    state = state_of(episode)
    settings = pathway_settings(clinic_settings())
    proposed = proposed_implant_day(state, today, settings)
    earliest = earliest_admission(state, Action.IMPLANT, settings) if proposed else None
    stays = list(episode.appointments.filter(kind="admission").order_by("on"))
    overview = EpisodeOverview(
        episode=episode,
        state=state,
        settings=settings,
        actions=allowed_actions(state.stage),
        earliest_implant=earliest,
        proposed_implant=proposed,
        next_screening=_next_screening(state),
        history=list(episode.pathway_events.order_by("recorded_at", "id")),
        assessments=list(
            episode.assessments.select_related("recorded_by").order_by("taken_at", "recorded_at")
        ),
        stays=stays,
        plans=_plans(state, settings, proposed, stays, today),
        test_plan=planned_test_phase(state, today, verified=settings.test_phase_days_verified),
    )
    audit.record(actor, "episode.read", "episode", episode.id, patient_id=episode.patient_id)
    return overview
