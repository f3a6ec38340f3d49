"""Users of every role, a patient with an episode, and HTTP clients for the API tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from clinic_fixtures import BORN
from frozen import TODAY, day
from painpump.clinic.actions import patients
from painpump.clinic.models import Episode, Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import audited_user

PASSWORD = "correct horse battery"
USERNAMES = {
    Role.PHYSICIAN: "dr.house",
    Role.NURSE: "nurse.joy",
    Role.PHARMACIST: "pharma.cist",
    Role.ADMIN: "ad.min",
    Role.AUDITOR: "audi.tor",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    """Tests create many users; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(db: None) -> dict[Role, User]:
    made = {}
    for role, name in USERNAMES.items():
        made[role] = audited_user(name, role, password=PASSWORD)
    return made


@pytest.fixture
def patient(users: dict[Role, User]) -> Patient:
    return patients.create_patient(
        users[Role.NURSE],
        mrn="MRN-0001",
        family_name="Muster",
        given_name="Erika",
        birth_date=BORN,
        today=TODAY,
    )


@pytest.fixture
def episode(users: dict[Role, User], patient: Patient) -> Episode:
    return patients.open_episode(
        users[Role.PHYSICIAN],
        patient.id,
        indication="multiple_sclerosis",
        referred_on=day(-55),
    )


@pytest.fixture
def client_as(users: dict[Role, User]) -> Callable[[Role | None], Client]:
    """A client logged in (session) as the user of a role, or anonymous for None."""

    def make(role: Role | None) -> Client:
        client = Client()
        if role is not None:
            client.force_login(users[role])
        return client

    return make
