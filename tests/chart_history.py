"""A patient with five years of pump therapy, recorded through the clinic services: a stroke
spasticity episode through the test phase, a SynchroMed II 40 mL implanted 2123 days before the
tests' today (1 Feb 2021 at the default clock) and filled with baclofen, refilled every 45 days (40
refills, each aspirated as expected, all executing the physician's first prescription), one dose
increase prescribed, double-checked and programmed by the physician 10 days after the last
refill (double-checked by a second clinician), pain and spasticity scores before the pump and
since. The chart tests use it to check the page stays fast with a long history."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.models import User

from clinic_fixtures import second_clinician, titrated
from frozen import day
from painpump.clinic.actions import implantation, patients, refills
from painpump.clinic.models import Implant
from painpump.clinic.testing import CARRIED_OVER, MEDTRONIC_CATHETER, prescribed, responder_episode
from painpump.core.refill import residual_ml
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, of, parse

REFILLS = 40
EVERY = timedelta(days=45)
IMPLANTED = day(-2123)
FIRST_FILL = datetime.combine(IMPLANTED, time(10, 0), tzinfo=UTC)
TITRATED = FIRST_FILL + EVERY * REFILLS + timedelta(days=10)
RATE = Decimal("0.2")  # mL/day: 400 mcg/day of baclofen 2000 mcg/mL


def long_history(physician: User, nurse: User) -> Implant:
    checker = second_clinician(physician)
    patient = patients.create_patient(
        nurse,
        mrn="MRN-LONG",
        family_name="Langzeit",
        given_name="Lena",
        birth_date=day(-23_997),  # 14 Mar 1961 at the default clock
        today=IMPLANTED - timedelta(days=31),
    )
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=IMPLANTED - timedelta(days=91)
    )
    referred, since = IMPLANTED - timedelta(days=91), day(-542)  # scores at referral, and since
    for kind, value, limb, taken in (
        ("ashworth", 3, "left_leg", referred),
        ("pain_nrs", 7, "", referred),
        ("ashworth", "1.5", "left_leg", since),
        ("pain_nrs", 3, "", since),
    ):
        patients.record_assessment(
            nurse,
            episode.id,
            kind=kind,
            value=value,
            limb=limb,
            taken_at=datetime.combine(taken, time(11, 0), tzinfo=UTC),
        )
    responder = responder_episode(physician, episode.id, start=IMPLANTED - timedelta(days=28))
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=responder.version,
        now=FIRST_FILL,
        pump_model="synchromed-ii-40",
        pump_serial="NGP-LONG-1",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )
    fill = Fill(
        drugs=(("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),),
        volume=parse("40 mL", Kind.VOLUME, "v"),
        lot="LOT-LONG",
    )
    dose = parse("400 mcg/day", Kind.DOSE_RATE, "dose")
    prescribed(
        physician,
        checker,
        implant.id,
        fill,
        dose,
        at=FIRST_FILL,
        overrides=CARRIED_OVER,
    )
    for number in range(REFILLS + 1):
        at = FIRST_FILL + EVERY * number
        left = None
        if number:
            left = of(residual_ml(Decimal(40), [(RATE, at - EVERY, None)], at), "mL")
        refills.perform_refill(
            nurse,
            implant.id,
            idempotency_key=f"long-{number}",
            performed_at=at,
            expected=left,
            aspirated=left,
            fill=fill,
            dose=dose,
            overrides=None if number else CARRIED_OVER,
        )
    titrated(
        physician,
        implant.id,
        parse("450 mcg/day", Kind.DOSE_RATE, "dose"),
        at=TITRATED,
        checker=checker,
    )
    return Implant.objects.get(id=implant.id)
