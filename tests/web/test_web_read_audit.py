"""Reading a patient's record leaves an audit entry naming who read what, through every main
read path of the web app and the API: the chart, an episode, a refill and a program record, the
what-if projection, both PDF reports, the calendar export, a search by name, and the API's
patient, implant and refill reads. Each entry names the reader and the patient (its patient id,
or the patients a list or an export held)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from access_world import FAST_HASHERS, World, module_world
from django.test import Client

from frozen import day
from painpump.clinic.models import AuditEntry

# path, action, reader; a path's {names} are keys of World.ids
READS = [
    ("/patients/{patient}/", "patient.chart", "auditor"),
    ("/episodes/{referred}/", "episode.read", "pharmacist"),
    ("/refills/{first_fill}/", "refill.read", "nurse"),
    ("/programs/{program}/", "program.read", "nurse"),
    ("/implants/{implant}/what-if/", "implant.what_if.open", "physician"),
    ("/refills/{first_fill}/report.pdf", "report.refill_session", "nurse"),
    ("/patients/{patient}/summary.pdf", "report.patient_summary", "physician"),
    ("/calendar.ics?from={today}&to={far}", "appointment.export", "nurse"),
    ("/patients/?q=Muster", "patient.search", "pharmacist"),
    ("/api/patients/{patient}", "patient.read", "auditor"),
    ("/api/patients?q=Muster", "patient.search", "nurse"),
    ("/api/implants/{implant}", "implant.read", "physician"),
    ("/api/implants/{implant}/refills", "refill.list", "auditor"),
]


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    yield from module_world(django_db_blocker)


def names_the_patient(entry: AuditEntry, patient_id: str) -> bool:
    after = entry.after or {}
    listed = after.get("patients", []) + after.get("results", [])
    return str(entry.patient_id) == patient_id or patient_id in listed


@pytest.mark.parametrize(("path", "action", "reader"), READS, ids=[r[0] for r in READS])
def test_reading_a_record_is_audited_with_the_reader_and_the_patient(
    world: World, db: None, settings: Any, path: str, action: str, reader: str
) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS
    client = Client()
    client.force_login(world.users[reader])
    last = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    ids = world.ids | {"far": day(360).isoformat()}
    response = client.get(path.format(**ids))
    assert response.status_code == 200, response.content
    entries = list(AuditEntry.objects.filter(seq__gt=last, action=action))
    assert len(entries) == 1, [e.action for e in AuditEntry.objects.filter(seq__gt=last)]
    entry = entries[0]
    assert entry.actor == world.users[reader].get_username()
    assert names_the_patient(entry, str(world.ids["patient"]))
