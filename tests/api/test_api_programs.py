"""Programming between refills and appointment changes through HTTP: the ready prescription
programmed by a nurse (201, naming the prescription), a typed dose refused (422, an unknown
field), a prescription beyond the label's step refused (422 naming the rule)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import baclofen_implant, check_body, post, prescription_body

from painpump.clinic.models import Implant, Patient, Prescription, Program
from painpump.clinic.roles import Role


@pytest.fixture
def implant(users: dict[Role, User], patient: Patient) -> Implant:
    return baclofen_implant(users[Role.PHYSICIAN], patient)


def test_a_nurse_programs_the_ready_prescription_and_a_typed_dose_is_refused(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    """Between refills the pump is programmed only with its ready prescription: the old
    titration body (a dose typed at the pump) is refused as an unknown field, programming
    before a prescription is ready is refused naming it, and the program names the
    prescription it executes, its prescriber and who programmed it."""
    url = f"/api/implants/{implant.id}/programs"
    nurse, physician = client_as(Role.NURSE), client_as(Role.PHYSICIAN)
    typed = post(physician, url, {"version": implant.version, "dose": "440 mcg/day"})
    assert typed.status_code == 422
    assert (typed.json()["error"]["field"], typed.json()["error"]["limit"]) == (
        "dose",
        "Extra inputs are not permitted",
    )
    none_ready = post(nurse, url, {"version": implant.version})
    assert none_ready.status_code == 422, none_ready.content
    assert none_ready.json()["error"]["field"] == "prescription"
    signed = post(
        physician,
        f"/api/implants/{implant.id}/prescriptions",
        prescription_body(
            implant.version, program={"kind": "continuous", "dose": "440 mcg/day"}, ptm=None
        ),
    ).json()
    check = check_body(program={"kind": "continuous", "dose": "440 mcg/day"}, ptm=None)
    checked = post(client_as(Role.PHARMACIST), f"/api/prescriptions/{signed['id']}/checks", check)
    assert checked.status_code == 201, checked.content
    version = checked.json()["prescription"]["implant_version"]
    assert post(client_as(Role.AUDITOR), url, {"version": version}).status_code == 403
    response = post(nurse, url, {"version": version})
    assert response.status_code == 201, response.content
    program = response.json()
    assert program["dose"] == {"value": 440, "unit": "mcg/day"}
    assert program["rate"] == {"value": 0.22, "unit": "mL/day"}
    assert (program["prescription"], program["prescribed_by"], program["programmed_by"]) == (
        signed["number"],
        "dr.house",
        "nurse.joy",
    )
    stale = post(nurse, url, {"version": version})
    assert stale.status_code == 409
    assert (
        Program.objects.filter(implant=implant, ended_at__isnull=True).get().dose_mcg_per_day == 440
    )


def test_a_prescription_beyond_the_label_step_is_refused_naming_the_rule(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    response = post(
        client_as(Role.PHYSICIAN),
        f"/api/implants/{implant.id}/prescriptions",
        prescription_body(implant.version, program={"kind": "continuous", "dose": "600 mcg/day"}),
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "max_step_percent" in message or "min_hours_between_increases" in message
    assert not Prescription.objects.filter(number=2).exists()


def test_an_appointment_is_booked_over_http_and_refused_after_its_due_date(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    from datetime import timedelta

    from painpump.clinic.models import Appointment

    appointment = Appointment.objects.get()
    assert appointment.due_by is not None
    url = f"/api/appointments/{appointment.id}"
    assert appointment.overdue  # the fixture's pump is past its refill-by date: urgent
    nurse = client_as(Role.NURSE)
    refused = nurse.patch(url, {"status": "booked"}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "late_reason"
    yesterday = (appointment.due_by - timedelta(days=1)).isoformat()
    past = nurse.patch(url, {"on": yesterday}, content_type="application/json")
    assert (past.status_code, past.json()["error"]["field"]) == (422, "on")
    booked = nurse.patch(
        url, {"status": "booked", "late_reason": "first free slot"}, content_type="application/json"
    )
    assert booked.status_code == 200, booked.content
    assert (booked.json()["status"], booked.json()["late_reason"]) == ("booked", "first free slot")
    assert booked.json()["overdue"] is True and booked.json()["starts_at"]
    auditor = client_as(Role.AUDITOR).patch(
        url, {"status": "done"}, content_type="application/json"
    )
    assert auditor.status_code == 403


def test_two_clinicians_moving_the_same_appointment_conflict_instead_of_overwriting(
    client_as: Callable[[Role | None], Client], implant: Implant
) -> None:
    from painpump.clinic.models import Appointment

    appointment = Appointment.objects.get()
    url = f"/api/appointments/{appointment.id}"
    nurse, physician = client_as(Role.NURSE), client_as(Role.PHYSICIAN)
    on = appointment.on.isoformat()
    version = nurse.get("/api/appointments", {"from": on, "to": on})
    seen = version.json()[0]["version"]
    first = nurse.patch(
        url,
        {"status": "booked", "expected_version": seen, "late_reason": "first free slot"},
        content_type="application/json",
    )
    assert first.status_code == 200, first.content
    assert first.json()["version"] == seen + 1
    second = physician.patch(
        url, {"status": "cancelled", "expected_version": seen}, content_type="application/json"
    )
    assert second.status_code == 409
    assert Appointment.objects.get().status == "booked"


@pytest.mark.parametrize(
    "starts_at", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-12:00", "2026-12-07T09:07"]
)
def test_a_hostile_start_is_refused_naming_it_not_a_server_error(
    client_as: Callable[[Role | None], Client], implant: Implant, starts_at: str
) -> None:
    from painpump.clinic.models import Appointment

    appointment = Appointment.objects.get()
    answer = client_as(Role.NURSE).patch(
        f"/api/appointments/{appointment.id}",
        {"starts_at": starts_at, "late_reason": "x y"},
        content_type="application/json",
    )
    assert answer.status_code == 422, answer.content
    assert "starts_at" in answer.content.decode()
    assert Appointment.objects.get().version == appointment.version
