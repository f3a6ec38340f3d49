"""Pages say what is so, in a clinician's words: a session whose latest readback matches while an
earlier one's incident is open reads as stopped with the incident open (never "complete"); a
programming between refills says "between refills"; an incident names the prescription it
differs from; the new-prescription form starts from the patient bolus's duration and lockout as a
programmer shows them ("10 min", "4 h"), which the form reads back unchanged."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from clinic_fixtures import titrated
from painpump.clinic.actions import prescriptions
from painpump.clinic.models import Implant, Incident, Program
from painpump.clinic.reads.readback_expected import expected_reservoir
from painpump.clinic.testing import baclofen
from painpump.core import prescription as rx
from painpump.core.units import Kind, parse

pytestmark = pytest.mark.django_db

PTM_ENTRIES = ("ptm_dose", "ptm_duration", "ptm_lockout", "ptm_max_per_day")
STOPPED_MATCHING = "stopped: incident open (a physician must close it); the latest readback matches"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def titration(physician: User, implant: Implant, nurse: User) -> Program:
    """420 mcg/day programmed by the nurse an hour ago, between refills."""
    dose = parse("420 mcg/day", Kind.DOSE_RATE, "d")
    return titrated(
        physician, implant.id, dose, at=timezone.now() - timedelta(hours=1), programmer=nurse
    )


def readback(reservoir: str) -> dict[str, str]:
    return {
        "reservoir": reservoir,
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "continuous",
        "dose": "420 mcg/day",
    }


def twin_reservoir(program: Program) -> str:
    twin = expected_reservoir(program, timezone.now()).most
    return f"{twin.canonical.quantize(Decimal('0.1'))} mL"


def state_of(page: str) -> str:
    found = re.search(r'data-testid="session-state">([^<]*)<', page)
    assert found, "no session state"
    return found.group(1)


def test_a_matching_readback_after_a_differing_one_reads_stopped_until_the_incident_closes(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    url = f"/programs/{program.id}/readback/"
    client = signed_in(nurse)
    assert client.post(url, readback("8 mL")).status_code == 302
    differing = unescape(client.get(url).content.decode())
    assert state_of(differing) == (
        "stopped: the latest readback differs; incident open (a physician must close it)"
    )
    assert client.post(url, readback(twin_reservoir(program))).status_code == 302
    page = unescape(client.get(url).content.decode())
    assert state_of(page) == STOPPED_MATCHING
    assert "Session complete" not in page and 'data-testid="readback-incident-open"' in page
    assert "What the programmer shows" not in page  # nothing left to read back
    chart = unescape(client.get(f"/patients/{implant.episode.patient_id}/").content.decode())
    assert state_of(chart.split('data-testid="prescription-2"')[1]) == STOPPED_MATCHING
    incident = Incident.objects.get()
    closed = signed_in(physician).post(
        f"/incidents/{incident.id}/close/", {"resolution": "programmer corrected, read back"}
    )
    assert closed.status_code == 302
    done = unescape(client.get(url).content.decode())
    assert state_of(done) == "complete" and "Session complete" in done


def test_a_programming_between_refills_says_so_on_the_readback_page_and_the_chart(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    page = unescape(client.get(f"/programs/{program.id}/readback/").content.decode())
    assert "programmed by nurse.joy between refills" in page
    chart = unescape(client.get(f"/patients/{implant.episode.patient_id}/").content.decode())
    assert "programmed by nurse.joy between refills" in chart
    assert "at a programming" not in page + chart


def test_the_chart_names_the_prescription_an_incident_differs_from(
    implant: Implant, physician: User, nurse: User
) -> None:
    program = titration(physician, implant, nurse)
    client = signed_in(nurse)
    client.post(f"/programs/{program.id}/readback/", readback("8 mL"))
    chart = unescape(client.get(f"/patients/{implant.episode.patient_id}/").content.decode())
    assert "<strong>Programmer readback differs from prescription #2</strong>, opened" in chart


@pytest.mark.parametrize(
    ("duration", "lockout", "shown_duration", "shown_lockout"),
    [
        ("600 s", "14400 s", "10 min", "4 h"),
        ("2 min", "3 hour", "2 min", "3 h"),
        ("90 s", "5400 s", "90 s", "90 min"),
    ],
    ids=["minutes-and-hours", "as-typed", "seconds-and-minutes"],
)
def test_the_new_form_starts_from_the_patient_bolus_as_a_programmer_shows_it(
    implant: Implant,
    physician: User,
    duration: str,
    lockout: str,
    shown_duration: str,
    shown_lockout: str,
) -> None:
    """The values offered are read back by the form unchanged: reviewed as offered, nothing is
    refused and no patient-bolus setting changes."""
    program = rx.PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "dose"))
    ptm = rx.patient_bolus("5 mcg", duration, lockout, "3")
    prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(baclofen().drugs, program, ptm),
        reason="boluses for the evening spasms",
        now=timezone.now() - timedelta(hours=1),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    client = signed_in(physician)
    url = f"/implants/{implant.id}/prescribe/"
    form = client.get(url).content.decode()
    names = ("version", "submission", "concentration", "dose", *PTM_ENTRIES)
    offered = {
        name: re.search(rf'name="{name}" value="([^"]*)"', form).group(1)  # type: ignore[union-attr]
        for name in names
    }
    assert (offered["ptm_duration"], offered["ptm_lockout"]) == (shown_duration, shown_lockout)
    entries = {"drug": "baclofen", "kind": "continuous", "reason": "the same again"}
    review = client.post(url, {**offered, **entries, "action": "review"})
    page = unescape(review.content.decode())
    assert review.status_code == 200, page
    changes = page.split('data-testid="changes"')[1].split("</table>")[0]
    assert "Bolus duration" not in changes and "Lockout" not in changes
