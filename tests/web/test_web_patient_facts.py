"""The patient facts through the forms (registration, edit) and on the chart header, and the
origin-of-spasticity override on its episode page: a refusal is shown next to its field."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import User
from django.test import Client

from frozen import day
from painpump.clinic.actions import patients
from painpump.clinic.models import Episode, Patient


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def edit_form(patient: Patient, **changes: str) -> dict[str, str]:
    data = {
        "version": str(patient.version),
        "family_name": patient.family_name,
        "given_name": patient.given_name,
        "birth_date": patient.birth_date.isoformat(),
        "weight_kg": "",
        "opioid_status": "unknown",
        "psychosis_history": "",
        "life_expectancy_months": "",
    }
    return data | changes


def test_a_patient_registered_with_facts_shows_them_on_the_chart(nurse: User) -> None:
    client = signed_in(nurse)
    form = client.get("/patients/new/").content.decode()
    assert 'name="weight_kg"' in form and "tumour pain" in form
    response = client.post(
        "/patients/new/",
        {
            "mrn": "MRN-F7",
            "family_name": "Fakt",
            "given_name": "Fritz",
            "birth_date": "1961-03-04",
            "weight_kg": "81.5",
            "opioid_status": "naive",
            "psychosis_history": "yes",
            "life_expectancy_months": "8",
        },
    )
    created = Patient.objects.get(mrn="MRN-F7")
    assert response.status_code == 302
    assert (created.weight_kg, created.opioid_status) == (Decimal("81.50"), "naive")
    assert (created.psychosis_history, created.life_expectancy_months) == (True, 8)
    chart = client.get(f"/patients/{created.id}/").content.decode()
    assert "Weight 81.5 kg" in chart
    assert "opioid status naive" in chart
    assert "history of psychosis yes" in chart
    assert "life expectancy 8 months" in chart


def test_the_edit_form_round_trips_the_facts_and_refuses_next_to_the_field(
    patient: Patient, physician: User
) -> None:
    client = signed_in(physician)
    url = f"/patients/{patient.id}/edit/"
    chart = client.get(f"/patients/{patient.id}/").content.decode()
    assert url in chart
    assert "Weight not recorded" in chart and "history of psychosis not recorded" in chart
    assert "life expectancy" not in chart
    refused = client.post(url, edit_form(patient, weight_kg="4000"))
    assert refused.status_code == 422
    assert "is not a plausible body weight" in refused.content.decode()
    patient.refresh_from_db()
    assert (patient.version, patient.weight_kg) == (1, None)
    done = client.post(
        url, edit_form(patient, weight_kg="70", opioid_status="tolerant", psychosis_history="no")
    )
    assert done.status_code == 302
    patient.refresh_from_db()
    assert (patient.version, patient.weight_kg, patient.opioid_status) == (
        2,
        Decimal("70.00"),
        "tolerant",
    )
    assert patient.psychosis_history is False
    form = client.get(url).content.decode()
    assert 'value="70"' in form
    assert '<option value="no" selected>' in form
    stale = client.post(url, edit_form(patient, version="1", weight_kg="71"))
    assert stale.status_code == 409


def _stroke(physician: User, patient: Patient) -> Episode:
    return patients.open_episode(physician, patient.id, indication="stroke", referred_on=day(-9))


def test_a_physician_overrides_the_origin_and_the_chart_and_episode_show_it(
    patient: Patient, physician: User
) -> None:
    episode = _stroke(physician, patient)
    client = signed_in(physician)
    chart = client.get(f"/patients/{patient.id}/").content.decode()
    assert "origin cerebral (from the indication (stroke))" in chart
    url = f"/episodes/{episode.id}/origin/"
    assert url in client.get(f"/episodes/{episode.id}/").content.decode()
    short = client.post(url, {"version": "1", "origin": "spinal", "reason": "MRI"})
    assert short.status_code == 422 and "is too short" in short.content.decode()
    reason = "MRI shows a spinal cord lesion"
    done = client.post(url, {"version": "1", "origin": "spinal", "reason": reason})
    assert done.status_code == 302
    chart = client.get(f"/patients/{patient.id}/").content.decode()
    assert f"origin spinal (override: {reason})" in chart
    page = client.get(f"/episodes/{episode.id}/").content.decode()
    assert f"spinal (override: {reason})" in page


def test_a_nurse_cannot_open_the_origin_form(
    patient: Patient, physician: User, nurse: User
) -> None:
    episode = _stroke(physician, patient)
    assert signed_in(nurse).get(f"/episodes/{episode.id}/origin/").status_code == 403
