"""A pump on a flex program with patient boluses: the `implant` fixture's baclofen pump given a
weekday night step (480 mcg/day from 00:00, 400 mcg/day from 06:00: 420 mcg/day), 380 mcg/day at
weekends, and PTM settings by a physician's prescription #2, double-checked by a pharmacist and
filled by a nurse 25 days ago. Shared by the clinic and web tests of the what-if that runs the
prescription's own program."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from painpump.clinic.actions import prescriptions, refills
from painpump.clinic.models import Implant, Refill
from painpump.clinic.reads import pump_history
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill, PtmCounts
from painpump.core.units import Kind, parse, round_places

FILLED = FIRST_FILL + timedelta(days=60)
BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
PTM = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
NIGHT_STEP = rx.flex_program(
    [
        rx.step_row("mon-fri", "00:00", "480 mcg/day", "steps[0]"),
        rx.step_row("mon-fri", "06:00", "400 mcg/day", "steps[1]"),
        rx.step_row("sat-sun", "00:00", "380 mcg/day", "steps[2]"),
    ]
)


def flex_ptm_pump(implant: Implant, physician: User, pharmacist: User, nurse: User) -> Implant:
    """`implant` running prescription #2 (NIGHT_STEP with PTM) since its refill at FILLED."""
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(BACLOFEN, NIGHT_STEP, PTM, Phase.MAINTENANCE),
        reason="spasms at night: night step and patient boluses",
        now=FILLED - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(BACLOFEN, NIGHT_STEP, PTM),
        accept=True,
        comment="",
        now=FILLED - timedelta(hours=1),
    )
    refill(nurse, implant, FILLED, "flex-1")
    return Implant.objects.get(id=implant.id)


def refill(
    nurse: User, implant: Implant, at: datetime, key: str, ptm: PtmCounts | None = None
) -> Refill:
    """A 20 mL refill executing the prescription in force, of a pump that delivered as recorded:
    what its twin expects left (8 mL at FILLED) is expected and aspirated."""
    left = pump_history.expected_residual(implant, at, ptm.given if ptm else None).least
    residual = parse(f"{round_places(left.canonical, 3)} mL", Kind.VOLUME, "left")
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=key,
        performed_at=at,
        expected=residual,
        aspirated=residual,
        fill=Fill(BACLOFEN, parse("20 mL", Kind.VOLUME, "volume"), "LOT-9"),
        ptm=ptm,
    )
