"""Users of every role, for the clinic service's tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.auth.models import Group, User

from painpump.clinic import services
from painpump.clinic.models import Patient
from painpump.clinic.roles import Role

TODAY = date(2026, 11, 25)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(name: str, *roles: Role) -> User:
        user = User.objects.create_user(name, password="correct horse battery")
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        return user

    return make


@pytest.fixture
def physician(make_user: Callable[..., User]) -> User:
    return make_user("dr.house", Role.PHYSICIAN)


@pytest.fixture
def nurse(make_user: Callable[..., User]) -> User:
    return make_user("nurse.joy", Role.NURSE)


@pytest.fixture
def pharmacist(make_user: Callable[..., User]) -> User:
    return make_user("pharma.cist", Role.PHARMACIST)


@pytest.fixture
def auditor(make_user: Callable[..., User]) -> User:
    return make_user("audi.tor", Role.AUDITOR)


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user("ad.min", Role.ADMIN)


@pytest.fixture
def patient(nurse: User) -> Patient:
    return services.create_patient(
        nurse,
        mrn="MRN-0001",
        family_name="Muster",
        given_name="Erika",
        birth_date=date(1970, 5, 1),
        today=TODAY,
    )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
