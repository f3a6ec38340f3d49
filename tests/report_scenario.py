"""The history the report tests print: the fixtures' baclofen pump (2000 mcg/mL, first fill on
1 Sep 2026), refilled on day 60 by the nurse with 1000 mcg/mL (a concentration change the
physician prescribed and a second clinician double-checked that morning, so a bridge) after
aspirating 6 mL where the pump expected 8 mL (overinfusion, passed with a reason the nurse typed,
so a second clinician's verification); an alarm the patient reported; pain and Ashworth scores
before the implant and after."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from django.contrib.auth.models import User

from clinic_fixtures import (
    FIRST_FILL,
    implanted_pump,
    prescriber_of,
    second_clinician,
)
from painpump.clinic.actions import alarms, patients, refills
from painpump.clinic.models import Implant, Patient, Refill
from painpump.clinic.testing import (
    CARRIED_OVER,
    baclofen,
    prescribed,
)
from painpump.core.units import Kind, parse

DAY_60 = FIRST_FILL + timedelta(days=60)


OVERRIDE_REASON = "pump interrogated, no catheter problem found"


def changed_concentration(nurse: User, implant: Implant) -> Refill:
    """The nurse's refill executing the new concentration, prescribed two hours before by the
    physician of the prescription in force and double-checked by a second clinician."""
    physician = prescriber_of(implant.id)
    prescribed(
        physician,
        second_clinician(physician),
        implant.id,
        baclofen("1000 mcg/mL"),
        parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        at=DAY_60 - timedelta(hours=2),
        reason="half the concentration: a larger volume for the same dose",
    )
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="report-r60",
        performed_at=DAY_60,
        expected=parse("8 mL", Kind.VOLUME, "expected"),
        aspirated=parse("6 mL", Kind.VOLUME, "aspirated"),
        fill=baclofen("1000 mcg/mL", "18 mL"),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        overrides={"reconciliation": OVERRIDE_REASON},
    )


def measured_to_two_places(nurse: User, implant: Implant) -> Refill:
    """A refill on day 60 where the programmer read 8.125 mL and the syringe 8.1 mL (the same
    drug and concentration, within the pump's accuracy)."""
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="report-r60-places",
        performed_at=DAY_60,
        expected=parse("8.125 mL", Kind.VOLUME, "expected"),
        aspirated=parse("8.1 mL", Kind.VOLUME, "aspirated"),
        fill=baclofen("2000 mcg/mL", "20 mL"),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
    )


def verified(pharmacist: User, refill: Refill) -> Refill:
    return refills.verify_refill(pharmacist, refill.id, DAY_60 + timedelta(hours=2))


def history(nurse: User, implant: Implant) -> None:
    """Outcomes before the implant (1 Sep 2026) and after, and a reported alarm."""
    episode_id = implant.episode_id
    for kind, value, limb, at in [
        ("pain_nrs", "7", "", FIRST_FILL - timedelta(days=91)),
        ("ashworth", "3", "left_leg", FIRST_FILL - timedelta(days=91, minutes=-5)),
        ("pain_nrs", "3", "", FIRST_FILL + timedelta(days=49)),
        ("ashworth", "1", "left_leg", FIRST_FILL + timedelta(days=49, minutes=5)),
    ]:
        patients.record_assessment(
            nurse, episode_id, kind=kind, value=value, limb=limb, taken_at=at
        )
    alarms.report_alarm(
        nurse,
        implant.id,
        kind="low_reservoir",
        reported_at=FIRST_FILL + timedelta(days=54, hours=9),
        note="single tone at night",
    )


PRESCRIBED_AT = FIRST_FILL - timedelta(hours=1)


def first_fill_on_the_prescribers_reason(
    physician: User,
    pharmacist: User,
    nurse: User,
    patient: Patient,
    typed: Mapping[str, str] | None = None,
) -> Refill:
    """A pump of the patient, its first fill by the nurse at the patient's established
    baclofen dose: above the label's start, a warning the physician gave a reason for when
    signing the prescription (PRESCRIBED_AT), so the nurse types none (or `typed`)."""
    implant = implanted_pump(physician, patient.id, "NGP000002H")
    dose = parse("400 mcg/day", Kind.DOSE_RATE, "dose")
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        dose,
        at=PRESCRIBED_AT,
        overrides=CARRIED_OVER,
    )
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="nurse-first-fill",
        performed_at=FIRST_FILL,
        expected=None,
        aspirated=None,
        fill=baclofen(),
        overrides=typed,
    )
