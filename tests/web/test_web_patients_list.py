"""The patients page: 50 patients a page with "51–100 of 120" and previous/next links that keep
the search, the filters and the sort in the URL; filters by stage, drug, pump model and next
refill within N days; each row with the drug in the pump and the next refill-by date; a bad
filter value refused with a page naming the field, the value and what is allowed (never a 500);
the htmx live search answering with the rows; a page read in a bounded number of queries and
audited with the patients shown. The API's GET /api/patients pages the same way."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from clinic_format import written_day
from frozen import TODAY, day
from painpump.clinic.actions import settings_service
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Episode, Implant, Patient

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def a_patient(mrn: str, family: str) -> Patient:
    return Patient.objects.create(
        mrn=mrn, family_name=family, given_name="Test", birth_date=date(1961, 3, 4)
    )


def with_pump(
    mrn: str,
    family: str,
    *,
    drugs: str = "baclofen",
    model: str = "synchromed-ii-20",
    refill_by: date | None = None,
    stage: str = "maintenance",
) -> Patient:
    """A patient with a pump in place, its rows as refills.perform_refill keeps them."""
    patient = a_patient(mrn, family)
    episode = Episode.objects.create(
        patient=patient, indication="stroke", stage=stage, referred_on=day(-300)
    )
    Implant.objects.create(
        episode=episode,
        pump_model=model,
        pump_serial=f"SN-{mrn}",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume_ml=Decimal("0.25"),
        alarm_volume_ml=Decimal(2),
        implanted_on=day(-200),
        refill_by=refill_by,
        drug_names=drugs,
    )
    return patient


def many(count: int) -> None:
    Patient.objects.bulk_create(
        Patient(mrn=f"M{n:03d}", family_name=f"Name {n:03d}", given_name="A", birth_date=TODAY)
        for n in range(count)
    )


def listed(page: str) -> list[str]:
    """The record numbers of the rows shown, in order."""
    return re.findall(r"</a></td><td>([^<]+)</td>", page)


def links(page: str, rel: str) -> list[str]:
    return [unescape(h) for h in re.findall(rf'href="([^"]+)" rel="{rel}"', page)]


def test_the_list_shows_fifty_patients_a_page_with_the_range_and_the_total(nurse: User) -> None:
    many(120)
    client = signed_in(nurse)
    first = client.get("/patients/").content.decode()
    assert listed(first) == [f"M{n:03d}" for n in range(50)]
    assert "1–50 of 120" in first
    assert links(first, "prev") == []
    assert set(links(first, "next")) == {"/patients/?page=2"}
    second = client.get("/patients/?page=2").content.decode()
    assert listed(second) == [f"M{n:03d}" for n in range(50, 100)]
    assert "51–100 of 120" in second
    assert set(links(second, "prev")) == {"/patients/"}
    assert set(links(second, "next")) == {"/patients/?page=3"}
    third = client.get("/patients/?page=3").content.decode()
    assert listed(third) == [f"M{n:03d}" for n in range(100, 120)]
    assert "101–120 of 120" in third
    assert links(third, "next") == []


def test_the_pager_keeps_the_search_the_filters_and_the_sort_in_its_links(nurse: User) -> None:
    for n in range(60):
        with_pump(f"B{n:02d}", "Brandt", refill_by=day(n % 5))
    page = signed_in(nurse).get(
        "/patients/", {"q": "brandt", "drug": "baclofen", "refill_within": "10", "sort": "mrn"}
    )
    text = page.content.decode()
    assert "1–50 of 60" in text
    (following,) = set(links(text, "next"))
    assert following == "/patients/?q=brandt&drug=baclofen&refill_within=10&sort=mrn&page=2"
    second = signed_in(nurse).get(following).content.decode()
    assert listed(second) == [f"B{n:02d}" for n in range(50, 60)]
    assert 'value="brandt"' in second and '<option value="baclofen" selected>' in second


def test_a_page_past_the_end_says_how_many_pages_the_list_has_and_links_back(
    nurse: User,
) -> None:
    many(3)
    response = signed_in(nurse).get("/patients/?page=7")
    page = response.content.decode()
    assert response.status_code == 200
    assert "the 3 patients of this list fill 1 page" in page
    assert set(links(page, "prev")) == {"/patients/"}


def test_each_row_shows_the_drugs_in_the_pump_and_the_next_refill_by_date(
    nurse: User, implant: Implant
) -> None:
    Implant.objects.filter(id=implant.id).update(refill_by=day(5))
    with_pump("ADM", "Adler", drugs="morphine+clonidine", model="prometra-ii-40", refill_by=day(9))
    a_patient("NONE", "Zander")
    page = signed_in(nurse).get("/patients/").content.decode()
    rows = {row.split("</td>")[1][4:]: row for row in page.split("<tr>")[2:]}
    assert "baclofen" in rows["MRN-0001"]
    assert written_day(day(5)) in rows["MRN-0001"]
    assert "Medtronic SynchroMed II, 20 mL" in rows["MRN-0001"]
    assert "implanted" in rows["MRN-0001"]
    assert "morphine + clonidine" in rows["ADM"]
    assert written_day(day(9)) in rows["ADM"]
    assert "Flowonix Prometra II, 40 mL" in rows["ADM"]
    empty_cells = rows["NONE"].count("<td></td>")
    assert empty_cells == 4  # no stage, no drug, no pump, no refill-by date
    assert "overdue" not in page  # neither refill-by date has passed


def test_a_birth_date_is_written_plain_and_a_refill_by_date_passed_is_marked_overdue(
    nurse: User, admin: User
) -> None:
    with_pump("LATE", "Late", refill_by=day(-1))
    with_pump("DUE", "Due", refill_by=TODAY)
    settings_service.update_settings(admin, expected_version=1, date_format="mdy")
    page = signed_in(nurse).get("/patients/").content.decode()
    rows = {row.split("</td>")[1][4:]: row for row in page.split("<tr>")[2:]}
    born = clinic_locale().format_date(date(1961, 3, 4))
    assert born == "03/04/1961"
    assert f"<td>{born}</td>" in rows["LATE"]  # no weekday on a birth date
    badge = '<span class="badge late">overdue</span>'
    assert f"{written_day(day(-1))} {badge}" in rows["LATE"]
    assert written_day(TODAY) in rows["DUE"] and badge not in rows["DUE"]


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"stage": "test_phase"}, ["TEST"]),
        ({"stage": "none"}, ["NONE"]),
        ({"drug": "morphine"}, ["MOR"]),
        ({"drug": "hydromorphone"}, ["HYD"]),
        ({"pump": "prometra-ii-20"}, ["HYD"]),
        ({"refill_within": "7"}, ["BAC", "LATE"]),
        ({"refill_within": "0"}, ["LATE"]),
        ({"drug": "baclofen", "refill_within": "30"}, ["BAC", "LATE"]),
    ],
    ids=lambda v: "&".join(f"{k}={w}" for k, w in v.items()) if isinstance(v, dict) else None,
)
def test_each_filter_narrows_the_list(nurse: User, query: dict[str, str], shown: list[str]) -> None:
    with_pump("BAC", "Adler", drugs="baclofen", refill_by=day(7))
    with_pump("LATE", "Brandt", drugs="baclofen", refill_by=day(-2))
    with_pump("MOR", "Christ", drugs="morphine", refill_by=day(8))
    with_pump("HYD", "Dorn", drugs="hydromorphone", model="prometra-ii-20", refill_by=day(60))
    test = a_patient("TEST", "Engel")
    Episode.objects.create(patient=test, indication="stroke", stage="test_phase", referred_on=TODAY)
    a_patient("NONE", "Fuchs")
    response = signed_in(nurse).get("/patients/", query)
    page = response.content.decode()
    assert response.status_code == 200
    assert listed(page) == shown
    assert f"1–{len(shown)} of {len(shown)}" in page


def test_sorting_by_refill_by_date_puts_patients_without_a_pump_last(nurse: User) -> None:
    with_pump("M1", "Adler", refill_by=day(30))
    with_pump("M2", "Brandt", refill_by=day(-1))
    a_patient("M0", "Christ")
    client = signed_in(nurse)
    assert listed(client.get("/patients/?sort=refill_by").content.decode()) == ["M2", "M1", "M0"]
    assert listed(client.get("/patients/?sort=mrn").content.decode()) == ["M0", "M1", "M2"]
    assert listed(client.get("/patients/").content.decode()) == ["M1", "M2", "M0"]


@pytest.mark.parametrize(
    ("query", "label", "value", "allowed"),
    [
        ("stage=implnted", "Stage", "'implnted'", "one of referred, test_phase"),
        ("drug=aspirin", "Drug in the pump", "'aspirin'", "one of baclofen, bupivacaine"),
        ("pump=pump-9000", "Pump model", "'pump-9000'", "one of cadd-micro, cadd-solis"),
        ("refill_within=soon", "Next refill within (days)", "'soon'", "0 to 365 days"),
        ("refill_within=-1", "Next refill within (days)", "-1", "0 to 365 days"),
        ("refill_within=400", "Next refill within (days)", "400", "0 to 365 days"),
        ("refill_within=" + "9" * 5000, "Next refill within (days)", "9999", "0 to 365 days"),
        ("sort=age", "Sort by", "'age'", "one of name, mrn, refill_by"),
        ("page=0", "Page", "0", "a page number from 1 to"),
        ("page=two", "Page", "'two'", "a page number from 1 to"),
    ],
    ids=lambda v: v[:30] if isinstance(v, str) else None,
)
def test_a_bad_filter_value_is_a_422_page_naming_the_field_the_value_and_what_is_allowed(
    nurse: User, patient: Patient, query: str, label: str, value: str, allowed: str
) -> None:
    reads = AuditEntry.objects.filter(action="patient.search").count()
    response = signed_in(nurse).get(f"/patients/?{query}")
    page = unescape(response.content.decode())
    assert response.status_code == 422
    assert 'role="alert"' in page
    message = page.split('role="alert">')[1].split("</p>")[0]
    assert message.startswith(f"{label}: {value}")
    assert f"limit: {allowed}" in message
    assert "(source: " in message
    assert "Muster" not in page  # no patient is listed ...
    assert AuditEntry.objects.filter(action="patient.search").count() == reads  # ... or read
    assert '<form class="filters"' in page  # the form stays, to correct the value


def test_a_bad_filter_value_in_a_live_search_comes_back_in_the_rows(nurse: User) -> None:
    response = signed_in(nurse).get("/patients/?drug=aspirin", headers={"HX-Request": "true"})
    page = unescape(response.content.decode())
    assert response.status_code == 200  # htmx swaps no 4xx answer: the message must show
    assert "<html" not in page
    assert "Drug in the pump: 'aspirin' is not a known drug" in page


def test_the_live_search_answers_with_the_rows_and_the_pager_only(nurse: User) -> None:
    many(60)
    response = signed_in(nurse).get("/patients/?q=name&sort=mrn", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and "<form" not in page
    assert "1–50 of 60" in page
    assert set(links(page, "next")) == {"/patients/?q=name&sort=mrn&page=2"}
    assert "HX-Request" in response["Vary"]
    restored = signed_in(nurse).get(
        "/patients/?q=name",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restored.content.decode()  # going back in history needs the whole page


def test_the_search_box_and_the_filters_send_the_whole_form_to_htmx(nurse: User) -> None:
    page = signed_in(nurse).get("/patients/").content.decode()
    search_box = page.split('<input id="q"')[1].split(">")[0]
    assert 'hx-include="closest form"' in search_box
    form = page.split('<form class="filters"')[1].split(">")[0]
    assert 'method="get"' in form and 'hx-push-url="true"' in form


def test_a_page_is_audited_with_the_patients_it_shows(nurse: User) -> None:
    many(60)
    signed_in(nurse).get("/patients/?page=2")
    entry = AuditEntry.objects.filter(action="patient.search").latest("seq")
    shown = Patient.objects.filter(mrn__in=[f"M{n:03d}" for n in range(50, 60)])
    assert entry.actor == "nurse.joy"
    assert entry.after is not None
    assert set(entry.after["results"]) == {str(p.id) for p in shown}
    assert entry.after["total"] == 60


def test_a_page_costs_a_bounded_number_of_queries_however_many_patients(
    nurse: User, django_assert_max_num_queries: Any
) -> None:
    for n in range(150):
        with_pump(f"P{n:03d}", f"Name {n:03d}", drugs="morphine+clonidine", refill_by=day(n % 20))
    many(150)
    client = signed_in(nurse)
    client.get("/patients/?refill_within=1")  # the session, roles and clinic settings warmed
    for query in (
        "",
        "?page=3&sort=refill_by",
        "?drug=clonidine&pump=synchromed-ii-20&refill_within=10&stage=maintenance",
    ):
        # 18: the list's audit entry is written after the read, in a transaction of its own (a
        # savepoint here).
        with django_assert_max_num_queries(18):
            response = client.get(f"/patients/{query}")
        assert response.status_code == 200
        assert len(listed(response.content.decode())) == 50


def test_the_api_pages_patients_with_offset_and_limit(nurse: User) -> None:
    many(5)
    client = signed_in(nurse)
    paged = client.get("/api/patients?offset=1&limit=2").json()
    assert [p["mrn"] for p in paged] == ["M001", "M002"]
    assert [p["mrn"] for p in client.get("/api/patients").json()] == [f"M{n:03d}" for n in range(5)]
    assert client.get("/api/patients?limit=101").status_code == 422
