"""A program change between refills that brings the pump's low-reservoir alarm forward to within
the clinic's refill margin is a soft warning judged on the pump's twin: the programming is
refused without a physician's reason, passes with one (recorded with the program and in its
audit entry), and the alarm moment it names is the one the pump then stores and every page shows.
The fixtures' baclofen pump refilled on day 60 with 20 mL of 2000 mcg/mL at 400 mcg/day (0.2
mL/day, the alarm 90 days on); 82.5 days later 3.5 mL are left, the alarm 7.5 days ahead, and
the label's largest step (+15 %, 460 mcg/day: 0.23 mL/day) brings it to 6.52 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from clinic_fixtures import titrated
from painpump.clinic.actions import programs
from painpump.clinic.locale import clinic_settings, locale_of
from painpump.clinic.models import AuditEntry, Implant, Program
from painpump.clinic.reads.program_preview import preview_program_change
from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse
from report_scenario import DAY_60, measured_to_two_places

pytestmark = pytest.mark.django_db

CHANGE_AT = DAY_60 + timedelta(days=82, hours=12)
REASON = "refill booked for tomorrow morning, patient informed of the alarm"
RULE = "refill_margin_change"


def _refilled(nurse: User, implant: Implant, clock: time_machine.Traveller) -> None:
    clock.move_to(DAY_60)
    measured_to_two_places(nurse, implant)
    clock.move_to(CHANGE_AT)


def test_an_increase_that_leaves_the_pump_short_needs_a_physicians_reason(
    implant: Implant, nurse: User, physician: User, frozen_clock: time_machine.Traveller
) -> None:
    _refilled(nurse, implant, frozen_clock)
    with pytest.raises(Refusal) as refused:
        titrated(physician, implant.id, parse("460 mcg/day", Kind.DOSE_RATE, "d"), at=CHANGE_AT)
    assert RULE in str(refused.value)
    assert not Program.objects.filter(implant=implant, started_at=CHANGE_AT).exists()
    program = programs.program_pump(
        physician,
        implant.id,
        expected_version=Implant.objects.get(id=implant.id).version,
        now=CHANGE_AT,
        overrides={RULE: REASON},
    )
    (warning,) = [w for w in program.warnings if w["rule"] == RULE]
    pump = Implant.objects.get(id=implant.id)
    assert pump.alarm_at is not None
    # 1.5 mL above the alarm at 0.23 mL/day: 6.52 days, to the second the twin counts in
    assert abs(pump.alarm_at - CHANGE_AT - timedelta(days=1.5 / 0.23)) < timedelta(seconds=1)
    assert "this program change brings the low-reservoir alarm" in warning["message"]
    assert "baclofen stops abruptly" in warning["message"]
    entry = AuditEntry.objects.filter(action="program.change").latest("at")
    assert entry.after is not None
    assert REASON in str(entry.after["overrides"])


def test_the_preview_names_the_alarm_the_programming_then_stores(
    implant: Implant, nurse: User, physician: User, frozen_clock: time_machine.Traveller
) -> None:
    _refilled(nurse, implant, frozen_clock)
    with pytest.raises(Refusal):
        titrated(physician, implant.id, parse("460 mcg/day", Kind.DOSE_RATE, "d"), at=CHANGE_AT)
    preview = preview_program_change(physician, implant.id, at=CHANGE_AT)
    (warning,) = [w for w in preview.warnings if w.rule == RULE]
    assert preview.after is not None and preview.after.alarm_at is not None
    shown = preview.after.alarm_at.astimezone(locale_of(clinic_settings()).zone)
    assert f"forward to {shown:%a} " in warning.message
    assert f" {shown:%H:%M} " in warning.message
    programs.program_pump(
        physician,
        implant.id,
        expected_version=preview.version,
        now=CHANGE_AT,
        overrides={RULE: REASON},
    )
    assert Implant.objects.get(id=implant.id).alarm_at == preview.after.alarm_at


def test_a_decrease_needs_no_such_reason(
    implant: Implant, nurse: User, physician: User, frozen_clock: time_machine.Traveller
) -> None:
    _refilled(nurse, implant, frozen_clock)
    program = titrated(
        physician, implant.id, parse("360 mcg/day", Kind.DOSE_RATE, "d"), at=CHANGE_AT
    )
    assert all(w["rule"] != RULE for w in program.warnings)
