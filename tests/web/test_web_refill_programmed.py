"""The refill's review shows what the pump is programmed with, from the prescription the refill
executes, before the nurse confirms: the program's mode (continuous, or flex with its steps a day
by weekdays), its daily dose (a flex program's with its weekly average; with patient boluses the
worst day with every one given), a flex program's steps by weekdays and the patient-bolus (PTM)
settings, in the unit the drug is ordered in; the same rows word a single bolus (programmed
between refills) as its bolus."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import REFILL_FORM
from painpump.clinic.actions import prescriptions
from painpump.clinic.models import Implant
from painpump.clinic.reads.prescription_history import settings_of
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, Q, parse
from painpump.web.prescription_display import mode, programmed_rows

pytestmark = pytest.mark.django_db


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def ready(
    physician: User,
    pharmacist: User,
    implant: Implant,
    program: rx.PrescribedProgram,
    ptm: rx.PatientBolus | None,
) -> None:
    """A prescription of `program` and `ptm`, signed and double-checked an hour ago."""
    drugs = baclofen().drugs
    at = timezone.now() - timedelta(hours=2)
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(drugs, program, ptm, Phase.MAINTENANCE),
        reason="as agreed at the clinic visit",
        now=at,
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(drugs, program, ptm),
        accept=True,
        comment="",
        now=at + timedelta(hours=1),
    )


def programmed(user: User, implant: Implant) -> list[tuple[str, str]]:
    """The rows of the review's table of what the pump is programmed with."""
    client = Client()
    client.force_login(user)
    url = f"/implants/{implant.id}/refill/"
    page = client.get(url).content.decode()
    hidden = {
        name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
        for name in ("version", "idempotency_key")
    }
    review = client.post(url, {**REFILL_FORM, **hidden, "action": "review"}).content.decode()
    assert 'data-testid="before-after"' in review, review
    table = unescape(review.split('data-testid="programmed"')[1].split("</table>")[0])
    return re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td>', table)


FLEX = rx.flex_program(
    [
        rx.step_row("every day", "00:00", "400 mcg/day", "steps"),
        rx.step_row("mon-fri", "12:00", "440 mcg/day", "steps"),
    ]
)
BOLUS = rx.patient_bolus("5 mcg", "2 min", "3 hour", "4")
PTM_ROWS = [
    ("Patient bolus", "5 mcg"),
    ("Bolus duration", "2 min"),
    ("Lockout", "3 h"),
    ("Boluses a day", "4"),
]


def test_a_continuous_program_is_shown_with_its_dose_and_no_patient_bolus(
    implant: Implant, nurse: User
) -> None:
    assert programmed(nurse, implant) == [
        ("Program", "continuous"),
        ("Daily dose (largest day)", "400 mcg/day"),
        ("Patient bolus", "off"),
    ]


def test_a_flex_program_is_shown_with_its_steps_a_day_its_steps_and_the_ptm_settings(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    ready(physician, pharmacist, implant, FLEX, BOLUS)
    assert programmed(nurse, implant) == [
        ("Program", "flex: 2 steps a day mon-fri, 1 sat-sun"),
        ("Daily dose (largest day)", "420 mcg/day"),
        ("Weekly average daily dose", "414.286 mcg/day"),  # (5 x 420 + 2 x 400) / 7
        ("Worst day with every patient bolus", "440 mcg/day"),  # 420 + 4 x 5 mcg
        ("Steps mon-fri", "00:00 400 mcg/day, 12:00 440 mcg/day"),
        ("Steps sat-sun", "00:00 400 mcg/day"),
        *PTM_ROWS,
    ]


def test_a_flex_program_alike_every_day_says_so(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    program = rx.flex_program(
        [
            rx.step_row("every day", "00:00", "400 mcg/day", "steps"),
            rx.step_row("every day", "20:00", "430 mcg/day", "steps"),
        ]
    )
    ready(physician, pharmacist, implant, program, None)
    assert programmed(nurse, implant)[:4] == [
        ("Program", "flex: 2 steps a day, every day"),
        ("Daily dose (largest day)", "405 mcg/day"),
        ("Weekly average daily dose", "405 mcg/day"),
        ("Steps mon-sun", "00:00 400 mcg/day, 20:00 430 mcg/day"),
    ]


@pytest.mark.parametrize(
    ("program", "words"),
    [
        (rx.PrescribedProgram.continuous(dose("400 mcg/day")), "continuous"),
        (
            rx.PrescribedProgram.single_bolus(rx.single_bolus("100 mcg", "1 hour")),
            "single bolus",
        ),
        (FLEX, "flex: 2 steps a day mon-fri, 1 sat-sun"),
        (
            rx.flex_program(
                [
                    rx.step_row("every day", "00:00", "400 mcg/day", "steps"),
                    rx.step_row("wed", "06:00", "410 mcg/day", "steps"),
                    rx.step_row("wed", "18:00", "400 mcg/day", "steps"),
                    rx.step_row("sun", "12:00", "420 mcg/day", "steps"),
                ]
            ),
            "flex: 1 step a day mon-tue, 3 wed, 1 thu-sat, 2 sun",
        ),
    ],
    ids=["continuous", "single-bolus", "weekdays", "odd-days"],
)
def test_the_mode_names_the_kind_and_a_flex_programs_steps_a_day_by_weekdays(
    program: rx.PrescribedProgram, words: str
) -> None:
    assert mode(program) == words


def test_a_single_bolus_shows_its_bolus_and_no_daily_dose_or_steps() -> None:
    bolus = rx.PrescribedProgram.single_bolus(rx.single_bolus("100 mcg", "1 hour"))
    values = rx.Prescription(baclofen().drugs, bolus)
    assert programmed_rows(bolus, settings_of(values)) == (
        ("program", "single bolus"),
        ("single bolus", "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)"),
        ("patient bolus", "off"),
    )
