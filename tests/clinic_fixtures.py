"""Users of every role, a patient and an implanted, filled pump: the clinic fixtures shared by
the clinic, web and browser tests (registered as a plugin in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from painpump.clinic import refills, services
from painpump.clinic.models import Implant, Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import FIRST_FILL, baclofen, responder_episode
from painpump.core.units import Kind, parse

TODAY = date(2026, 11, 25)
PASSWORD = "correct horse battery"
REFILL_FORM = {
    "expected": "3 mL",
    "aspirated": "3 mL",
    "drug": "baclofen",
    "concentration": "2000 mcg/mL",
    "drug_2": "",
    "concentration_2": "",
    "drug_3": "",
    "concentration_3": "",
    "lot": "LOT-7",
    "volume": "20 mL",
    "dose": "400 mcg/day",
    "origin": "",
}
"""The entries of a valid refill form for the `implant` fixture's baclofen pump (3 mL left)."""


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(name: str, *roles: Role) -> User:
        user = User.objects.create_user(name, password=PASSWORD)
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


@pytest.fixture
def implant(patient: Patient, physician: User) -> Implant:
    episode = services.open_episode(
        physician, patient.id, indication="stroke", referred_on=date(2026, 6, 1)
    )
    responder = responder_episode(physician, episode.id)
    implant = refills.register_implant(
        physician,
        episode.id,
        expected_version=responder.version,
        now=datetime(2026, 9, 1, 12, 0, tzinfo=UTC),
        pump_model="synchromed-ii-20",
        pump_serial="NGP123456H",
        catheter_model="8709SC",
        catheter_length_cm=Decimal("60"),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        alarm_volume=None,
        implanted_on=date(2026, 9, 1),
    )
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key="first-fill",
        performed_at=FIRST_FILL,
        expected=None,
        aspirated=None,
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
    )
    return implant
