"""Two admins of whom one ever reset the other's password or second factor are not two (issue 14,
the outside test's chain): whoever set them could sign in as the other, so neither approves the
other's request for a role or a wider readback tolerance, whichever of them reset whom. The
refusal names the rule and the reset (who, what, when, its audit entry) and changes nothing; a
reset by a third admin, or of another account, keeps no one from approving."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from authenticator import enrol
from painpump.clinic.actions import role_grants, tolerance_requests, two_factor, users
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, RoleGrant
from painpump.clinic.roles import Role, roles_of
from painpump.core.errors import Refusal
from painpump.core.readback_tolerance import SECOND_ADMIN as TOLERANCE_RULE

pytestmark = pytest.mark.django_db

GOOD = "saffron lantern 42"
RESET_ACTION = {"password": "user.password_reset", "second factor": "two_factor.reset"}


@pytest.fixture
def asker(admin: User) -> User:
    return admin


@pytest.fixture
def approver(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


def reset(by: User, of: User, what: str) -> AuditEntry:
    """`by` resets `of`'s password or second factor through painpump; its audit entry."""
    if what == "second factor":
        enrol(of)
    version = users.read_account(by, of.id).version
    if what == "password":
        users.reset_password(by, of.id, expected_version=version, password=GOOD)
    else:
        two_factor.reset(by, of.id, expected_version=version)
    return AuditEntry.objects.filter(action=RESET_ACTION[what]).latest("seq")


def ask_role(asker: User, nurse: User) -> int:
    account = users.read_account(asker, nurse.id)
    users.set_roles(
        asker, nurse.id, expected_version=account.version, roles=[*account.roles, "physician"]
    )
    (grant,) = role_grants.pending_grants(asker, user_id=nurse.id)
    return grant.id


def tolerance() -> tuple[Decimal, int]:
    settings = clinic_settings()
    return settings.readback_tolerance_ml, settings.version


def when(entry: AuditEntry) -> str:
    return f"on {entry.at:%Y-%m-%d %H:%M} UTC (audit entry {entry.seq})"


RESETS = pytest.mark.parametrize(
    ("resetter", "what", "problem"),
    [
        ("approver", "password", "was asked by ad.min, whose password you reset {when}"),
        ("approver", "second factor", "was asked by ad.min, whose second factor you reset {when}"),
        ("asker", "password", "was asked by ad.min, who reset your password {when}"),
        ("asker", "second factor", "was asked by ad.min, who reset your second factor {when}"),
    ],
    ids=[
        "approver-reset-the-askers-password",
        "approver-reset-the-askers-second-factor",
        "asker-reset-the-approvers-password",
        "asker-reset-the-approvers-second-factor",
    ],
)


def reset_between(asker: User, approver: User, resetter: str, what: str) -> AuditEntry:
    if resetter == "approver":
        return reset(approver, asker, what)
    return reset(asker, approver, what)


@RESETS
def test_a_role_is_not_approved_by_an_admin_who_reset_the_asker_or_was_reset_by_them(
    asker: User, approver: User, nurse: User, resetter: str, what: str, problem: str
) -> None:
    entry = reset_between(asker, approver, resetter, what)
    grant = ask_role(asker, nurse)
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        users.approve_grant(approver, grant)
    assert (refused.value.field, refused.value.value) == ("request", str(grant))
    assert refused.value.limit == role_grants.INDEPENDENT
    assert refused.value.source == role_grants.SECOND_ADMIN
    assert refused.value.problem == problem.format(when=when(entry))
    assert roles_of(User.objects.get(id=nurse.id)) == {Role.NURSE}
    assert RoleGrant.objects.get(id=grant).status == "pending"
    assert AuditEntry.objects.count() == entries


@RESETS
def test_a_tolerance_is_not_approved_by_an_admin_who_reset_the_asker_or_was_reset_by_them(
    asker: User, approver: User, resetter: str, what: str, problem: str
) -> None:
    entry = reset_between(asker, approver, resetter, what)
    asked = tolerance_requests.ask(asker, expected_version=1, tolerance="0.3 mL")
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        tolerance_requests.approve(approver, asked.id)
    assert (refused.value.field, refused.value.value) == ("request", str(asked.id))
    assert refused.value.limit == role_grants.INDEPENDENT
    assert refused.value.source == TOLERANCE_RULE
    assert refused.value.problem == problem.format(when=when(entry))
    assert tolerance() == (Decimal("0.1"), 1)
    assert tolerance_requests.waiting(approver) == asked
    assert AuditEntry.objects.count() == entries


def test_the_refusal_names_the_newest_reset_between_the_two(
    asker: User, approver: User, nurse: User
) -> None:
    reset(asker, approver, "password")
    newest = reset(approver, asker, "second factor")
    grant = ask_role(asker, nurse)
    with pytest.raises(Refusal) as refused:
        users.approve_grant(approver, grant)
    assert refused.value.problem == (
        f"was asked by ad.min, whose second factor you reset {when(newest)}"
    )


def test_an_unrelated_second_admin_still_approves_a_role_and_a_tolerance(
    asker: User, approver: User, nurse: User, make_user: Callable[..., User]
) -> None:
    """Resets by a third admin, and the two admins' resets of other accounts, do not count."""
    third = make_user("ad.three", Role.ADMIN)
    reset(third, asker, "password")
    reset(third, approver, "second factor")
    reset(approver, nurse, "password")
    reset(asker, third, "password")
    grant = ask_role(asker, nurse)
    assert users.approve_grant(approver, grant).status == "approved"
    assert roles_of(User.objects.get(id=nurse.id)) == {Role.NURSE, Role.PHYSICIAN}
    asked = tolerance_requests.ask(asker, expected_version=1, tolerance="0.3 mL")
    assert tolerance_requests.approve(approver, asked.id).decided_by == "ad.two"
    assert tolerance() == (Decimal("0.3"), 2)
