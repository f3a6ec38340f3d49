"""The audit page's "Verify" button reads the whole trail, so it is paced (painpump.plumbing.pace):
once a minute per user and one run at a time across the clinic; a press past that runs nothing,
records nothing and answers 429 with when to try again. Issue 14: a signed-in user could keep the
server busy by pressing it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from painpump import clock
from painpump.clinic.models import AuditEntry
from painpump.plumbing.models import PacedRun
from painpump.plumbing.pace import FIRST_WAIT, STALE
from painpump.web.views.audit import VERIFY

pytestmark = pytest.mark.django_db


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def verifications() -> int:
    return AuditEntry.objects.filter(action="audit.verify").count()


def running(username: str, started: timedelta, *, took: timedelta | None = None) -> None:
    """A run of another worker's: started `started` ago, unfinished (or a finished one that
    took `took`)."""
    at = clock.now() - started
    PacedRun.objects.create(
        action=VERIFY, username=username, started_at=at, finished_at=at + took if took else None
    )


@pytest.mark.parametrize(
    ("after", "status", "text"),
    [
        (timedelta(seconds=0), 429, "You started a verification less than a minute ago"),
        (timedelta(seconds=45), 429, "try again in 15 s."),
        (timedelta(seconds=59), 429, "try again in 1 s."),
        (timedelta(seconds=60), 200, "The chain is intact"),
    ],
)
def test_one_user_verifies_at_most_once_a_minute(
    auditor: User,
    frozen_clock: time_machine.Traveller,
    after: timedelta,
    status: int,
    text: str,
) -> None:
    frozen_clock.move_to(clock.now(), tick=False)
    client = client_for(auditor)
    assert client.post("/audit/verify/").status_code == 200
    frozen_clock.shift(after)
    response = client.post("/audit/verify/")
    assert response.status_code == status
    assert text in response.content.decode()
    assert verifications() == (2 if status == 200 else 1)
    if status == 429:
        assert response["Retry-After"] == str(max(1, 60 - int(after.total_seconds())))


def test_a_paced_press_answers_a_page_saying_when_and_reads_nothing(
    auditor: User, frozen_clock: time_machine.Traveller
) -> None:
    frozen_clock.move_to(clock.now(), tick=False)
    client = client_for(auditor)
    client.post("/audit/verify/")
    entries = AuditEntry.objects.count()
    response = client.post("/audit/verify/")
    page = response.content.decode()
    assert response.status_code == 429
    assert (
        "You started a verification less than a minute ago (one a minute each): try again in 60 s."
    ) in page
    assert 'href="/audit/"' in page
    assert AuditEntry.objects.count() == entries  # neither a verification nor a read recorded


def test_another_users_run_under_way_refuses_a_second_clinic_wide(
    auditor: User, admin: User, frozen_clock: time_machine.Traveller
) -> None:
    frozen_clock.move_to(clock.now(), tick=False)
    running("ad.min", timedelta(seconds=1))
    response = client_for(auditor).post("/audit/verify/")
    assert response.status_code == 429
    assert (
        "Another verification of the chain is running (one at a time): try again in "
        f"{FIRST_WAIT} s."
    ) in response.content.decode()
    assert verifications() == 0


def test_the_wait_for_a_run_under_way_is_judged_by_how_long_the_last_took(
    auditor: User, admin: User, frozen_clock: time_machine.Traveller
) -> None:
    frozen_clock.move_to(clock.now(), tick=False)
    running("ad.min", timedelta(minutes=5), took=timedelta(seconds=8))
    running("ad.min", timedelta(seconds=3))
    response = client_for(auditor).post("/audit/verify/")
    assert response.status_code == 429
    assert response["Retry-After"] == "5"


def test_a_run_left_unfinished_by_a_restarted_worker_no_longer_holds_the_turn(
    auditor: User, frozen_clock: time_machine.Traveller
) -> None:
    frozen_clock.move_to(clock.now(), tick=False)
    running("ad.min", STALE + timedelta(seconds=1))
    response = client_for(auditor).post("/audit/verify/")
    assert response.status_code == 200
    assert "The chain is intact" in response.content.decode()
    assert not PacedRun.objects.filter(finished_at=None).exists()


def test_users_take_turns_once_a_run_has_finished(auditor: User, admin: User) -> None:
    assert client_for(auditor).post("/audit/verify/").status_code == 200
    assert client_for(admin).post("/audit/verify/").status_code == 200
    assert verifications() == 2
    assert not PacedRun.objects.filter(finished_at=None).exists()


def test_a_user_who_may_not_verify_is_refused_before_any_run_is_recorded(nurse: User) -> None:
    assert client_for(nurse).post("/audit/verify/").status_code == 403
    assert not PacedRun.objects.exists()
