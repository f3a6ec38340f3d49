"""Regression (eighth outside attack, M2): an admin created `demo.physiсian1` (a Cyrillic с),
`demo.nurse１` (a fullwidth 1), `demo.nurse1ㅤ` (U+3164) and `demo.nurseᅟ1` (U+115F) beside the
real accounts; approved, the first signed in and the audit trail named it like the physician. A
new username is NFKC-normalised and kept to ASCII letters, digits, '.', '-', '_' and '@', and
one whose skeleton (the record numbers') equals an existing account's is refused naming that
account. Existing accounts keep their names."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import written_entries
from painpump.clinic.actions import users
from painpump.clinic.models import RoleGrant
from painpump.clinic.roles import Role
from painpump.clinic.testing import audited_user
from painpump.core import usernames
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db

GOOD = "saffron lantern 42"


@pytest.fixture
def demo(admin: User) -> dict[str, User]:
    return {
        name: audited_user(name, role)
        for name, role in (("demo.physician1", Role.PHYSICIAN), ("demo.nurse1", Role.NURSE))
    }


def create(admin: User, username: str) -> users.Account:
    return users.create_account(
        admin,
        username=username,
        first_name="Nina",
        last_name="Neu",
        roles=["nurse"],
        password=GOOD,
    )


def refused(admin: User, username: str) -> Refusal:
    count = User.objects.count()
    with pytest.raises(Refusal) as caught:
        create(admin, username)
    assert caught.value.field == "username"
    assert User.objects.count() == count
    assert not RoleGrant.objects.exists()
    assert not written_entries().exists()
    return caught.value


@pytest.mark.parametrize(
    ("typed", "shown", "character", "existing"),
    [
        (
            "demo.physi\u0441ian1",
            "demo.physi\\u0441ian1",
            "U+0441 (CYRILLIC SMALL LETTER ES)",
            "demo.physician1",
        ),
        ("demo.nurse1\u3164", "demo.nurse1\\u3164", "U+3164 (HANGUL FILLER)", "demo.nurse1"),
        (
            "demo.nurse\u115f1",
            "demo.nurse\\u115f1",
            "U+115F (HANGUL CHOSEONG FILLER)",
            "demo.nurse1",
        ),
    ],
    ids=["cyrillic-es", "hangul-filler", "hangul-choseong-filler"],
)
def test_regression_a_look_alike_username_of_the_attack_is_refused_naming_the_character_and_account(
    admin: User, demo: dict[str, User], typed: str, shown: str, character: str, existing: str
) -> None:
    refusal = refused(admin, typed)
    assert refusal.value == shown
    assert refusal.problem == (
        f"holds {character}, which a username cannot hold, and looks like {existing}, "
        "an existing account"
    )
    assert refusal.limit == usernames.LIMIT and refusal.source == usernames.RULE


@pytest.mark.parametrize(
    ("typed", "existing"),
    [
        ("demo.nurse\uff11", "demo.nurse1"),
        ("DEMO.PHYSICIAN1", "demo.physician1"),
        ("demo.physician1\u00a0", "demo.physician1"),
    ],
    ids=["fullwidth-one", "upper-case", "trailing-no-break-space"],
)
def test_regression_a_username_the_same_after_nfkc_and_case_is_taken_naming_the_account(
    admin: User, demo: dict[str, User], typed: str, existing: str
) -> None:
    assert refused(admin, typed).problem == f"is already taken by the account {existing}"


@pytest.mark.parametrize(
    "typed",
    [
        "demo.physicianl",
        "demo.physlcian1",
        "demo-physician1",
        "demo_physician1",
        "demophysician1",
        "derno.physician1",
        "demo.physician01",
        "demo.physiclan1",
    ],
)
def test_an_ascii_look_alike_of_an_existing_username_is_refused_naming_it(
    admin: User, demo: dict[str, User], typed: str
) -> None:
    refusal = refused(admin, typed)
    assert refusal.problem == "looks like demo.physician1, an existing account"
    assert refusal.value == typed
    assert refusal.limit == usernames.LOOK_ALIKE_LIMIT and refusal.source == usernames.RULE


@pytest.mark.parametrize(
    ("typed", "character"),
    [
        ("nina neu", "U+0020 (SPACE)"),
        ("nina+neu", "U+002B (PLUS SIGN)"),
        ("nïna", "U+00EF (LATIN SMALL LETTER I WITH DIAERESIS)"),
        ("nina\u200b", "U+200B (ZERO WIDTH SPACE)"),
        ("nina\u034f", "U+034F (COMBINING GRAPHEME JOINER)"),
        ("\u0430dmin2", "U+0430 (CYRILLIC SMALL LETTER A)"),
    ],
)
def test_a_username_outside_ascii_letters_digits_and_four_marks_is_refused_naming_the_character(
    admin: User, typed: str, character: str
) -> None:
    refusal = refused(admin, typed)
    assert refusal.problem == f"holds {character}, which a username cannot hold"
    assert "ASCII letters, digits, '.', '-', '_' and '@'" in refusal.limit


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("nina.neu", "nina.neu"),
        ("n_neu-2@ward3", "n_neu-2@ward3"),
        ("\uff4e\uff49\uff4e\uff41.\uff4b", "nina.k"),
        (" demo.nurse2 ", "demo.nurse2"),
    ],
    ids=["dotted", "every-mark", "fullwidth", "trimmed"],
)
def test_a_username_in_the_rule_is_created_in_its_nfkc_form(
    admin: User, demo: dict[str, User], typed: str, stored: str
) -> None:
    assert create(admin, typed).username == stored
    assert User.objects.filter(username=stored).exists()


def test_an_existing_account_outside_the_rule_keeps_its_name_and_keeps_its_look_alikes_out(
    admin: User,
) -> None:
    """The attack's accounts stay as they are (the admin deactivates them); a new name is
    compared with them as they are."""
    User.objects.create(username="demo.nurse1\u3164")  # as the attack left it
    refusal = refused(admin, "demo.nurse1")
    assert refusal.problem == "looks like demo.nurse1\\u3164, an existing account"
