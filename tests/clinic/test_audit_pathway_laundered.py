"""A pathway state edited in the database and laundered by the next ordinary step (the eighth
outside attack, H1): a responder's test phase moved a month earlier in `pathway_state` let an
implantation through one day after the test phase (the hard rule asks for three weeks), and the
step's entry, recording the edited state's digest, made `audit verify` pass again. Now the step
refuses to continue from a state its trail does not record (ChangedOutside, a 409), and each
step's `before` records the digest of the state it started from, so a step that ran anyway
breaks the trail's continuity. Entries written before the steps recorded the digest verify."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import written_entries
from frozen import at, day
from painpump.clinic import audit
from painpump.clinic.actions import implantation, pathway, patient_facts, patients
from painpump.clinic.errors import UnreadableRow
from painpump.clinic.models import AuditEntry, Episode, Implant, Patient
from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode
from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

STARTED = day(-12)
ENDED = STARTED + timedelta(days=2)
"""The responder decision and the temporary catheter's removal (responder_episode)."""
IMPLANTED = ENDED + timedelta(days=1)
"""One day after the test phase: the clinic's 21 days refuse it."""
MOVED = ("test_ended_on", "catheter_removed_on", "stage_since")
"""What the attacker moved a month earlier in the stored state."""


def responder(physician: User, patient: Patient) -> Episode:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=day(-60)
    )
    return responder_episode(physician, episode.id, start=STARTED)


def implant(physician: User, episode_id: UUID) -> Implant:
    row = Episode.objects.get(id=episode_id)
    return implantation.register_implantation(
        physician,
        row.id,
        expected_version=row.version,
        now=at(-9, 12),
        pump_model="synchromed-ii-20",
        pump_serial="NGP123456H",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )


def launder(episode_id: UUID) -> dict[str, Any]:
    """The attacker's edit: the test phase's end, the catheter's removal and the stage's start
    a month earlier in the stored pathway state (`update clinic_episode set pathway_state =
    ...`); the state as it was."""
    row = Episode.objects.get(id=episode_id)
    was = dict(row.pathway_state)
    state = dict(was)
    for name in MOVED:
        state[name] = (date.fromisoformat(state[name]) - timedelta(days=30)).isoformat()
    Episode.objects.filter(id=row.id).update(pathway_state=state)
    return was


def newest_step(episode_id: UUID) -> AuditEntry:
    found = AuditEntry.objects.filter(
        object_id=str(episode_id), action__startswith="pathway."
    ).last()
    assert found is not None
    return found


@pytest.fixture
def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that runs whatever state it finds, as before the fix (or past its check)."""
    monkeypatch.setattr(pathway, "as_audited", lambda row: pathway.state_digest(row.pathway_state))


def test_the_implantation_is_refused_from_an_edited_state_and_nothing_is_written(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient)
    with pytest.raises(Refusal) as early:
        implant(physician, episode.id)
    assert f"the earliest allowed date is {ENDED + timedelta(days=21)}" in early.value.message
    launder(episode.id)
    (edited,) = audit.verify().problems
    assert edited.startswith(f"episode {episode.id}: state_digest is ")
    written = written_entries().count()

    with pytest.raises(UnreadableRow) as refused:
        implant(physician, episode.id)

    assert isinstance(refused.value, pathway.ChangedOutside)
    message = str(refused.value)
    assert message.startswith(f"episode {episode.id}: its pathway state differs from its audit")
    assert "changed outside painpump" in message
    assert f"its audit entry {newest_step(episode.id).seq} records" in message
    assert Implant.objects.count() == 0
    assert Episode.objects.get(id=episode.id).version == episode.version
    assert written_entries().count() == written
    assert audit.verify().problems == (edited,)


def test_a_plain_step_is_refused_too_and_the_restored_state_goes_on(
    physician: User, patient: Patient
) -> None:
    """Every step checks the state, not only the implantation; the state restored as its trail
    records it, the pathway goes on (and the wait refuses the early implantation again)."""
    episode = responder(physician, patient)
    was = launder(episode.id)
    with pytest.raises(pathway.ChangedOutside):
        pathway.step(
            physician,
            episode.id,
            "close",
            expected_version=episode.version,
            now=at(-9, 12),
            on=day(-9),
            reason="moved away",
        )
    Episode.objects.filter(id=episode.id).update(pathway_state=was)
    assert audit.verify().ok
    with pytest.raises(Refusal) as early:
        implant(physician, episode.id)
    assert early.value.field == "on"


def test_each_step_records_the_state_it_started_from(physician: User, patient: Patient) -> None:
    episode = responder(physician, patient)
    steps = list(
        AuditEntry.objects.filter(object_id=str(episode.id))
        .order_by("seq")
        .values_list("action", "before", "after")
    )
    assert [action for action, _, _ in steps][:2] == ["episode.open", "pathway.start_test_phase"]
    for (_, _, left), (_, found, _) in pairwise(steps):
        assert isinstance(found, dict) and isinstance(left, dict)
        assert found["state_digest"] == left["state_digest"]


@pytest.mark.usefixtures("unchecked")
def test_a_step_that_ran_from_an_edited_state_breaks_the_trail(
    physician: User, patient: Patient
) -> None:
    episode = responder(physician, patient)
    removal = newest_step(episode.id)
    was = pathway.state_digest(Episode.objects.get(id=episode.id).pathway_state)
    launder(episode.id)
    edited = pathway.state_digest(Episode.objects.get(id=episode.id).pathway_state)

    implant(physician, episode.id)  # laundered: its entry records the edited state's digest

    step = newest_step(episode.id)
    assert step.action == "pathway.implant"
    assert audit.verify().problems == (
        f"episode {episode.id}: entry {step.seq} records state_digest before as {edited!r}, but "
        f"entry {removal.seq} left it as {was!r}: the record was changed outside the "
        "application between them",
    )


@pytest.mark.usefixtures("unchecked")
def test_an_entry_between_that_records_no_state_does_not_hide_the_edit(
    physician: User, patient: Patient
) -> None:
    """An origin override (its entry records no pathway state) between the last honest step and
    the laundered one: the laundered step's `before` is compared with the removal's `after`."""
    episode = responder(physician, patient)
    removal = newest_step(episode.id)
    patient_facts.set_origin_override(
        physician,
        episode.id,
        expected_version=Episode.objects.get(id=episode.id).version,
        origin="spinal",
        reason="myelopathy shown on the spinal MRI",
    )
    launder(episode.id)

    implant(physician, episode.id)

    (problem,) = audit.verify().problems
    step = newest_step(episode.id)
    assert problem.startswith(f"episode {episode.id}: entry {step.seq} records state_digest ")
    assert f"but entry {removal.seq} left it as " in problem


@contextmanager
def older_entries() -> Iterator[None]:
    """Entries as painpump wrote them before it recorded the pathway state's digest."""
    real = audit.record

    def older(actor: str, action: str, object_type: str, object_id: object, **kw: Any) -> Any:
        if action in pathway.RECORDING_STATE:
            for side in ("before", "after"):
                if isinstance(kw.get(side), dict):
                    kw[side] = {k: v for k, v in kw[side].items() if k != "state_digest"}
        return real(actor, action, object_type, object_id, **kw)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(audit, "record", older)
        yield


def test_an_episode_whose_entries_predate_the_digest_goes_on_and_verifies(
    physician: User, patient: Patient
) -> None:
    with older_entries():
        episode = responder(physician, patient)
    assert "state_digest" not in (newest_step(episode.id).after or {})
    row = Episode.objects.get(id=episode.id)

    pathway.step(
        physician,
        episode.id,
        "close",
        expected_version=row.version,
        now=at(-9, 12),
        on=day(-9),
        reason="moved away",
    )

    assert audit.verify().ok
    closing = newest_step(episode.id)
    assert closing.before == {
        "stage": "responder",
        "state_digest": pathway.state_digest(row.pathway_state),
    }


def test_the_tamper_drills_laundering_is_refused_then_named(
    physician: User, patient: Patient
) -> None:
    episode_id = tamper.launder_pathway_state(physician.get_username())
    (problem,) = audit.verify().problems
    assert problem.startswith(f"episode {episode_id}: entry ")
    assert " records state_digest before as " in problem
