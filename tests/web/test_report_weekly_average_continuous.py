"""Clinical review: the programming session PDF printed a continuous program's weekly average as
"—" beside a flex program's. A continuous program's daily dose is its weekly average: the
settings changed print it, in the drug's unit, after the daily dose, whichever side runs the
continuous program; "—" stays only where no dose exists (a single bolus). The refill session PDF
prints no settings-changed table and no "—" for a weekly average."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from test_report_program_session_round3 import program_pdf, refill_pdf

from clinic_fixtures import FIRST_FILL, titrated
from flex_pump import BACLOFEN, FILLED, PTM, flex_ptm_pump
from flex_pump import refill as flex_refill
from painpump.clinic.actions import prescriptions, programs
from painpump.clinic.models import Implant, Program
from painpump.clinic.reads.prescription_history import (
    DAILY_DOSE,
    WEEKLY_AVERAGE,
    WORST_DAY,
    Change,
)
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import PtmCounts
from painpump.core.units import Kind, Q, parse
from painpump.web.reports.session_sections import weekly_average, with_weekly_averages

pytestmark = pytest.mark.django_db

NIGHT_STEP_NO_PTM = rx.flex_program(
    [
        rx.step_row("mon-fri", "00:00", "480 mcg/day", "steps[0]"),
        rx.step_row("mon-fri", "06:00", "400 mcg/day", "steps[1]"),
        rx.step_row("sat-sun", "00:00", "380 mcg/day", "steps[2]"),
    ]
)
"""Weekdays 420 mcg/day (the largest day), weekends 380: a weekly average of 408.571 mcg/day."""
MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)


def settings_changed(text: str) -> str:
    return text.split("Settings before and after", 1)[1].split("Program before and after", 1)[0]


def flex_between_refills(implant: Implant, physician: User, pharmacist: User) -> Program:
    """The fixture's continuous 400 mcg/day replaced by NIGHT_STEP_NO_PTM, programmed between
    refills 30 days after the first fill."""
    signed = FIRST_FILL + timedelta(days=30)
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(BACLOFEN, NIGHT_STEP_NO_PTM, None, Phase.MAINTENANCE),
        reason="spasms at night: a night step",
        now=signed - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(BACLOFEN, NIGHT_STEP_NO_PTM, None),
        accept=True,
        comment="",
        now=signed - timedelta(hours=1),
    )
    return programs.program_pump(
        physician,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=signed,
    )


def test_flex_to_continuous_prints_the_continuous_daily_dose_as_its_weekly_average(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    flex_ptm_pump(implant, physician, pharmacist, nurse)
    program = titrated(
        physician,
        implant.id,
        parse("420 mcg/day", Kind.DOSE_RATE, "d"),
        at=FILLED + timedelta(days=2),
        checker=pharmacist,
        programmer=nurse,
    )
    changed = settings_changed(program_pdf(nurse, program))
    assert "Before (#2) After (#3)" in changed
    assert (
        "Program flex continuous Weekly average daily dose 408.571 mcg/day 420 mcg/day "
        "Worst day with every patient bolus 460 mcg/day 420 mcg/day"
    ) in changed
    assert "408.571 mcg/day —" not in changed


def test_continuous_to_flex_prints_the_continuous_daily_dose_on_the_before_side(
    implant: Implant, physician: User, pharmacist: User
) -> None:
    program = flex_between_refills(implant, physician, pharmacist)
    changed = settings_changed(program_pdf(physician, program))
    assert "Before (#1) After (#2)" in changed
    assert (
        "Program continuous flex Daily dose (largest day) 400 mcg/day 420 mcg/day "
        "Weekly average daily dose 400 mcg/day 408.571 mcg/day"
    ) in changed
    assert "Weekly average daily dose —" not in changed


def test_the_refill_session_pdf_prints_no_dash_for_a_weekly_average(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    """A refill executing a continuous prescription after a flex one: its PDF lists the
    prescription executed (no weekly average of its own to print) and no settings-changed
    table, so nothing to print as "—"."""
    flex_ptm_pump(implant, physician, pharmacist, nurse)
    at = FILLED + timedelta(days=20)
    flat = rx.PrescribedProgram.continuous(parse("420 mcg/day", Kind.DOSE_RATE, "d"))
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(BACLOFEN, flat, PTM, Phase.MAINTENANCE),
        reason="the same dose every day",
        now=at - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(BACLOFEN, flat, PTM),
        accept=True,
        comment="",
        now=at - timedelta(hours=1),
    )
    text = refill_pdf(nurse, flex_refill(nurse, implant, at, "flat-1", PtmCounts(0, 0)))
    executed = text.split("Prescription executed", 1)[1].split("Double-check history", 1)[0]
    assert "Daily dose (largest day) 420 mcg/day" in executed
    assert "Weekly average daily dose —" not in text
    assert "Weekly average daily dose" not in executed  # a continuous program: its daily dose


def continuous(dose: str, drugs: tuple[tuple[str, Q], ...] = BACLOFEN) -> rx.Prescription:
    return rx.Prescription(drugs, rx.PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "d")))


def test_a_continuous_programs_weekly_average_is_its_daily_dose_in_the_drugs_unit() -> None:
    assert weekly_average(continuous("400 mcg/day")) == "400 mcg/day"
    assert weekly_average(continuous("9 mg/day", MORPHINE)) == "9 mg/day"
    flex = rx.Prescription(BACLOFEN, NIGHT_STEP_NO_PTM)
    assert weekly_average(flex) == "408.571 mcg/day"


def test_only_a_single_bolus_or_no_version_before_keeps_the_dash() -> None:
    bolus = rx.Prescription(
        BACLOFEN, rx.PrescribedProgram.single_bolus(rx.single_bolus("100 mcg", "1 hour"))
    )
    flex = rx.Prescription(BACLOFEN, NIGHT_STEP_NO_PTM)
    average = Change(WEEKLY_AVERAGE, "", "408.571 mcg/day")
    assert weekly_average(bolus) == "" and weekly_average(None) == ""
    assert with_weekly_averages([average], bolus, flex) == (average,)
    assert with_weekly_averages([average], None, flex) == (average,)


def test_the_filled_row_follows_the_daily_dose_and_an_equal_average_is_no_change() -> None:
    flex = rx.Prescription(BACLOFEN, NIGHT_STEP_NO_PTM)
    rows = [
        Change("program", "flex", "continuous"),
        Change(DAILY_DOSE, "420 mcg/day", "408.571 mcg/day"),
        Change(WORST_DAY, "460 mcg/day", "448.571 mcg/day"),
        Change("phase", "maintenance", ""),
        Change(WEEKLY_AVERAGE, "408.571 mcg/day", ""),
    ]
    same = continuous("408.571 mcg/day")
    assert [c.setting for c in with_weekly_averages(rows, flex, same)] == [
        "program",
        DAILY_DOSE,
        WORST_DAY,
        "phase",
    ]
    higher = continuous("420 mcg/day")
    assert with_weekly_averages(rows, flex, higher)[2] == Change(
        WEEKLY_AVERAGE, "408.571 mcg/day", "420 mcg/day"
    )
