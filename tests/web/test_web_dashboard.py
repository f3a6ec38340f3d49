"""The dashboard page: the worklist of the clinic service, every row linking to its patient,
baclofen marked high risk, a prescription awaiting its double-check linking to the check page;
refused to roles that may not read patient records."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from clinic_fixtures import single_bolus_programmed
from frozen import NOW, day
from painpump.clinic.actions import patients, prescriptions
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Implant
from painpump.clinic.testing import baclofen, responder_episode
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse
from painpump.web.templatetags.clinic_time import shown_moment
from painpump.web.views import dashboard as dashboard_page


def test_the_dashboard_lists_the_pump_nearest_its_alarm_and_links_to_the_patient(
    nurse: User, implant: Implant
) -> None:
    client = Client()
    client.force_login(nurse)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "At risk: nearest to the low-reservoir alarm" in page
    patient_id = implant.episode.patient_id
    assert f'href="/patients/{patient_id}/"' in page
    assert "Muster, Erika" in page
    assert "baclofen · high risk" in page


def test_looking_at_the_dashboard_is_audited(nurse: User, implant: Implant) -> None:
    client = Client()
    client.force_login(nurse)
    client.get("/")
    assert AuditEntry.objects.filter(action="dashboard.read", actor="nurse.joy").exists()


def test_an_admin_may_not_see_patient_data_and_is_told_which_roles_may(admin: User) -> None:
    client = Client()
    client.force_login(admin)
    assert client.get("/")["Location"] == "/users/"  # the first page an admin's role opens
    response = client.get("/patients/")
    assert response.status_code == 403
    assert "may not read patient records" in response.content.decode()


def test_the_patient_page_shows_the_pump_and_the_episode(nurse: User, implant: Implant) -> None:
    client = Client()
    client.force_login(nurse)
    response = client.get(f"/patients/{implant.episode.patient_id}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Medtronic SynchroMed II, 20 mL (8637-20)" in page  # the catalog's name, not its key
    assert "synchromed-ii-20" not in page
    assert "NGP123456H" in page


def test_an_unknown_patient_is_a_404_page(nurse: User) -> None:
    client = Client()
    client.force_login(nurse)
    response = client.get("/patients/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


def test_patient_search_answers_htmx_with_rows_only(nurse: User, implant: Implant) -> None:
    client = Client()
    client.force_login(nurse)
    response = client.get("/patients/?q=must", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "Muster, Erika" in page
    assert "<html" not in page


def test_the_app_serves_its_own_scripts_and_styles(db: None) -> None:
    client = Client()
    for path in (
        "/static/web/painpump.css",
        "/static/web/vendor/htmx-2.0.11.min.js",
        "/static/web/vendor/chart-4.6.1.umd.min.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path


def test_the_dashboard_pages_through_long_lists_and_says_how_long_each_is(
    nurse: User, physician: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_page, "PAGE_ROWS", 1)
    for number, name in enumerate(("Adler", "Brandt")):
        patient = patients.create_patient(
            nurse,
            mrn=f"MRN-10{number}",
            family_name=name,
            given_name="Test",
            birth_date=date(1960, 1, 1),
            today=day(-180),
        )
        episode = patients.open_episode(
            physician, patient.id, indication="stroke", referred_on=day(-180)
        )
        responder_episode(physician, episode.id, start=day(-150))
    client = Client()
    client.force_login(nurse)
    first = client.get("/").content.decode()
    waiting = first.split('id="awaiting"')[1].split("</section>")[0]
    assert ">1 of 2<" in waiting
    assert 'href="?page=2" rel="next"' in first
    second = client.get("/?page=2").content.decode()
    assert "page 2, from row 2 of each list" in second
    assert 'href="?page=1" rel="prev"' in second
    names = {n for n in ("Adler", "Brandt") if f"{n}, Test" in waiting}
    assert len(names) == 1
    assert len({n for n in ("Adler", "Brandt") if f"{n}, Test" in second} - names) == 1
    for nonsense in ("-1", "x", "99999"):
        assert client.get(f"/?page={nonsense}").status_code == 200


def test_the_dashboard_names_pumps_and_indications_in_words(nurse: User, implant: Implant) -> None:
    client = Client()
    client.force_login(nurse)
    page = client.get("/").content.decode()
    assert "Medtronic SynchroMed II" in page
    assert "synchromed-ii-20</td>" not in page


def test_a_prescription_awaiting_its_double_check_links_to_the_check_page(
    physician: User, pharmacist: User, implant: Implant
) -> None:
    daily = parse("400 mcg/day", Kind.DOSE_RATE, "dose")
    record = prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, rx.PrescribedProgram.continuous(daily)),
        reason="the dose as before, prescribed again at the visit",
        now=NOW,
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    client = Client()
    client.force_login(pharmacist)
    page = client.get("/").content.decode()
    waiting = page.split('id="awaiting-check"')[1].split("</section>")[0]
    assert 'title="1 in all">1<' in waiting
    assert "Muster, Erika" in waiting and "baclofen" in waiting
    assert f"#{record.number} baclofen · prescribed by dr.house" in waiting
    check_page = reverse("web:prescription-check", args=[record.id])
    assert f'href="{check_page}"' in waiting
    assert client.get(check_page).status_code == 200


def test_a_pump_on_a_single_bolus_reads_bolus_running_until_its_end_then_stopped_since(
    nurse: User, implant: Implant, frozen_clock: time_machine.Traveller
) -> None:
    """On the dashboard and the chart alike, in the clinic's zone: not stopped while the bolus
    runs (programmed 30 minutes ago, for an hour)."""
    started = NOW - timedelta(minutes=30)
    single_bolus_programmed(implant.id, at=started)
    end = shown_moment(started + timedelta(hours=1), clinic_locale())
    chart = f"/patients/{implant.episode.patient_id}/"

    def shown() -> tuple[str, str]:
        client = Client()
        client.force_login(nurse)  # signed in afresh: an hour idle ends a session
        board = client.get("/").content.decode().split('id="stopped"')[1].split("</section>")[0]
        pumping = client.get(chart).content.decode().split('data-testid="stopped"')[1]
        return board, pumping.split("</dd>")[0]

    board, pumping = shown()
    # the reviewer's case: "100 mcg over 1 h", the dose not in the order's unit, no volume
    assert "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)" in board
    assert f"bolus running until {end}" in board and "stopped since" not in board
    assert f"bolus running until {end}" in pumping and "stopped since" not in pumping
    frozen_clock.shift(timedelta(hours=1))
    board, pumping = shown()
    assert f"stopped since {end}" in board and "running" not in board
    assert f"stopped since {end}" in pumping and "running" not in pumping


def test_the_dashboard_lists_a_programming_awaiting_its_readback_linking_to_the_readback_page(
    nurse: User, implant: Implant
) -> None:
    client = Client()
    client.force_login(nurse)
    page = client.get("/").content.decode()
    program = implant.programs.get(ended_at__isnull=True)
    assert "Programmed, awaiting the programmer's readback" in page
    assert 'data-testid="awaiting-readback"' in page
    assert "prescription #1 programmed at a refill by dr.house" in page
    assert reverse("web:readback", args=[program.id]) in page
    assert shown_moment(program.started_at, clinic_locale()) in page
