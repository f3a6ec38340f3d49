"""A prescription is judged whole when the physician signs it (core.prescription_decision): every
step of a flex program against the pump's range, the highest step and the worst day with every
patient bolus (PTM) given against the drug library's maxima, each by its tier (a hard limit
stops whatever reason is given, a soft one passes with a reason), and PTM settings of an opioid
against the patient's opioid status; nothing is written when it is refused."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from clinic_fixtures import FIRST_FILL
from frozen import at, day
from hard_stops import every_rule, ziconotide_pump
from painpump.clinic.actions import implantation, patients, prescriptions
from painpump.clinic.models import AuditEntry, Implant, Prescription
from painpump.clinic.testing import MEDTRONIC_CATHETER
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.prescription_decision import PTM_OPIOID_NAIVE_SOURCE
from painpump.core.units import Kind, Q, parse

pytestmark = pytest.mark.django_db

DAY_60 = FIRST_FILL + timedelta(days=60)
BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
ZICONOTIDE = (("ziconotide", parse("25 mcg/mL", Kind.CONCENTRATION, "c")),)
MORPHINE = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
REASON = "agreed with the patient's oncologist at the visit"


def dose(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "dose")


def flex(*rows: tuple[str, str, str]) -> rx.PrescribedProgram:
    """A flex program from (weekdays, start, dose) rows, as the form gives them."""
    return rx.flex_program(
        [
            rx.step_row(days, start, daily, f"steps[{i}]")
            for i, (days, start, daily) in enumerate(rows)
        ]
    )


def sign(
    physician: User,
    implant: Implant,
    prescription: rx.Prescription,
    *,
    now: datetime = DAY_60,
    overrides: Mapping[str, str] | None = None,
) -> Prescription:
    return prescriptions.prescribe(
        physician,
        implant.id,
        prescription,
        reason="flex program for the pain at night",
        now=now,
        expected_version=Implant.objects.get(id=implant.id).version,
        overrides=overrides,
    )


def nothing_written() -> tuple[int, int]:
    return Prescription.objects.count(), AuditEntry.objects.count()


def test_a_flex_program_within_the_pump_and_the_library_is_signed_with_its_steps(
    implant: Implant, physician: User
) -> None:
    program = flex(
        ("every day", "00:00", "400 mcg/day"),
        ("mon-fri", "07:00", "440 mcg/day"),
        ("mon-fri", "19:00", "400 mcg/day"),
    )
    record = sign(physician, implant, rx.Prescription(BACLOFEN, program))
    assert record.program_kind == "flex"
    # a weekday: 7 h at 400, 12 h at 440, 5 h at 400 = 420 mcg
    assert record.daily_dose_mcg_per_day == Decimal(420)
    monday = [(s.start_s, s.dose_mcg_per_day) for s in record.steps.filter(weekday=0)]
    assert monday == [(0, Decimal(400)), (25_200, Decimal(440)), (68_400, Decimal(400))]
    assert [s.start_s for s in record.steps.filter(weekday=6)] == [0]


def test_a_flex_program_with_14_steps_a_day_is_refused_as_beyond_the_device(
    implant: Implant, physician: User
) -> None:
    before = nothing_written()
    rows = [("every day", f"{hour:02d}:00", "400 mcg/day") for hour in range(14)]
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, rx.Prescription(BACLOFEN, flex(*rows)), overrides=every_rule())
    assert (caught.value.field, caught.value.value) == ("program.days.mon", "14 steps")
    assert caught.value.limit == "at most 13 a day (hard: the device's range)"
    assert "13 different times" in caught.value.source
    assert nothing_written() == before


def test_a_flex_step_outside_the_pumps_rate_range_is_refused_naming_the_step(
    implant: Implant, physician: User
) -> None:
    """50 mcg/day of baclofen 2000 mcg/mL is 0.025 mL/day, below the pump's 0.048 mL/day."""
    before = nothing_written()
    program = flex(("every day", "00:00", "400 mcg/day"), ("tue", "08:00", "50 mcg/day"))
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, rx.Prescription(BACLOFEN, program), overrides=every_rule())
    assert (caught.value.field, caught.value.value) == ("program.days.tue[1].dose", "50 mcg/day")
    assert caught.value.limit.startswith(">= 0.048 mL/day (min_rate of synchromed-ii-20")
    assert caught.value.problem == "gives a rate below the pump's range"
    assert nothing_written() == before


def test_a_ziconotide_flex_program_whose_highest_step_is_above_the_daily_maximum_stops(
    physician: User, nurse: User
) -> None:
    """Its largest day gives 2.2 mcg (within the running 2.4 mcg/day), but its last hour runs
    at 25 mcg/day, above the US label's 19.2 mcg/day and a step of more than 2.4 mcg/day from
    the running rate then (both hard): no reason passes it, and the step is named."""
    implant = ziconotide_pump(physician, nurse)
    before = nothing_written()
    program = flex(("every day", "00:00", "1.2 mcg/day"), ("every day", "23:00", "25 mcg/day"))
    prescription = rx.Prescription(ZICONOTIDE, program)
    assert prescription.daily_dose.canonical < Decimal("2.4")
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, prescription, now=at(-1), overrides=every_rule())
    assert (caught.value.field, caught.value.value) == (
        "program.days.mon[1].dose",
        "ziconotide 25 mcg/mL, 25 mcg/day",
    )
    assert caught.value.limit.endswith("(hard limit: no override)")
    assert "19.2 mcg/day" in caught.value.limit
    assert "is stopped by max_daily_dose" in caught.value.problem
    assert nothing_written() == before


def test_ziconotide_boluses_whose_worst_day_is_above_the_hard_maximum_stop(
    physician: User, nurse: User
) -> None:
    """2.4 mcg/day and 20 boluses of 1 mcg: 22.4 mcg on the worst day, above 19.2 mcg/day."""
    implant = ziconotide_pump(physician, nurse)
    before = nothing_written()
    ptm = rx.patient_bolus("1 mcg", "2 min", "1 hour", "20")
    prescription = rx.Prescription(
        ZICONOTIDE, rx.PrescribedProgram.continuous(dose("2.4 mcg/day")), ptm
    )
    assert str(prescription.worst_day) == "22.4 mcg/day"
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, prescription, now=at(-1), overrides=every_rule())
    assert (caught.value.field, caught.value.value) == (
        "ptm.max_per_day",
        "ziconotide 25 mcg/mL, 22.4 mcg/day",
    )
    assert caught.value.limit.endswith("(hard limit: no override)")
    assert nothing_written() == before
    fewer = rx.Prescription(
        ZICONOTIDE,
        rx.PrescribedProgram.continuous(dose("2.4 mcg/day")),
        rx.patient_bolus("1 mcg", "2 min", "1 hour", "2"),
    )  # a worst day of 4.4 mcg: within the label's 2.4 mcg/day step from the running 2.4
    record = sign(physician, implant, fewer, now=at(-1))
    assert (record.ptm_dose_mcg, record.ptm_max_per_day) == (Decimal(1), 2)
    assert (record.ptm_duration_s, record.ptm_lockout_s) == (120, 3600)


def cancer_pump(physician: User, nurse: User, opioid_status: str | None, mrn: str) -> Implant:
    """A tumour-pain patient of the given opioid status, her pump implanted 30 days ago, not
    yet filled."""
    patient = patients.create_patient(
        nurse,
        mrn=mrn,
        family_name="Morf",
        given_name="Mona",
        birth_date=date(1955, 5, 5),
        today=day(-40),
        opioid_status=opioid_status,
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
        pump_serial=f"NGP-{mrn}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=day(-30),
    )


def with_boluses(daily: str, bolus: str = "0.1 mg", per_day: str = "4") -> rx.Prescription:
    """Morphine at `daily` with PTM boluses of `bolus` over 2 minutes, an hour apart."""
    return rx.Prescription(
        MORPHINE,
        rx.PrescribedProgram.continuous(dose(daily)),
        rx.patient_bolus(bolus, "2 min", "1 hour", per_day),
    )


def test_patient_boluses_of_morphine_for_an_opioid_naive_patient_are_refused(
    physician: User, nurse: User
) -> None:
    implant = cancer_pump(physician, nurse, "naive", "MRN-NAIVE")
    before = nothing_written()
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, with_boluses("0.5 mg/day"), now=at(-1), overrides=every_rule())
    assert (caught.value.field, caught.value.value) == (
        "ptm",
        "patient boluses of morphine (opioid status naive)",
    )
    assert "(hard: a contraindication" in caught.value.limit
    assert caught.value.source == PTM_OPIOID_NAIVE_SOURCE
    assert nothing_written() == before
    without = rx.Prescription(MORPHINE, rx.PrescribedProgram.continuous(dose("0.5 mg/day")))
    assert sign(physician, implant, without, now=at(-1)).ptm_dose_mcg is None


def test_patient_boluses_of_morphine_when_the_opioid_status_is_unknown_are_refused(
    physician: User, nurse: User
) -> None:
    """An unrecorded status is taken as naive, as the start doses take it: the physician
    records the patient's opioid exposure first."""
    implant = cancer_pump(physician, nurse, None, "MRN-UNKNOWN")
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, with_boluses("0.5 mg/day"), now=at(-1), overrides=every_rule())
    assert (caught.value.field, caught.value.value) == (
        "ptm",
        "patient boluses of morphine (opioid status unknown)",
    )
    assert caught.value.source == PTM_OPIOID_NAIVE_SOURCE


def test_morphine_boluses_whose_worst_day_is_above_the_soft_maximum_need_a_reason(
    physician: User, nurse: User
) -> None:
    """5 mg/day and 24 boluses of 0.5 mg (each the largest single bolus): 17 mg on the worst day,
    above PACC's 15 mg/day (soft), within the label's 20 mg/day caution; at a first fill it is
    judged as the start dose too (the label's 10 mg/day for opioid-tolerant patients, soft)."""
    implant = cancer_pump(physician, nurse, "tolerant", "MRN-TOL")
    boluses = with_boluses("5 mg/day", "0.5 mg", "24")
    assert str(boluses.worst_day) == "17000 mcg/day"
    with pytest.raises(Refusal) as caught:
        sign(physician, implant, boluses, now=at(-1))
    assert caught.value.field == "overrides"
    assert caught.value.value == "max_daily_dose, max_start_dose"
    assert (
        "17 mg/day (= 17000 mcg/day) exceeds the maximum daily dose 15 mg/day"
        in caught.value.problem
    )
    assert caught.value.source.startswith("pacc-2012")
    assert Prescription.objects.filter(implant=implant).count() == 0
    reasons = {"max_daily_dose": REASON, "max_start_dose": REASON}
    record = sign(physician, implant, boluses, now=at(-1), overrides=reasons)
    assert record.status == Prescription.Status.AWAITING_CHECK
    assert sorted(w["rule"] for w in record.warnings) == ["max_daily_dose", "max_start_dose"]
    assert sorted(o["rule"] for o in record.overrides) == ["max_daily_dose", "max_start_dose"]
