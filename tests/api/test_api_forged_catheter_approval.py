"""The eighth outside attack through the API: a clinic catheter figure inserted in the database
(model 8780 at 22 uL/cm, ten times a plausible figure, "entered by" the pharmacist) was put in
force by an honest physician's `POST /api/clinic-catheters/{id}/approve`, and verify then passed.
The approval is a 422 naming the entry as written outside painpump, nothing changes, verify fails
before and after; the pharmacist may still withdraw it; an honest entry still approves."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth.models import User
from django.test import Client
from therapy_setup import post

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.models import AuditEntry, ClinicCatheter
from painpump.clinic.roles import Role
from raw_rows import insert

URL = "/api/clinic-catheters"


def inserted_figure(entered_by: str) -> str:
    key = uuid.uuid4()
    now = clock.now()
    insert(
        ClinicCatheter,
        id=key,
        model="8780",
        name="Intrathecal catheter 8780",
        manufacturer="Medtronic",
        volume_ul_per_cm=Decimal("22.0"),
        source="Medtronic IFU 8780",
        entered_by=entered_by,
        entered_at=now,
        approved_by="",
        archived_by="",
        archive_requested_by="",
        version=1,
        created_at=now,
        updated_at=now,
    )
    return str(key)


def test_an_inserted_catheter_figure_is_refused_approval_through_the_api(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    key = inserted_figure(users[Role.PHARMACIST].username)
    named = f"clinic_catheter {key}: no audit entry records it"
    assert any(p.startswith(named) for p in audit.verify().problems)
    entries = AuditEntry.objects.count()
    refused = post(client_as(Role.PHYSICIAN), f"{URL}/{key}/approve", {"version": 1})
    assert refused.status_code == 422, refused.content
    message = refused.json()["error"]["message"]
    assert "has no audit entry (`catheter.add` enters one)" in message
    assert "it was written outside painpump" in message
    row = ClinicCatheter.objects.get(id=key)
    assert (row.approved_by, row.approved_at, row.version) == ("", None, 1)
    assert AuditEntry.objects.count() == entries
    listed = client_as(Role.PHYSICIAN).get(URL).json()
    assert [(e["model"], e["status"]) for e in listed] == [("8780", "waiting")]
    assert any(p.startswith(named) for p in audit.verify().problems)
    withdrawn = post(client_as(Role.PHARMACIST), f"{URL}/{key}/archive", {"version": 1})
    assert withdrawn.status_code == 200, withdrawn.content
    assert audit.verify().ok, audit.verify().problems


def test_an_honest_figure_still_approves_through_the_api(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    added = post(
        client_as(Role.PHARMACIST),
        URL,
        {
            "model": "8709SC",
            "name": "Intrathecal catheter 8709SC",
            "manufacturer": "Medtronic",
            "volume_per_cm": {"value": 2.6, "unit": "uL/cm"},
            "source": "Medtronic IFU 8709SC rev C, page 12",
        },
    )
    assert added.status_code == 201, added.content
    done = post(client_as(Role.PHYSICIAN), f"{URL}/{added.json()['id']}/approve", {"version": 1})
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "in force"
    assert audit.verify().ok, audit.verify().problems
