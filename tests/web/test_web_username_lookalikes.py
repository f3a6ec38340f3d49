"""Regression (eighth outside attack, M2): on /users/new/ an admin created `demo.physiсian1` (a
Cyrillic с), `demo.nurse１` (a fullwidth 1), `demo.nurse1ㅤ` (U+3164) and `demo.nurseᅟ1`
(U+115F) beside the real accounts. Each is refused next to the username field, naming the
character and the account it looks like, and nothing is stored."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_fixtures import written_entries
from painpump.clinic.models import RoleGrant
from painpump.clinic.roles import Role
from painpump.clinic.testing import audited_user

pytestmark = pytest.mark.django_db

GOOD = "saffron lantern 42"


@pytest.fixture
def demo(admin: User) -> None:
    audited_user("demo.physician1", Role.PHYSICIAN)
    audited_user("demo.nurse1", Role.NURSE)


def post_new(admin: User, username: str) -> tuple[int, str]:
    client = Client()
    client.force_login(admin)
    body = {
        "username": username,
        "first_name": "Nina",
        "last_name": "Neu",
        "roles": ["nurse"],
        "password": GOOD,
        "repeat": GOOD,
    }
    response = client.post("/users/new/", body)
    return response.status_code, response.content.decode()


def username_error(page: str) -> str:
    match = re.search(
        r'<div class="field invalid">\s*<label for="id_username">.*?</div>', page, re.S
    )
    assert match, "no error next to the username"
    return html.unescape(match.group(0))


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (
            "demo.physi\u0441ian1",
            "demo.physi\\u0441ian1 holds U+0441 (CYRILLIC SMALL LETTER ES), which a username "
            "cannot hold, and looks like demo.physician1, an existing account",
        ),
        ("demo.nurse\uff11", "demo.nurse\\uff11 is already taken by the account demo.nurse1"),
        (
            "demo.nurse1\u3164",
            "demo.nurse1\\u3164 holds U+3164 (HANGUL FILLER), which a username cannot hold, and "
            "looks like demo.nurse1, an existing account",
        ),
        (
            "demo.nurse\u115f1",
            "demo.nurse\\u115f1 holds U+115F (HANGUL CHOSEONG FILLER), which a username cannot "
            "hold, and looks like demo.nurse1, an existing account",
        ),
        ("demo_physician1", "demo_physician1 looks like demo.physician1, an existing account"),
    ],
    ids=["cyrillic-es", "fullwidth-one", "hangul-filler", "hangul-choseong-filler", "underscore"],
)
def test_regression_a_look_alike_username_is_refused_next_to_the_field_naming_the_account(
    admin: User, demo: None, typed: str, said: str
) -> None:
    count = User.objects.count()
    status, page = post_new(admin, typed)
    assert status == 422
    error = username_error(page)
    assert said in error
    assert "source: painpump user rules" in error
    assert User.objects.count() == count
    assert not RoleGrant.objects.exists() and not written_entries().exists()


def test_a_username_in_the_rule_is_still_created(admin: User, demo: None) -> None:
    status, _ = post_new(admin, "demo.nurse2")
    assert status == 302
    assert User.objects.filter(username="demo.nurse2").exists()
