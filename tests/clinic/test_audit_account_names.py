"""An account's name edited in the database is named by `audit verify` (the eighth outside
attack, L1): `update auth_user set first_name='Chief', last_name='Physician'` on a nurse's
account passed, although the account's creation (and every later entry on it) records its
name. painpump changes a name nowhere after the creation, so the newest entry's name is the
account's; an account whose entries predate the name is noted, not failed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from clinic_fixtures import PASSWORD
from painpump.clinic import audit
from painpump.clinic.actions import role_grants, users
from painpump.clinic.actions.users import account_snapshot
from painpump.clinic.models import AuditEntry
from painpump.clinic.roles import Role
from painpump.devtools.security import tamper

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse2(admin: User, make_user: Callable[..., User]) -> User:
    """An account the admin made through painpump, named, its role approved by a second
    admin."""
    other = make_user("ad.min2", Role.ADMIN)
    made = users.create_account(
        admin,
        username="demo.nurse2",
        first_name="Nina",
        last_name="Nurse",
        roles=["nurse"],
        password=PASSWORD,
    )
    for grant in role_grants.pending_grants(other):
        users.approve_grant(other, grant.id)
    return User.objects.get(id=made.id)


def test_an_account_renamed_in_the_database_is_named(nurse2: User) -> None:
    assert audit.verify().ok
    newest = AuditEntry.objects.filter(object_id="demo.nurse2", action__startswith="user.").last()
    assert newest is not None and (newest.after or {})["name"] == "Nina Nurse"

    with connection.cursor() as cursor:
        cursor.execute(
            "update auth_user set first_name='Chief', last_name='Physician' "
            "where username='demo.nurse2'"
        )

    assert audit.verify().problems == (
        f"user demo.nurse2: name is 'Chief Physician' in the database, 'Nina Nurse' in its "
        f"audit trail (entry {newest.seq})",
    )


def test_an_account_whose_entries_predate_the_name_is_noted(db: None) -> None:
    with transaction.atomic():
        user = User.objects.create_user("old.timer", first_name="Olga", last_name="Timer")
        shown = account_snapshot(user)
        del shown["name"]  # as an entry written before painpump recorded the name
        audit.record("painpump fixture", "user.create", "user", user.username, after=shown)

    outcome = audit.verify()

    assert outcome.ok, outcome.problems
    assert any("old.timer (name)" in note for note in outcome.notes), outcome.notes


def test_the_tamper_drills_renaming_is_named(nurse2: User) -> None:
    tamper.rename_account("demo.nurse2")
    (problem,) = audit.verify().problems
    assert problem.startswith("user demo.nurse2: name is 'Chief Physician' in the database")
