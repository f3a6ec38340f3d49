"""Users of every role, a patient and an implanted, filled pump: the clinic fixtures shared by
the clinic, web and browser tests (registered as a plugin in tests/conftest.py); and the helpers
that find the second clinician of a double-check and take a pump through a titration (prescribed,
double-checked, programmed)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from django.db.models import QuerySet

from frozen import TODAY, ZONE_NAME, day
from painpump.clinic.actions import implantation, patients, programs, refills
from painpump.clinic.actions import prescriptions as prescription_actions
from painpump.clinic.models import AuditEntry, Implant, Patient, Program
from painpump.clinic.reads import prescription_history, prescriptions
from painpump.clinic.roles import Role
from painpump.clinic.testing import (
    CARRIED_OVER,
    FIXTURE,
    MEDTRONIC_CATHETER,
    audited_user,
    baclofen,
    prescribed,
    responder_episode,
)
from painpump.core import prescription as rx
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, Q, parse

BORN = TODAY - timedelta(days=20_662)
"""The `patient` fixture's birthday: 56 years and 7 months before today (1 May 1970 at the
default clock), so she is 56 on any day the tests run."""
REFERRED = day(-177)
"""The `implant` fixture's referral, 30 days before its test phase."""
TEST_PHASE = day(-147)
"""The `implant` fixture's test phase starts (responder_episode: a two-day stay)."""
IMPLANTED = day(-85)
"""The `implant` fixture's implant day, 62 days after the test phase started."""
FIRST_FILL = datetime.combine(IMPLANTED, time(9, 0), tzinfo=UTC)
"""The `implant` fixture's first fill, 85 days before today (1 Sep 2026 09:00 UTC at the default
clock): baclofen 20 mL at 0.2 mL/day, so its low-reservoir alarm (90 days on) is 5 days ahead and
its refill-by date (7 days before the alarm's day) 2 days ago."""
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
SETTINGS_FORM: dict[str, str | list[str]] = {
    "version": "1",
    "implant_wait_days": "21 day",
    "stay_min_days": "2 day",
    "stay_max_days": "3 day",
    "test_phase_days_moderate": "3 day",
    "test_phase_days_severe": "5 day",
    "test_phase_days_very_severe": "7 day",
    "refill_margin_days": "7 day",
    "country": "US",
    "subdivision": "",
    "dosing_region": "us",
    "time_zone": ZONE_NAME,
    "open_weekdays": ["0", "1", "2", "3", "4"],
    "opens_at": "08:00",
    "closes_at": "17:00",
    "date_format": "iso",
    "time_format": "24h",
    "refill_visit_minutes": "30 min",
    "refill_capacity_per_day": "8",
    "readback_tolerance": "0.1 mL",
}
"""The entries of the Settings page as a new test clinic shows them (every default kept)."""


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """Accounts made with their roles, their creation audited (painpump.clinic.testing), so
    that `painpump audit verify` passes on every fixture database."""

    def make(name: str, *roles: Role) -> User:
        return audited_user(name, *roles, password=PASSWORD)

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
    return patients.create_patient(
        nurse,
        mrn="MRN-0001",
        family_name="Muster",
        given_name="Erika",
        birth_date=BORN,
        today=TODAY,
    )


def implanted_pump(physician: User, patient_id: UUID, serial: str) -> Implant:
    """A SynchroMed II 20 mL pump (`serial`) with a 60 cm 8709SC catheter, implanted after a
    test phase the patient responded to: no prescription, no fill yet."""
    episode = patients.open_episode(
        physician, patient_id, indication="stroke", referred_on=REFERRED
    )
    responder = responder_episode(physician, episode.id, start=TEST_PHASE)
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=responder.version,
        now=datetime.combine(IMPLANTED, time(12, 0), tzinfo=UTC),
        pump_model="synchromed-ii-20",
        pump_serial=serial,
        catheter_model="8709SC",
        catheter_length_cm=Decimal("60"),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )


@pytest.fixture
def implant(patient: Patient, physician: User, pharmacist: User) -> Implant:
    implant = implanted_pump(physician, patient.id, "NGP123456H")
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        at=FIRST_FILL - timedelta(hours=1),
        overrides=CARRIED_OVER,
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
        overrides=CARRIED_OVER,  # her established dose, above the label's 200 mcg/day start
    )
    return implant


def written_entries() -> QuerySet[AuditEntry]:
    """The audit trail but the creation of the fixtures' accounts (`make_user`): what the test
    itself wrote, none when a refusal changed nothing."""
    return AuditEntry.objects.exclude(actor=FIXTURE)


def prescriber_of(implant_id: UUID) -> User:
    """The physician who signed the prescription in force on the pump."""
    record = prescriptions.in_force(Implant.objects.get(id=implant_id))
    assert record is not None, "the pump has no prescription in force"
    return User.objects.get(username=record.prescribed_by)


def second_clinician(prescriber: User) -> User:
    """Who double-checks `prescriber`'s prescriptions: the first pharmacist, else another
    physician; for a test that made neither, a pharmacist made here."""
    others = User.objects.exclude(id=prescriber.id).order_by("username")
    for role in (Role.PHARMACIST, Role.PHYSICIAN):
        found = others.filter(groups__name=role.value).first()
        if found is not None:
            return found
    checker = User.objects.filter(username="second.checker").first()
    return checker or audited_user("second.checker", Role.PHARMACIST)


def titrated(
    physician: User,
    implant_id: UUID,
    dose: Q,
    *,
    at: datetime,
    checker: User | None = None,
    programmer: User | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Program:
    """A new dose of the drugs in the pump between refills: prescribed by `physician` at `at`,
    double-checked by `checker` (a second clinician by default) and programmed at once by
    `programmer` (the physician by default)."""
    in_force = prescriptions.in_force(Implant.objects.get(id=implant_id))
    assert in_force is not None, "a titration changes the prescription in force"
    prescribed(
        physician,
        checker or second_clinician(physician),
        implant_id,
        prescriptions.as_core(in_force).drugs,
        dose,
        at=at,
        overrides=overrides,
        reason="titration agreed at the clinic visit",
    )
    return programs.program_pump(
        programmer or physician,
        implant_id,
        expected_version=Implant.objects.get(id=implant_id).version,
        now=at,
    )


def single_bolus_programmed(
    implant_id: UUID, *, at: datetime, dose: str = "100 mcg", duration: str = "1 hour"
) -> Program:
    """A single bolus of the pump's fluid (then the pump stops): programmed_between_refills."""
    program = rx.PrescribedProgram.single_bolus(rx.single_bolus(dose, duration))
    return programmed_between_refills(implant_id, program, at=at)


def programmed_between_refills(
    implant_id: UUID, program: rx.PrescribedProgram, *, at: datetime
) -> Program:
    """`program` of the pump's fluid (a single bolus, a stop), prescribed by the physician of
    the prescription in force two hours before `at` with a reason for each warning,
    double-checked by a second clinician an hour before and programmed by the physician at
    `at`."""
    physician = prescriber_of(implant_id)
    in_force = prescriptions.in_force(Implant.objects.get(id=implant_id))
    assert in_force is not None, "it gives the fluid of the prescription in force"
    drugs = prescriptions.as_core(in_force).drugs
    draft = rx.Prescription(drugs, program)
    signed_at = at - timedelta(hours=2)
    preview = prescription_history.preview_prescription(physician, implant_id, draft, at=signed_at)
    record = prescription_actions.prescribe(
        physician,
        implant_id,
        draft,
        reason="a planned stop before the pump is explanted",
        now=signed_at,
        expected_version=preview.version,
        overrides={w.rule: "oral baclofen restarted, stop planned" for w in preview.warnings},
    )
    prescription_actions.double_check(
        second_clinician(physician),
        record.id,
        entries=CheckEntries(drugs, program, None, rx.FluidChange.NONE),
        accept=True,
        comment="",
        now=at - timedelta(hours=1),
    )
    return programs.program_pump(
        physician,
        implant_id,
        expected_version=Implant.objects.get(id=implant_id).version,
        now=at,
    )


PRIMING_REASONS = {
    "priming_bolus_mixing": "primed in the clinic with the patient observed for 6 hours",
    "priming_pushes_old_drug": "200 mcg pushed, half the day's dose, patient observed",
    "priming_max_single_bolus": "200 mcg pushed above the 100 mcg screening bolus, observed",
}
"""The prescriber's reasons (and the physician's again at the fill) for the priming bolus of
primed_half: 0.1 mL of baclofen 2000 mcg/mL, 200 mcg, twice its largest single bolus."""


def primed_half(physician: User, pharmacist: User, implant_id: UUID, *, at: datetime) -> None:
    """Half the concentration (baclofen 1000 mcg/mL at 400 mcg/day) prescribed at `at` with a
    priming bolus of the pump's path, set to 0.1 mL, and double-checked."""
    Implant.objects.filter(id=implant_id).update(dead_volume_ml=Decimal("0.1"))
    prescribed(
        physician,
        pharmacist,
        implant_id,
        baclofen("1000 mcg/mL"),
        parse("400 mcg/day", Kind.DOSE_RATE, "d"),
        at=at,
        overrides=PRIMING_REASONS,
        fluid_change=rx.FluidChange.PRIMING,
    )
