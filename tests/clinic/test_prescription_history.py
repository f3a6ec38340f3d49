"""A pump's settings history, like a programmer's session log: every prescription version, newest
first, with each setting that changed before and after, who prescribed it, who double-checked it
(and what they entered), when and by whom the pump was programmed with it (at a refill or
between refills) and the session's state by its readbacks; reading it is audited. And a
prescription previewed before it is signed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL, titrated
from painpump.clinic.actions import prescriptions, programs, readbacks, refills
from painpump.clinic.models import AuditEntry, Implant
from painpump.clinic.reads.prescription_history import (
    Change,
    prescription_versions,
    preview_prescription,
)
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen, prescribed
from painpump.core import prescription as rx
from painpump.core.prescription_compare import CheckEntries, FluidChangeShown
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
TITRATED = DAY_60 + timedelta(days=3)


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def read(reservoir: str, concentration: str, daily: str) -> ReadValues:
    return ReadValues(
        parse(reservoir, Kind.VOLUME, "reservoir"),
        (("baclofen", parse(concentration, Kind.CONCENTRATION, "c")),),
        rx.PrescribedProgram.continuous(dose(daily)),
        None,
    )


@pytest.fixture
def history(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Implant:
    """#1 the fixture's first fill; #2 half the concentration, rejected once (#2) and
    corrected (#3), filled on day 60 and read back as filled; #4 a flex titration programmed
    three days later by the nurse and not yet read back."""
    wrong = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(
            baclofen("1000 mcg/mL").drugs,
            rx.PrescribedProgram.continuous(dose("440 mcg/day")),
            fluid_change=rx.FluidChange.BRIDGE,
        ),
        reason="half the concentration",
        now=DAY_60 - timedelta(hours=3),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        wrong.id,
        entries=CheckEntries(
            baclofen("1000 mcg/mL").drugs,
            rx.PrescribedProgram.continuous(dose("400 mcg/day")),
            None,
        ),
        accept=False,
        comment="the order says 400 mcg/day",
        now=DAY_60 - timedelta(hours=2),
    )
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen("1000 mcg/mL"),
        dose("400 mcg/day"),
        at=DAY_60 - timedelta(hours=1),
    )
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("8 mL", Kind.VOLUME, "a"),
        fill=baclofen("1000 mcg/mL"),
    )
    bridged = FluidChangeShown(
        rx.FluidChange.BRIDGE,
        parse("0.25 mL", Kind.VOLUME, "v"),
        parse("0.2 mL/day", Kind.VOLUME_RATE, "r"),
    )
    readbacks.record_readback(
        nurse,
        refill.program.id,
        replace(read("20 mL", "1000 mcg/mL", "400 mcg/day"), fluid_change=bridged),
        DAY_60 + timedelta(minutes=10),
    )
    night = rx.flex_program(
        [
            rx.step_row("every day", "00:00", "440 mcg/day", "steps[0]"),
            rx.step_row("every day", "08:00", "400 mcg/day", "steps[1]"),
        ]
    )
    flex = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen("1000 mcg/mL").drugs, night),
        reason="spasms at night",
        now=TITRATED,
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        flex.id,
        entries=CheckEntries(baclofen("1000 mcg/mL").drugs, night, None),
        accept=True,
        comment="",
        now=TITRATED,
    )
    programs.program_pump(
        nurse,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=TITRATED,
    )
    return implant


def test_every_version_is_listed_newest_first_with_who_prescribed_and_its_state(
    history: Implant, nurse: User
) -> None:
    versions = prescription_versions(nurse, history.id)
    assert [(v.record.number, v.record.status) for v in versions] == [
        (4, "active"),
        (3, "superseded"),
        (2, "rejected"),
        (1, "superseded"),
    ]
    assert {v.record.prescribed_by for v in versions} == {"dr.house"}
    entry = AuditEntry.objects.get(action="prescription.read")
    assert (entry.actor, entry.object_id) == ("nurse.joy", str(history.id))
    assert entry.patient_id == history.episode.patient_id


def test_each_version_shows_the_settings_it_changed_before_and_after(
    history: Implant, nurse: User
) -> None:
    flex, filled, rejected, first = prescription_versions(nurse, history.id)
    assert Change("drug 1", "baclofen 2000 mcg/mL", "baclofen 1000 mcg/mL") in rejected.changes
    assert Change("daily dose (largest day)", "400 mcg/day", "440 mcg/day") in rejected.changes
    # compared with the prescription it replaced (#1, in force), never with the rejected #2
    assert filled.record.supersedes_id == first.record.id
    assert filled.changes == (
        Change("drug 1", "baclofen 2000 mcg/mL", "baclofen 1000 mcg/mL"),
        Change("when the fluid changes", "", "bridge"),
    )
    assert Change("program", "continuous", "flex") in flex.changes
    assert Change("steps mon", "00:00 400 mcg/day", "00:00 440 mcg/day, 08:00 400 mcg/day") in (
        flex.changes
    )
    assert all(c.before == "" for c in first.changes)
    assert Change("patient bolus", "", "off") in first.changes


def test_a_version_is_compared_with_what_the_pump_ran_never_a_withdrawn_draft(
    history: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """The reviewer's case: #6 re-signed as #5 (withdrawn, never programmed) read "No setting
    changed", though the pump ran #4's flex program."""
    for hours in (1, 2):
        prescribed(
            physician,
            pharmacist,
            history.id,
            baclofen("1000 mcg/mL"),
            dose("400 mcg/day"),
            at=TITRATED + timedelta(hours=hours),
        )
    latest, withdrawn, flex, *_ = prescription_versions(nurse, history.id)
    assert (latest.record.number, withdrawn.record.status) == (6, "withdrawn")
    assert latest.record.supersedes_id == withdrawn.record.id
    assert latest.basis == flex.record.number == 4
    assert Change("program", "flex", "continuous") in latest.changes


def test_each_version_shows_its_double_checks_and_its_programming(
    history: Implant, nurse: User
) -> None:
    flex, filled, rejected, first = prescription_versions(nurse, history.id)
    (rejection,) = rejected.checks
    assert (rejection.checked_by, rejection.accepted) == ("pharma.cist", False)
    assert rejection.comment == "the order says 400 mcg/day"
    assert rejection.entered["days"][0] == ["00:00 400 mcg/day"]
    assert rejected.programmed == ()
    (acceptance,) = filled.checks
    assert (acceptance.checked_by, acceptance.accepted) == ("pharma.cist", True)
    (at_refill,) = filled.programmed
    assert at_refill.at_refill and at_refill.program.programmed_by == "nurse.joy"
    assert at_refill.program.started_at == DAY_60
    assert at_refill.state == "complete"
    (between,) = flex.programmed
    assert not between.at_refill and between.program.started_at == TITRATED
    assert (between.program.prescribed_by, between.program.programmed_by) == (
        "dr.house",
        "nurse.joy",
    )
    assert between.state == "awaiting readback"
    assert first.programmed[0].at_refill and first.programmed[0].program.programmed_by == "dr.house"


def test_a_readback_that_differs_shows_the_session_stopped(history: Implant, nurse: User) -> None:
    running = history.programs.get(ended_at__isnull=True)
    readbacks.record_readback(
        nurse, running.id, read("16 mL", "1000 mcg/mL", "440 mcg/day"), TITRATED
    )
    (between,) = prescription_versions(nurse, history.id)[0].programmed
    assert between.state == "stopped"


def test_a_prescription_previewed_before_it_is_signed_shows_its_changes_and_the_double_check(
    implant: Implant, physician: User, nurse: User
) -> None:
    half = rx.Prescription(
        baclofen("1000 mcg/mL").drugs,
        rx.PrescribedProgram.continuous(dose("400 mcg/day")),
        fluid_change=rx.FluidChange.BRIDGE,
    )
    preview = preview_prescription(physician, implant.id, half, at=DAY_60)
    assert preview.stop is None and preview.needs_double_check
    assert preview.replaces is not None and preview.replaces.number == 1
    assert preview.changes == (
        Change("drug 1", "baclofen 2000 mcg/mL", "baclofen 1000 mcg/mL"),
        Change("when the fluid changes", "", "bridge"),
    )
    assert AuditEntry.objects.filter(action="prescription.preview").get().actor == "dr.house"
    assert not implant.prescriptions.filter(number=2).exists()
    assert preview.dates is None  # another fluid: its dates come with the refill that brings it
    with pytest.raises(Forbidden):
        preview_prescription(nurse, implant.id, half, at=DAY_60)


def test_a_previewed_prescription_shows_the_dates_the_pump_then_stores_once_programmed(
    implant: Implant, physician: User
) -> None:
    at = FIRST_FILL + timedelta(days=10)
    more = rx.Prescription(baclofen().drugs, rx.PrescribedProgram.continuous(dose("440 mcg/day")))
    preview = preview_prescription(physician, implant.id, more, at=at)
    assert preview.stop is None and preview.dates is not None
    titrated(physician, implant.id, dose("440 mcg/day"), at=at)
    implant.refresh_from_db()
    assert (implant.alarm_at, implant.empty_at, implant.refill_by) == (
        preview.dates.alarm_at,
        preview.dates.empty_at,
        preview.dates.refill_by,
    )
