"""After programming, the nurse enters the programmer's readback (rule-readback): one that matches
the prescription, the reservoir expected (the volume filled, less a priming bolus as it draws;
between refills the pump's twin, within the clinic's tolerance) and the bridge or priming bolus
the refill ran completes the session; any difference stops it and opens an incident on the
patient's record, audited and listed until a physician closes it with what was done."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, PRIMING_REASONS, primed_half, titrated
from painpump.clinic.actions import (
    prescriptions,
    programs,
    readbacks,
    refills,
    settings_service,
    tolerance_requests,
)
from painpump.clinic.models import (
    AuditEntry,
    ClinicSettings,
    Implant,
    Incident,
    Program,
    Readback,
)
from painpump.clinic.reads.prescription_api import incidents_of
from painpump.clinic.reads.prescription_history import versions
from painpump.clinic.reads.prescription_work import readback_session, refill_programming
from painpump.clinic.reads.readback_expected import expected_reservoir
from painpump.clinic.roles import Forbidden, Role
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries, FluidChangeShown
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
READ_AT = DAY_60 + timedelta(minutes=10)
HALF = baclofen("1000 mcg/mL")
TOLD = "± 0.1 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def bridge(volume: str = "0.25 mL", rate: str = "0.2 mL/day") -> FluidChangeShown:
    """A bridge as the programmer shows it (by default, the day-60 refill's: the 0.25 mL path
    of 2000 mcg/mL at the rate that keeps 400 mcg/day)."""
    return FluidChangeShown(
        rx.FluidChange.BRIDGE,
        parse(volume, Kind.VOLUME, "v"),
        parse(rate, Kind.VOLUME_RATE, "r"),
    )


BRIDGE = bridge()


def read(
    reservoir: str = "20 mL",
    concentration: str = "1000 mcg/mL",
    daily: str = "400 mcg/day",
    ptm: rx.PatientBolus | None = None,
    fluid_change: FluidChangeShown | None = BRIDGE,
) -> ReadValues:
    """What the programmer shows (by default, what the day-60 refill filled and programmed)."""
    return ReadValues(
        parse(reservoir, Kind.VOLUME, "reservoir"),
        (("baclofen", parse(concentration, Kind.CONCENTRATION, "c")),),
        rx.PrescribedProgram.continuous(dose(daily)),
        ptm,
        fluid_change,
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
    assert readback.entered["fluid_change"] == {
        "kind": "bridge",
        "volume": "0.25 mL",
        "rate": "0.2 mL/day",
    }
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
        {
            "field": "reservoir",
            "entered": "18 mL",
            "prescribed": f"20 mL (filled) {TOLD}",
            "against": "expected",
        },
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
    assert incident.details == {"program": str(refilled.id), "severity": "dose"}
    opened = AuditEntry.objects.get(action="incident.open")
    assert opened.actor == "nurse.joy" and opened.object_id == str(incident.id)
    assert opened.patient_id == implant.episode.patient_id
    assert incidents_of(nurse, implant.episode.patient_id) == [incident]
    assert AuditEntry.objects.filter(action="incident.list").count() == 1


def test_a_readback_of_other_program_steps_or_bolus_settings_differs(
    implant: Implant, physician: User, nurse: User
) -> None:
    """Between refills the program's steps and the PTM settings are compared as after a refill
    (the reservoir with the twin's, below)."""
    program = titrated(physician, implant.id, dose("440 mcg/day"), at=DAY_60, programmer=nurse)
    assert readbacks.record_readback(
        nurse, program.id, read("8 mL", "2000 mcg/mL", "440 mcg/day", fluid_change=None), READ_AT
    ).matches
    bolus = rx.patient_bolus("50 mcg", "2 min", "3 hour", "4")
    differs = readbacks.record_readback(
        nurse, program.id, read("8 mL", "2000 mcg/mL", "400 mcg/day", bolus, None), READ_AT
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
        "closed_at": closing.isoformat(),
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


def between_refills(physician: User, implant: Implant, nurse: User) -> Program:
    """A titration to 440 mcg/day programmed on day 60: 8 mL left of the first fill's 20 mL at
    0.2 mL/day, so the twin expects 7.998 mL ten minutes later (0.22 mL/day since)."""
    return titrated(physician, implant.id, dose("440 mcg/day"), at=DAY_60, programmer=nurse)


def test_between_refills_the_pumps_own_reservoir_as_the_twin_expects_raises_no_incident(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = between_refills(physician, implant, nurse)
    for shown in ("8 mL", "7.9 mL", "8.09 mL"):
        values = read(shown, "2000 mcg/mL", "440 mcg/day", fluid_change=None)
        assert readbacks.record_readback(nurse, program.id, values, READ_AT).matches, shown
    assert not Incident.objects.exists()
    entry = AuditEntry.objects.filter(action="readback.record").first()
    assert entry is not None and entry.after is not None
    assert entry.after["reservoir_expected"] == (
        f"7.998 mL (the pump's twin at this readback) {TOLD}"
    )


def test_between_refills_a_wrong_reservoir_opens_an_incident_naming_the_twin_and_tolerance(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = between_refills(physician, implant, nurse)
    values = read("5 mL", "2000 mcg/mL", "440 mcg/day", fluid_change=None)
    readback = readbacks.record_readback(nurse, program.id, values, READ_AT)
    assert readback.mismatches == [
        {
            "field": "reservoir",
            "entered": "5 mL",
            "prescribed": f"7.998 mL (the pump's twin at this readback) {TOLD}",
            "against": "expected",
        }
    ]
    incident = Incident.objects.get()
    assert incident.summary == (
        "Programmer readback differs from prescription #2: reservoir: entered 5 mL, expected "
        f"7.998 mL (the pump's twin at this readback) {TOLD}"
    )


def test_the_clinic_sets_the_reservoir_tolerance_and_each_readback_audits_the_one_it_used(
    implant: Implant, physician: User, nurse: User, admin: User, make_user: Callable[..., User]
) -> None:
    wider = tolerance_requests.ask(admin, expected_version=1, tolerance="0.5 mL")
    tolerance_requests.approve(make_user("ad.two", Role.ADMIN), wider.id)  # a second admin
    program = between_refills(physician, implant, nurse)
    values = read("7.6 mL", "2000 mcg/mL", "440 mcg/day", fluid_change=None)
    assert readbacks.record_readback(nurse, program.id, values, READ_AT).matches
    settings_service.update_settings(admin, expected_version=2, readback_tolerance="0 mL")
    differs = readbacks.record_readback(nurse, program.id, values, READ_AT)
    exact = "± 0 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"
    assert differs.mismatches[0]["prescribed"].endswith(exact)
    first, second = AuditEntry.objects.filter(action="readback.record").order_by("seq")
    assert first.after is not None and second.after is not None
    assert first.after["reservoir_expected"].endswith(
        "± 0.5 mL (the clinic's readback tolerance, unverified: rule-clinic-setting)"
    )
    assert second.after["reservoir_expected"].endswith(exact)


def test_between_refills_with_patient_boluses_the_twin_expects_a_range(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """Boluses the pump has not reported yet may have been given: from every allowed one (4 a
    day of 10 mcg, 0.005 mL each) to none."""
    program = rx.PrescribedProgram.continuous(dose("400 mcg/day"))
    ptm = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
    drugs = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(drugs, program, ptm),
        reason="patient boluses for spasms at night",
        now=DAY_60 - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(drugs, program, ptm),
        accept=True,
        comment="",
        now=DAY_60 - timedelta(hours=1),
    )
    programmed = programs.program_pump(
        nurse, implant.id, expected_version=Implant.objects.get(id=implant.id).version, now=DAY_60
    )
    expected = expected_reservoir(programmed, DAY_60 + timedelta(days=2))
    assert (str(expected.least), str(expected.most)) == ("7.56 mL", "7.6 mL")
    assert expected.basis == (
        "the pump's twin at this readback: every allowed patient bolus given since the fill, "
        "to none"
    )


@pytest.fixture
def primed(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Program:
    """The day-60 refill with half the concentration, primed: a 0.1 mL path (0.1 mL of 2000
    mcg/mL is 200 mcg, half the day's 400 mcg) pushed over 6 min."""
    primed_half(physician, pharmacist, implant.id, at=DAY_60)
    refill = refills.perform_refill(
        physician,  # who runs a push above the largest single bolus (rule-physician-priming-push)
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=HALF,
        overrides=PRIMING_REASONS,  # acknowledged again at the fill
    )
    assert refill.priming_volume_ml == Decimal("0.1")
    return refill.program


PRIMING = FluidChangeShown(rx.FluidChange.PRIMING, parse("0.1 mL", Kind.VOLUME, "v"))


@pytest.mark.parametrize("reservoir", ["20 mL", "19.95 mL", "19.9 mL"])
def test_after_a_priming_bolus_the_reservoir_before_or_after_it_draws_matches(
    primed: Program, nurse: User, reservoir: str
) -> None:
    readback = readbacks.record_readback(
        nurse, primed.id, read(reservoir, fluid_change=PRIMING), READ_AT
    )
    assert readback.matches, readback.mismatches
    assert readback.entered["fluid_change"] == {"kind": "priming", "volume": "0.1 mL"}


def test_a_wrong_priming_bolus_readback_opens_an_incident(primed: Program, nurse: User) -> None:
    wrong = FluidChangeShown(rx.FluidChange.PRIMING, parse("1 mL", Kind.VOLUME, "v"))
    readback = readbacks.record_readback(nurse, primed.id, read(fluid_change=wrong), READ_AT)
    assert readback.mismatches == [
        {
            "field": "fluid_change.volume",
            "entered": "1 mL",
            "prescribed": "0.1 mL, the priming bolus the refill ran",
        }
    ]
    incident = Incident.objects.get()
    assert incident.summary.endswith(
        "fluid_change.volume: entered 1 mL, prescribed 0.1 mL, the priming bolus the refill ran"
    )
    missing = readbacks.record_readback(nurse, primed.id, read(fluid_change=None), READ_AT)
    assert [m["field"] for m in missing.mismatches] == ["fluid_change"]
    assert Incident.objects.count() == 2


def test_a_wrong_bridge_readback_opens_an_incident(refilled: Program, nurse: User) -> None:
    shown = read(fluid_change=bridge(rate="0.4 mL/day"))
    readback = readbacks.record_readback(nurse, refilled.id, shown, READ_AT)
    assert readback.mismatches == [
        {
            "field": "fluid_change.rate",
            "entered": "0.4 mL/day",
            "prescribed": "0.2 mL/day, the bridge the refill ran",
        }
    ]
    assert "fluid_change.rate: entered 0.4 mL/day" in Incident.objects.get().summary
    assert readbacks.record_readback(
        nurse, refilled.id, read(fluid_change=bridge(rate="0.008333 mL/hour")), READ_AT
    ).matches


def test_a_tolerance_written_around_the_settings_service_is_refused_not_applied(
    refilled: Program, nurse: User
) -> None:
    ClinicSettings.objects.update_or_create(
        id=1, defaults={"readback_tolerance_ml": Decimal("1.5")}
    )
    with pytest.raises(Refusal) as caught:
        readbacks.record_readback(nurse, refilled.id, read(reservoir="19 mL"), READ_AT)
    assert caught.value.message.startswith(
        "readback_tolerance: 1.5 mL would pass a discrepancy that matters; limit: < 1 mL"
    )
    assert caught.value.source.startswith("maino-2017")
    assert not Readback.objects.exists() and not Incident.objects.exists()


def test_the_readback_session_shows_the_incident_its_differing_readback_opened(
    refilled: Program, nurse: User
) -> None:
    assert readback_session(nurse, refilled.id).incidents == ()
    first = readbacks.record_readback(nurse, refilled.id, read(reservoir="18 mL"), READ_AT)
    later = READ_AT + timedelta(minutes=5)
    second = readbacks.record_readback(nurse, refilled.id, read(reservoir="17 mL"), later)
    session = readback_session(nurse, refilled.id)
    assert [i.readback_id for i in session.incidents] == [first.id, second.id]
    assert session.incidents[-1].opened_at == later
    assert refill_programming(nurse, refilled.refills.get().id) == session
