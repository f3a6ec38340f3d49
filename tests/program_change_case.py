"""The program change the web and API tests of the refill-margin-change warning share: the
fixtures' baclofen pump refilled on day 60 and, 82.5 days on, +15 % prescribed and
double-checked (tests/clinic/test_program_change_leaves_pump_short.py proves the numbers)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import time_machine
from django.contrib.auth.models import User

from frozen import ZONE
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import Implant
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.scheduling import WEEKDAYS
from painpump.core.units import Kind, parse
from report_scenario import DAY_60, measured_to_two_places

CHANGE_AT = DAY_60 + timedelta(days=82, hours=12)
RULE = "refill_margin_change"
REASON = "refill booked for tomorrow morning, patient informed of the alarm"
SHORT_WORDS = "this program change brings the low-reservoir alarm (2 mL) forward to "


def ready_to_program(
    implant: Implant,
    nurse: User,
    physician: User,
    pharmacist: User,
    clock: time_machine.Traveller,
) -> Implant:
    """The pump refilled on day 60 and, 82.5 days on, 460 mcg/day prescribed and double-checked:
    ready to program, the clock at the change."""
    clock.move_to(DAY_60)
    measured_to_two_places(nurse, implant)
    clock.move_to(CHANGE_AT)
    dose = parse("460 mcg/day", Kind.DOSE_RATE, "dose")
    prescribed(physician, pharmacist, implant.id, baclofen(), dose, at=CHANGE_AT)
    return Implant.objects.get(id=implant.id)


def moment_said(moment: datetime) -> str:
    """A moment as the warning writes it: weekday, day, wall-clock time and zone."""
    local = moment.astimezone(ZONE)
    return f"{WEEKDAYS[local.weekday()][:3]} {locale_of(clinic_settings()).format_moment(local)}"


def day_said(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()][:3]} {locale_of(clinic_settings()).format_date(day)}"
