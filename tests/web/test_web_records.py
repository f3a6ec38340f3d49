"""New patient, referral and assessments through the test client: who may, what is refused
next to the field with nothing stored, and a form sent twice records once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from frozen import ZONE, day
from painpump.clinic.actions import patients
from painpump.clinic.models import Assessment, Episode, Patient


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def patient_form(**changes: str) -> dict[str, str]:
    data = {
        "mrn": "MRN-7001",
        "family_name": "Beispiel",
        "given_name": "Hans",
        "birth_date": "1961-03-04",
    }
    data.update(changes)
    return data


def test_a_nurse_registers_a_patient_and_lands_on_the_chart(nurse: User) -> None:
    client = signed_in(nurse)
    assert 'href="/patients/new/"' in client.get("/patients/").content.decode()
    response = client.post("/patients/new/", patient_form())
    created = Patient.objects.get(mrn="MRN-7001")
    assert response.status_code == 302
    assert response["Location"] == f"/patients/{created.id}/"


def test_a_birth_date_in_the_future_is_refused_next_to_the_field(nurse: User) -> None:
    tomorrow = (timezone.localdate(timezone=ZONE) + timedelta(days=1)).isoformat()
    response = signed_in(nurse).post("/patients/new/", patient_form(birth_date=tomorrow))
    page = response.content.decode()
    assert response.status_code == 422
    assert "is not a plausible birth date" in page
    assert page.index("is not a plausible birth date") > page.index('id="id_birth_date"')
    assert not Patient.objects.exists()


def test_a_record_number_already_used_is_refused(nurse: User, patient: Patient) -> None:
    response = signed_in(nurse).post("/patients/new/", patient_form(mrn=patient.mrn))
    assert response.status_code == 422
    assert "belongs to another patient" in response.content.decode()
    assert Patient.objects.count() == 1


def test_auditors_and_admins_may_not_register_patients(auditor: User, admin: User) -> None:
    for user in (auditor, admin):
        client = signed_in(user)
        assert client.get("/patients/new/").status_code == 403
        assert client.post("/patients/new/", patient_form()).status_code == 403
    assert not Patient.objects.exists()


def test_a_physician_opens_an_episode_once_even_when_the_form_is_sent_twice(
    physician: User, patient: Patient
) -> None:
    client = signed_in(physician)
    page = client.get(f"/patients/{patient.id}/episodes/new/").content.decode()
    assert 'name="key"' in page
    data = {
        "key": "k-123",
        "indication": "multiple_sclerosis",
        "referred_on": day(-324).isoformat(),
    }
    first = client.post(f"/patients/{patient.id}/episodes/new/", data)
    again = client.post(f"/patients/{patient.id}/episodes/new/", data)
    episode = Episode.objects.get(patient=patient)
    assert first["Location"] == again["Location"] == f"/episodes/{episode.id}/"


def test_a_brain_injury_needs_its_date_and_nothing_is_opened_without(
    physician: User, patient: Patient
) -> None:
    data = {
        "key": "k-9",
        "indication": "traumatic_brain_injury",
        "referred_on": day(-324).isoformat(),
    }
    response = signed_in(physician).post(f"/patients/{patient.id}/episodes/new/", data)
    page = response.content.decode()
    assert response.status_code == 422
    assert "is required for traumatic_brain_injury" in page
    assert page.index("is required for traumatic_brain_injury") > page.index('id="id_injury_date"')
    assert not Episode.objects.exists()


def test_a_nurse_may_not_open_an_episode(nurse: User, patient: Patient) -> None:
    client = signed_in(nurse)
    assert client.get(f"/patients/{patient.id}/episodes/new/").status_code == 403
    data = {"key": "k-1", "indication": "stroke", "referred_on": day(-324).isoformat()}
    assert client.post(f"/patients/{patient.id}/episodes/new/", data).status_code == 403
    assert not Episode.objects.exists()


def episode_of(physician: User, patient: Patient) -> Episode:
    return patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=timezone.localdate(timezone=ZONE)
    )


def assessment_form(episode: Episode, **changes: str) -> dict[str, str]:
    data = {
        "key": "a-1",
        "episode": str(episode.id),
        "taken_at": timezone.localtime(timezone=ZONE).strftime("%Y-%m-%dT%H:%M"),
        "pain_nrs": "7",
        "ashworth_left_leg": "1.5",
        "ashworth_right_leg": "3",
        "omed": "120 mg/day",
        "note": "before the test phase",
    }
    data.update(changes)
    return data


def test_a_nurse_records_pain_ashworth_per_limb_and_the_oral_dose_once(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = episode_of(physician, patient)
    client = signed_in(nurse)
    page = client.get(f"/patients/{patient.id}/").content.decode()
    assert f'href="/patients/{patient.id}/assessments/new/"' in page
    assert f'href="/episodes/{episode.id}/"' in page
    first = client.post(f"/patients/{patient.id}/assessments/new/", assessment_form(episode))
    again = client.post(f"/patients/{patient.id}/assessments/new/", assessment_form(episode))
    assert first.status_code == again.status_code == 302
    stored = {(a.kind, a.limb, a.value) for a in Assessment.objects.all()}
    assert stored == {
        ("pain_nrs", "", Decimal("7")),
        ("ashworth", "left_leg", Decimal("1.5")),
        ("ashworth", "right_leg", Decimal("3")),
        ("omed_mg_per_day", "", Decimal("120")),
    }
    shown = client.get(f"/episodes/{episode.id}/").content.decode()
    assert "120 mg/day" in shown


def test_the_oral_dose_in_grams_is_stored_in_mg_per_day(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = episode_of(physician, patient)
    form = assessment_form(episode, pain_nrs="", ashworth_left_leg="", ashworth_right_leg="")
    form["omed"] = "0.3 g/day"
    signed_in(nurse).post(f"/patients/{patient.id}/assessments/new/", form)
    assert Assessment.objects.get().value == Decimal("300")


def test_an_oral_dose_without_unit_is_refused_and_no_measure_of_the_session_is_stored(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = episode_of(physician, patient)
    response = signed_in(nurse).post(
        f"/patients/{patient.id}/assessments/new/", assessment_form(episode, omed="120")
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert page.index("unit") > page.index('id="id_omed"')
    assert not Assessment.objects.exists()


def test_an_oral_dose_beyond_the_scale_is_refused_by_the_service_with_nothing_stored(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = episode_of(physician, patient)
    response = signed_in(nurse).post(
        f"/patients/{patient.id}/assessments/new/",
        assessment_form(episode, omed="200000 mg/day"),
    )
    assert response.status_code == 422
    assert "is outside the scale" in response.content.decode()
    assert not Assessment.objects.exists()


def test_an_assessment_in_the_future_or_without_any_measure_is_refused(
    physician: User, nurse: User, patient: Patient
) -> None:
    episode = episode_of(physician, patient)
    client = signed_in(nurse)
    later = (timezone.localtime(timezone=ZONE) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    future = client.post(
        f"/patients/{patient.id}/assessments/new/", assessment_form(episode, taken_at=later)
    )
    assert future.status_code == 422
    assert "is in the future" in future.content.decode()
    empty = client.post(
        f"/patients/{patient.id}/assessments/new/",
        assessment_form(episode, pain_nrs="", ashworth_left_leg="", ashworth_right_leg="", omed=""),
    )
    assert empty.status_code == 422
    assert "Enter at least one measure" in empty.content.decode()
    assert not Assessment.objects.exists()


def test_auditors_read_but_may_not_record_assessments(
    physician: User, auditor: User, patient: Patient
) -> None:
    episode = episode_of(physician, patient)
    client = signed_in(auditor)
    page = client.get(f"/patients/{patient.id}/").content.decode()
    assert "Record an assessment" not in page
    assert client.get(f"/patients/{patient.id}/assessments/new/").status_code == 403
    response = client.post(f"/patients/{patient.id}/assessments/new/", assessment_form(episode))
    assert response.status_code == 403
    assert not Assessment.objects.exists()
