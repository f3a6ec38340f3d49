"""Each account's roles and flags against the last state its trail recorded (issue 14, the
fourth outside attack: `insert into auth_user_groups` and `is_superuser=1` passed `audit
verify`). A role or a flag given behind the application differs from the account's newest entry;
every audited way an account is made or its roles change verifies, the fixtures' accounts too
(their creation audited); a console's `createsuperuser` fails verify until `painpump roles
bootstrap` records it (an account inserted in the database:
tests/clinic/test_audit_last_gaps.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User

from painpump.clinic import audit, audit_checkpoints
from painpump.clinic.actions import role_grants, users
from painpump.clinic.audit_accounts import ADOPT
from painpump.clinic.models import AuditEntry
from painpump.clinic.roles import Role
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db

GOOD = "saffron lantern 42"


def created(admin: User, username: str = "nurse.new") -> User:
    users.create_account(
        admin, username=username, first_name="Nina", last_name="Neu", roles=["nurse"], password=GOOD
    )
    return User.objects.get(username=username)


def entry_of(action: str, username: str) -> int:
    found = AuditEntry.objects.filter(action=action, object_id=username).order_by("seq").last()
    assert found is not None
    return found.seq


def problems() -> tuple[str, ...]:
    outcome = audit.verify()
    assert not outcome.ok
    return outcome.problems


def verified() -> audit.Verification:
    """The outcome once the test's entries are checkpointed (as at their commit), so that its
    notes are the records' alone."""
    audit_checkpoints.write()
    return audit.verify()


@pytest.fixture
def second_admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.two", Role.ADMIN)


def test_a_role_inserted_into_auth_user_groups_is_detected(admin: User) -> None:
    created(admin)
    tamper.grant_role("nurse.new", "admin")
    assert problems() == (
        "user nurse.new: roles is ['admin'] in the database, [] in its audit trail (entry "
        f"{entry_of('user.create', 'nurse.new')})",
    )


def test_flags_set_in_the_database_are_detected(admin: User) -> None:
    created(admin)
    tamper.make_superuser("nurse.new")
    User.objects.filter(username="nurse.new").update(is_active=False)
    seq = entry_of("user.create", "nurse.new")
    assert problems() == (
        f"user nurse.new: active is False in the database, True in its audit trail (entry {seq})",
        f"user nurse.new: superuser is True in the database, False in its audit trail (entry "
        f"{seq})",
        f"user nurse.new: staff is True in the database, False in its audit trail (entry {seq})",
    )


def test_roles_granted_removed_and_accounts_deactivated_through_the_services_verify(
    admin: User, second_admin: User
) -> None:
    account = created(admin)
    (grant,) = role_grants.pending_grants(admin, user_id=account.id)
    users.approve_grant(second_admin, grant.id)
    version = users.read_account(admin, account.id).version
    users.set_roles(admin, account.id, expected_version=version, roles=["pharmacist"])
    version = users.read_account(admin, account.id).version
    users.set_active(admin, account.id, expected_version=version, active=False)
    outcome = audit.verify()
    assert outcome.ok, outcome.problems
    tamper.grant_role("nurse.new", "nurse")  # the role the change removed, given back
    assert problems() == (
        "user nurse.new: roles is ['nurse'] in the database, [] in its audit trail (entry "
        f"{entry_of('user.deactivate', 'nurse.new')})",
    )


def test_a_superuser_made_at_the_console_verifies_once_bootstrapped(db: None) -> None:
    User.objects.create_superuser("it.one", password=GOOD)
    assert problems() == (
        "user it.one: no audit entry records its creation (it holds superuser, staff): an "
        "account written outside the application (in the database, by a script, or by "
        f"`painpump manage createsuperuser`); {ADOPT.format(name='it.one')}",
    )
    users.bootstrap_admin("it.one")
    outcome = verified()
    assert outcome.ok and outcome.notes == (), outcome.problems
    User.objects.filter(username="it.one").update(is_superuser=False)
    assert problems() == (
        "user it.one: superuser is False in the database, True in its audit trail (entry "
        f"{entry_of('user.bootstrap_admin', 'it.one')})",
    )


def test_the_fixtures_accounts_are_audited_and_verify(
    admin: User, nurse: User, physician: User
) -> None:
    outcome = verified()
    assert outcome.ok and outcome.notes == (), outcome.problems


def test_an_audited_account_deleted_or_renamed_in_the_database_is_reported(admin: User) -> None:
    created(admin)
    User.objects.filter(username="nurse.new").update(username="nurse.renamed")
    assert problems() == (
        "user nurse.renamed: no audit entry records its creation (it holds no role or flag): an "
        "account written outside the application (in the database, by a script, or by "
        f"`painpump manage createsuperuser`); {ADOPT.format(name='nurse.renamed')}",
        f"user nurse.new: its trail records it (entry {entry_of('user.create', 'nurse.new')}) "
        "but it is not in the database (deleted or renamed outside the application)",
    )


def test_an_entry_from_before_flags_were_recorded_leaves_them_to_a_note(db: None) -> None:
    """The demo's older entries named the account by id and recorded its roles only."""
    nurse = User.objects.create_user("demo.nurse1")
    nurse.groups.add(Group.objects.get_or_create(name=Role.NURSE.value)[0])
    audit.record(
        "demo",
        "user.create",
        "user",
        nurse.pk,
        after={"username": "demo.nurse1", "roles": ["nurse"]},
    )
    User.objects.filter(id=nurse.id).update(is_staff=True)
    outcome = verified()
    assert outcome.ok
    assert outcome.notes == (
        "the newest entries of 1 account predate the record of a field, which is not compared "
        "until an audited change records it: demo.nurse1 (active, superuser, staff, name)",
    )
    tamper.grant_role("demo.nurse1", "admin")
    assert problems() == (
        "user demo.nurse1: roles is ['admin', 'nurse'] in the database, ['nurse'] in its audit "
        f"trail (entry {entry_of('user.create', str(nurse.pk))})",
    )
