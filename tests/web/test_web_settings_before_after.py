"""The before/after review of programming the pump (between refills at /implants/<id>/program/,
and at a refill) lists every program and patient-bolus setting of the prescription in force
against the one executed: the mode, a flex program's steps by weekdays, the doses core derives,
the PTM dose, duration, lockout and boluses a day, each changed one marked, so a PTM maximum
raised from 3 to 4 a day shows before the pump is programmed."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import REFILL_FORM
from painpump.clinic.actions import prescriptions, programs
from painpump.clinic.models import Implant
from painpump.clinic.reads.prescription_history import preview_prescription
from painpump.clinic.reads.settings_change import SettingChange, compared
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

CONTINUOUS = rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "dose"))
FLEX = rx.flex_program(
    [
        rx.step_row("every day", "00:00", "400 mcg/day", "steps"),
        rx.step_row("mon-fri", "12:00", "440 mcg/day", "steps"),
    ]
)
THREE = rx.patient_bolus("5 mcg", "2 min", "3 hour", "3")
FOUR = rx.patient_bolus("5 mcg", "2 min", "3 hour", "4")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def ready(
    physician: User,
    pharmacist: User,
    implant: Implant,
    program: rx.PrescribedProgram,
    ptm: rx.PatientBolus | None,
    hours_ago: int,
) -> None:
    """A prescription signed `hours_ago` with a reason for each warning, double-checked at
    once: ready to program."""
    at = timezone.now() - timedelta(hours=hours_ago)
    value = rx.Prescription(baclofen().drugs, program, ptm)
    preview = preview_prescription(physician, implant.id, value, at=at)
    assert preview.stop is None, preview.stop
    record = prescriptions.prescribe(
        physician,
        implant.id,
        value,
        reason="as agreed at the clinic visit",
        now=at,
        expected_version=preview.version,
        overrides={w.rule: "agreed with the patient at the visit" for w in preview.warnings},
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(baclofen().drugs, program, ptm),
        accept=True,
        comment="",
        now=at,
    )


def before_after(page: str) -> list[tuple[str, str, str, bool]]:
    """The rows of the review's table beyond the drugs and the daily dose: (setting, before,
    after, marked changed)."""
    table = unescape(page.split('data-testid="before-after"')[1].split("</table>")[0])
    found = re.findall(
        r'<tr data-testid="setting"><th scope="row">([^<]*)</th>\s*<td>([^<]*)</td>\s*'
        r'<td( class="changed")?>([^<]*)</td>',
        table,
    )
    return [(setting, before, after, bool(marked)) for setting, before, marked, after in found]


def test_between_refills_a_raised_ptm_maximum_and_changed_steps_show_marked(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    """In force: 400 mcg/day with three 5 mcg boluses a day; executed: the weekday noon step
    with four (a day after the last increase): the mode, the weekday steps, the worst day and
    the boluses a day change, the bolus's dose, duration and lockout do not."""
    ready(physician, pharmacist, implant, CONTINUOUS, THREE, hours_ago=31)
    programs.program_pump(
        physician,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=timezone.now() - timedelta(hours=30),
    )
    ready(physician, pharmacist, implant, FLEX, FOUR, hours_ago=1)
    shown = signed_in(nurse).get(f"/implants/{implant.id}/program/")
    assert shown.status_code == 200, shown.content.decode()
    assert before_after(shown.content.decode()) == [
        ("Program", "continuous", "flex", True),
        ("Weekly average daily dose", "—", "414.286 mcg/day", True),
        ("Worst day with every patient bolus", "415 mcg/day", "440 mcg/day", True),
        (
            "Steps mon-fri",
            "00:00 400 mcg/day",
            "00:00 400 mcg/day, 12:00 440 mcg/day",
            True,
        ),
        ("Steps sat-sun", "00:00 400 mcg/day", "00:00 400 mcg/day", False),
        ("Patient bolus", "5 mcg", "5 mcg", False),
        ("Bolus duration", "2 min", "2 min", False),
        ("Lockout", "3 h", "3 h", False),
        ("Boluses a day", "3", "4", True),
    ]


def test_at_a_refill_the_new_programs_patient_boluses_show_against_none(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    ready(physician, pharmacist, implant, CONTINUOUS, FOUR, hours_ago=1)
    client = signed_in(nurse)
    url = f"/implants/{implant.id}/refill/"
    page = client.get(url).content.decode()
    assert 'data-testid="setting"' not in page  # before the review: no table yet
    entries = {
        **REFILL_FORM,
        "version": re.search(r'name="version" value="([^"]*)"', page).group(1),  # type: ignore[union-attr]
        "idempotency_key": "key-1",
        "action": "review",
    }
    review = client.post(url, entries).content.decode()
    assert before_after(review) == [
        ("Program", "continuous", "continuous", False),
        ("Worst day with every patient bolus", "—", "420 mcg/day", True),
        ("Patient bolus", "off", "5 mcg", True),
        ("Bolus duration", "—", "2 min", True),
        ("Lockout", "—", "3 h", True),
        ("Boluses a day", "—", "4", True),
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            None,
            rx.Prescription(baclofen().drugs, CONTINUOUS),
            [SettingChange("program", "", "continuous"), SettingChange("patient bolus", "", "off")],
        ),
        (
            rx.Prescription(baclofen().drugs, CONTINUOUS),
            rx.Prescription(baclofen().drugs, CONTINUOUS),
            [
                SettingChange("program", "continuous", "continuous"),
                SettingChange("patient bolus", "off", "off"),
            ],
        ),
        (
            rx.Prescription(baclofen().drugs, FLEX, FOUR),
            rx.Prescription(
                baclofen().drugs,
                rx.PrescribedProgram.single_bolus(rx.single_bolus("100 mcg", "1 hour")),
            ),
            [
                SettingChange("program", "flex", "single bolus"),
                SettingChange(
                    "single bolus", "", "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)"
                ),
                SettingChange("patient bolus", "5 mcg", "off"),
                SettingChange("weekly average daily dose", "414.286 mcg/day", ""),
                SettingChange("worst day with every patient bolus", "440 mcg/day", ""),
                SettingChange("steps mon-fri", "00:00 400 mcg/day, 12:00 440 mcg/day", ""),
                SettingChange("steps sat-sun", "00:00 400 mcg/day", ""),
                SettingChange("bolus duration", "2 min", ""),
                SettingChange("lockout", "3 h", ""),
                SettingChange("boluses a day", "4", ""),
            ],
        ),
    ],
    ids=["first-program", "nothing-changes", "flex-to-single-bolus"],
)
def test_the_settings_compared_leave_out_the_drugs_the_daily_dose_and_the_phase(
    before: rx.Prescription | None, after: rx.Prescription, expected: list[SettingChange]
) -> None:
    """The drugs and the daily dose have their own rows; the phase and the fluid change are no
    setting of the pump; a continuous program's steps are its daily dose."""
    assert list(compared(before, after)) == expected
