"""Adopting an account made outside painpump (docs/security.md, the known gap of accounts made
before this release by a script or by `createsuperuser`): `painpump audit verify` fails on it
and says how to adopt it; one admin asks with a reason, a second admin approves, and its
`user.adopt` entry records the account as it then is, so verify passes until the account is
changed in the database again. The asker, an admin related to them by a credential reset, the
account itself and an account verify names never approve; an account painpump made, or one
changed between the ask and the approval, is refused; declined and withdrawn requests change
nothing; only admins take part. Adopting grants nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from pytest_django import Settings

from authenticator import enrol
from painpump.clinic import audit, audit_checkpoints, two_factor
from painpump.clinic.actions import account_adoptions, role_grants, users
from painpump.clinic.actions import two_factor as two_factor_actions
from painpump.clinic.actions.account_adoptions import RULE
from painpump.clinic.models import AccountAdoption, AuditEntry
from painpump.clinic.roles import Forbidden, Role, roles_of
from painpump.core.errors import Refusal
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

GOOD = "saffron lantern 42"
REASON = "made by the 2025 import script for the night pump nurse, checked with HR"


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


@pytest.fixture
def outsider(db: None) -> User:
    """A physician's account inserted in the database, as a script before this release did."""
    return User.objects.get(username=tamper.insert_account("in.sider", "physician"))


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def verified() -> audit.Verification:
    audit_checkpoints.write()
    return audit.verify()


def seq_of(action: str) -> int:
    entry = AuditEntry.objects.filter(action=action).order_by("seq").last()
    assert entry is not None
    return entry.seq


def adopted(asker: User, approver: User, account: User) -> AccountAdoption:
    asked = account_adoptions.ask(asker, account.id, reason=REASON)
    account_adoptions.approve(approver, asked.id)
    return AccountAdoption.objects.get(id=asked.id)


def test_an_account_inserted_outside_painpump_fails_verify_naming_how_to_adopt_it(
    admin: User, outsider: User
) -> None:
    assert problems() == (
        "user in.sider: no audit entry records its creation (it holds physician): an account "
        "written outside the application (in the database, by a script, or by `painpump manage "
        'createsuperuser`); if the clinic made it, two admins adopt it (Users page, "Accounts '
        "made outside painpump\": Ask to adopt, then a second admin's Approve; or `painpump roles "
        "adopt in.sider --reason TEXT --by ADMIN`, then `painpump roles adopt-approve REQUEST "
        "--by ADMIN`), or on a fresh install `painpump roles bootstrap in.sider` records it",
    )
    listed = account_adoptions.outside_accounts(admin)
    assert [(o.username, o.roles, o.waiting) for o in listed] == [
        ("in.sider", ("physician",), None)
    ]


def test_an_account_asked_by_one_admin_and_approved_by_a_second_verifies(
    admin: User, second_admin: User, outsider: User
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    assert asked.status == "pending" and asked.requested_by == "ad.min"
    assert account_adoptions.outside_accounts(admin)[0].waiting == asked.id
    assert not verified().ok  # nothing recorded yet
    approved = account_adoptions.approve(second_admin, asked.id)
    assert (approved.status, approved.decided_by) == ("approved", "ad.two")
    ask = AuditEntry.objects.get(action="user.adopt_request")
    assert (ask.actor, ask.object_type, ask.object_id) == (
        "ad.min",
        "account_adoption",
        str(asked.id),
    )
    assert ask.after == {
        "adoption": asked.id,
        "username": "in.sider",
        "reason": REASON,
        "status": "pending",
        "roles": ["physician"],
        "active": True,
        "superuser": False,
        "staff": False,
        "name": "",
    }
    adopt = AuditEntry.objects.get(action="user.adopt")
    assert (adopt.actor, adopt.object_type, adopt.object_id) == ("ad.two", "user", "in.sider")
    assert adopt.after is not None
    assert {k: adopt.after[k] for k in ("roles", "active", "superuser", "staff")} == {
        "roles": ["physician"],
        "active": True,
        "superuser": False,
        "staff": False,
    }
    assert (adopt.after["adoption"], adopt.after["asked_by"]) == (asked.id, "ad.min")
    assert adopt.after["reason"] == REASON
    outcome = verified()
    assert outcome.ok and outcome.notes == (), outcome.problems
    assert roles_of(User.objects.get(id=outsider.id)) == {Role.PHYSICIAN}  # no role granted
    assert account_adoptions.outside_accounts(admin) == []
    assert account_adoptions.pending(admin) == []


def test_a_deactivated_account_made_outside_painpump_is_adopted_as_deactivated(
    admin: User, second_admin: User, outsider: User
) -> None:
    """Regression: deactivating such an account did not clear verify's failure."""
    users.set_active(admin, outsider.id, expected_version=1, active=False)
    assert problems()[0].startswith("user in.sider: no audit entry records its creation")
    adopted(admin, second_admin, outsider)
    assert verified().ok
    assert AuditEntry.objects.get(action="user.adopt").after["active"] is False  # type: ignore[index]


def test_after_adoption_an_edit_of_the_account_in_the_database_fails_verify_again(
    admin: User, second_admin: User, outsider: User
) -> None:
    adopted(admin, second_admin, outsider)
    assert verified().ok
    tamper.grant_role("in.sider", "admin")
    assert problems() == (
        "user in.sider: roles is ['admin', 'physician'] in the database, ['physician'] in its "
        f"audit trail (entry {seq_of('user.adopt')})",
    )


def test_the_admin_who_asked_cannot_approve_and_nothing_changes(
    admin: User, outsider: User
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(admin, asked.id)
    assert (refused.value.field, refused.value.value) == ("request", str(asked.id))
    assert refused.value.problem == "is your own" and refused.value.source == RULE
    assert AccountAdoption.objects.get(id=asked.id).status == "pending"
    assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize(
    ("resetter", "what", "problem"),
    [
        ("approver", "password", "was asked by ad.min, whose password you reset"),
        ("asker", "password", "was asked by ad.min, who reset your password"),
        ("asker", "second factor", "was asked by ad.min, who reset your second factor"),
    ],
    ids=["approver-reset-the-askers-password", "asker-reset-password", "asker-reset-2fa"],
)
def test_an_admin_related_to_the_asker_by_a_credential_reset_cannot_approve(
    admin: User, second_admin: User, outsider: User, resetter: str, what: str, problem: str
) -> None:
    by, of = (second_admin, admin) if resetter == "approver" else (admin, second_admin)
    version = users.read_account(by, of.id).version
    if what == "password":
        users.reset_password(by, of.id, expected_version=version, password=GOOD)
    else:
        enrol(of)
        two_factor_actions.reset(by, of.id, expected_version=version)
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(second_admin, asked.id)
    assert refused.value.limit == role_grants.INDEPENDENT and refused.value.source == RULE
    assert refused.value.problem.startswith(problem)
    assert AccountAdoption.objects.get(id=asked.id).status == "pending"
    assert AuditEntry.objects.count() == entries
    assert not audit.verify().ok


def test_an_account_painpump_made_cannot_be_adopted_naming_its_creation(
    admin: User, nurse: User
) -> None:
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        account_adoptions.ask(admin, nurse.id, reason=REASON)
    created = AuditEntry.objects.get(action="user.create", object_id="nurse.joy").seq
    assert (refused.value.field, refused.value.value) == ("user", "nurse.joy")
    assert refused.value.limit == account_adoptions.OUTSIDE
    assert refused.value.problem == (
        f"was made by painpump: audit entry {created} records its creation, so verify does not "
        "name it and there is nothing to adopt"
    )
    assert not AccountAdoption.objects.exists() and AuditEntry.objects.count() == entries


def test_an_adopted_account_cannot_be_adopted_again(
    admin: User, second_admin: User, outsider: User
) -> None:
    adopted(admin, second_admin, outsider)
    with pytest.raises(Refusal) as refused:
        account_adoptions.ask(admin, outsider.id, reason=REASON)
    assert f"audit entry {seq_of('user.adopt')} records its creation" in refused.value.problem


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        (
            lambda: tamper.grant_role("in.sider", "admin"),
            "roles is ['admin', 'physician'] now, ['physician'] when asked",
        ),
        (lambda: tamper.make_superuser("in.sider"), "superuser is True now, False when asked"),
        (
            lambda: User.objects.filter(username="in.sider").update(username="in.sider2"),
            "username is 'in.sider2' now, 'in.sider' when asked",
        ),
    ],
    ids=["role-inserted", "superuser-set", "renamed"],
)
def test_an_account_edited_in_the_database_between_ask_and_approval_is_refused_at_approval(
    admin: User, second_admin: User, outsider: User, edit: Callable[[], object], changed: str
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    edit()
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(second_admin, asked.id)
    assert (refused.value.field, refused.value.value) == ("request", str(asked.id))
    assert refused.value.limit == (
        f"the account as its ask recorded it (audit entry {seq_of('user.adopt_request')})"
    )
    assert refused.value.problem.startswith(
        f"is for an account changed since it was asked: {changed}"
    )
    assert AccountAdoption.objects.get(id=asked.id).status == "pending"
    assert AuditEntry.objects.count() == entries
    assert not audit.verify().ok
    account_adoptions.decline(second_admin, asked.id)  # the admins clear it, then ask again


def test_a_change_through_painpump_between_ask_and_approval_is_refused_too(
    admin: User, second_admin: User, outsider: User
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    users.set_active(second_admin, outsider.id, expected_version=1, active=False)
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(second_admin, asked.id)
    assert "active is False now, True when asked" in refused.value.problem


def test_a_declined_or_withdrawn_adoption_changes_nothing(
    admin: User, second_admin: User, outsider: User, make_user: Callable[..., User]
) -> None:
    other = User.objects.get(username=tamper.insert_account("in.other", "nurse"))
    declined = account_adoptions.ask(admin, outsider.id, reason=REASON)
    withdrawn = account_adoptions.ask(admin, other.id, reason=REASON)
    with pytest.raises(Refusal) as refused:
        account_adoptions.decline(admin, declined.id)
    assert refused.value.problem == "is your own: withdraw it"
    with pytest.raises(Refusal) as refused:
        account_adoptions.withdraw(second_admin, withdrawn.id)
    assert refused.value.problem == "was asked by ad.min"
    before = problems()
    assert account_adoptions.decline(second_admin, declined.id).status == "declined"
    assert account_adoptions.withdraw(admin, withdrawn.id).status == "withdrawn"
    assert problems() == before
    third = make_user("ad.three", Role.ADMIN)
    for request, status in ((declined, "declined"), (withdrawn, "withdrawn")):
        with pytest.raises(Refusal) as refused:
            account_adoptions.approve(third, request.id)
        assert refused.value.problem == f"is {status} already"
    assert not AuditEntry.objects.filter(action="user.adopt").exists()
    entries = AuditEntry.objects.filter(action__in=["user.adopt_decline", "user.adopt_withdraw"])
    assert [(e.action, e.actor, e.before, e.after) for e in entries.order_by("seq")] == [
        (
            "user.adopt_decline",
            "ad.two",
            {
                "adoption": declined.id,
                "username": "in.sider",
                "reason": REASON,
                "status": "pending",
            },
            {
                "adoption": declined.id,
                "username": "in.sider",
                "reason": REASON,
                "status": "declined",
            },
        ),
        (
            "user.adopt_withdraw",
            "ad.min",
            {
                "adoption": withdrawn.id,
                "username": "in.other",
                "reason": REASON,
                "status": "pending",
            },
            {
                "adoption": withdrawn.id,
                "username": "in.other",
                "reason": REASON,
                "status": "withdrawn",
            },
        ),
    ]
    assert [o.username for o in account_adoptions.outside_accounts(admin)] == [
        "in.other",
        "in.sider",
    ]


def test_only_admins_ask_list_or_decide(
    admin: User, physician: User, nurse: User, outsider: User
) -> None:
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    for clinician in (physician, nurse):
        with pytest.raises(Forbidden):
            account_adoptions.ask(clinician, outsider.id, reason=REASON)
        for decide in (account_adoptions.approve, account_adoptions.decline):
            with pytest.raises(Forbidden):
                decide(clinician, asked.id)
        with pytest.raises(Forbidden):
            account_adoptions.outside_accounts(clinician)
        with pytest.raises(Forbidden):
            account_adoptions.pending(clinician)
    assert AccountAdoption.objects.get(id=asked.id).status == "pending"


def test_accounts_verify_names_cannot_adopt_one_another(
    admin: User, second_admin: User, outsider: User
) -> None:
    """An insider who inserts three admin accounts cannot have them vouch for each other: the
    admin who asks and the one who approves must each have an account verify passes."""
    one = User.objects.get(username=tamper.insert_account("in.admin1", "admin"))
    two = User.objects.get(username=tamper.insert_account("in.admin2", "admin"))
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        account_adoptions.ask(one, outsider.id, reason=REASON)
    assert (refused.value.field, refused.value.value) == ("admin", "in.admin1")
    assert refused.value.limit == account_adoptions.OWN_ACCOUNT
    assert refused.value.problem.startswith(
        "is an account `painpump audit verify` names (user in.admin1: no audit entry records its "
        "creation (it holds admin)"
    )
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(two, asked.id)
    assert refused.value.field == "admin" and refused.value.value == "in.admin2"
    # an honest admin whose roles were edited in the database does not approve either
    tamper.grant_role("ad.two", "physician")
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(second_admin, asked.id)
    assert "roles is ['admin', 'physician'] in the database" in refused.value.problem
    assert AuditEntry.objects.count() == entries + 1  # the honest ask only


def test_nobody_adopts_their_own_account(admin: User, second_admin: User) -> None:
    inserted = User.objects.get(username=tamper.insert_account("in.admin", "admin"))
    with pytest.raises(Refusal) as refused:
        account_adoptions.ask(inserted, inserted.id, reason=REASON)
    assert refused.value.problem == "is your own account"
    asked = account_adoptions.ask(admin, inserted.id, reason=REASON)
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(inserted, asked.id)
    assert refused.value.problem == "is for your own account"


def test_a_waiting_adoption_written_in_the_database_is_never_approved(
    admin: User, second_admin: User, outsider: User
) -> None:
    row = AccountAdoption.objects.create(
        user=outsider, reason=REASON, requested_by="ad.min", requested_at=admin.date_joined
    )
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(second_admin, row.id)
    assert refused.value.problem == (
        "has no `user.adopt_request` audit entry: it was written outside the application "
        "(decline it)"
    )
    account_adoptions.decline(second_admin, row.id)
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    AccountAdoption.objects.filter(id=asked.id).update(reason="another reason")
    with pytest.raises(Refusal) as refused:
        account_adoptions.approve(second_admin, asked.id)
    assert refused.value.problem.startswith("is not what its `user.adopt_request` recorded")
    assert not AuditEntry.objects.filter(action="user.adopt").exists()


def test_one_adoption_waits_per_account_and_a_reason_is_typed(
    admin: User, second_admin: User, outsider: User
) -> None:
    with pytest.raises(Refusal) as refused:
        account_adoptions.ask(admin, outsider.id, reason="  ")
    assert refused.value.field == "reason"
    asked = account_adoptions.ask(admin, outsider.id, reason=REASON)
    with pytest.raises(Refusal) as refused:
        account_adoptions.ask(second_admin, outsider.id, reason=REASON)
    assert refused.value.problem == (
        f"waits for a second admin already: request {asked.id}, asked by ad.min"
    )


def test_adopting_grants_no_role_and_the_account_still_enrols_a_second_factor(
    admin: User, second_admin: User, outsider: User, settings: Settings
) -> None:
    settings.PAINPUMP_REQUIRE_2FA = True
    adopted(admin, second_admin, outsider)
    account = User.objects.get(id=outsider.id)
    assert roles_of(account) == {Role.PHYSICIAN}
    assert not (account.is_superuser or account.is_staff)
    status = two_factor.status(account)
    assert status.required and not status.enrolled
    assert two_factor.needs_second_factor(account)
