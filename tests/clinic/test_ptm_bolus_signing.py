"""A prescription's patient bolus (PTM) is judged per bolus when the physician signs it: on the
reviewer's pump (morphine 10 mg/mL, 2.15 mg/day) a 2.1 mg bolus needs a reason (above morphine's
largest single bolus, soft), and once the pump gives it, a bolus ten times it is refused at the
PTM dose (a slip, hard); nothing is written when it is refused."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from frozen import at, day
from hard_stops import every_rule
from painpump.clinic.actions import implantation, patients, prescriptions, refills
from painpump.clinic.models import AuditEntry, Implant, Prescription
from painpump.clinic.reads import prescription_history
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
BASAL = rx.PrescribedProgram.continuous(parse("2.15 mg/day", Kind.DOSE_RATE, "d"))
REASON = "agreed with the patient's oncologist at the visit"


def reviewers_pump(physician: User, nurse: User) -> Implant:
    """An opioid-tolerant tumour-pain patient's pump, implanted 30 days ago, not yet filled."""
    patient = patients.create_patient(
        nurse,
        mrn="MRN-PTM",
        family_name="Morf",
        given_name="Mona",
        birth_date=date(1955, 5, 5),
        today=day(-40),
        opioid_status="tolerant",
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-60)
    )
    return implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=at(-30, 9),
        pump_model="synchromed-ii-20",
        pump_serial="NGP-PTM",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=day(-30),
    )


def with_bolus(dose: str) -> rx.Prescription:
    return rx.Prescription(MORPHINE, BASAL, rx.patient_bolus(dose, "10 min", "24 hour", "1"))


def sign(
    physician: User, implant: Implant, value: rx.Prescription, now: datetime, **reasons: str
) -> Prescription:
    return prescriptions.prescribe(
        physician,
        implant.id,
        value,
        reason="patient boluses for breakthrough pain",
        now=now,
        expected_version=Implant.objects.get(id=implant.id).version,
        overrides=reasons,
    )


def test_a_2_1_mg_morphine_patient_bolus_needs_a_reason_and_ten_times_it_is_refused(
    physician: User, nurse: User, pharmacist: User
) -> None:
    implant = reviewers_pump(physician, nurse)
    signed_at = at(-2)
    preview = prescription_history.preview_prescription(
        physician, implant.id, with_bolus("2.1 mg"), at=signed_at
    )
    assert preview.stop is None
    (warning,) = [w for w in preview.warnings if w.rule == "max_single_bolus"]
    assert warning.message == (
        "a patient bolus of 2.1 mg exceeds the largest single bolus of morphine, 0.5 mg "
        "(soft limit, unverified; source pacc-2017-trialing)"
    )
    with pytest.raises(Refusal) as unreasoned:
        sign(physician, implant, with_bolus("2.1 mg"), signed_at)
    assert unreasoned.value.field == "overrides"
    assert "max_single_bolus" in unreasoned.value.value
    record = sign(
        physician,
        implant,
        with_bolus("2.1 mg"),
        signed_at,
        **{w.rule: REASON for w in preview.warnings},
    )
    assert "max_single_bolus" in {o["rule"] for o in record.overrides}
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(MORPHINE, BASAL, rx.patient_bolus("2.1 mg", "10 min", "24 hour", "1")),
        accept=True,
        comment="",
        now=signed_at + timedelta(minutes=30),
    )
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="first",
        performed_at=signed_at + timedelta(hours=1),
        expected=None,
        aspirated=None,
        fill=Fill(MORPHINE, parse("20 mL", Kind.VOLUME, "v"), "LOT-1"),
    )
    before = Prescription.objects.count(), AuditEntry.objects.count()
    with pytest.raises(Refusal) as slip:
        sign(
            physician,
            implant,
            with_bolus("21 mg"),
            at(-1),
            **every_rule(),
            tenfold_bolus_step=REASON,
        )
    assert (slip.value.field, slip.value.value) == (
        "ptm.dose",
        "morphine 10 mg/mL: a patient bolus of 21 mg",
    )
    assert slip.value.problem.startswith(
        "is stopped by tenfold_bolus_step: a patient bolus of 21 mg is ten times the 2.1 mg "
        "before or more"
    )
    assert (Prescription.objects.count(), AuditEntry.objects.count()) == before
