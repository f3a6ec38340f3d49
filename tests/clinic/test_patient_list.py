"""The patients list (queries.search_patients): a page of patients at a time with the size of the
whole list; filtered by the stage of the current episode, the drug and the model of the pump in
place and its next refill-by date counted from the clinic's today; sorted by name, record number
or refill-by date (no pump last); bad filter values refused with the field, the value and what is
allowed; each page read in a bounded number of queries and audited with the patients shown."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from frozen import NOW, TODAY, day
from painpump.clinic.models import AuditEntry, Episode, Implant, Patient
from painpump.clinic.reads import queries
from painpump.clinic.roles import Forbidden
from painpump.core.errors import Refusal

pytestmark = pytest.mark.django_db


def a_patient(mrn: str, family: str = "", *, born: date = date(1960, 1, 1)) -> Patient:
    return Patient.objects.create(
        mrn=mrn, family_name=family or f"Family {mrn}", given_name="Test", birth_date=born
    )


def an_episode(
    patient: Patient, stage: str, *, referred: int = -200, closed: bool = False
) -> Episode:
    return Episode.objects.create(
        patient=patient,
        indication="stroke",
        stage=stage,
        referred_on=day(referred),
        closed_at=NOW - timedelta(days=10) if closed else None,
    )


def a_pump(
    episode: Episode,
    *,
    drugs: str = "baclofen",
    model: str = "synchromed-ii-20",
    refill_by: date | None = None,
    explanted: bool = False,
) -> Implant:
    """A pump in the episode's patient (rows as refills.perform_refill keeps them: the drugs of
    the last fill "+"-joined and the refill-by date)."""
    return Implant.objects.create(
        episode=episode,
        pump_model=model,
        pump_serial=f"SN-{episode.id.hex[:8]}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume_ml=Decimal("0.25"),
        alarm_volume_ml=Decimal(2),
        implanted_on=day(-100),
        explanted_on=day(-5) if explanted else None,
        refill_by=refill_by,
        drug_names=drugs,
    )


def pumped(mrn: str, family: str = "", **pump: Any) -> Patient:
    """A patient in maintenance with a pump in place."""
    patient = a_patient(mrn, family)
    a_pump(an_episode(patient, "maintenance"), **pump)
    return patient


def mrns(listing: queries.PatientList) -> list[str]:
    return [row.patient.mrn for row in listing.rows]


def test_a_page_holds_fifty_patients_in_name_order_and_the_total_counts_the_whole_list(
    nurse: User,
) -> None:
    Patient.objects.bulk_create(
        Patient(mrn=f"M{n:03d}", family_name=f"Name {n:03d}", given_name="A", birth_date=TODAY)
        for n in reversed(range(120))
    )
    first = queries.search_patients(nurse)
    second = queries.search_patients(nurse, offset=50)
    last = queries.search_patients(nurse, offset=100)
    assert mrns(first) == [f"M{n:03d}" for n in range(50)]
    assert mrns(second) == [f"M{n:03d}" for n in range(50, 100)]
    assert mrns(last) == [f"M{n:03d}" for n in range(100, 120)]
    assert {first.total, second.total, last.total} == {120}
    assert (second.first, second.last, second.has_previous, second.has_next) == (
        51,
        100,
        True,
        True,
    )
    assert (last.first, last.last, last.has_next) == (101, 120, False)


def test_a_page_past_the_end_is_empty_and_still_says_how_long_the_list_is(nurse: User) -> None:
    for n in range(3):
        a_patient(f"M{n}")
    past = queries.search_patients(nurse, offset=50)
    assert past.rows == []
    assert past.total == 3
    assert queries.search_patients(nurse, "nobody").total == 0


def test_the_search_words_and_the_filters_narrow_the_total_too(nurse: User) -> None:
    for n in range(3):
        pumped(f"B{n}", "Brandt", drugs="baclofen")
    pumped("M0", "Brandt", drugs="morphine")
    a_patient("X0", "Adler")
    found = queries.search_patients(nurse, "brandt", drug="baclofen", limit=2)
    assert len(found.rows) == 2
    assert found.total == 3


def test_the_stage_is_that_of_the_open_episode_else_the_newest_closed_one(nurse: User) -> None:
    reopened = a_patient("P-OPEN")
    an_episode(reopened, "closed", referred=-30, closed=True)  # newer, but closed
    an_episode(reopened, "test_phase", referred=-300)
    closed = a_patient("P-CLOSED")
    an_episode(closed, "closed_non_responder", referred=-300, closed=True)
    an_episode(closed, "closed", referred=-30, closed=True)
    referred = a_patient("P-REF")
    an_episode(referred, "referred")
    a_patient("P-NONE")
    assert mrns(queries.search_patients(nurse, stage="test_phase")) == ["P-OPEN"]
    assert mrns(queries.search_patients(nurse, stage="closed")) == ["P-CLOSED"]
    assert mrns(queries.search_patients(nurse, stage="closed_non_responder")) == []
    assert mrns(queries.search_patients(nurse, stage="referred")) == ["P-REF"]
    assert mrns(queries.search_patients(nurse, stage="none")) == ["P-NONE"]
    stages = {row.patient.mrn: row.stage for row in queries.search_patients(nurse).rows}
    assert stages == {
        "P-OPEN": "test_phase",
        "P-CLOSED": "closed",
        "P-REF": "referred",
        "P-NONE": None,
    }


def test_the_drug_filter_matches_a_whole_drug_name_of_the_pump_in_place(nurse: User) -> None:
    pumped("MOR", drugs="morphine")
    pumped("HYD", drugs="hydromorphone")  # holds "morphine" as text, not as a drug
    pumped("ADM", drugs="bupivacaine+morphine+clonidine")
    pumped("END", drugs="clonidine+morphine")
    gone = a_patient("OLD")
    a_pump(an_episode(gone, "explanted"), drugs="morphine", explanted=True)
    assert mrns(queries.search_patients(nurse, drug="morphine")) == ["ADM", "END", "MOR"]
    assert mrns(queries.search_patients(nurse, drug="Hydromorphone")) == ["HYD"]
    assert mrns(queries.search_patients(nurse, drug="clonidine")) == ["ADM", "END"]
    assert mrns(queries.search_patients(nurse, drug="ziconotide")) == []


def test_the_pump_filter_keeps_patients_with_that_model_in_place(nurse: User) -> None:
    pumped("S20", model="synchromed-ii-20")
    pumped("P40", model="prometra-ii-40")
    replaced = a_patient("REPL")
    episode = an_episode(replaced, "maintenance")
    a_pump(episode, model="synchromed-ii-20", explanted=True)
    a_pump(episode, model="prometra-ii-40")
    assert mrns(queries.search_patients(nurse, pump="prometra-ii-40")) == ["P40", "REPL"]
    assert mrns(queries.search_patients(nurse, pump="synchromed-ii-20")) == ["S20"]
    row = queries.search_patients(nurse, "REPL").rows[0]
    assert row.pump_model == "prometra-ii-40"


def test_next_refill_within_n_days_counts_from_the_clinic_today_and_keeps_the_overdue(
    nurse: User,
) -> None:
    pumped("LATE", refill_by=day(-3))
    pumped("TODAY", refill_by=day(0))
    pumped("IN7", refill_by=day(7))
    pumped("IN8", refill_by=day(8))
    a_patient("NOPUMP")
    assert mrns(queries.search_patients(nurse, refill_within=7)) == ["IN7", "LATE", "TODAY"]
    assert mrns(queries.search_patients(nurse, refill_within=0)) == ["LATE", "TODAY"]
    # another clinic day: the horizon moves with it
    later = queries.search_patients(nurse, refill_within=0, today=day(8))
    assert mrns(later) == ["IN7", "IN8", "LATE", "TODAY"]


def test_filters_combine_on_the_same_pump(nurse: User) -> None:
    pumped("A", drugs="baclofen", model="synchromed-ii-40", refill_by=day(3))
    pumped("B", drugs="baclofen", model="synchromed-ii-20", refill_by=day(3))
    pumped("C", drugs="morphine", model="synchromed-ii-40", refill_by=day(3))
    pumped("D", drugs="baclofen", model="synchromed-ii-40", refill_by=day(30))
    found = queries.search_patients(
        nurse, stage="maintenance", drug="baclofen", pump="synchromed-ii-40", refill_within=14
    )
    assert mrns(found) == ["A"]


def test_each_row_carries_the_drugs_and_the_refill_by_date_of_the_pump_in_place(
    nurse: User,
) -> None:
    pumped("ADM", drugs="morphine+clonidine", refill_by=day(12))
    a_patient("NOPUMP")
    rows = {row.patient.mrn: row for row in queries.search_patients(nurse).rows}
    assert rows["ADM"].drugs == ("morphine", "clonidine")
    assert rows["ADM"].refill_by == day(12)
    assert (rows["NOPUMP"].drugs, rows["NOPUMP"].refill_by, rows["NOPUMP"].pump_model) == (
        (),
        None,
        None,
    )


def test_the_filled_implant_of_the_fixtures_is_found_by_its_drug_and_model(
    nurse: User, implant: Implant
) -> None:
    found = queries.search_patients(nurse, drug="baclofen", pump="synchromed-ii-20")
    assert [row.patient.id for row in found.rows] == [implant.episode.patient_id]
    row = found.rows[0]
    assert row.drugs == ("baclofen",)
    assert row.refill_by == Implant.objects.get(id=implant.id).refill_by
    assert row.stage == "implanted"


def test_sorting_by_record_number_and_by_refill_by_date_with_patients_without_a_pump_last(
    nurse: User,
) -> None:
    pumped("M2", "Adler", refill_by=day(20))
    pumped("M3", "Brandt", refill_by=day(-2))
    a_patient("M1", "Christ")
    a_patient("M0", "Dorn")
    pumped("M4", "Engel")  # a pump never filled: no refill-by date yet
    assert mrns(queries.search_patients(nurse)) == ["M2", "M3", "M1", "M0", "M4"]
    assert mrns(queries.search_patients(nurse, sort="mrn")) == ["M0", "M1", "M2", "M3", "M4"]
    assert mrns(queries.search_patients(nurse, sort="refill_by")) == ["M3", "M2", "M1", "M0", "M4"]


@pytest.mark.parametrize(
    ("given", "field", "value", "allowed"),
    [
        ({"stage": "implnted"}, "stage", "'implnted'", "one of referred, test_phase"),
        ({"drug": "aspirin"}, "drug", "'aspirin'", "one of baclofen, bupivacaine"),
        ({"pump": "pump-9000"}, "pump", "'pump-9000'", "one of cadd-micro, cadd-solis"),
        ({"refill_within": -1}, "refill_within", "-1", "0 to 365 days"),
        ({"refill_within": 366}, "refill_within", "366", "0 to 365 days"),
        ({"sort": "birth_date"}, "sort", "'birth_date'", "one of name, mrn, refill_by"),
        ({"offset": -50}, "offset", "-50", ">= 0"),
        ({"limit": 0}, "limit", "0", "1 to 100"),
        ({"limit": 101}, "limit", "101", "1 to 100"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_value_not_allowed_is_refused_with_the_field_the_value_and_what_is_allowed(
    nurse: User, patient: Patient, given: dict[str, Any], field: str, value: str, allowed: str
) -> None:
    entries = AuditEntry.objects.count()
    with pytest.raises(Refusal) as refused:
        queries.search_patients(nurse, **given)
    assert (refused.value.field, refused.value.value) == (field, value)
    assert allowed in refused.value.limit
    assert refused.value.source
    assert field in refused.value.message and value in refused.value.message
    assert AuditEntry.objects.count() == entries  # nothing was read


def test_a_role_that_may_not_read_patient_records_is_refused_before_any_filter(
    admin: User,
) -> None:
    with pytest.raises(Forbidden):
        queries.search_patients(admin, stage="no such stage")


def test_a_page_is_audited_with_the_patients_shown_and_the_filters(nurse: User) -> None:
    for n in range(60):
        pumped(f"M{n:02d}", drugs="baclofen")
    shown = queries.search_patients(nurse, drug="baclofen", offset=50)
    entry = AuditEntry.objects.filter(action="patient.search").latest("seq")
    assert entry.actor == "nurse.joy"
    assert entry.after is not None
    assert entry.after["results"] == [str(row.patient.id) for row in shown.rows]
    assert len(entry.after["results"]) == 10
    assert entry.after["filters"] == {"drug": "baclofen"}
    assert (entry.after["offset"], entry.after["total"]) == (50, 60)


def _many(count: int) -> None:
    """`count` patients, every other one with a pump in place and its refill-by date."""
    patients = Patient.objects.bulk_create(
        Patient(mrn=f"Q{n:05d}", family_name=f"F{n}", given_name="G", birth_date=TODAY)
        for n in range(count)
    )
    episodes = Episode.objects.bulk_create(
        Episode(patient=p, indication="stroke", stage="maintenance", referred_on=day(-300))
        for p in patients[::2]
    )
    Implant.objects.bulk_create(
        Implant(
            episode=e,
            pump_model="synchromed-ii-40",
            pump_serial=f"S{n}",
            catheter_model="8709SC",
            catheter_length_cm=Decimal(60),
            dead_volume_ml=Decimal("0.25"),
            alarm_volume_ml=Decimal(2),
            implanted_on=day(-200),
            refill_by=day(n % 40 - 5),
            drug_names="morphine+clonidine" if n % 3 else "baclofen",
        )
        for n, e in enumerate(episodes)
    )


@pytest.mark.parametrize("count", [10, 400])
def test_a_page_costs_the_same_few_queries_with_ten_or_hundreds_of_patients(
    nurse: User, django_assert_max_num_queries: Any, count: int
) -> None:
    _many(count)
    queries.search_patients(nurse)  # warm the role cache and the clinic settings
    for filters in (
        {},
        {"sort": "refill_by", "offset": 50},
        {
            "drug": "morphine",
            "pump": "synchromed-ii-40",
            "refill_within": 10,
            "stage": "maintenance",
        },
        {"offset": 5000},  # past the end: counted on its own
    ):
        with django_assert_max_num_queries(10):
            found = queries.search_patients(nurse, **filters)
        assert found.total <= count
