"""The worklist: what is due, overdue and at risk (baclofen first among equals), test phases,
responders with their earliest implant date, pumps to replace, refills awaiting a second
clinician, open alarms (acknowledged ones leave it); reading it is audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from painpump.clinic import alarms, dashboard, pathway, refills, services
from painpump.clinic.models import AuditEntry, Episode, Implant
from painpump.clinic.testing import responder_episode
from painpump.core.errors import Refusal
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def patient_with(physician: User, nurse: User, mrn: str, indication: str) -> Episode:
    patient = services.create_patient(
        nurse,
        mrn=mrn,
        family_name=f"Patient {mrn}",
        given_name="A",
        birth_date=date(1960, 1, 1),
        today=NOW.date(),
    )
    return services.open_episode(
        physician, patient.id, indication=indication, referred_on=date(2019, 1, 2)
    )


def implanted(
    physician: User,
    episode: Episode,
    on: date,
    drug: str,
    concentration: str,
    dose: str,
    model: str = "synchromed-ii-20",
) -> Implant:
    implant = refills.register_implant(
        physician,
        episode.id,
        expected_version=Episode.objects.get(id=episode.id).version,
        now=at(on),
        pump_model=model,
        pump_serial=f"S-{episode.id}"[:20],
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        alarm_volume=None,
        implanted_on=on,
    )
    refills.perform_refill(
        physician,
        implant.id,
        idempotency_key=f"fill-{implant.id}",
        performed_at=at(on),
        expected=None,
        aspirated=None,
        fill=refills.Fill(
            ((drug, parse(concentration, Kind.CONCENTRATION, "c")),),
            parse("20 mL", Kind.VOLUME, "v"),
            "LOT",
        ),
        dose=parse(dose, Kind.DOSE_RATE, "dose"),
    )
    return Implant.objects.get(id=implant.id)


@pytest.fixture
def clinic(physician: User, nurse: User) -> dict[str, object]:
    spastic = patient_with(physician, nurse, "B-1", "paraplegia")
    responder_episode(physician, spastic.id, start=date(2026, 7, 1))
    # baclofen 400 mcg/day at 2000 mcg/mL = 0.2 mL/day: alarm 90 days after 2026-09-01
    baclofen = implanted(
        physician, spastic, date(2026, 9, 1), "baclofen", "2000 mcg/mL", "400 mcg/day"
    )
    # morphine 1 mg/day at 10 mg/mL = 0.1 mL/day: alarm 180 days after the fill
    cancer = patient_with(physician, nurse, "M-1", "tumour_pain")
    morphine = implanted(physician, cancer, date(2026, 10, 1), "morphine", "10 mg/mL", "1 mg/day")
    # an older SynchroMed II: 7 years less 6 months after 2020-06-01 is 2026-12-01
    old = patient_with(physician, nurse, "O-1", "tumour_pain")
    ageing = implanted(physician, old, date(2020, 6, 1), "morphine", "10 mg/mL", "2 mg/day")
    testing = patient_with(physician, nurse, "T-1", "stroke")
    pathway.step(
        physician,
        testing.id,
        "start_test_phase",
        expected_version=1,
        now=at(date(2026, 11, 24)),
        on=date(2026, 11, 24),
        protocol="bolus",
    )
    waiting = patient_with(physician, nurse, "R-1", "multiple_sclerosis")
    responder_episode(physician, waiting.id, start=date(2026, 11, 10))
    return {"baclofen": baclofen, "morphine": morphine, "ageing": ageing}


def test_the_worklist_shows_each_list_most_urgent_first(
    clinic: dict[str, Implant], physician: User
) -> None:
    board = dashboard.worklist(physician, NOW)
    baclofen, ageing = clinic["baclofen"], clinic["ageing"]
    # baclofen: refill by 2026-11-23 (alarm 11-30 less the 7-day margin), overdue on 11-25;
    # the ageing pump, never refilled since 2020, is far more overdue and comes first
    assert [r.implant_id for r in board.refills_due] == [str(ageing.id), str(baclofen.id)]
    assert all(r.priority.overdue for r in board.refills_due)
    assert board.refills_due[1].priority.high_risk
    assert [r.implant_id for r in board.at_risk[:2]] == [str(ageing.id), str(baclofen.id)]
    assert board.at_risk[1].priority.days_to_alarm == 5
    assert [row.patient for row in board.test_phases] == ["Patient T-1, A"]
    assert board.awaiting_implant[0].earliest_implant == date(2026, 12, 3)
    assert [(r.pump_model, r.replace_by) for r in board.nearing_replacement] == [
        ("synchromed-ii-20", date(2026, 12, 1))
    ]
    entry = AuditEntry.objects.filter(action="dashboard.read").get()
    assert str(baclofen.episode.patient_id) in entry.after["patients"]  # type: ignore[index]


def test_an_alarm_stays_on_the_worklist_until_acknowledged_with_an_action(
    clinic: dict[str, Implant], nurse: User, physician: User
) -> None:
    morphine = alarms.report_alarm(nurse, clinic["morphine"].id, kind="other", reported_at=NOW)
    baclofen = alarms.report_alarm(
        nurse, clinic["baclofen"].id, kind="low_reservoir", reported_at=NOW
    )
    board = dashboard.worklist(physician, NOW)
    assert [a.alarm_id for a in board.open_alarms] == [str(baclofen.id), str(morphine.id)]
    with pytest.raises(Refusal, match="is empty"):
        alarms.acknowledge_alarm(nurse, baclofen.id, now=NOW, action_taken="  ")
    alarms.acknowledge_alarm(nurse, baclofen.id, now=NOW, action_taken="refill booked today")
    board = dashboard.worklist(physician, NOW)
    assert [a.alarm_id for a in board.open_alarms] == [str(morphine.id)]
    with pytest.raises(Refusal, match="already acknowledged"):
        alarms.acknowledge_alarm(nurse, baclofen.id, now=NOW, action_taken="again")


def test_a_refill_waiting_for_verification_is_listed_until_verified(
    clinic: dict[str, Implant], physician: User, pharmacist: User, nurse: User
) -> None:
    implant = clinic["morphine"]
    refill = refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="change",
        performed_at=at(date(2026, 11, 20)),
        expected=parse("15 mL", Kind.VOLUME, "e"),
        aspirated=parse("15 mL", Kind.VOLUME, "a"),
        fill=refills.Fill(
            (("morphine", parse("20 mg/mL", Kind.CONCENTRATION, "c")),),
            parse("20 mL", Kind.VOLUME, "v"),
            "LOT-2",
        ),
        dose=parse("1 mg/day", Kind.DOSE_RATE, "d"),
    )
    assert [r.refill_id for r in dashboard.worklist(physician, NOW).unverified] == [str(refill.id)]
    refills.verify_refill(pharmacist, refill.id, NOW)
    assert dashboard.worklist(physician, NOW).unverified == []
