"""A hard clinic limit takes effect only after a second approver (issue 12, rule-four-eyes): a new
or changed hard limit is pending and the checks do not apply it (a limit it replaces stays in
force) until a pharmacist or physician other than the one who set it approves it; a soft limit is
approved by its author as it is set; setting and approving are both audited; archiving is allowed
to library.write as before and audited."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from painpump.clinic import audit
from painpump.clinic.actions import library, programs
from painpump.clinic.errors import Conflict
from painpump.clinic.models import AuditEntry, ClinicLimit, Implant
from painpump.clinic.reads import clinic_limits
from painpump.clinic.reads.pump_state import dosing_rules
from painpump.clinic.roles import Forbidden, Role
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import catalog
from painpump.core.checks import check_clinic_limits
from painpump.core.decision import Verdict
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

POLICY = "Baclofen policy BP-7, section 3"


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def daily(user: User, value: str, severity: str = "hard") -> ClinicLimit:
    return library.add_limit(
        user,
        drug="baclofen",
        rule="max_daily_dose",
        value=dose(value),
        severity=severity,
        source=POLICY,
        idempotency_key=str(uuid4()),
    )


def change(user: User, row: ClinicLimit, value: str, severity: str = "hard") -> ClinicLimit:
    return library.change_limit(
        user,
        row.id,
        expected_version=row.version,
        value=dose(value),
        severity=severity,
        source=POLICY,
    )


def verdict_at(text: str) -> Verdict:
    """What the checks in force (the clinic's dosing rules) say of baclofen at this daily dose:
    the worst verdict of the clinic limits (ok when none applies)."""
    found = check_clinic_limits(
        catalog.drug("baclofen"),
        parse("2000 mcg/mL", Kind.CONCENTRATION, "c"),
        dose(text),
        dosing_rules().clinic_limits,
    )
    return max((f.verdict for f in found), key=lambda v: v.rank, default=Verdict.OK)


@pytest.fixture
def second_pharmacist(make_user: Callable[..., User]) -> User:
    return make_user("pharma.two", Role.PHARMACIST)


def test_a_new_hard_limit_is_pending_and_not_applied(pharmacist: User) -> None:
    row = daily(pharmacist, "420 mcg/day")
    assert row.pending and row.approved_by == "" and row.approved_at is None
    assert clinic_limits.active_limits() == ()
    assert verdict_at("440 mcg/day") is Verdict.OK  # the dose it would stop still passes
    entry = AuditEntry.objects.get(action="library.limit.add")
    assert entry.after is not None and entry.after["pending"] is True


def test_the_setter_cannot_approve_their_own_hard_limit(pharmacist: User) -> None:
    row = daily(pharmacist, "420 mcg/day")
    with pytest.raises(Forbidden) as caught:
        library.approve_limit(pharmacist, row.id, expected_version=row.version)
    assert caught.value.capability == "library.approve"
    assert "pharma.cist set this limit" in str(caught.value)
    assert "second pharmacist or physician" in str(caught.value)
    row.refresh_from_db()
    assert row.pending and row.version == 1
    assert not AuditEntry.objects.filter(action="library.limit.approve").exists()


@pytest.mark.parametrize("role_user", ["nurse", "auditor", "admin"])
def test_a_role_without_library_approve_cannot_approve(
    request: pytest.FixtureRequest, pharmacist: User, role_user: str
) -> None:
    row = daily(pharmacist, "420 mcg/day")
    with pytest.raises(Forbidden) as caught:
        library.approve_limit(
            request.getfixturevalue(role_user), row.id, expected_version=row.version
        )
    assert "a physician or a pharmacist may (library.approve)" in str(caught.value)
    row.refresh_from_db()
    assert row.pending


def test_only_a_pharmacist_sets_or_changes_a_hard_limit(admin: User, pharmacist: User) -> None:
    with pytest.raises(Forbidden):
        daily(admin, "420 mcg/day")
    soft = daily(admin, "420 mcg/day", "soft")
    with pytest.raises(Forbidden):
        change(admin, soft, "420 mcg/day", "hard")
    assert list(ClinicLimit.objects.values_list("severity", flat=True)) == ["soft"]


@pytest.mark.parametrize("approver", ["second_pharmacist", "physician"])
def test_another_pharmacist_or_a_physician_approves_and_then_it_stops(
    request: pytest.FixtureRequest, pharmacist: User, approver: str
) -> None:
    second: User = request.getfixturevalue(approver)
    row = daily(pharmacist, "420 mcg/day")
    approved = library.approve_limit(second, row.id, expected_version=row.version)
    assert approved.approved_by == second.get_username()
    assert approved.approved_at is not None and not approved.pending
    assert approved.version == 2
    assert [lim.rule for lim in clinic_limits.active_limits()] == ["max_daily_dose"]
    assert verdict_at("440 mcg/day") is Verdict.STOP
    assert verdict_at("410 mcg/day") is Verdict.OK
    entry = AuditEntry.objects.get(action="library.limit.approve")
    assert entry.actor == second.get_username()
    assert entry.before is not None and entry.after is not None
    assert (entry.before["pending"], entry.after["pending"]) == (True, False)
    assert entry.after["approved_by"] == second.get_username()
    assert audit.verify().ok
    with pytest.raises(Refusal) as again:
        library.approve_limit(second, row.id, expected_version=approved.version)
    assert again.value.problem == "is in force"


def test_a_stale_approval_is_a_conflict(pharmacist: User, physician: User) -> None:
    row = daily(pharmacist, "420 mcg/day")
    change(pharmacist, row, "410 mcg/day")  # still pending, now version 2
    with pytest.raises(Conflict):
        library.approve_limit(physician, row.id, expected_version=1)


def test_a_soft_limit_is_approved_by_its_author_and_applies_at_once(pharmacist: User) -> None:
    row = daily(pharmacist, "420 mcg/day", "soft")
    assert not row.pending and row.approved_by == "pharma.cist"
    assert verdict_at("440 mcg/day") is Verdict.WARN


def test_a_change_of_a_hard_limit_in_force_waits_while_the_old_one_keeps_applying(
    pharmacist: User, second_pharmacist: User, physician: User
) -> None:
    row = daily(pharmacist, "420 mcg/day")
    row = library.approve_limit(second_pharmacist, row.id, expected_version=row.version)
    pending = change(pharmacist, row, "430 mcg/day")  # loosening: needs a second approver too
    assert pending.id != row.id and pending.replaces_id == row.id and pending.pending
    assert verdict_at("425 mcg/day") is Verdict.STOP  # 420 still in force
    with pytest.raises(Refusal) as twice:
        change(pharmacist, row, "410 mcg/day")
    assert "already has a change waiting" in twice.value.problem
    with pytest.raises(Forbidden):
        library.approve_limit(pharmacist, pending.id, expected_version=pending.version)
    library.approve_limit(physician, pending.id, expected_version=pending.version)
    row.refresh_from_db()
    assert row.archived_at is not None and row.archived_by == "dr.house"
    assert verdict_at("425 mcg/day") is Verdict.OK
    assert verdict_at("435 mcg/day") is Verdict.STOP
    replaced = AuditEntry.objects.get(action="library.limit.replace")
    assert replaced.object_id == str(row.id)
    assert replaced.after is not None and replaced.after["replaced_by"] == str(pending.id)
    changed = AuditEntry.objects.get(action="library.limit.change")
    assert changed.before is not None and changed.after is not None
    assert (changed.before["value"], changed.after["value"]) == ("420 mcg/day", "430 mcg/day")
    assert audit.verify().ok


def test_a_hard_limit_changed_to_soft_waits_for_approval(pharmacist: User, physician: User) -> None:
    row = daily(pharmacist, "420 mcg/day")
    row = library.approve_limit(physician, row.id, expected_version=row.version)
    pending = change(pharmacist, row, "420 mcg/day", "soft")
    assert pending.pending and pending.replaces_id == row.id
    assert verdict_at("440 mcg/day") is Verdict.STOP
    library.approve_limit(physician, pending.id, expected_version=pending.version)
    assert verdict_at("440 mcg/day") is Verdict.WARN


def test_a_soft_limit_changed_in_place_stays_approved(pharmacist: User) -> None:
    row = daily(pharmacist, "420 mcg/day", "soft")
    changed = change(pharmacist, row, "410 mcg/day", "soft")
    assert changed.id == row.id and changed.version == 2 and not changed.pending
    assert verdict_at("415 mcg/day") is Verdict.WARN


def test_a_soft_limit_hardened_waits_while_the_soft_one_keeps_warning(
    pharmacist: User, physician: User
) -> None:
    row = daily(pharmacist, "420 mcg/day", "soft")
    pending = change(pharmacist, row, "420 mcg/day", "hard")
    assert pending.pending and pending.replaces_id == row.id
    assert verdict_at("440 mcg/day") is Verdict.WARN
    library.approve_limit(physician, pending.id, expected_version=pending.version)
    assert verdict_at("440 mcg/day") is Verdict.STOP
    row.refresh_from_db()
    assert row.archived_at is not None


def test_removing_a_hard_limit_in_force_waits_for_a_second_approver(
    pharmacist: User, physician: User, admin: User
) -> None:
    """Regression: one pharmacist (or an admin) removed a hard limit at once; removing it loosens
    the library, so it is asked for by a pharmacist and approved by someone else."""
    row = daily(pharmacist, "420 mcg/day")
    row = library.approve_limit(physician, row.id, expected_version=row.version)
    with pytest.raises(Forbidden):
        library.archive_limit(admin, row.id, expected_version=row.version)
    asked = library.archive_limit(pharmacist, row.id, expected_version=row.version)
    assert asked.removal_pending and asked.archived_at is None
    assert verdict_at("440 mcg/day") is Verdict.STOP  # it still applies
    with pytest.raises(Forbidden):
        library.approve_limit(pharmacist, row.id, expected_version=asked.version)
    removed = library.approve_limit(physician, row.id, expected_version=asked.version)
    assert removed.archived_by == physician.get_username()
    assert verdict_at("440 mcg/day") is Verdict.OK
    actions = list(
        AuditEntry.objects.filter(object_id=str(row.id)).values_list("action", flat=True)
    )
    assert actions[-2:] == ["library.limit.archive_request", "library.limit.archive"]


def test_a_pending_limit_withdrawn_by_archiving_can_no_longer_be_approved(
    pharmacist: User, physician: User
) -> None:
    row = daily(pharmacist, "420 mcg/day")
    archived = library.archive_limit(pharmacist, row.id, expected_version=row.version)
    with pytest.raises(Refusal):
        library.approve_limit(physician, row.id, expected_version=archived.version)


def test_limits_set_before_approvals_were_required_stay_in_force(pharmacist: User) -> None:
    """Migration 0017 marks the limits it finds approved as they were set (they applied from
    then on; dropping a hard one would loosen the library), saying why."""
    row = daily(pharmacist, "420 mcg/day")
    migration = importlib.import_module("painpump.clinic.migrations.0017_settings_and_approvals")
    migration.in_force_as_before(apps, None)
    row.refresh_from_db()
    assert row.approved_at == row.set_at
    assert row.approved_by.startswith("pharma.cist (in force before second approval")
    assert len(clinic_limits.active_limits()) == 1


def test_a_pending_hard_limit_lets_a_titration_pass_until_approved(
    pharmacist: User, second_pharmacist: User, physician: User, nurse: User, implant: Implant
) -> None:
    """End to end through the prescription and program services: the dose a pending limit would
    stop is prescribed and programmed; a further increase prescribed while the limit is pending
    is refused when the pump is programmed after the approval, and prescribing it again is
    refused too, each naming the clinic's policy."""
    row = daily(pharmacist, "420 mcg/day")
    at = FIRST_FILL + timedelta(days=3)
    passed = titrated(physician, implant.id, dose("440 mcg/day"), at=at, programmer=nurse)
    assert passed.dose_mcg_per_day == Decimal("440")
    later = at + timedelta(days=2)
    prescribed(physician, pharmacist, implant.id, baclofen(), dose("445 mcg/day"), at=later)
    library.approve_limit(second_pharmacist, row.id, expected_version=row.version)
    with pytest.raises(Refusal) as programming:
        programs.program_pump(
            nurse,
            implant.id,
            expected_version=Implant.objects.get(id=implant.id).version,
            now=later,
        )
    assert "clinic_max_daily_dose" in programming.value.problem
    assert POLICY in programming.value.source
    with pytest.raises(Refusal) as caught:
        prescribed(physician, pharmacist, implant.id, baclofen(), dose("445 mcg/day"), at=later)
    assert "clinic_max_daily_dose" in caught.value.problem
    assert POLICY in caught.value.source
    assert implant.programs.get(ended_at__isnull=True) == passed
