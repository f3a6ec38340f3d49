"""The recorded refill's comparison writes a flex program's daily dose as the pages write a dose:
the day's mean over its steps (morphine 9 mg/day from 00:00, 9.5 mg/day from 08:00 on weekdays:
9.333333333 mg/day as stored) to four significant digits, where it printed six decimals
("9.333333 mg/day"); a dose its unit prints in full keeps every digit; the stored dose is
unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client

from frozen import TODAY
from painpump.clinic.actions import implantation, patients, refills
from painpump.clinic.actions import prescriptions as prescription_actions
from painpump.clinic.models import Implant, Refill
from painpump.clinic.reads import prescription_history, pump_history
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core import prescription as rx
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, Q, parse, round_places
from painpump.web.templatetags.doses import shown_dose

pytestmark = pytest.mark.django_db

IMPLANTED = TODAY - timedelta(days=30)
PRESCRIBED = datetime.combine(IMPLANTED + timedelta(days=1), time(9, 0), tzinfo=UTC)
FILLED = PRESCRIBED + timedelta(hours=1)
REFILLED = FILLED + timedelta(days=14)
REASON = "as agreed with the patient at the clinic visit"
MORPHINE = (("morphine", parse("20 mg/mL", Kind.CONCENTRATION, "c")),)
DAY_STEP = rx.flex_program(
    [
        rx.step_row("every day", "00:00", "9 mg/day", "steps[0]"),
        rx.step_row("mon-fri", "08:00", "9.5 mg/day", "steps[1]"),
    ]
)
"""A weekday's dose: 8 h at 9 mg/day and 16 h at 9.5 mg/day, 9.333... mg/day."""


def _morphine_pump(physician: User, nurse: User) -> Implant:
    """A SynchroMed II 20 mL pump implanted directly for tumour pain (opioid tolerant)."""
    patient = patients.create_patient(
        nurse,
        mrn="MRN-FLEX",
        family_name="Mohn",
        given_name="Max",
        birth_date=date(1960, 1, 1),
        today=TODAY,
        opioid_status="tolerant",
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=IMPLANTED - timedelta(days=20)
    )
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=datetime.combine(IMPLANTED, time(12, 0), tzinfo=UTC),
        pump_model="synchromed-ii-20",
        pump_serial="NGP100777H",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )


def _flex_refilled(physician: User, nurse: User, pharmacist: User) -> Refill:
    """The pump prescribed DAY_STEP (double-checked), filled, and refilled two weeks on with
    what its twin expects left."""
    implant = _morphine_pump(physician, nurse)
    value = rx.Prescription(MORPHINE, DAY_STEP)
    preview = prescription_history.preview_prescription(physician, implant.id, value, at=PRESCRIBED)
    assert preview.stop is None, preview.stop
    record = prescription_actions.prescribe(
        physician,
        implant.id,
        value,
        reason=REASON,
        now=PRESCRIBED,
        expected_version=preview.version,
        overrides={w.rule: REASON for w in preview.warnings},
    )
    prescription_actions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(MORPHINE, DAY_STEP, None),
        accept=True,
        comment="",
        now=PRESCRIBED + timedelta(minutes=30),
    )
    fill = Fill(MORPHINE, parse("20 mL", Kind.VOLUME, "v"), "LOT-1")
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="flex-first",
        performed_at=FILLED,
        expected=None,
        aspirated=None,
        fill=fill,
    )
    left = pump_history.expected_residual(implant, REFILLED).least
    residual = parse(f"{round_places(left.canonical, 3)} mL", Kind.VOLUME, "left")
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="flex-second",
        performed_at=REFILLED,
        expected=residual,
        aspirated=residual,
        fill=fill,
    )


def test_a_flex_pumps_recorded_refill_prints_its_daily_dose_to_four_significant_digits(
    physician: User, nurse: User, pharmacist: User
) -> None:
    refill = _flex_refilled(physician, nurse, pharmacist)
    assert refill.program.dose_mcg_per_day == Decimal("9333.333333")  # stored as it was
    client = Client()
    client.force_login(nurse)
    response = client.get(f"/refills/{refill.id}/")
    assert response.status_code == 200
    shown = unescape(response.content.decode())
    assert (
        '<tr><th scope="row">Daily dose</th>\n'
        "      <td>9.333 mg/day</td>\n"
        "      <td>9.333 mg/day</td></tr>"
    ) in shown
    assert "9.333333 mg/day" not in shown


@pytest.mark.parametrize(
    ("value", "unit", "written"),
    [
        ("9.333333333", "mg/day", "9.333 mg/day"),
        ("9.021428571", "mg/day", "9.021 mg/day"),
        ("408.571429", "mcg/day", "408.6 mcg/day"),
        ("12345.678901", "mcg/day", "12346 mcg/day"),
        ("0.0001234567", "mg/day", "0.0001235 mg/day"),
        # printed in full by their unit: every digit, as prescribed
        ("412.5", "mcg/day", "412.5 mcg/day"),
        ("1012.5", "mcg/day", "1012.5 mcg/day"),
        ("1.234567", "mg/day", "1.234567 mg/day"),
        ("0.125", "mg/day", "0.125 mg/day"),
        ("400", "mcg/day", "400 mcg/day"),
    ],
)
def test_a_dose_finer_than_its_unit_prints_is_written_to_four_significant_digits(
    value: str, unit: str, written: str
) -> None:
    assert shown_dose(Q(Decimal(value), unit)) == written
