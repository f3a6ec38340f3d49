"""Regression: an unknown pathway action sent to the clinic service (e.g. "fly" through the API)
was a ValueError (an HTTP 500); it is a Refusal naming the field and the allowed actions, and
nothing is written."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from frozen import at, day
from painpump.clinic.actions import pathway, patients
from painpump.clinic.models import AuditEntry, Episode, PathwayEvent, Patient
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


def test_an_unknown_action_is_refused_with_the_allowed_ones(
    patient: Patient, physician: User
) -> None:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=day(-55)
    )
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as caught:
        pathway.step(
            physician,
            episode.id,
            "fly",
            expected_version=1,
            now=at(-23, 0),
        )
    assert (caught.value.field, caught.value.value) == ("action", "fly")
    assert "start_test_phase" in caught.value.limit
    assert PathwayEvent.objects.count() == 0 and AuditEntry.objects.count() == entries
    assert Episode.objects.get(id=episode.id).version == 1
