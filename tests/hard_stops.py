"""A pump whose programs a hard limit stops: a tumour-pain patient's ziconotide pump (first filled
23 days ago at 2.4 mcg/day), where 25 mcg/day breaks the US label's maximum daily dose
(19.2 mcg/day, a hard limit: rule-two-tiers). Shared by the service, API, web and browser tests
that show no override turns a hard stop into a program."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User

from clinic_fixtures import second_clinician
from frozen import at, day
from painpump.clinic.actions import implantation, patients, refills
from painpump.clinic.models import Implant
from painpump.clinic.testing import MEDTRONIC_CATHETER, prescribed
from painpump.core.refill_decision import Fill
from painpump.core.units import Kind, parse

OVER_LABEL = "25 mcg/day"
"""Above ziconotide's US label maximum daily dose (19.2 mcg/day)."""
LABEL_START = {"max_start_dose": "US label start dose: at most 2.4 mcg/day (0.1 mcg/h)"}
"""The reason the ziconotide pump's first fill at 2.4 mcg/day (the US label's start, its hard
limit) passes the 1.2 mcg/day start of the guidelines (a soft limit)."""
HARD_RULES = ("max_daily_dose", "max_step_percent", "max_concentration", "reconciliation")
"""Every rule a tampered request might name to pass the stop."""


def ziconotide_fill(concentration: str = "25 mcg/mL", lot: str = "ZIC-1") -> Fill:
    return Fill(
        drugs=(("ziconotide", parse(concentration, Kind.CONCENTRATION, "c")),),
        volume=parse("20 mL", Kind.VOLUME, "v"),
        lot=lot,
    )


def ziconotide_pump(physician: User, nurse: User, mrn: str = "MRN-ZIC") -> Implant:
    """A tumour-pain patient (no psychosis history, a life expectancy of 12 months recorded),
    implanted directly, first filled with ziconotide 23 days ago at the US label's start dose,
    as `physician` prescribed it and a second clinician double-checked it."""
    patient = patients.create_patient(
        nurse,
        mrn=mrn,
        family_name="Zeller",
        given_name="Zora",
        birth_date=date(1958, 2, 2),
        today=day(-24),
        psychosis_history=False,
        life_expectancy_months=12,
    )
    episode = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=day(-55)
    )
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=episode.version,
        now=at(-23, 9),
        pump_model="synchromed-ii-20",
        pump_serial=f"NGP-{mrn}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=day(-23),
    )
    prescribed(
        physician,
        second_clinician(physician),
        implant.id,
        ziconotide_fill(),
        parse("2.4 mcg/day", Kind.DOSE_RATE, "dose"),
        at=at(-23, 9, 30),
        overrides=LABEL_START,
    )
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key=f"zic-first-{mrn}",
        performed_at=at(-23, 10),
        expected=None,
        aspirated=None,
        fill=ziconotide_fill(),
        dose=parse("2.4 mcg/day", Kind.DOSE_RATE, "dose"),
        overrides=LABEL_START,
    )
    return implant


def every_rule(reason: str = "patient in severe pain, family insists") -> dict[str, str]:
    """Overrides naming every rule a hard stop might come from, each with a long reason."""
    return dict.fromkeys(HARD_RULES, reason)
