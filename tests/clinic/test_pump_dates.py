"""Each pump's twin is the one source of its dates: a refill or a programming stores the dates the
twin gives over the pump's recorded history (flex steps and patient boluses included), the chart
draws the same, the patient-bolus counts are recorded at refills, and a change of the refill
margin dates every pump again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from frozen import NOW
from painpump.clinic.actions import prescriptions, pump_dates, refills, settings_service
from painpump.clinic.models import AuditEntry, Implant, Refill
from painpump.clinic.reads import pump_history
from painpump.clinic.reads.chart import patient_chart
from painpump.clinic.roles import Forbidden
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import CheckEntries
from painpump.core.refill_decision import Fill, PtmCounts
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
PTM = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def prescribe(
    physician: User,
    pharmacist: User,
    implant: Implant,
    program: rx.PrescribedProgram,
    ptm: rx.PatientBolus | None = PTM,
) -> None:
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(BACLOFEN, program, ptm, Phase.MAINTENANCE),
        reason="spasms at night: night step and patient boluses",
        now=DAY_60 - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescriptions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(BACLOFEN, program, ptm),
        accept=True,
        comment="",
        now=DAY_60 - timedelta(hours=1),
    )


def refill(
    nurse: User,
    implant: Implant,
    *,
    at: datetime = DAY_60,
    key: str = "r60",
    ptm: PtmCounts | None = None,
    left: str = "8 mL",
) -> Refill:
    return refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=key,
        performed_at=at,
        expected=q(left, Kind.VOLUME),
        aspirated=q(left, Kind.VOLUME),
        fill=Fill(BACLOFEN, q("20 mL", Kind.VOLUME), "LOT-9"),
        ptm=ptm,
    )


NIGHT_STEP = rx.flex_program(
    [
        rx.step_row("every day", "00:00", "480 mcg/day", "steps[0]"),
        rx.step_row("every day", "06:00", "400 mcg/day", "steps[1]"),
    ]
)


def test_a_flex_program_with_patient_boluses_stores_the_twins_dates(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    prescribe(physician, pharmacist, implant, NIGHT_STEP)
    done = refill(nurse, implant)
    implant.refresh_from_db()
    twin = pump_history.twin_dates(pump_history.history_of(implant), NOW)
    assert (implant.alarm_at, implant.empty_at, implant.refill_by) == (
        twin.alarm_at,
        twin.empty_at,
        twin.refill_by,
    )
    assert (done.alarm_at, done.refill_by) == (twin.alarm_at, twin.refill_by)
    assert (done.program.alarm_at, done.program.refill_by) == (twin.alarm_at, twin.refill_by)
    # 420 mcg/day basal (0.21 mL/day) and 4 x 10 mcg (0.02 mL) a day: 18 mL above the alarm
    # last about 18 / 0.23 days (boluses come whole, 4 a day), where the closed form at the
    # largest day alone said 18 / 0.21
    assert twin.alarm_at is not None
    days = (twin.alarm_at - DAY_60) / timedelta(days=1)
    assert abs(days - 18 / 0.23) < 0.25


def test_the_chart_draws_the_dates_the_pump_stores(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    prescribe(physician, pharmacist, implant, NIGHT_STEP)
    refill(nurse, implant)
    implant.refresh_from_db()
    projection = patient_chart(physician, implant.episode.patient_id, NOW).projection
    assert projection is not None
    assert (projection.alarm_at, projection.empty_at, projection.refill_by) == (
        implant.alarm_at,
        implant.empty_at,
        implant.refill_by,
    )
    assert any(point.label == "computed" for point in projection.points)
    running = patient_chart(physician, implant.episode.patient_id, NOW).program
    assert running is not None and (running.mode, running.prescription) == ("flex", 2)
    assert running.steps == "00:00 480 mcg/day, 06:00 400 mcg/day"
    assert running.patient_bolus == "10 mcg over 2 min, lockout 4 h, at most 4 a day"


def test_the_next_refill_records_the_patient_bolus_counts_and_refuses_without_them(
    implant: Implant, physician: User, pharmacist: User, nurse: User
) -> None:
    prescribe(physician, pharmacist, implant, NIGHT_STEP)
    refill(nurse, implant)
    later = DAY_60 + timedelta(days=20)
    with pytest.raises(Refusal) as refused:
        refill(nurse, implant, at=later, key="r80")
    assert refused.value.field == "ptm_given"
    assert not Refill.objects.filter(idempotency_key="r80").exists()
    # 20 days at 420 mcg/day (0.21 mL/day) and 52 boluses of 0.005 mL since the 20 mL fill
    done = refill(nurse, implant, at=later, key="r80", ptm=PtmCounts(70, 52), left="15.54 mL")
    assert (done.ptm_requests, done.ptm_given) == (70, 52)
    lines = patient_chart(physician, implant.episode.patient_id, NOW).refills
    assert lines[0].patient_boluses == (
        "52 given of 70 requested in 20 days (2.6 a day; at most 4 a day prescribed)"
    )
    entry = AuditEntry.objects.get(action="refill.perform", object_id=str(done.id))
    assert entry.after is not None and entry.after["ptm_counts"] == {"requests": 70, "given": 52}


def test_a_longer_refill_margin_dates_every_pump_again(implant: Implant, admin: User) -> None:
    before = Implant.objects.get(id=implant.id).refill_by
    assert before is not None
    settings_service.update_settings(admin, expected_version=1, refill_margin_days=10)
    after = Implant.objects.get(id=implant.id).refill_by
    assert after == before - timedelta(days=3)
    entry = AuditEntry.objects.get(action="pumps.redate")
    assert entry.actor == "ad.min" and entry.after is not None
    assert entry.after["pumps"] == 1 and entry.after["changed"] == 1
    assert entry.after["dated"][str(implant.id)]["refill_by"] == after.isoformat()


def test_only_an_admin_dates_every_pump_again(implant: Implant, nurse: User) -> None:
    with pytest.raises(Forbidden):
        pump_dates.redate_all(nurse, NOW)
    assert not AuditEntry.objects.filter(action="pumps.redate").exists()
