"""After programming, the nurse enters the programmer's readback (rule-readback): one that matches
the prescription (and the volume filled) completes the session; any difference stops it and
opens an incident on the patient's record, audited and listed until a physician closes it with
what was done."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from painpump.clinic.actions import readbacks, refills
from painpump.clinic.models import AuditEntry, Implant, Incident, Program, Readback
from painpump.clinic.reads.prescription_api import incidents_of
from painpump.clinic.reads.prescription_history import versions
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
READ_AT = DAY_60 + timedelta(minutes=10)
HALF = baclofen("1000 mcg/mL")


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def read(
    reservoir: str = "20 mL",
    concentration: str = "1000 mcg/mL",
    daily: str = "400 mcg/day",
    ptm: rx.PatientBolus | None = None,
) -> ReadValues:
    """What the programmer shows (by default, what the day-60 refill filled and programmed)."""
    return ReadValues(
        parse(reservoir, Kind.VOLUME, "reservoir"),
        (("baclofen", parse(concentration, Kind.CONCENTRATION, "c")),),
        rx.PrescribedProgram.continuous(dose(daily)),
        ptm,
    )


@pytest.fixture
def refilled(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Program:
    """The day-60 refill with half the concentration, as prescribed and double-checked."""
    prescribed(physician, pharmacist, implant.id, HALF, dose("400 mcg/day"), at=DAY_60)
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=HALF,
    )
    return refill.program


def test_a_readback_that_matches_completes_the_session_without_an_incident(
    refilled: Program, nurse: User
) -> None:
    readback = readbacks.record_readback(nurse, refilled.id, read(), READ_AT)
    assert readback.matches and readback.mismatches == []
    assert (readback.read_by, readback.read_at) == ("nurse.joy", READ_AT)
    assert readback.entered["reservoir"] == "20 mL"
    assert readback.entered["drugs"] == ["baclofen 1000 mcg/mL"]
    assert not Incident.objects.exists()
    entry = AuditEntry.objects.get(action="readback.record")
    assert entry.actor == "nurse.joy" and entry.object_id == str(readback.id)
    assert entry.after is not None and entry.after["prescription"] == 2
    assert entry.after["mismatches"] == []
    assert not AuditEntry.objects.filter(action="incident.open").exists()


def test_a_readback_that_differs_stops_the_session_and_opens_an_incident(
    refilled: Program, implant: Implant, nurse: User
) -> None:
    wrong = read(reservoir="18 mL", concentration="2000 mcg/mL")
    readback = readbacks.record_readback(nurse, refilled.id, wrong, READ_AT)
    assert not readback.matches
    assert readback.mismatches == [
        {
            "field": "drugs.baclofen",
            "entered": "2000 mcg/mL",
            "prescribed": "1000 mcg/mL",
        },
        {"field": "reservoir", "entered": "18 mL", "prescribed": "20 mL filled"},
    ]
    incident = Incident.objects.get()
    assert incident.kind == Incident.Kind.READBACK_MISMATCH
    assert (incident.patient_id, incident.implant_id) == (
        implant.episode.patient_id,
        implant.id,
    )
    assert (incident.opened_by, incident.opened_at, incident.closed_at) == (
        "nurse.joy",
        READ_AT,
        None,
    )
    assert incident.summary.startswith("Programmer readback differs from prescription #2: ")
    assert "drugs.baclofen: entered 2000 mcg/mL, prescribed 1000 mcg/mL" in incident.summary
    assert incident.readback == readback
    assert incident.details == {"program": str(refilled.id)}
    opened = AuditEntry.objects.get(action="incident.open")
    assert opened.actor == "nurse.joy" and opened.object_id == str(incident.id)
    assert opened.patient_id == implant.episode.patient_id
    assert incidents_of(nurse, implant.episode.patient_id) == [incident]
    assert AuditEntry.objects.filter(action="incident.list").count() == 1


def test_a_readback_of_other_program_steps_or_bolus_settings_differs(
    implant: Implant, physician: User, nurse: User
) -> None:
    """Between refills the reservoir is not compared (nothing was filled); the program's steps
    and the PTM settings are."""
    program = titrated(physician, implant.id, dose("440 mcg/day"), at=DAY_60, programmer=nurse)
    assert readbacks.record_readback(
        nurse, program.id, read("5 mL", "2000 mcg/mL", "440 mcg/day"), READ_AT
    ).matches
    bolus = rx.patient_bolus("50 mcg", "2 min", "3 hour", "4")
    differs = readbacks.record_readback(
        nurse, program.id, read("5 mL", "2000 mcg/mL", "400 mcg/day", bolus), READ_AT
    )
    assert [m["field"] for m in differs.mismatches] == [
        *(f"program.days.{day}" for day in rx.WEEKDAYS),
        "ptm",
    ]
    assert differs.mismatches[0] == {
        "field": "program.days.mon",
        "entered": "00:00 400 mcg/day",
        "prescribed": "00:00 440 mcg/day",
    }
    assert Incident.objects.count() == 1


def test_only_the_program_in_force_has_a_readback(
    refilled: Program, implant: Implant, nurse: User
) -> None:
    ended = Program.objects.get(implant=implant, ended_at__isnull=False)
    with pytest.raises(Refusal) as caught:
        readbacks.record_readback(nurse, ended.id, read(), READ_AT)
    assert caught.value.field == "program" and caught.value.source == "rule-readback"
    assert not Readback.objects.exists()


def test_a_pharmacist_may_not_record_a_readback(refilled: Program, pharmacist: User) -> None:
    with pytest.raises(Forbidden):
        readbacks.record_readback(pharmacist, refilled.id, read(), READ_AT)
    assert not Readback.objects.exists()


def test_only_a_physician_closes_an_incident_with_what_was_done(
    refilled: Program, nurse: User, pharmacist: User, physician: User
) -> None:
    readbacks.record_readback(nurse, refilled.id, read(reservoir="18 mL"), READ_AT)
    incident = Incident.objects.get()
    closing = READ_AT + timedelta(hours=1)
    for user in (nurse, pharmacist):
        with pytest.raises(Forbidden, match=r"incident\.close"):
            readbacks.close_incident(user, incident.id, "reprogrammed and read back", closing)
    with pytest.raises(Refusal) as short:
        readbacks.close_incident(physician, incident.id, "ok", closing)
    assert short.value.field == "resolution"
    resolution = "pump reprogrammed, readback repeated and matching"
    closed = readbacks.close_incident(physician, incident.id, f" {resolution} ", closing)
    assert (closed.closed_by, closed.closed_at, closed.resolution) == (
        "dr.house",
        closing,
        resolution,
    )
    entry = AuditEntry.objects.get(action="incident.close")
    assert entry.actor == "dr.house" and entry.after == {
        "closed_by": "dr.house",
        "resolution": resolution,
    }
    with pytest.raises(Refusal, match="is already closed"):
        readbacks.close_incident(physician, incident.id, resolution, closing)
    assert incidents_of(physician, refilled.implant.episode.patient_id) == [closed]


def test_a_stopped_session_stays_stopped_until_a_physician_closes_its_incident(
    refilled: Program, implant: Implant, nurse: User, physician: User
) -> None:
    readbacks.record_readback(nurse, refilled.id, read(reservoir="18 mL"), READ_AT)
    readbacks.record_readback(nurse, refilled.id, read(), READ_AT + timedelta(minutes=5))

    def state() -> str:
        (version, *_) = versions(Implant.objects.get(id=implant.id))
        (programming,) = version.programmed
        return programming.state

    assert state() == "stopped"  # a matching readback afterwards does not undo the stop
    readbacks.close_incident(
        physician, Incident.objects.get().id, "programmer corrected, read back again", READ_AT
    )
    assert state() == "complete"
