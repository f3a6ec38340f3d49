"""The clinical pharmacist's case of issue 13, set up through the clinic's services: a tumour-pain
patient (opioid tolerant) with a SynchroMed II 20 mL pump filled with 20 mL morphine 20 mg/mL
at 5 mg/day (0.25 mL/day), refilled at REFILLED, when the pump's twin expects 10.255 mL (9.745 mL
delivered); the pump reports 2 mL expected and 1.9 mL is aspirated, within its accuracy of each
other, 8.355 mL (167.1 mg of morphine) less than the prescriptions allow."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from frozen import TODAY, day
from painpump.clinic.actions import implantation, patients, refills
from painpump.clinic.models import Implant
from painpump.clinic.testing import MEDTRONIC_CATHETER, prescribed
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

IMPLANTED = day(-85)
FILLED = datetime.combine(IMPLANTED, time(13, 0), tzinfo=UTC)
REFILLED = FILLED + timedelta(days=38, hours=23, minutes=31, seconds=12)
MORPHINE = Fill(
    drugs=(("morphine", parse("20 mg/mL", Kind.CONCENTRATION, "c")),),
    volume=parse("20 mL", Kind.VOLUME, "v"),
    lot="LOT-M",
)
DOSE = parse("5 mg/day", Kind.DOSE_RATE, "d")
EXPECTED = parse("2 mL", Kind.VOLUME, "e")
ASPIRATED = parse("1.9 mL", Kind.VOLUME, "a")
REASON = "pump interrogated, program matches the prescription, patient examined and well"
SAID = (
    "the pump's twin expects 10.255 mL from the recorded history",
    "1.9 mL was aspirated, 8.355 mL less (167.1 mg of morphine at 20 mg/mL)",
)


def morphine_pump(physician: User, nurse: User, pharmacist: User) -> Implant:
    """The pharmacist's pump, filled at FILLED as prescribed (double-checked)."""
    patient = patients.create_patient(
        nurse,
        mrn="MRN-TWIN",
        family_name="Zwilling",
        given_name="Max",
        birth_date=date(1960, 1, 1),
        today=TODAY,
        opioid_status="tolerant",
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=IMPLANTED - timedelta(days=20)
    )
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=datetime.combine(IMPLANTED, time(12, 0), tzinfo=UTC),
        pump_model="synchromed-ii-20",
        pump_serial="NGP-TWIN",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )
    prescribed(physician, pharmacist, implant.id, MORPHINE, DOSE, at=FILLED - timedelta(hours=1))
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key="twin-first-fill",
        performed_at=FILLED,
        expected=None,
        aspirated=None,
        fill=MORPHINE,
    )
    return Implant.objects.get(id=implant.id)
