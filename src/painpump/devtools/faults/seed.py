"""The drills' clinic, made through the clinic services like any other: a nurse with an API
token (and a web session), and patients with a baclofen pump implanted a year ago, prescribed by
the physician at their established dose (its start-dose warning passed with the reason),
double-checked by the pharmacist, filled by the nurse and read back, so that every drill refill
(6 minutes after the one before, executing that prescription) is a valid one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.utils import timezone

from painpump.api import tokens
from painpump.clinic.actions import implantation, readbacks, refills
from painpump.clinic.actions.patients import create_patient, open_episode
from painpump.clinic.models import Episode
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.roles import Role
from painpump.clinic.testing import (
    CARRIED_OVER,
    MEDTRONIC_CATHETER,
    audited_user,
    baclofen,
    prescribed,
    responder_episode,
)
from painpump.core.prescription_compare import Readback
from painpump.core.units import Kind, parse
from painpump.plumbing.hashed_sessions import SessionStore

NURSE = "drill.nurse"
PHYSICIAN = "drill.physician"
PHARMACIST = "drill.pharmacist"
FIRST_FILL_DAYS_AGO = 340  # room for 340 x 240 drill refills 6 minutes apart


@dataclass(frozen=True)
class Clinic:
    token: str  # the nurse's read-write API token
    session: str  # the nurse's web session key
    implants: tuple[UUID, ...]
    patients: tuple[UUID, ...]
    first_fill: datetime


def _user(name: str, role: Role) -> User:
    return audited_user(name, role, actor="fault drill")  # a token and a session, no password


def _session(user: User) -> str:
    """A signed-in web session, as logging in would leave it."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def seed(patients: int) -> Clinic:
    """A nurse, a physician, a pharmacist and `patients` implanted patients."""
    nurse, physician = _user(NURSE, Role.NURSE), _user(PHYSICIAN, Role.PHYSICIAN)
    pharmacist = _user(PHARMACIST, Role.PHARMACIST)
    today = timezone.localdate()
    filled_on = today - timedelta(days=FIRST_FILL_DAYS_AGO)
    first_fill = datetime.combine(filled_on, time(9, 0), tzinfo=timezone.get_current_timezone())
    implants, made = [], []
    for number in range(patients):
        patient = create_patient(
            nurse,
            mrn=f"DRILL-{number:04d}",
            family_name="Drill",
            given_name=f"Patient {number}",
            birth_date=today.replace(year=today.year - 60, day=1),
            today=today,
        )
        episode = open_episode(
            physician, patient.id, indication="stroke", referred_on=filled_on - timedelta(days=60)
        )
        responder_episode(physician, episode.id, start=filled_on - timedelta(days=40))
        implant = implantation.register_implantation(
            physician,
            episode.id,
            expected_version=Episode.objects.get(id=episode.id).version,
            now=first_fill,
            pump_model="synchromed-ii-20",
            pump_serial=f"DRILL-{number:04d}",
            catheter_model="8709SC",
            catheter_length_cm=Decimal(60),
            dead_volume=parse("0.25 mL", Kind.VOLUME, "dead volume"),
            acknowledge=dict(MEDTRONIC_CATHETER),
            alarm_volume=None,
            implanted_on=filled_on,
        )
        fill = baclofen()
        prescription = prescribed(
            physician,
            pharmacist,
            implant.id,
            fill,
            parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
            at=first_fill - timedelta(minutes=30),
            overrides=CARRIED_OVER,  # an established dose, above the label's start dose
        )
        refill = refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key=f"drill-first-fill-{implant.id}",
            performed_at=first_fill,
            expected=None,
            aspirated=None,
            fill=fill,
        )
        values = as_core(prescription)
        readbacks.record_readback(
            nurse,
            refill.program_id,
            Readback(fill.volume, values.drugs, values.program, values.ptm),
            first_fill + timedelta(minutes=5),
        )
        implants.append(implant.id)
        made.append(patient.id)
    token = tokens.create(NURSE, read_only=False, name="fault drills", actor="fault drills")
    return Clinic(token.secret, _session(nurse), tuple(implants), tuple(made), first_fill)
