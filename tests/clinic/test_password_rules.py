"""The clinic's password rules (Django's validators): at least 12 characters, not like the
username or the name, not a common password, not all digits. Regression: a password equal to the
username, or all digits, was accepted. The passwords painpump makes itself (the demo's, the
tests') pass them."""

from __future__ import annotations

import pytest
from django.contrib.auth import password_validation
from django.contrib.auth.models import User

from clinic_fixtures import PASSWORD
from painpump.clinic.actions import users
from painpump.clinic.demo.seed import DEMO_USERS, _password
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


def create(admin: User, username: str, password: str) -> users.Account:
    return users.create_account(
        admin,
        username=username,
        first_name="Nina",
        last_name="Neumann",
        roles=["nurse"],
        password=password,
    )


@pytest.mark.parametrize(
    ("username", "password", "why"),
    [
        ("nina.neumann.ward3", "nina.neumann.ward3", "too similar to the username"),
        ("nurse.kim", "982347120958", "entirely numeric"),
        ("nurse.kim", "saffron lan", "too short. It must contain at least 12 characters"),
        ("nurse.kim", "password1234", "too common"),
    ],
    ids=["equal-to-username", "all-digits", "11-characters", "common"],
)
def test_regression_weak_passwords_are_refused_naming_the_rule(
    admin: User, username: str, password: str, why: str
) -> None:
    with pytest.raises(Refusal) as refused:
        create(admin, username, password)
    assert refused.value.field == "password" and why in refused.value.message
    assert password not in refused.value.message
    assert not User.objects.filter(username=username).exists()


def test_twelve_characters_unlike_the_user_are_accepted(admin: User) -> None:
    assert create(admin, "nurse.kim", "saffron lant").username == "nurse.kim"


def test_the_demo_and_test_passwords_pass_the_rules() -> None:
    for _, username, role in DEMO_USERS:
        user = User(username=username, first_name=role.value)
        for _ in range(20):
            password_validation.validate_password(_password(user), user)
    password_validation.validate_password(PASSWORD, User(username="nurse.joy"))
