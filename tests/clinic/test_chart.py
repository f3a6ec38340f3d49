"""The patient chart read service: the header, the pathway in plain words with its stays, the pump
with its replacement date, the program in words and numbers, the reservoir projection agreeing
with what the refill and titration services stored, the refill and dose history, outcomes before
the pump and now, open alarms; one audited read in a fixed number of queries, refused to roles
that may not read patient records."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from pytest_django import DjangoAssertNumQueries

from chart_history import REFILLS, TITRATED, long_history
from clinic_fixtures import FIRST_FILL, IMPLANTED, TEST_PHASE
from frozen import NOW
from painpump.clinic.actions import alarms, refills
from painpump.clinic.errors import NotFound
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Implant
from painpump.clinic.reads.chart import patient_chart
from painpump.clinic.roles import Forbidden
from painpump.clinic.testing import baclofen
from painpump.core.device_life import add_months
from painpump.core.units import Kind, parse


def test_the_chart_shows_who_the_patient_is_and_the_pump_with_its_replacement_date(
    nurse: User, implant: Implant
) -> None:
    chart = patient_chart(nurse, implant.episode.patient_id, NOW)
    assert (chart.patient.name, chart.patient.mrn, chart.patient.age) == (
        "Muster, Erika",
        "MRN-0001",
        56,
    )
    assert chart.indications == ("Spasticity: stroke",)
    assert chart.high_risk
    assert chart.pump is not None
    assert (chart.pump.model, chart.pump.serial) == ("synchromed-ii-20", "NGP123456H")
    assert str(chart.pump.catheter_length) == "60 cm"
    assert str(chart.pump.dead_volume) == "0.25 mL"
    # SynchroMed II: 7 years of service life, replaced about 6 months before its end
    assert chart.pump.replace_by == add_months(IMPLANTED, 7 * 12 - 6)


def test_the_program_reads_as_words_and_numbers(nurse: User, implant: Implant) -> None:
    chart = patient_chart(nurse, implant.episode.patient_id, NOW)
    assert chart.program is not None
    assert chart.program.words == "baclofen 2000 mcg/mL at 0.2 mL/day = 400 mcg/day, continuous"


def test_the_projection_agrees_with_the_dates_the_refill_stored(
    nurse: User, implant: Implant
) -> None:
    chart = patient_chart(nurse, implant.episode.patient_id, NOW)
    implant.refresh_from_db()
    projection = chart.projection
    assert projection is not None
    assert (projection.alarm_at, projection.empty_at, projection.refill_by) == (
        implant.alarm_at,
        implant.empty_at,
        implant.refill_by,
    )
    assert [p.label for p in projection.points] == ["fill", "low-reservoir alarm", "empty"]
    assert chart.next_refill is not None
    assert chart.next_refill.due_by == implant.refill_by


def test_the_pathway_reads_in_plain_words_with_the_stays(nurse: User, implant: Implant) -> None:
    chart = patient_chart(nurse, implant.episode.patient_id, NOW)
    (episode,) = chart.episodes
    titles = [m.title for m in episode.timeline]
    assert titles[0] == "Referred"
    assert "Test phase started: admitted" in titles
    assert "Screening bolus 50 mcg: positive" in titles
    assert "Test phase decided: responder" in titles
    stay = next(m for m in episode.timeline if m.title == "Test phase stay")
    decided = TEST_PHASE + timedelta(days=2)
    admitted, discharged = (clinic_locale().format_date(d) for d in (TEST_PHASE, decided))
    assert stay.details == (f"{admitted} to {discharged}: test phase stay of 2 days",)
    assert not stay.warning
    assert "Pump implanted: admitted" in titles
    assert "First fill" in titles
    days = [m.on for m in episode.timeline]
    assert days == sorted(days)


def test_open_alarms_are_on_the_chart_until_acknowledged(nurse: User, implant: Implant) -> None:
    alarm = alarms.report_alarm(nurse, implant.id, kind="low_reservoir", reported_at=NOW)
    chart = patient_chart(nurse, implant.episode.patient_id, NOW)
    assert [a.kind for a in chart.open_alarms] == ["Low reservoir (single tone)"]
    alarms.acknowledge_alarm(nurse, alarm.id, now=NOW, action_taken="refill booked today")
    assert patient_chart(nurse, implant.episode.patient_id, NOW).open_alarms == ()


def test_reading_the_chart_is_audited(pharmacist: User, implant: Implant) -> None:
    patient_chart(pharmacist, implant.episode.patient_id, NOW)
    entry = AuditEntry.objects.filter(action="patient.chart").get()
    assert (entry.actor, entry.patient_id) == ("pharma.cist", implant.episode.patient_id)


def test_an_admin_may_not_read_the_chart_and_nothing_is_audited(
    admin: User, implant: Implant
) -> None:
    with pytest.raises(Forbidden):
        patient_chart(admin, implant.episode.patient_id, NOW)
    assert not AuditEntry.objects.filter(action="patient.chart").exists()


def test_an_unknown_patient_is_not_found(nurse: User) -> None:
    with pytest.raises(NotFound):
        patient_chart(nurse, uuid4(), NOW)


@pytest.fixture
def history(physician: User, nurse: User) -> Implant:
    return long_history(physician, nurse)


def test_five_years_of_refills_are_read_in_a_fixed_number_of_queries(
    nurse: User, history: Implant, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_max_num_queries(20):
        chart = patient_chart(nurse, history.episode.patient_id, NOW)
    assert len(chart.refills) == REFILLS + 1
    assert chart.refills[-1].verdict == "first fill"
    assert chart.refills[0].verdict.startswith("as expected")
    assert str(chart.refills[0].expected) == "31 mL"
    assert len(chart.doses) == REFILLS + 2
    assert str(chart.doses[-1].dose) == "450 mcg/day"
    assert chart.doses[-1].ended_at is None


def test_a_nurse_who_refilled_is_shown_as_programming_never_as_prescribing(
    nurse: User, history: Implant
) -> None:
    chart = patient_chart(nurse, history.episode.patient_id, NOW)
    refilled, titrated = chart.doses[-2], chart.doses[-1]
    assert str(refilled.programmed_by) == "programmed by nurse.joy at a refill"
    assert refilled.programmed_by.short == "nurse.joy (refill)"
    assert str(titrated.programmed_by) == "programmed by dr.house between refills"
    assert chart.program is not None
    assert chart.program.programmed_by == titrated.programmed_by
    assert {d.programmed_by.at_refill for d in chart.doses[:-1]} == {True}


def test_after_a_titration_the_projection_has_its_point_and_agrees_with_the_stored_dates(
    nurse: User, history: Implant
) -> None:
    chart = patient_chart(nurse, history.episode.patient_id, NOW)
    projection = chart.projection
    assert projection is not None
    change = next(p for p in projection.points if p.label == "program change")
    assert change.at == TITRATED
    assert str(change.volume) == "38 mL"
    assert (projection.alarm_at, projection.refill_by) == (history.alarm_at, history.refill_by)
    assert projection.fill_at == TITRATED - timedelta(days=10)


def test_outcomes_compare_the_last_value_before_the_pump_with_the_latest(
    nurse: User, history: Implant
) -> None:
    chart = patient_chart(nurse, history.episode.patient_id, NOW)
    assert chart.outcomes_baseline == "Before the pump"
    shown = {
        (o.label, o.limb): (o.before and o.before.shown, o.latest and o.latest.shown)
        for o in chart.outcomes
    }
    assert shown == {
        ("Pain NRS (0-10)", ""): ("7 / 10", "3 / 10"),
        ("Modified Ashworth scale (0-4)", "left leg"): ("3", "1+"),
    }


def test_a_possible_pocket_fill_within_the_accuracy_is_said_on_the_chart(
    implant: Implant, nurse: User
) -> None:
    """Regression: the refill review warned of a possible pocket fill, the chart's history read
    only "as expected (within +/-14.5 %)"."""
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key=str(uuid4()),
        performed_at=FIRST_FILL + timedelta(days=60),
        expected=parse("8 mL", Kind.VOLUME, "e"),
        aspirated=parse("6.5 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "d"),
        overrides={"reconciliation": "re-aspirated twice, needle position confirmed"},
    )
    chart = patient_chart(nurse, implant.episode.patient_id, NOW)
    verdict = chart.refills[0].verdict
    assert verdict.startswith("as expected")
    assert "the difference 1.5 mL exceeds 1 mL: possible pocket fill" in verdict
