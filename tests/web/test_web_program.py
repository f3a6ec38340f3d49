"""Programming the pump between refills with its ready prescription through the test client: a
nurse or a physician sees the prescription and the review of programming it (rate, reservoir,
projection before and after) and confirms it, on to the programmer's readback; without a ready
prescription the page says so; pharmacists, auditors and admins are refused with the roles that
may; a form opened before another change is a 409."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from painpump.clinic.models import Implant, Program
from painpump.clinic.testing import baclofen, prescribed
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return found.group(1)


def prescribe(physician: User, pharmacist: User, implant: Implant, dose: str) -> None:
    """A new dose of the baclofen in the pump, signed and double-checked an hour ago."""
    at = timezone.now() - timedelta(hours=1)
    rate = parse(dose, Kind.DOSE_RATE, "dose")
    prescribed(physician, pharmacist, implant.id, baclofen(), rate, at=at)


def opened(client: Client, implant: Implant) -> dict[str, str]:
    page = client.get(f"/implants/{implant.id}/program/").content.decode()
    return {
        "version": hidden(page, "version"),
        "reviewed": hidden(page, "reviewed"),
        "submission": hidden(page, "submission"),
        "action": "confirm",
    }


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_the_ready_prescription_is_reviewed_programmed_and_read_back(
    implant: Implant, physician: User, pharmacist: User, role: str, request: pytest.FixtureRequest
) -> None:
    prescribe(physician, pharmacist, implant, "440 mcg/day")
    user = request.getfixturevalue(role)
    client = signed_in(user)
    shown = client.get(f"/implants/{implant.id}/program/")
    page = shown.content.decode()
    assert shown.status_code == 200
    assert "Prescription #2" in page and "pharma.cist" in page
    assert "Every setting before and after programming" in page
    assert "0.22 mL/day" in page and "Confirm the programming" in page
    done = client.post(f"/implants/{implant.id}/program/", opened(client, implant))
    assert done.status_code == 302
    program = Program.objects.get(ended_at__isnull=True)
    assert done["Location"] == f"/programs/{program.id}/readback/"
    assert program.prescribed_by == "dr.house" and program.programmed_by == user.username
    assert program.prescription is not None and program.prescription.number == 2
    result = client.get(f"/programs/{program.id}/").content.decode()
    assert "440 mcg/day" in result and "400 mcg/day" in result


def test_without_a_ready_prescription_the_page_says_what_is_missing(
    implant: Implant, nurse: User
) -> None:
    response = signed_in(nurse).get(f"/implants/{implant.id}/program/")
    assert response.status_code == 422
    assert "is not ready to program" in response.content.decode()


@pytest.mark.parametrize("role", ["auditor", "admin", "pharmacist"])
def test_only_nurses_and_physicians_program_the_pump(
    implant: Implant,
    physician: User,
    pharmacist: User,
    role: str,
    request: pytest.FixtureRequest,
) -> None:
    prescribe(physician, pharmacist, implant, "440 mcg/day")
    client = signed_in(request.getfixturevalue(role))
    response = client.get(f"/implants/{implant.id}/program/")
    assert response.status_code == 403
    assert "may not perform refills" in response.content.decode()
    assert "a physician or a nurse may (refill.perform)" in response.content.decode()
    posted = client.post(f"/implants/{implant.id}/program/", {"version": "1", "action": "confirm"})
    assert posted.status_code == 403
    assert Program.objects.count() == 1


def test_a_form_opened_before_a_new_prescription_is_a_conflict(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    prescribe(physician, pharmacist, implant, "440 mcg/day")
    client = signed_in(nurse)
    stale = opened(client, implant)
    prescribe(physician, pharmacist, implant, "420 mcg/day")
    response = client.post(f"/implants/{implant.id}/program/", stale)
    assert response.status_code == 409
    assert "was changed by someone else" in response.content.decode()
    assert Program.objects.count() == 1


def test_a_confirmation_clicked_twice_programs_once(
    implant: Implant, nurse: User, physician: User, pharmacist: User
) -> None:
    prescribe(physician, pharmacist, implant, "440 mcg/day")
    client = signed_in(nurse)
    data = opened(client, implant)
    first = client.post(f"/implants/{implant.id}/program/", data)
    again = client.post(f"/implants/{implant.id}/program/", data)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Program.objects.count() == 2
