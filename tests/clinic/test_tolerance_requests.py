"""A wider readback tolerance takes a second admin (issue 14, rule-second-admin-tolerance): one
admin alone may keep or narrow it; a wider one is refused naming the limit and the rule, and is
asked for instead; the settings hold it only once another admin approves (never the one who
asked), while the tolerance is still the one it was asked from; declined, withdrawn or refused,
nothing changes. Each step is audited, and `painpump audit verify` passes after an approval."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import written_entries
from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import settings_service, tolerance_requests, users
from painpump.clinic.errors import Conflict, NotFound
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, ToleranceRequest
from painpump.clinic.reads.readback_expected import reservoir_tolerance
from painpump.clinic.roles import Forbidden, Role
from painpump.core.errors import Refusal
from painpump.core.readback_tolerance import SECOND_ADMIN, Wider

pytestmark = pytest.mark.django_db

RULE = "rule-second-admin-tolerance"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


def recorded(request_id: int, requested: str, status: str) -> list[dict[str, object]]:
    """A decided request's audit entry's before and after."""
    asked = {"request": request_id, "requested": requested, "previous": "0.1 mL"}
    return [asked | {"status": "pending"}, asked | {"status": status}]


def unchanged() -> tuple[Decimal, int]:
    settings = clinic_settings()
    return settings.readback_tolerance_ml, settings.version


def test_the_rule_the_refusals_cite_is_listed_in_the_design_rules() -> None:
    assert SECOND_ADMIN.startswith(f"{RULE}: ")
    assert f"- `{RULE}`: " in (ROOT / "docs" / "design-rules.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("typed", "value"),
    [("0.2 mL", "0.2 mL"), ("101 uL", "0.101 mL"), ("0.999 mL", "0.999 mL")],
    ids=["wider", "a-microlitre-wider", "just-below-the-ceiling"],
)
def test_a_wider_tolerance_is_refused_to_one_admin_naming_the_limit_and_the_rule(
    admin: User, typed: str, value: str
) -> None:
    with pytest.raises(Wider) as refused:
        settings_service.update_settings(admin, expected_version=1, readback_tolerance=typed)
    assert (refused.value.field, refused.value.value) == ("readback_tolerance", value)
    assert refused.value.limit == (
        "<= current 0.1 mL (a wider one needs a second admin's approval)"
    )
    assert refused.value.source.startswith(RULE)
    assert unchanged() == (Decimal("0.1"), 1)
    assert not AuditEntry.objects.filter(action="settings.update").exists()


def test_a_wider_tolerance_sent_with_other_settings_changes_none_of_them(admin: User) -> None:
    with pytest.raises(Wider):
        settings_service.update_settings(
            admin, expected_version=1, refill_margin_days=10, readback_tolerance="0.3 mL"
        )
    assert clinic_settings().refill_margin_days == 7 and unchanged() == (Decimal("0.1"), 1)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("0.1 mL", Decimal("0.1")), ("0.05 mL", Decimal("0.05")), ("0 mL", Decimal("0"))],
    ids=["kept", "narrower", "zero"],
)
def test_one_admin_keeps_or_narrows_the_tolerance_alone(
    admin: User, typed: str, stored: Decimal
) -> None:
    settings_service.update_settings(admin, expected_version=1, readback_tolerance=typed)
    assert unchanged() == (stored, 2)
    assert not ToleranceRequest.objects.exists()


def test_a_wider_tolerance_asked_for_is_set_once_a_second_admin_approves_and_verify_passes(
    admin: User, second_admin: User
) -> None:
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.999 mL")
    assert (str(asked.requested), str(asked.previous)) == ("0.999 mL", "0.1 mL")
    assert (asked.status, asked.requested_by) == (ToleranceRequest.Status.PENDING, "ad.min")
    assert unchanged() == (Decimal("0.1"), 1)  # nothing changes until approved
    entry = AuditEntry.objects.get(action="settings.tolerance_request")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        "ad.min",
        "tolerance_request",
        str(asked.id),
    )
    assert entry.after == {
        "request": asked.id,
        "requested": "0.999 mL",
        "previous": "0.1 mL",
        "status": "pending",
    }
    approved = tolerance_requests.approve(second_admin, asked.id)
    assert (approved.status, approved.decided_by) == (ToleranceRequest.Status.APPROVED, "ad.two")
    assert unchanged() == (Decimal("0.999"), 2)
    assert str(reservoir_tolerance().value) == "0.999 mL"
    update = AuditEntry.objects.get(action="settings.update")
    assert update.actor == "ad.two" and update.before is not None and update.after is not None
    assert (update.before["readback_tolerance"], update.after["readback_tolerance"]) == (
        "0.1 mL",
        "0.999 mL",
    )
    assert (update.after["request"], update.after["asked_by"]) == (asked.id, "ad.min")
    assert update.after["version"] == 2
    assert audit.verify().ok
    # the next change of the settings starts from the approved tolerance
    settings_service.update_settings(admin, expected_version=2, readback_tolerance="0.5 mL")
    assert unchanged() == (Decimal("0.5"), 3) and audit.verify().ok


def test_the_admin_who_asked_cannot_approve_and_nothing_changes(
    admin: User, second_admin: User
) -> None:
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        tolerance_requests.approve(admin, asked.id)
    assert (refused.value.field, refused.value.value) == ("request", str(asked.id))
    assert refused.value.problem == "is your own" and refused.value.source.startswith(RULE)
    assert unchanged() == (Decimal("0.1"), 1)
    assert ToleranceRequest.objects.get(id=asked.id).status == "pending"
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize("change", ["narrowed", "widened by another request"])
def test_a_request_asked_before_the_tolerance_changed_is_refused_naming_it(
    admin: User, second_admin: User, make_user: Callable[..., User], change: str
) -> None:
    stale = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    if change == "narrowed":
        settings_service.update_settings(
            second_admin, expected_version=1, readback_tolerance="0.05 mL"
        )
        in_force = "0.05 mL"
    else:
        # the first request is approved; the stale one is written back as waiting in the database
        tolerance_requests.approve(second_admin, stale.id)
        ToleranceRequest.objects.filter(id=stale.id).update(status="pending")
        in_force = "0.3 mL"
    third = make_user("ad.three", Role.ADMIN)
    held = unchanged()
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        tolerance_requests.approve(third, stale.id)
    assert (refused.value.field, refused.value.value) == ("request", str(stale.id))
    assert refused.value.source.startswith(RULE)
    if change == "narrowed":
        assert refused.value.limit == f"a request asked from the tolerance in force, {in_force}"
        assert "asked to widen 0.1 mL to 0.3 mL, but the tolerance is 0.05 mL since" in (
            refused.value.problem
        )
    else:
        assert "decided already in its audit trail" in refused.value.problem
    assert unchanged() == held and AuditEntry.objects.count() == entries


def test_another_admin_declines_or_the_asker_withdraws_and_the_tolerance_stays(
    admin: User, second_admin: User
) -> None:
    first = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    with pytest.raises(Refusal) as refused:
        tolerance_requests.decline(admin, first.id)
    assert refused.value.problem == "is your own: withdraw it"
    declined = tolerance_requests.decline(second_admin, first.id)
    assert (declined.status, declined.decided_by) == ("declined", "ad.two")
    second = tolerance_requests.ask(admin, expected_version=1, tolerance="0.2 mL")
    with pytest.raises(Refusal) as refused:
        tolerance_requests.withdraw(second_admin, second.id)
    assert refused.value.problem == "was asked by ad.min"
    assert tolerance_requests.withdraw(admin, second.id).status == "withdrawn"
    assert unchanged() == (Decimal("0.1"), 1)
    for decided in (first, second):
        with pytest.raises(Refusal) as refused:
            tolerance_requests.approve(second_admin, decided.id)
        assert refused.value.problem.endswith("already")
    declines = AuditEntry.objects.filter(
        action__in=("settings.tolerance_decline", "settings.tolerance_withdraw")
    ).order_by("seq")
    assert [(e.action, e.actor, e.before, e.after) for e in declines] == [
        ("settings.tolerance_decline", "ad.two", *recorded(first.id, "0.3 mL", "declined")),
        ("settings.tolerance_withdraw", "ad.min", *recorded(second.id, "0.2 mL", "withdrawn")),
    ]
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("typed", "limit", "problem"),
    [
        ("0.1 mL", "> current 0.1 mL", "is not wider than the tolerance in force"),
        ("0.05 mL", "> current 0.1 mL", "is not wider than the tolerance in force"),
        ("1 mL", "< 1 mL", "would pass a discrepancy that matters"),
    ],
    ids=["same", "narrower", "ceiling"],
)
def test_only_a_wider_tolerance_below_the_ceiling_is_asked_for(
    admin: User, typed: str, limit: str, problem: str
) -> None:
    with pytest.raises(Refusal) as refused:
        tolerance_requests.ask(admin, expected_version=1, tolerance=typed)
    assert refused.value.field == "readback_tolerance"
    assert refused.value.limit.startswith(limit) and refused.value.problem == problem
    assert not ToleranceRequest.objects.exists() and not written_entries().exists()


def test_one_request_waits_at_a_time_and_asking_needs_the_settings_version_read(
    admin: User, second_admin: User
) -> None:
    waiting = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    with pytest.raises(Refusal) as refused:
        tolerance_requests.ask(second_admin, expected_version=1, tolerance="0.2 mL")
    assert refused.value.limit == (
        f"one request at a time: request {waiting.id} (0.3 mL, asked by ad.min) waits for a "
        "second admin"
    )
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    tolerance_requests.withdraw(admin, waiting.id)
    with pytest.raises(Conflict):
        tolerance_requests.ask(admin, expected_version=1, tolerance="0.2 mL")
    assert [w.id for w in tolerance_requests.listed(admin)] == [waiting.id]
    assert tolerance_requests.waiting(admin) is None


@pytest.mark.parametrize("role_user", ["physician", "nurse", "pharmacist", "auditor"])
def test_no_other_role_asks_decides_or_reads_a_request(
    request: pytest.FixtureRequest, admin: User, second_admin: User, role_user: str
) -> None:
    other = request.getfixturevalue(role_user)
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    entries = AuditEntry.objects.count()
    with pytest.raises(Forbidden):
        tolerance_requests.ask(other, expected_version=1, tolerance="0.2 mL")
    decisions = (
        tolerance_requests.approve,
        tolerance_requests.decline,
        tolerance_requests.withdraw,
    )
    for decide in decisions:
        with pytest.raises(Forbidden):
            decide(other, asked.id)
    with pytest.raises(Forbidden):
        tolerance_requests.listed(other)
    assert unchanged() == (Decimal("0.1"), 1) and AuditEntry.objects.count() == entries


def test_a_request_written_in_the_database_is_never_approved(
    admin: User, second_admin: User
) -> None:
    """A row inserted as if ad.min had asked (no audited request) or edited after asking."""
    forged = ToleranceRequest.objects.create(
        requested_ml=Decimal("0.9"),
        previous_ml=Decimal("0.1"),
        requested_by="ad.min",
        requested_at=clock.now(),
    )
    with pytest.raises(Refusal) as refused:
        tolerance_requests.approve(second_admin, forged.id)
    assert "has no `settings.tolerance_request` audit entry" in refused.value.problem
    assert tolerance_requests.decline(second_admin, forged.id).status == "declined"
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.2 mL")
    ToleranceRequest.objects.filter(id=asked.id).update(requested_ml=Decimal("0.9"))
    with pytest.raises(Refusal) as refused:
        tolerance_requests.approve(second_admin, asked.id)
    assert "is not what its `settings.tolerance_request` recorded" in refused.value.problem
    assert unchanged() == (Decimal("0.1"), 1)
    with pytest.raises(NotFound):
        tolerance_requests.approve(second_admin, asked.id + 100)


def test_an_admin_whose_sign_in_the_asker_reset_cannot_approve(
    admin: User, second_admin: User
) -> None:
    users.reset_password(admin, second_admin.id, expected_version=1, password="saffron lantern 42")
    asked = tolerance_requests.ask(admin, expected_version=1, tolerance="0.3 mL")
    with pytest.raises(Refusal) as refused:
        tolerance_requests.approve(second_admin, asked.id)
    assert refused.value.problem.startswith("was asked by ad.min, who reset your password on ")
    assert unchanged() == (Decimal("0.1"), 1)
