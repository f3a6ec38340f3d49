"""The test phase's planned length per severity of the spasticity as clinic settings
(rule-clinic-setting): the admin changes each, validated (1 to 60 days, a refusal naming field,
value, limit and source), audited with before and after and versioned; the pathway takes them
from the settings, and a change moves the planned end of a test phase started afterwards, never
of one already running (its plan is kept with the episode when it starts)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import written_entries
from frozen import TODAY, day
from painpump.clinic.actions import pathway, patients, settings_service
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, Episode, Patient
from painpump.clinic.pathway_state import pathway_settings, state_of
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal
from painpump.core.pathway.indications import Severity
from painpump.core.pathway.sources import TEST_LENGTH_SOURCE
from painpump.core.trial_phase import planned_test_phase

pytestmark = pytest.mark.django_db

FIELDS = {
    "test_phase_days_moderate": Severity.MODERATE,
    "test_phase_days_severe": Severity.SEVERE,
    "test_phase_days_very_severe": Severity.VERY_SEVERE,
}


def noon(on: date) -> datetime:
    return datetime.combine(on, time(12, 0), tzinfo=UTC)


def started(physician: User, patient: Patient, on: date, severity: str) -> Episode:
    """A stroke episode whose test phase started on `on` with `severity`."""
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=on - timedelta(days=20)
    )
    row, _ = pathway.step(
        physician,
        episode.id,
        "start_test_phase",
        expected_version=episode.version,
        now=noon(on),
        on=on,
        protocol="continuous",
        severity=severity,
    )
    return row


def test_the_defaults_are_the_placeholders_3_5_7_days_unverified(db: None) -> None:
    rules = pathway_settings(clinic_settings())
    assert dict(rules.test_phase_days) == {
        Severity.MODERATE: 3,
        Severity.SEVERE: 5,
        Severity.VERY_SEVERE: 7,
    }
    assert rules.test_phase_days_verified is False


@pytest.mark.parametrize(("name", "severity"), FIELDS.items())
def test_the_admin_changes_a_length_audited_with_before_and_after(
    admin: User, name: str, severity: Severity
) -> None:
    before = clinic_settings()
    changed = settings_service.update_settings(admin, expected_version=before.version, **{name: 12})
    assert getattr(changed, name) == 12
    assert changed.version == before.version + 1
    assert pathway_settings(changed).test_phase_days[severity] == 12
    entry = AuditEntry.objects.get(action="settings.update")
    assert entry.before is not None and entry.after is not None
    assert entry.before[name] == f"{getattr(before, name)} day"
    assert entry.after[name] == "12 day"


@pytest.mark.parametrize(
    ("value", "shown", "problem"),
    [
        (0, "0 day", "is out of range"),
        (61, "61 day", "is out of range"),
        (-3, "-3 day", "is out of range"),
        (2.5, "2.5", "is not whole days"),
        ("5", "'5'", "is not whole days"),
        (True, "True", "is not whole days"),
    ],
    ids=["zero", "over-60", "negative", "fraction", "text", "bool"],
)
def test_a_length_outside_1_to_60_days_is_refused_naming_field_value_limit_and_source(
    admin: User, value: object, shown: str, problem: str
) -> None:
    version = clinic_settings().version
    with pytest.raises(Refusal) as caught:
        settings_service.update_settings(
            admin, expected_version=version, test_phase_days_severe=value
        )
    refusal = caught.value
    assert (refusal.field, refusal.value) == ("test_phase_days_severe", shown)
    if problem == "is out of range":
        assert refusal.limit == "1 day to 60 day"
    assert refusal.source == TEST_LENGTH_SOURCE
    assert problem in refusal.problem
    assert clinic_settings().test_phase_days_severe == 5
    assert clinic_settings().version == version
    assert not written_entries().exists()


def test_the_boundaries_1_and_60_days_are_accepted(admin: User) -> None:
    changed = settings_service.update_settings(
        admin,
        expected_version=clinic_settings().version,
        test_phase_days_moderate=1,
        test_phase_days_very_severe=60,
    )
    assert (changed.test_phase_days_moderate, changed.test_phase_days_very_severe) == (1, 60)


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_only_the_admin_changes_a_length(request: pytest.FixtureRequest, role_user: str) -> None:
    with pytest.raises(Forbidden):
        settings_service.update_settings(
            request.getfixturevalue(role_user),
            expected_version=clinic_settings().version,
            test_phase_days_moderate=4,
        )
    assert clinic_settings().test_phase_days_moderate == 3
    assert not written_entries().exists()


def test_a_changed_length_moves_a_test_phase_started_afterwards_not_one_already_running(
    admin: User, physician: User, patient: Patient
) -> None:
    running = started(physician, patient, day(-2), "severe")
    plan = planned_test_phase(state_of(running), TODAY)
    assert plan is not None
    assert (plan.planned_days, plan.planned_end) == (5, day(3))
    settings_service.update_settings(
        admin, expected_version=clinic_settings().version, test_phase_days_severe=10
    )
    running.refresh_from_db()
    kept = planned_test_phase(state_of(running), TODAY)
    assert kept is not None
    assert (kept.planned_days, kept.planned_end) == (5, day(3))  # the plan made at its start
    later = started(physician, patient, TODAY, "severe")
    moved = planned_test_phase(state_of(later), TODAY)
    assert moved is not None
    assert (moved.planned_days, moved.planned_end, moved.days_left) == (10, day(10), 10)
    assert moved.verified is False
    other = started(physician, patient, TODAY, "moderate")  # an unchanged severity
    unchanged = planned_test_phase(state_of(other), TODAY)
    assert unchanged is not None and unchanged.planned_days == 3
