"""The clinic's catheter figures through the web app: the list shows the catalog's catheters and
the clinic's entries with their status, figure and source; a pharmacist enters a figure (an
implausible one refused next to its field, nothing stored), a physician approves it, and the
implantation form and its result name the clinic's figure; a new figure for one in force goes
through its own link; archiving one in force waits for a second approver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from frozen import ZONE
from painpump.clinic.actions import patients
from painpump.clinic.models import AuditEntry, ClinicCatheter, Episode, Implant, Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import responder_episode

LIST = "/library/catheters/"
NEW = "/library/catheters/new/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return unescape(response.content.decode())


def entry_form(**changes: str) -> dict[str, str]:
    return {
        "model": "8709SC",
        "name": "Intrathecal catheter 8709SC",
        "manufacturer": "Medtronic",
        "volume_per_cm": "2.6 uL/cm",
        "source": "Medtronic IFU 8709SC rev C, page 12",
    } | changes


def entered(pharmacist: User, **changes: str) -> ClinicCatheter:
    response = signed_in(pharmacist).post(NEW, entry_form(**changes))
    assert response.status_code == 302, response.content
    return ClinicCatheter.objects.filter(archived_at__isnull=True).latest("entered_at")


def approve(user: User, row: ClinicCatheter) -> Any:
    return signed_in(user).post(
        f"/library/catheters/{row.id}/approve/", {"version": str(row.version)}
    )


@pytest.fixture
def second_pharmacist(make_user: Callable[..., User]) -> User:
    return make_user("pharma.two", Role.PHARMACIST)


def today() -> date:
    return timezone.localdate(timezone=ZONE)


def responder(physician: User, patient: Patient) -> Episode:
    episode = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=today() - timedelta(days=60)
    )
    return responder_episode(physician, episode.id, start=today() - timedelta(days=30))


def implant_form(version: int, dead_volume: str) -> dict[str, Any]:
    return {
        "implant-version": version,
        "implant-pump_model": "synchromed-ii-20",
        "implant-pump_serial": "NGP555001H",
        "implant-catheter_model": "8709SC",
        "implant-catheter_length": "60 cm",
        "implant-dead_volume": dead_volume,
        "implant-alarm_volume": "",
        "implant-implanted_on": today().isoformat(),
        "implant-discharged_on": "",
    }


def test_the_list_shows_the_catalogs_catheters_and_the_clinics_entries_with_their_status(
    pharmacist: User, nurse: User
) -> None:
    entered(pharmacist)
    page = text(signed_in(nurse).get(LIST))
    assert "prometra-catheter</a>: 0.0026 mL/cm" in page
    assert "Waiting for a second approver (1)" in page
    assert "0.0026 mL/cm (2.6 uL/cm)" in page
    assert "Medtronic IFU 8709SC rev C, page 12" in page
    assert "waiting: not applied" in page
    assert "Enter a catheter figure" not in page  # a nurse enters none


def test_a_pharmacist_enters_a_figure_that_waits_for_a_second_approver(
    pharmacist: User,
) -> None:
    client = signed_in(pharmacist)
    form = text(client.get(NEW))
    assert "0.0026 mL/cm, 2.6 uL/cm, 0.26 uL/mm" in form
    response = client.post(NEW, entry_form())
    assert response.status_code == 302 and response["Location"] == LIST
    row = ClinicCatheter.objects.get()
    assert (row.model, row.pending, row.entered_by) == ("8709sc", True, "pharma.cist")
    page = text(client.get(LIST))
    assert "It waits for a second pharmacist or physician" in page
    assert "another pharmacist or physician approves it" in page  # not its own approver


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("volume_per_cm", "2.6 mL/cm", "is more than an intrathecal catheter plausibly holds"),
        ("volume_per_cm", "2.6 uL", "is not a volume per cm"),
        ("model", "prometra-catheter", "its sourced figure stands"),
    ],
)
def test_a_figure_the_rules_refuse_is_shown_next_to_its_field_and_nothing_is_stored(
    pharmacist: User, field: str, value: str, shown: str
) -> None:
    response = signed_in(pharmacist).post(NEW, entry_form(**{field: value}))
    assert response.status_code == 422
    page = text(response)
    assert shown in page
    assert 'class="field-error"' in page
    assert not ClinicCatheter.objects.exists()
    assert not AuditEntry.objects.filter(object_type="clinic_catheter").exists()


def test_once_approved_the_implant_form_and_its_result_name_the_clinics_figure(
    pharmacist: User, physician: User, patient: Patient
) -> None:
    row = entered(pharmacist)
    assert approve(pharmacist, row).status_code == 403  # never by the one who entered it
    assert approve(physician, row).status_code == 302
    episode = responder(physician, patient)
    client = signed_in(physician)
    page = text(client.get(f"/episodes/{episode.id}/"))
    assert "with the clinic's approved figure: 8709sc" in page
    url = f"/episodes/{episode.id}/implant/"
    above = text(client.post(url, implant_form(episode.version, "0.25 mL")))
    assert 'data-testid="warning-dead_volume_above_catheter"' in above
    assert (
        "the clinic's approved entry computes 0.156 mL for 8709sc at 60 cm (60 cm x 0.0026 "
        "mL/cm, the clinic's figure approved by dr.house, unverified by painpump)"
    ) in above
    done = client.post(url, implant_form(episode.version, "0.16 mL"), follow=True)
    assert Implant.objects.count() == 1
    assert (
        "Dead volume checked against 8709sc: 0.0026 mL/cm, the clinic's figure approved by "
        "dr.house, unverified by painpump."
    ) in text(done)


def test_a_new_figure_for_an_entry_in_force_goes_through_its_link_and_replaces_it(
    pharmacist: User, physician: User, second_pharmacist: User
) -> None:
    old = entered(pharmacist)
    approve(physician, old)
    old.refresh_from_db()
    client = signed_in(second_pharmacist)
    assert f"?replaces={old.id}" in text(client.get(LIST))
    refused = client.post(NEW, entry_form(volume_per_cm="2.8 uL/cm"))
    assert refused.status_code == 422
    assert "already has an entry in force" in text(refused)
    form = text(client.get(f"{NEW}?replaces={old.id}"))
    assert "New figure for 8709sc" in form and "0.0026 mL/cm (2.6 uL/cm)" in form
    sent = client.post(
        NEW,
        entry_form(volume_per_cm="2.8 uL/cm", replaces=str(old.id), version=str(old.version)),
    )
    assert sent.status_code == 302, sent.content
    new = ClinicCatheter.objects.get(replaces=old)
    assert approve(physician, new).status_code == 302
    old.refresh_from_db()
    assert old.archived_at is not None
    assert text(client.get(LIST)).count("(replaces") == 0


def test_archiving_an_entry_in_force_waits_for_a_second_approver(
    pharmacist: User, physician: User
) -> None:
    row = entered(pharmacist)
    approve(physician, row)
    row.refresh_from_db()
    client = signed_in(pharmacist)
    asked = client.post(f"/library/catheters/{row.id}/archive/", {"version": str(row.version)})
    assert asked.status_code == 302
    row.refresh_from_db()
    assert row.removal_pending and row.archived_at is None
    assert "archiving asked for by pharma.cist" in text(client.get(LIST))
    assert approve(physician, row).status_code == 302
    row.refresh_from_db()
    assert row.archived_at is not None
    assert "Archived (1)" in text(client.get(LIST))
