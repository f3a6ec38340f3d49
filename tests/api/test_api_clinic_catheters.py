"""The clinic's catheter entries through the API (/api/clinic-catheters): a pharmacist posts a
Medtronic catheter's volume per cm, a physician approves it, and the implantation's answer names
the figure its dead volume was judged against; writes carry the version read (a missing one is
422, a stale one 409); an implausible figure is a 422 naming field, value, limit and source."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import expected_to_live, new_episode, post, today

from painpump.clinic.models import ClinicCatheter, Implant, Patient
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER

URL = "/api/clinic-catheters"


def entry_body(**changes: Any) -> dict[str, Any]:
    return {
        "model": "8709SC",
        "name": "Intrathecal catheter 8709SC",
        "manufacturer": "Medtronic",
        "volume_per_cm": {"value": 2.6, "unit": "uL/cm"},
        "source": "Medtronic IFU 8709SC rev C, page 12",
    } | changes


def implant_body(**changes: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "pump_model": "synchromed-ii-20",
        "pump_serial": "NGP123456H",
        "catheter_model": "8709SC",
        "catheter_length": "60 cm",
        "dead_volume": "0.16 mL",
        "implanted_on": today().isoformat(),
    } | changes


def implant(client: Client, users: dict[Role, User], patient: Patient, **changes: Any) -> Any:
    expected_to_live(users[Role.NURSE], patient)
    episode = new_episode(users[Role.PHYSICIAN], patient, "tumour_pain", 10)
    return post(client, f"/api/episodes/{episode.id}/implants", implant_body(**changes))


def test_an_approved_entry_is_the_figure_the_implantation_answers(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    pharmacist, physician = client_as(Role.PHARMACIST), client_as(Role.PHYSICIAN)
    added = post(pharmacist, URL, entry_body())
    assert added.status_code == 201, added.content
    entry = added.json()
    assert (entry["model"], entry["status"], entry["verified"]) == ("8709sc", "waiting", False)
    assert entry["volume_per_cm"] == {"value": 0.0026, "unit": "mL/cm"}
    assert entry["volume_per_cm_text"] == "0.0026 mL/cm (2.6 uL/cm)"
    own = post(pharmacist, f"{URL}/{entry['id']}/approve", {"version": 1})
    assert own.status_code == 403 and "four eyes" in own.json()["error"]["message"]
    done = post(physician, f"{URL}/{entry['id']}/approve", {"version": 1})
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["approved_by"]) == ("in force", "dr.house")
    registered = implant(physician, users, patient)
    assert registered.status_code == 201, registered.content
    figure = registered.json()["catheter_figure"]
    assert (figure["basis"], figure["entry"], figure["entry_version"]) == (
        "clinic",
        entry["id"],
        2,
    )
    assert figure["volume_per_cm"] == {"value": 0.0026, "unit": "mL/cm"}
    assert figure["words"] == (
        "0.0026 mL/cm, the clinic's figure approved by dr.house, unverified by painpump"
    )
    listed = physician.get(URL).json()
    assert [(e["model"], e["status"]) for e in listed] == [("8709sc", "in force")]


def test_a_dead_volume_below_the_approved_figure_is_a_422_naming_the_clinics_figure(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    entry = post(client_as(Role.PHARMACIST), URL, entry_body()).json()
    post(client_as(Role.PHYSICIAN), f"{URL}/{entry['id']}/approve", {"version": 1})
    refused = implant(client_as(Role.PHYSICIAN), users, patient, dead_volume="0.1 mL")
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("dead_volume", "0.1 mL")
    assert "(60 cm x 0.0026 mL/cm, the clinic's figure approved by dr.house" in error["limit"]
    assert error["source"].startswith("clinic catheter entry: Medtronic IFU 8709SC rev C")
    assert not Implant.objects.exists()


def test_without_an_approved_entry_the_implantation_answers_no_figure(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    post(client_as(Role.PHARMACIST), URL, entry_body())  # waiting: not applied
    registered = implant(
        client_as(Role.PHYSICIAN),
        users,
        patient,
        dead_volume="0.25 mL",
        acknowledge=dict(MEDTRONIC_CATHETER),
    )
    assert registered.status_code == 201, registered.content
    assert registered.json()["catheter_figure"] is None


def test_a_catalog_figure_is_answered_as_the_catalogs(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    registered = implant(
        client_as(Role.PHYSICIAN),
        users,
        patient,
        pump_model="prometra-ii-20",
        catheter_model="prometra-catheter",
    )
    assert registered.status_code == 201, registered.content
    figure = registered.json()["catheter_figure"]
    assert (figure["basis"], figure["verified"], figure["entry"]) == ("catalog", True, None)


def test_an_implausible_figure_is_a_422_naming_field_value_limit_and_source(
    client_as: Callable[[Role | None], Client],
) -> None:
    refused = post(client_as(Role.PHARMACIST), URL, entry_body(volume_per_cm="2.6 mL/cm"))
    assert refused.status_code == 422, refused.content
    error = refused.json()["error"]
    assert (error["field"], error["value"]) == ("volume_per_cm", "2.6 mL/cm (2600 uL/cm)")
    assert error["limit"] == (
        "clinic settings, unverified: 0.0005 to 0.01 mL/cm (hard limit: no override)"
    )
    assert error["source"].startswith("rule-clinic-setting")
    catalog = post(client_as(Role.PHARMACIST), URL, entry_body(model="prometra-catheter"))
    assert catalog.status_code == 422 and catalog.json()["error"]["field"] == "model"
    assert not ClinicCatheter.objects.exists()


def test_writes_on_an_entry_need_the_version_read(
    client_as: Callable[[Role | None], Client],
) -> None:
    pharmacist, physician = client_as(Role.PHARMACIST), client_as(Role.PHYSICIAN)
    entry = post(pharmacist, URL, entry_body()).json()
    missing = post(physician, f"{URL}/{entry['id']}/approve", {})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "version"
    stale = post(pharmacist, f"{URL}/{entry['id']}/archive", {"version": 2})
    assert stale.status_code == 409
    assert ClinicCatheter.objects.get().version == 1


def test_a_new_figure_for_a_model_in_force_names_it_with_the_version_read(
    client_as: Callable[[Role | None], Client],
) -> None:
    pharmacist, physician = client_as(Role.PHARMACIST), client_as(Role.PHYSICIAN)
    entry = post(pharmacist, URL, entry_body()).json()
    post(physician, f"{URL}/{entry['id']}/approve", {"version": 1})
    unnamed = post(pharmacist, URL, entry_body(volume_per_cm="2.8 uL/cm"))
    assert unnamed.status_code == 422
    assert unnamed.json()["error"]["message"].startswith("model: 8709sc already has an entry")
    alone = post(pharmacist, URL, entry_body(volume_per_cm="2.8 uL/cm", replaces=entry["id"]))
    assert alone.status_code == 422 and alone.json()["error"]["field"] == "version"
    stale = post(
        pharmacist, URL, entry_body(volume_per_cm="2.8 uL/cm", replaces=entry["id"], version=1)
    )
    assert stale.status_code == 409
    named = post(
        pharmacist, URL, entry_body(volume_per_cm="2.8 uL/cm", replaces=entry["id"], version=2)
    )
    assert named.status_code == 201, named.content
    assert (named.json()["replaces"], named.json()["status"]) == (entry["id"], "waiting")
