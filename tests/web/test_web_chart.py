"""The patient chart and the what-if pages through Django's test client: what each role sees or is
refused, the chart of a five-year history rendered quickly in a bounded number of queries, and
the what-if form that projects and checks a proposed refill or program without saving anything
(bad input and hard limits refused next to the field, with their reason and source)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import DjangoAssertNumQueries

import hard_stops
from chart_history import long_history
from clinic_fixtures import IMPLANTED, REFERRED, TEST_PHASE, single_bolus_programmed
from clinic_format import read_moment, written_day
from frozen import NOW, TODAY, day
from painpump.clinic.actions import implantation, patients, refills, settings_service
from painpump.clinic.actions import prescriptions as prescription_actions
from painpump.clinic.demo import seed as demo
from painpump.clinic.locale import clinic_locale
from painpump.clinic.models import AuditEntry, Implant, Patient, Program, Refill
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.dose_history import Phase
from painpump.core.prescription_compare import CheckEntries
from painpump.core.units import Kind, parse
from painpump.web.templatetags.clinic_time import shown_moment
from report_scenario import (
    PRESCRIBED_AT,
    first_fill_on_the_prescribers_reason,
    measured_to_two_places,
)

HTMX = {"HX-Request": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def chart_of(user: User, patient_id: object) -> str:
    response = client_for(user).get(f"/patients/{patient_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_chart_shows_program_pump_reservoir_and_pathway(nurse: User, implant: Implant) -> None:
    page = chart_of(nurse, implant.episode.patient_id)
    assert "baclofen 2000 mcg/mL at 0.2 mL/day = 400 mcg/day, continuous" in page
    assert "baclofen · high risk" in page
    assert "NGP123456H" in page and "8709SC, 60 cm implanted" in page
    assert 'data-chart="reservoir"' in page
    assert 'id="reservoir-data" type="application/json"' in page
    assert "Test phase decided: responder" in page
    assert f'href="/implants/{implant.id}/what-if/"' in page
    assert "first fill" in page
    assert "Medtronic SynchroMed II, 20 mL (8637-20), serial NGP123456H" in page  # the timeline
    assert "synchromed-ii-20" not in page  # the catalog's key is no name for a user


def test_the_pump_card_gives_the_mri_instructions_with_their_sources(
    nurse: User, implant: Implant
) -> None:
    page = chart_of(nurse, implant.episode.patient_id)
    assert 'data-testid="mri"' in page
    assert "the magnet stalls the pump motor" in page
    assert "interrogate the pump after the MRI to check its status" in page
    assert "source: medtronic-mri-guidelines-synchromed-ii" in page
    assert "baclofen: infusion is interrupted by the scan; watch for withdrawal" in page
    assert "source: baclofen-intrathecal-openfda-label" in page


def test_a_stay_on_the_timeline_is_written_in_the_clinic_date_format(
    nurse: User, admin: User, implant: Implant
) -> None:
    discharged = TEST_PHASE + timedelta(days=2)
    stay = "{} to {}: test phase stay of 2 days"
    page = chart_of(nurse, implant.episode.patient_id)
    assert stay.format(TEST_PHASE.isoformat(), discharged.isoformat()) in page  # iso by default
    settings_service.update_settings(admin, expected_version=1, date_format="dmy_slashes")
    page = chart_of(nurse, implant.episode.patient_id)
    assert stay.format(f"{TEST_PHASE:%d/%m/%Y}", f"{discharged:%d/%m/%Y}") in page


def test_the_chart_page_has_no_inline_script_or_style(nurse: User, implant: Implant) -> None:
    page = chart_of(nurse, implant.episode.patient_id)
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert scripts and all('type="application/json"' in s for s in scripts)
    assert " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)


def test_a_patient_without_a_pump_has_a_chart_too(nurse: User, patient: Patient) -> None:
    page = chart_of(nurse, patient.id)
    assert "No pump implanted." in page
    assert "Muster, Erika" in page


def test_the_refill_history_shows_expected_and_aspirated_to_the_same_places(
    nurse: User, implant: Implant
) -> None:
    measured_to_two_places(nurse, implant)
    page = chart_of(nurse, implant.episode.patient_id)
    assert '<td class="num">8.125 mL</td>\n        <td class="num">8.100 mL</td>' in page


def test_an_admin_is_refused_the_chart_with_the_roles_that_may(
    admin: User, implant: Implant
) -> None:
    response = client_for(admin).get(f"/patients/{implant.episode.patient_id}/")
    assert response.status_code == 403
    assert "may not read patient records" in response.content.decode()


def test_five_years_of_refills_render_whole_in_a_bounded_number_of_queries(
    physician: User, nurse: User, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    """The render time itself is a benchmark (scripts/bench-web), not a timed assertion."""
    implant = long_history(physician, nurse)
    client = client_for(nurse)
    url = f"/patients/{implant.episode.patient_id}/"
    # With the settings history's prefetches and the accepts refused at its double-checks
    # (one read of the audit trail), the check that the session needs no code, and the read's
    # audit entry written after the read (in a transaction of its own: a savepoint here).
    with django_assert_max_num_queries(49):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count("LOT-LONG") == 41


def test_a_nurse_who_refilled_is_shown_as_programming_never_as_prescribing(
    physician: User, nurse: User
) -> None:
    implant = long_history(physician, nurse)
    page = chart_of(nurse, implant.episode.patient_id)
    assert "programmed by dr.house between refills" in page  # the running program
    assert "<td>nurse.joy (refill)</td>" in page and "<td>dr.house (programming)</td>" in page
    assert "prescribed by nurse.joy" not in page.lower()


def test_the_what_if_form_starts_from_the_current_fill_and_program(
    pharmacist: User, implant: Implant
) -> None:
    response = client_for(pharmacist).get(f"/implants/{implant.id}/what-if/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="dose_or_rate" value=' not in page  # empty: as prescribed
    assert 'placeholder="as prescribed (#1)"' in page
    assert 'value="20 mL"' in page
    assert 'value="2000 mcg/mL"' in page
    assert "Baclofen concentration" in page
    assert "Nothing is saved on this page" in page
    assert AuditEntry.objects.filter(action="implant.what_if.open", actor="pharma.cist").exists()


def proposal(**changes: str) -> dict[str, str]:
    data = {
        "mode": "refill",
        "dose_or_rate": "400 mcg/day",
        "volume": "20 mL",
        "conc_0": "2000 mcg/mL",
    }
    data.update(changes)
    return data


def test_a_higher_dose_brings_the_alarm_forward_and_nothing_is_saved(
    nurse: User, implant: Implant
) -> None:
    programs, refill_count = Program.objects.count(), Refill.objects.count()
    stored = Implant.objects.get(id=implant.id)
    assert stored.alarm_at is not None
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/",
        proposal(mode="program", dose_or_rate="440 mcg/day"),
        headers=HTMX,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "baclofen 2000 mcg/mL at 0.22 mL/day = 440 mcg/day, continuous" in page
    alarm = re.search(r'data-testid="proposed-alarm"><strong>([^<]+)<', page)
    assert alarm is not None
    proposed = read_moment(alarm.group(1))
    assert proposed < stored.alarm_at
    assert (Program.objects.count(), Refill.objects.count()) == (programs, refill_count)
    assert Implant.objects.get(id=implant.id).alarm_at == stored.alarm_at
    entry = AuditEntry.objects.filter(action="implant.what_if").get()
    assert entry.after is not None and entry.after["dose_or_rate"] == "440 mcg/day"


def test_a_dose_step_beyond_the_label_is_refused_with_its_source(
    nurse: User, implant: Implant
) -> None:
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/", proposal(dose_or_rate="800 mcg/day"), headers=HTMX
    )
    page = response.content.decode()
    assert "This would be refused" in page
    assert "is stopped by max_step_percent" in page
    assert "source: lioresal-label: Lioresal label" in page


def test_a_rate_gives_the_dose_at_the_concentration(nurse: User, implant: Implant) -> None:
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/",
        proposal(mode="program", dose_or_rate="0.21 mL/day"),
        headers=HTMX,
    )
    page = response.content.decode()
    assert "at 0.21 mL/day = 420 mcg/day" in page
    assert "no refill:" in page


def test_a_dose_without_a_unit_is_refused_next_to_the_field(nurse: User, implant: Implant) -> None:
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/", proposal(dose_or_rate="400"), headers=HTMX
    )
    page = response.content.decode()
    assert 'role="alert">Daily dose or rate: &#x27;400&#x27; has no unit' in page
    assert not AuditEntry.objects.filter(action="implant.what_if").exists()


def test_a_hard_limit_is_shown_as_refused_with_its_source(nurse: User, implant: Implant) -> None:
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/", proposal(dose_or_rate="5000 mcg/day"), headers=HTMX
    )
    page = response.content.decode()
    assert "This would be refused" in page
    assert "source:" in page
    assert 'data-testid="proposed-alarm">—' in page


def test_a_volume_above_the_reservoir_is_refused_next_to_the_volume(
    nurse: User, implant: Implant
) -> None:
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/", proposal(volume="25 mL"), headers=HTMX
    )
    page = response.content.decode()
    assert re.search(r'role="alert">Volume to fill: 25 mL', page)


def test_a_refused_concentration_is_named_as_the_form_names_it(
    nurse: User, implant: Implant
) -> None:
    response = client_for(nurse).get(
        f"/implants/{implant.id}/what-if/", proposal(conc_0="3000 mcg/mL"), headers=HTMX
    )
    page = response.content.decode()
    assert re.search(r'role="alert">Baclofen concentration: baclofen 3000 mcg/mL', page)
    assert "drugs[" not in page


@pytest.fixture
def ziconotide_pump(physician: User, nurse: User) -> Implant:
    """A tumour-pain patient implanted directly, first filled with ziconotide 23 days ago."""
    return hard_stops.ziconotide_pump(physician, nurse)


def test_ziconotides_first_refill_limit_sets_the_refill_by_date(
    nurse: User, ziconotide_pump: Implant
) -> None:
    response = client_for(nurse).get(
        f"/implants/{ziconotide_pump.id}/what-if/",
        {"mode": "program", "dose_or_rate": "2.6 mcg/day", "volume": "", "conc_0": ""},
        headers=HTMX,
    )
    page = response.content.decode()
    fourteen_days = written_day(day(-23) + timedelta(days=14))  # the fill's day and 14 days
    assert f'data-testid="proposed-refill-by"><strong>{fourteen_days}<' in page
    assert "limited by the stability of ziconotide: 14 days from the fill" in page


def test_an_admin_is_refused_the_what_if(admin: User, implant: Implant) -> None:
    response = client_for(admin).get(f"/implants/{implant.id}/what-if/")
    assert response.status_code == 403


def test_a_pump_never_filled_has_no_what_if(physician: User, patient: Patient) -> None:
    from painpump.clinic.testing import MEDTRONIC_CATHETER, responder_episode

    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=REFERRED
    )
    responder = responder_episode(physician, episode.id, start=TEST_PHASE)
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=responder.version,
        now=datetime.combine(IMPLANTED, time(12, 0), tzinfo=UTC),
        pump_model="synchromed-ii-20",
        pump_serial="NGP-EMPTY",
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=IMPLANTED,
    )
    response = client_for(physician).get(f"/implants/{implant.id}/what-if/")
    assert response.status_code == 422
    assert "has nothing to project" in response.content.decode()
    assert "The pump has not been filled yet" in chart_of(physician, patient.id)


def test_every_demo_patients_chart_and_what_if_open(db: None) -> None:
    """The demo clinic holds every indication and stage (non-responders, tumour pain implanted
    directly, admixtures, ziconotide, explanted pumps): each chart opens, and so does the what-if
    of each pump that runs a program, with a proposal too."""
    report = demo.seed(patients=30, seed=1, today=TODAY)
    nurse = User.objects.get(username=next(x.username for x in report.logins if x.role == "nurse"))
    client = client_for(nurse)
    for patient in Patient.objects.all():
        response = client.get(f"/patients/{patient.id}/")
        assert response.status_code == 200, patient.mrn
    running = Implant.objects.filter(explanted_on__isnull=True, programs__ended_at__isnull=True)
    assert running.exists()
    for implant in running.distinct():
        assert client.get(f"/implants/{implant.id}/what-if/").status_code == 200
        answer = client.get(
            f"/implants/{implant.id}/what-if/",
            {"mode": "program", "dose_or_rate": "0.1 mL/day"},
            headers=HTMX,
        )
        assert answer.status_code == 200
        assert "What would happen" in answer.content.decode()


def test_an_override_given_at_prescribing_is_the_prescribers_on_the_chart_and_the_refill_page(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """The nurse's first fill passed the start-dose warning on the physician's reason, given
    when signing: neither the refill history nor the refill's page names the nurse for it."""
    refill = first_fill_on_the_prescribers_reason(physician, pharmacist, nurse, patient)
    given = f"(dr.house, {shown_moment(PRESCRIBED_AT, clinic_locale())}, at prescribing)"
    chart = chart_of(nurse, patient.id)
    refills = chart.split('id="refills"')[1].split("</section>")[0]
    assert 'data-testid="given-max_start_dose">' + given in refills
    history = chart.split('data-testid="prescriptions"')[1].split("</section>")[0]
    assert 'data-testid="given-max_start_dose">' + given in history
    page = client_for(nurse).get(f"/refills/{refill.id}/").content.decode()
    assert 'data-testid="given-max_start_dose">' + given in page


def test_an_override_stored_before_where_it_was_given_was_kept_is_the_nurses_as_recorded(
    patient: Patient, physician: User, pharmacist: User, nurse: User
) -> None:
    """No words compared: the prescriber's reason on a refill stored without where it was given
    shows as the nurse's who performed it, worded as recorded."""
    refill = first_fill_on_the_prescribers_reason(physician, pharmacist, nurse, patient)
    older = [{"rule": o["rule"], "reason": o["reason"]} for o in refill.acknowledged]
    Refill.objects.filter(id=refill.id).update(acknowledged=older)
    given = (
        f"(nurse.joy, {shown_moment(refill.performed_at, clinic_locale())}, at the refill, "
        "as recorded (who gave it was not stored then))"
    )
    refills = chart_of(nurse, patient.id).split('id="refills"')[1].split("</section>")[0]
    assert 'data-testid="given-max_start_dose">' + given in refills
    page = client_for(nurse).get(f"/refills/{refill.id}/").content.decode()
    assert 'data-testid="given-max_start_dose">' + given in page


def test_a_single_bolus_is_shown_as_its_bolus_while_it_runs_then_as_nothing_pumped(
    nurse: User, implant: Implant, frozen_clock: time_machine.Traveller
) -> None:
    """The program card and the dose history show the bolus, its volume and its rate, never a
    daily dose or the stored kind's name; after its end, the pump pumps nothing at 0 mL/day."""
    started = NOW - timedelta(minutes=30)
    single_bolus_programmed(implant.id, at=started)
    end = shown_moment(started + timedelta(hours=1), clinic_locale())
    bolus = "single bolus 100 mcg over 1 h (0.05 mL, at 0.05 mL/h)"
    chart = f"/patients/{implant.episode.patient_id}/"

    def card_and_doses() -> tuple[str, str]:
        page = client_for(nurse).get(chart).content.decode()
        card = page.split('id="program"')[1].split("</section>")[0]
        doses = page.split('id="doses"')[1].split("</section>")[0]
        return card, doses

    card, doses = card_and_doses()
    assert ">Program running</h2>" in card
    assert f"baclofen 2000 mcg/mL: {bolus}: <strong>bolus running until {end}</strong>" in card
    assert "single_bolus" not in card and "mcg/day" not in card
    assert re.search(r'data-testid="program-mode">single bolus\b', card)
    assert f"baclofen {bolus}" in doses and f"bolus running until {end}" in doses
    assert "100 mcg/day" not in doses and "0.05 mL/day" not in doses
    frozen_clock.shift(timedelta(hours=1))
    card, doses = card_and_doses()
    assert f"stopped since {end}: pumps nothing" in card and "running until" not in card
    assert "<dt>Rate</dt><dd>0 mL/day" in card and "single_bolus" not in card
    assert ">Program (stopped)</h2>" in card and "Program running" not in card
    assert f"stopped since {end}: pumps nothing" in doses and "running" not in doses


def test_the_reservoir_card_says_how_much_of_its_pumping_is_patient_boluses(
    nurse: User, physician: User, pharmacist: User, implant: Implant
) -> None:
    """400 mcg/day at 2000 mcg/mL and at most 4 boluses of 10 mcg: 0.22 mL/day, of which up
    to 0.02 mL/day are the patient's boluses."""
    drugs = baclofen().drugs
    program = rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    ptm = rx.patient_bolus("10 mcg", "2 min", "4 hour", "4")
    past = NOW - timedelta(days=30)
    record = prescription_actions.prescribe(
        physician,
        implant.id,
        rx.Prescription(drugs, program, ptm, Phase.MAINTENANCE),
        reason="boluses for the evening spasms",
        now=past - timedelta(hours=2),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    prescription_actions.double_check(
        pharmacist,
        record.id,
        entries=CheckEntries(drugs, program, ptm),
        accept=True,
        comment="",
        now=past - timedelta(hours=1),
    )
    refills.perform_refill(
        nurse,
        implant.id,
        idempotency_key="with-ptm",
        performed_at=past,
        # 20 mL at 0.2 mL/day 55 days and some hours before: about 8.95 mL left
        expected=parse("9 mL", Kind.VOLUME, "e"),
        aspirated=parse("9 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
    )
    page = client_for(nurse).get(f"/patients/{implant.episode.patient_id}/").content.decode()
    pumping = page.split('data-testid="pumping">')[1].split("</dd>")[0]
    assert pumping == "0.22 mL/day: 0.2 mL/day program + up to 0.02 mL/day of patient boluses"
