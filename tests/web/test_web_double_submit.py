"""A web form sent twice (a double-click, the browser's resubmission) makes one record: a new
patient and a prescription carry a hidden key made when the form was shown and the second post
gets the first one's answer (the redirect to what was made); the same form sent again with other
entries is refused and makes nothing; a refused post leaves its key free for the corrected one;
a booking sent twice books once (the version shown: the second is a 409); a prescription form
signed after someone else prescribed for the pump is a 409, not a refusal measured against a
prescription the physician never reviewed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from painpump.clinic.models import Appointment, AuditEntry, Implant, Patient, Prescription
from painpump.clinic.roles import Role
from painpump.plumbing.idempotency import REPLAYED

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def patient_form(client: Client, **changes: str) -> dict[str, str]:
    page = client.get("/patients/new/").content.decode()
    data = {
        "submission": hidden(page, "submission"),
        "mrn": "MRN-8001",
        "family_name": "Zweimal",
        "given_name": "Gesendet",
        "birth_date": "1958-02-03",
    }
    return data | changes


def test_a_new_patient_sent_twice_is_registered_once(nurse: User) -> None:
    client = signed_in(nurse)
    data = patient_form(client)
    first = client.post("/patients/new/", data)
    again = client.post("/patients/new/", data)
    created = Patient.objects.get(mrn="MRN-8001")
    assert (first.status_code, again.status_code) == (302, 302)
    assert first["Location"] == again["Location"] == f"/patients/{created.id}/"
    assert again[REPLAYED] == "true" and REPLAYED not in first
    assert AuditEntry.objects.filter(action="patient.create").count() == 1


def test_the_same_patient_form_sent_with_other_entries_makes_nothing(nurse: User) -> None:
    client = signed_in(nurse)
    data = patient_form(client)
    assert client.post("/patients/new/", data).status_code == 302
    other = client.post("/patients/new/", {**data, "mrn": "MRN-8002", "family_name": "Anders"})
    assert other.status_code == 422
    assert "open the form again" in other.content.decode()
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["MRN-8001"]


def test_a_refused_patient_form_corrected_is_registered(nurse: User) -> None:
    client = signed_in(nurse)
    data = patient_form(client, birth_date="2999-01-01")
    assert client.post("/patients/new/", data).status_code == 422
    corrected = client.post("/patients/new/", {**data, "birth_date": "1958-02-03"})
    assert corrected.status_code == 302 and REPLAYED not in corrected
    assert Patient.objects.filter(mrn="MRN-8001").count() == 1


def prescription(client: Client, implant: Implant, dose: str) -> dict[str, Any]:
    """The new-prescription form shown, reviewed and ready to sign."""
    url = f"/implants/{implant.id}/prescribe/"
    page = client.get(url).content.decode()
    data = {
        "version": hidden(page, "version"),
        "submission": hidden(page, "submission"),
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "continuous",
        "dose": dose,
        "reason": "the evening spasms are back",
    }
    review = client.post(url, {**data, "action": "review"})
    return {**data, "reviewed": hidden(review.content.decode(), "reviewed"), "action": "sign"}


def test_a_prescription_signed_twice_is_signed_once(implant: Implant, physician: User) -> None:
    client = signed_in(physician)
    data = prescription(client, implant, "440 mcg/day")
    url = f"/implants/{implant.id}/prescribe/"
    first, again = client.post(url, data), client.post(url, data)
    assert first["Location"] == again["Location"]
    assert first["Location"] == f"/patients/{implant.episode.patient_id}/#prescriptions"
    assert again[REPLAYED] == "true"
    assert Prescription.objects.filter(implant=implant).count() == 2  # the fixture's and this
    assert AuditEntry.objects.filter(action="prescription.create").count() == 2


def test_a_booking_sent_twice_books_once(implant: Implant, nurse: User) -> None:
    appointment = Appointment.objects.get(kind="refill", status="proposed")
    refill = implant.refills.get()
    client = signed_in(nurse)
    url = f"/refills/{refill.id}/book/"
    data = {
        "appointment": str(appointment.id),
        "version": str(appointment.version),
        "late_reason": "the pump is past its refill-by date: first free slot",
    }
    first, again = client.post(url, data), client.post(url, data)
    assert (first.status_code, again.status_code) == (302, 409)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.version) == ("booked", int(data["version"]) + 1)
    assert AuditEntry.objects.filter(action="appointment.update").count() == 1


def test_a_stale_prescription_form_is_a_409_not_a_refusal_of_a_change_never_reviewed(
    implant: Implant, physician: User, make_user: Callable[..., User]
) -> None:
    mine, theirs = signed_in(physician), signed_in(make_user("dr.other", Role.PHYSICIAN))
    stale = prescription(mine, implant, "390 mcg/day")
    url = f"/implants/{implant.id}/prescribe/"
    assert theirs.post(url, prescription(theirs, implant, "380 mcg/day")).status_code == 302
    response = mine.post(url, stale)
    assert response.status_code == 409, response.content
    assert "was changed by someone else" in response.content.decode()
    newest = Prescription.objects.filter(implant=implant).latest("number")
    assert newest.daily_dose_mcg_per_day == 380
