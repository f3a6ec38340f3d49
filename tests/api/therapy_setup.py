"""Shared set-up of the therapy API tests: dates relative to the real clock (the API dates its
steps with the current time), a stroke patient implanted 90 days ago with a baclofen pump
prescribed (by the physician, double-checked by the clinic's pharmacist) and filled that day,
and small HTTP helpers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from frozen import ZONE
from painpump.clinic.actions import implantation, patients, refills
from painpump.clinic.models import Episode, Implant, Patient, Prescription, Refill
from painpump.clinic.reads import pump_history
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.roles import Role
from painpump.clinic.testing import CARRIED_OVER, MEDTRONIC_CATHETER, prescribed, responder_episode
from painpump.core.prescription import ProgramKind
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse, round_places

JSON = "application/json"


def today() -> date:
    return timezone.localdate(timezone=ZONE)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def new_patient(nurse: User, mrn: str, family_name: str = "Muster", **facts: Any) -> Patient:
    """A patient born in 1960, with the facts given (patients.create_patient: opioid status,
    psychosis history, weight, life expectancy; not recorded by default)."""
    return patients.create_patient(
        nurse,
        mrn=mrn,
        family_name=family_name,
        given_name="Erika",
        birth_date=date(1960, 1, 1),
        today=today(),
        **facts,
    )


def expected_to_live(nurse: User, patient: Patient, months: int = 12) -> Patient:
    """The patient with a life expectancy recorded, as before a tumour-pain implantation (an
    implanted pump is for a life expectancy beyond 3 months)."""
    return patients.update_patient(
        nurse,
        patient.id,
        expected_version=patient.version,
        today=today(),
        life_expectancy_months=months,
    )


def new_episode(physician: User, patient: Patient, indication: str, days_ago: int) -> Episode:
    return patients.open_episode(
        physician,
        patient.id,
        indication=indication,
        referred_on=today() - timedelta(days=days_ago),
    )


def fill(drug: str, concentration: str, volume: str = "20 mL") -> Fill:
    return Fill(
        ((drug, parse(concentration, Kind.CONCENTRATION, "c")),),
        parse(volume, Kind.VOLUME, "v"),
        "LOT-1",
    )


def pharmacist() -> User:
    """The clinic's (first) pharmacist: the second clinician of the set-up's prescriptions."""
    return Group.objects.get(name=Role.PHARMACIST.value).user_set.earliest("id")


def implanted(
    physician: User,
    episode: Episode,
    filled_at: datetime,
    drug: str = "baclofen",
    concentration: str = "2000 mcg/mL",
    dose: str = "400 mcg/day",
    overrides: Mapping[str, str] | None = None,
) -> Implant:
    """Register the implant on the fill's day (the pathway's implantation step), prescribe the
    fill an hour before it (each soft warning, such as a dose above the drug's start dose,
    passed with its reason in `overrides`; double-checked by the pharmacist) and fill it."""
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=Episode.objects.get(id=episode.id).version,
        now=filled_at,
        pump_model="synchromed-ii-20",
        pump_serial=f"S-{str(episode.id)[:8]}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=filled_at.date(),
    )
    prescribed(
        physician,
        pharmacist(),
        implant.id,
        fill(drug, concentration),
        parse(dose, Kind.DOSE_RATE, "dose"),
        at=filled_at - timedelta(hours=1),
        overrides=overrides,
    )
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key=f"fill-{implant.id}",
        performed_at=filled_at,
        expected=None,
        aspirated=None,
        fill=fill(drug, concentration),
    )
    return Implant.objects.get(id=implant.id)


FIRST_FILL_DAYS_AGO = 90


def baclofen_implant(physician: User, patient: Patient) -> Implant:
    """Stroke: test phase 120 days ago, responder 2 days later, implanted and filled 90 days
    ago with baclofen 2000 mcg/mL, 20 mL, 400 mcg/day (0.2 mL/day: 8 mL expected at day 60), her
    established dose carried over (above the label's 200 mcg/day start)."""
    episode = new_episode(physician, patient, "stroke", 200)
    responder_episode(physician, episode.id, start=today() - timedelta(days=120))
    filled_at = at(today() - timedelta(days=FIRST_FILL_DAYS_AGO))
    return implanted(physician, episode, filled_at, overrides=CARRIED_OVER)


def day_60() -> datetime:
    return at(today() - timedelta(days=FIRST_FILL_DAYS_AGO - 60))


def unverified_refill(nurse: User, implant: Implant) -> Refill:
    """The nurse's refill at day 59 of the baclofen pump with an overinfusion (6.2 mL aspirated,
    8.2 mL expected) passed with her reason: it waits for a second clinician's verification."""
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="change",
        performed_at=day_60() - timedelta(days=1),
        expected=parse("8.2 mL", Kind.VOLUME, "e"),
        aspirated=parse("6.2 mL", Kind.VOLUME, "a"),
        fill=fill("baclofen", "2000 mcg/mL"),
        overrides={"reconciliation": "pump checked, the patient had no symptoms"},
    )


FILLED_VERSION = 4
"""The baclofen pump's version once filled: registered (1), prescribed, double-checked, filled."""


def version_of(implant: Implant) -> int:
    """The implant's version now: what a client read before a change (refills send it)."""
    return Implant.objects.get(id=implant.id).version


def refill_body(aspirated: str = "8 mL", **changes: Any) -> dict[str, Any]:
    """A refill at day 60 of the baclofen pump, quantities as the CLI's JSON (the implant's
    `version` is the caller's: version_of)."""
    body: dict[str, Any] = {
        "performed_at": iso(day_60()),
        "expected": {"value": 8, "unit": "mL"},
        "aspirated": aspirated,
        "drugs": [{"drug": "baclofen", "concentration": {"value": 2000, "unit": "mcg/mL"}}],
        "volume": {"value": 20, "unit": "mL"},
        "lot": "LOT-2",
        "dose": {"value": 400, "unit": "mcg/day"},
    }
    return body | changes


def left_at(implant: Implant, moment: datetime, given: int | None = None) -> str:
    """What the pump's twin says is left at `moment` (to the microlitre), as a refill of a pump
    that delivered as recorded types it (`given`: the patient boluses the pump reports)."""
    left = pump_history.expected_residual(implant, moment, given).least
    return f"{round_places(left.canonical, 3)} mL"


def post(client: Client, url: str, body: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, body, content_type=JSON, **extra)


FLEX: dict[str, Any] = {
    "kind": "flex",
    "steps": [
        {"days": "every day", "start": "00:00", "dose": "400 mcg/day"},
        {"days": "mon-fri", "start": "08:00", "dose": {"value": 360, "unit": "mcg/day"}},
        {"days": "mon-fri", "start": "18:00", "dose": "400 mcg/day"},
    ],
}
"""The baclofen pump's flex program: 400 mcg/day, less during weekday working hours."""
PTM: dict[str, Any] = {"dose": "10 mcg", "duration": "2 min", "lockout": "3 hour", "max_per_day": 4}


def prescription_body(version: int | None, **changes: Any) -> dict[str, Any]:
    """A flex prescription with patient boluses for the baclofen pump (2000 mcg/mL): signed
    at `version` with a reason, or (None) as the preview takes it."""
    draft: dict[str, Any] = {
        "drugs": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
        "program": FLEX,
        "ptm": PTM,
    }
    if version is not None:
        draft |= {"version": version, "reason": "less spasticity during working hours"}
    return draft | changes


def check_body(**changes: Any) -> dict[str, Any]:
    """The second clinician's entries for prescription_body's prescription, as prescribed (the
    concentration, every flex step row, the PTM settings), accepting it."""
    body: dict[str, Any] = {
        "concentrations": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
        "program": FLEX,
        "ptm": PTM,
        "accept": True,
    }
    return body | changes


def check_body_of(record: Prescription, **changes: Any) -> dict[str, Any]:
    """Entries equal to the signed prescription `record`, accepting it: a flex program as one
    step row per weekday and step."""
    signed = as_core(record)
    program: dict[str, Any] = {
        "kind": "flex",
        "steps": [
            {"days": weekday, "start": step.start, "dose": str(step.dose)}
            for weekday, _, step in signed.program.steps()
        ],
    }
    if signed.program.kind is ProgramKind.CONTINUOUS:
        program = {"kind": "continuous", "dose": str(signed.daily_dose)}
    ptm = signed.ptm
    body = {
        "concentrations": [{"drug": name, "concentration": str(c)} for name, c in signed.drugs],
        "program": program,
        "ptm": None
        if ptm is None
        else {
            "dose": str(ptm.dose),
            "duration": f"{ptm.duration_s} s",
            "lockout": f"{ptm.lockout_s} s",
            "max_per_day": ptm.max_per_day,
        },
        "accept": True,
    }
    return body | changes


def readback_body(**changes: Any) -> dict[str, Any]:
    """The programmer's readback of the baclofen pump's first fill, as prescribed."""
    body: dict[str, Any] = {
        "reservoir": "20 mL",
        "drugs": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
        "program": {"kind": "continuous", "dose": "400 mcg/day"},
        "ptm": None,
    }
    return body | changes
