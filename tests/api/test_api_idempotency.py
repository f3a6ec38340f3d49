"""Every write of the API is safe to retry after a lost answer: sent again with the same
Idempotency-Key it gets the first answer (status and body) marked Idempotent-Replayed, and changes
nothing (no record, no audit entry); the same key with another request is refused (422 naming the
key); an error stores no key; keys are per user and expire. The list of writes is read from the
OpenAPI schema, so a new write without a retry test fails here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from therapy_setup import (
    FILLED_VERSION,
    PTM,
    at,
    baclofen_implant,
    expected_to_live,
    fill,
    iso,
    new_episode,
    prescription_body,
    readback_body,
    refill_body,
    today,
    unverified_refill,
)

from painpump.api.app import api
from painpump.api.idempotency import HEADER, PATIENT_READ, replay_capability
from painpump.clinic.actions import (
    account_adoptions,
    alarms,
    catheters,
    prescriptions,
    readbacks,
    role_grants,
    tolerance_requests,
)
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import AuditEntry, Implant, Incident, Patient, Prescription, Refill
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, audited_user, prescribed
from painpump.core import prescription as rx
from painpump.core.prescription_compare import Readback
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper
from painpump.plumbing.idempotency import KEEP, REPLAYED
from painpump.plumbing.models import IdempotentRequest

P, N, PH, AD = Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.ADMIN
UNSAFE = ("post", "put", "patch", "delete")
Body = Callable[[int], dict[str, Any]]
"""A request body: the argument tells the first request (0) from another one (1)."""

# The writes without a retry test, and why (both change sessions, not records).
EXEMPT = {
    ("post", "/api/auth/login"): "no user before it succeeds (keys are a user's); no record",
    ("post", "/api/auth/code"): "the login's second step: no user before it succeeds; no record",
    ("post", "/api/auth/logout"): "no record changes; a retry once the session ended is a 401",
}


def _today() -> str:
    return today().isoformat()


READY_VERSION = FILLED_VERSION + 2
"""Once a new prescription is signed and double-checked."""


# method, path, role, body; {ids} are filled in by _ids
CASES: dict[tuple[str, str], tuple[Role, Body]] = {
    ("post", "/api/patients"): (
        N,
        lambda n: {
            "mrn": f"MRN-RETRY-{n}",
            "family_name": "Wiederholt",
            "given_name": "Anna",
            "birth_date": "1970-01-01",
        },
    ),
    ("patch", "/api/patients/{patient_id}"): (
        N,
        lambda n: {"version": 1, "family_name": ["Neu", "Anders"][n]},
    ),
    ("post", "/api/patients/{patient_id}/episodes"): (
        P,
        lambda n: {"indication": ["stroke", "multiple_sclerosis"][n], "referred_on": _today()},
    ),
    ("put", "/api/episodes/{episode_id}/origin"): (
        P,
        lambda n: {
            "version": 1,
            "origin": ["spinal", "cerebral"][n],
            "reason": "imaging shows a spinal cord lesion",
        },
    ),
    ("post", "/api/episodes/{episode_id}/assessments"): (
        N,
        lambda n: {"kind": "pain_nrs", "value": 6 + n, "taken_at": iso(at(today(), 8))},
    ),
    ("post", "/api/episodes/{episode_id}/steps"): (
        P,
        lambda n: {
            "action": "start_test_phase",
            "version": 1,
            "facts": {"on": _today(), "protocol": ["continuous", "bolus"][n]},
            "acknowledge": {"tumour_pain_test_phase": "opioid trial before committing to a pump"},
        },
    ),
    ("post", "/api/episodes/{episode_id}/implants"): (
        P,
        lambda n: {
            "version": 1,
            "pump_model": "synchromed-ii-20",
            "pump_serial": f"RETRY-{n}",
            "catheter_model": "8709SC",
            "catheter_length": "60 cm",
            "dead_volume": "0.25 mL",
            "acknowledge": dict(MEDTRONIC_CATHETER),
            "implanted_on": _today(),
        },
    ),
    ("post", "/api/implants/{implant_id}/refills"): (
        N,
        lambda n: refill_body(lot=f"LOT-{n}", version=FILLED_VERSION),
    ),
    ("post", "/api/implants/{implant_id}/programs"): (
        N,
        lambda n: {"version": READY_VERSION, "overrides": {} if n == 0 else {"x": "y"}},
    ),
    ("post", "/api/implants/{implant_id}/prescriptions"): (
        P,
        lambda n: prescription_body(FILLED_VERSION, reason=["flex for work days", "flex again"][n]),
    ),
    ("post", "/api/implants/{implant_id}/prescriptions/preview"): (
        P,
        lambda n: prescription_body(None, ptm=[PTM, None][n]),
    ),
    ("post", "/api/prescriptions/{prescription_id}/checks"): (
        PH,
        lambda n: {
            "concentrations": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
            "program": {"kind": "continuous", "dose": "380 mcg/day"},
            "ptm": None,
            "accept": [True, False][n],
        },
    ),
    ("post", "/api/programs/{program_id}/readbacks"): (
        N,
        lambda n: readback_body(reservoir=["20 mL", "19 mL"][n]),
    ),
    ("post", "/api/incidents/{incident_id}/close"): (
        P,
        lambda n: {"resolution": ["pump reprogrammed as prescribed", "readback entered again"][n]},
    ),
    ("post", "/api/refills/{refill_id}/verify"): (PH, lambda n: {} if n == 0 else {"x": 1}),
    ("post", "/api/implants/{implant_id}/alarms"): (
        N,
        lambda n: {"kind": ["low_reservoir", "eri"][n], "reported_at": iso(at(today(), 7))},
    ),
    ("post", "/api/alarms/{alarm_id}/acknowledge"): (
        N,
        lambda n: {"action_taken": ["refill booked", "patient called"][n]},
    ),
    ("patch", "/api/appointments/{appointment_id}"): (
        N,
        lambda n: {
            "status": ["booked", "cancelled"][n],
            "expected_version": 1,
            "late_reason": "patient abroad until then",
        },
    ),
    ("patch", "/api/settings"): (AD, lambda n: {"version": 1, "refill_margin_days": 5 + n}),
    ("put", "/api/users/{user_id}/roles"): (
        AD,
        lambda n: {"version": 1, "roles": ["nurse", ["physician", "pharmacist"][n]]},
    ),
    ("post", "/api/role-grants/{grant_id}/approve"): (AD, lambda n: {} if n == 0 else {"x": 1}),
    ("post", "/api/users/{user_id}/adoption"): (
        AD,
        lambda n: {"reason": ["made by the 2025 import script", "made by hand in 2025"][n]},
    ),
    ("post", "/api/users/adoptions/{adoption_id}/approve"): (
        AD,
        lambda n: {} if n == 0 else {"x": 1},
    ),
    ("post", "/api/users/adoptions/{adoption_id}/decline"): (
        AD,
        lambda n: {} if n == 0 else {"x": 1},
    ),
    ("post", "/api/users/adoptions/{adoption_id}/withdraw"): (
        AD,
        lambda n: {} if n == 0 else {"x": 1},
    ),
    ("post", "/api/role-grants/{grant_id}/decline"): (AD, lambda n: {} if n == 0 else {"x": 1}),
    ("post", "/api/settings/tolerance-requests"): (
        AD,
        lambda n: {"version": 1, "readback_tolerance": ["0.2 mL", "0.3 mL"][n]},
    ),
    ("post", "/api/settings/tolerance-requests/{request_id}/approve"): (
        AD,
        lambda n: {} if n == 0 else {"x": 1},
    ),
    ("post", "/api/settings/tolerance-requests/{request_id}/decline"): (
        AD,
        lambda n: {} if n == 0 else {"x": 1},
    ),
    ("post", "/api/settings/tolerance-requests/{request_id}/withdraw"): (
        AD,
        lambda n: {} if n == 0 else {"x": 1},
    ),
    ("post", "/api/clinic-catheters"): (
        PH,
        lambda n: {
            "model": "8780",
            "name": "Ascenda intrathecal catheter 8780",
            "manufacturer": "Medtronic",
            "volume_per_cm": ["2.6 uL/cm", "2.7 uL/cm"][n],
            "source": "IFU 8780 rev B, page 4",
        },
    ),
    ("post", "/api/clinic-catheters/{entry_id}/approve"): (P, lambda n: {"version": 1 + n}),
    ("post", "/api/clinic-catheters/{entry_id}/archive"): (PH, lambda n: {"version": 1 + n}),
}


def _unsafe_operations() -> set[tuple[str, str]]:
    paths = api.get_openapi_schema()["paths"]
    return {(m, p) for p, ops in paths.items() for m in ops if m in UNSAFE}


def test_every_write_of_the_schema_has_a_retry_test_or_a_reason_not_to() -> None:
    found = _unsafe_operations()
    assert found - set(CASES) - set(EXEMPT) == set(), "a write without a retry test"
    assert set(CASES) | set(EXEMPT) <= found, "a retry test for a write the API no longer has"


LOWER = (fill("baclofen", "2000 mcg/mL"), parse("380 mcg/day", Kind.DOSE_RATE, "dose"))


def _awaiting(physician: User, implant: Implant) -> Prescription:
    """A lower dose for the pump, signed and awaiting its double-check."""
    return prescriptions.prescribe(
        physician,
        implant.id,
        rx.Prescription(LOWER[0].drugs, rx.PrescribedProgram.continuous(LOWER[1])),
        reason="a lower dose for daytime weakness",
        now=at(today(), 0),
        expected_version=implant.version,
    )


def _incident(nurse: User, implant: Implant) -> Incident:
    """The incident a readback of the wrong reservoir volume opens."""
    program = implant.programs.get()
    assert program.prescription is not None
    read = as_core(program.prescription)
    wrong = Readback(parse("19 mL", Kind.VOLUME, "r"), read.drugs, read.program, read.ptm)
    readbacks.record_readback(nurse, program.id, wrong, at(today(), 0))
    return Incident.objects.get()


def _ids(path: str, users: dict[Role, User], patient: Patient) -> dict[str, object]:
    """The records the path needs, made through the clinic services."""
    physician, nurse = users[P], users[N]
    ids: dict[str, object] = {"patient_id": patient.id, "user_id": nurse.id}
    clinic_settings()
    if "{grant_id}" in path:
        audited_user("ad.other", AD)
        ids["grant_id"] = role_grants.ask("ad.other", nurse, [P])[0].id
    if "adoption" in path:  # an account made outside painpump (asked for by another admin,
        # or by the admin who withdraws it)
        outside = User.objects.get(username=tamper.insert_account("in.sider", "nurse"))
        ids["user_id"] = outside.id
        if "{adoption_id}" in path:
            asker = users[AD] if path.endswith("/withdraw") else audited_user("ad.other", AD)
            asked = account_adoptions.ask(asker, outside.id, reason="made by a 2025 script")
            ids["adoption_id"] = asked.id
    if "{request_id}" in path:  # asked by another admin, or by the admin who withdraws it
        asker = users[AD] if path.endswith("/withdraw") else audited_user("ad.other", AD)
        ids["request_id"] = tolerance_requests.ask(asker, expected_version=1, tolerance="0.3 mL").id
    if "{entry_id}" in path:
        ids["entry_id"] = catheters.add_catheter(
            users[PH],
            model="8731SC",
            name="Intrathecal catheter 8731SC",
            manufacturer="Medtronic",
            volume_per_cm=Decimal("0.0026"),
            source="IFU 8731SC rev A, page 3",
        ).id
    if "{episode_id}" in path:
        indication = "tumour_pain" if "/steps" in path or "/implants" in path else "stroke"
        if indication == "tumour_pain":
            expected_to_live(nurse, patient)  # as a tumour-pain implantation needs
        ids["episode_id"] = new_episode(physician, patient, indication, 30).id
    if "{prescription_id}" in path:
        ids["prescription_id"] = _awaiting(physician, baclofen_implant(physician, patient)).id
    implant_paths = ("{implant_id}", "{refill_id}", "{alarm_id}", "{appointment_id}")
    if any(k in path for k in (*implant_paths, "{program_id}", "{incident_id}")):
        implant = baclofen_implant(physician, patient)
        ids["implant_id"] = implant.id
        ids["appointment_id"] = implant.episode.patient.appointments.get(kind="refill").id
        if "{refill_id}" in path:
            ids["refill_id"] = unverified_refill(nurse, implant).id
        if path.endswith("/programs"):
            prescribed(physician, users[PH], implant.id, LOWER[0], LOWER[1], at=at(today(), 0))
        if "{program_id}" in path or "{incident_id}" in path:
            ids["program_id"] = implant.programs.get().id
        if "{incident_id}" in path:
            ids["incident_id"] = _incident(nurse, implant).id
        if "{alarm_id}" in path:
            ids["alarm_id"] = alarms.report_alarm(
                nurse, implant.id, kind="low_reservoir", reported_at=at(today(), 6)
            ).id
    return ids


def _send(client: Client, method: str, url: str, body: dict[str, Any], key: str) -> Any:
    return getattr(client, method)(
        url, body, content_type="application/json", headers={HEADER: key}
    )


@pytest.mark.parametrize(("method", "path"), sorted(CASES))
def test_a_write_sent_again_with_its_key_gets_the_first_answer_and_changes_nothing(
    client_as: Callable[[Role | None], Client],
    users: dict[Role, User],
    patient: Patient,
    method: str,
    path: str,
) -> None:
    role, body = CASES[(method, path)]
    url = path.format(**_ids(path, users, patient))
    client = client_as(role)
    first = _send(client, method, url, body(0), "retry-1")
    assert 200 <= first.status_code < 300, first.content
    assert REPLAYED not in first
    entries = AuditEntry.objects.count()
    again = _send(client_as(role), method, url, body(0), "retry-1")  # a new session, same user
    assert again[REPLAYED] == "true"
    assert again.json() == first.json()
    if path.endswith("/refills"):  # the refill's own key: 200 with the refill already recorded
        assert again.status_code == 200
    else:
        assert again.status_code == first.status_code
    replays = AuditEntry.objects.filter(action="request.replay").count()
    assert AuditEntry.objects.count() == entries + replays, "the retry changed something"
    own_key = path.endswith("/refills")  # replayed by the refill service, not by the key
    assert replays == (replay_capability(url) == PATIENT_READ and not own_key)
    entries = AuditEntry.objects.count()
    other = _send(client, method, url, body(1), "retry-1")
    assert other.status_code == 422, other.content
    error = other.json()["error"]
    assert error["field"] in (HEADER, "idempotency_key") and error["value"] == "retry-1"
    assert AuditEntry.objects.count() == entries


def test_a_refused_write_stores_no_key_and_its_corrected_retry_is_done(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    client = client_as(N)
    url = f"/api/patients/{patient.id}"
    refused = _send(client, "patch", url, {"version": 1, "birth_date": "2999-01-01"}, "fix-1")
    assert refused.status_code == 422
    assert not IdempotentRequest.objects.exists()
    fixed = _send(client, "patch", url, {"version": 1, "birth_date": "1971-01-01"}, "fix-1")
    assert fixed.status_code == 200, fixed.content
    assert fixed.json()["birth_date"] == "1971-01-01" and REPLAYED not in fixed


def test_a_stale_version_is_still_a_conflict_with_a_new_key(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    client = client_as(N)
    url = f"/api/patients/{patient.id}"
    assert _send(client, "patch", url, {"version": 1, "given_name": "A"}, "k1").status_code == 200
    stale = _send(client, "patch", url, {"version": 1, "given_name": "B"}, "k2")
    assert stale.status_code == 409
    assert Patient.objects.get(id=patient.id).given_name == "A"


def test_keys_belong_to_their_user(
    client_as: Callable[[Role | None], Client],
    make_user: Callable[..., User],
    users: dict[Role, User],
    patient: Patient,
) -> None:
    episode = new_episode(users[P], patient, "stroke", 30)
    url = f"/api/episodes/{episode.id}/assessments"
    body = {"kind": "pain_nrs", "value": 4, "taken_at": iso(at(today(), 8))}
    other_nurse = Client()
    other_nurse.force_login(make_user("nurse.two", N))
    first = _send(client_as(N), "post", url, body, "shared")
    second = _send(other_nurse, "post", url, body, "shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert REPLAYED not in second and first.json()["id"] != second.json()["id"]


def test_a_refill_key_another_nurse_sends_is_her_own_never_a_replay_of_the_first_refill(
    client_as: Callable[[Role | None], Client],
    make_user: Callable[..., User],
    users: dict[Role, User],
    patient: Patient,
) -> None:
    """Regression: a refill's key was the clinic's, so another user sending it got the first
    user's refill back (200, replayed). Now the key is the user's: her request is a new refill of
    a pump changed since the version she read (409), and only the first nurse's retry replays."""
    implant: Implant = baclofen_implant(users[P], patient)
    url = f"/api/implants/{implant.id}/refills"
    body = refill_body(version=implant.version)
    other_nurse = Client()
    other_nurse.force_login(make_user("nurse.two", N))
    first = _send(client_as(N), "post", url, body, "visit-3")
    second = _send(other_nurse, "post", url, body, "visit-3")
    assert (first.status_code, second.status_code) == (201, 409), second.content
    assert REPLAYED not in second and str(first.json()["id"]) not in second.content.decode()
    again = _send(client_as(N), "post", url, body, "visit-3")
    assert (again.status_code, again[REPLAYED]) == (200, "true")
    assert Refill.objects.filter(implant=implant).count() == 2  # the first fill and one refill


def test_an_expired_key_is_not_replayed_and_the_cleanup_deletes_old_keys(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    url = f"/api/patients/{patient.id}/episodes"
    body = {"indication": "stroke", "referred_on": _today()}
    client = client_as(P)
    first = _send(client, "post", url, body, "old")
    IdempotentRequest.objects.update(created_at=timezone.now() - KEEP - timedelta(seconds=1))
    again = _send(client, "post", url, body, "old")
    assert again.status_code == 201 and REPLAYED not in again
    assert again.json()["id"] != first.json()["id"]
    IdempotentRequest.objects.update(created_at=timezone.now() - KEEP - timedelta(seconds=1))
    call_command("expire_idempotency_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not IdempotentRequest.objects.exists()


def test_a_bad_key_is_refused_naming_the_header(
    client_as: Callable[[Role | None], Client], patient: Patient
) -> None:
    url = f"/api/patients/{patient.id}/episodes"
    body = {"indication": "stroke", "referred_on": _today()}
    refused = _send(client_as(P), "post", url, body, "k" * 81)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["field"] == HEADER and "1 to 80" in error["limit"]
    assert not patient.episodes.exists()


def test_a_refill_retried_with_its_key_is_replayed_once_recorded(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    implant: Implant = baclofen_implant(users[P], patient)
    url = f"/api/implants/{implant.id}/refills"
    body = refill_body(version=implant.version)
    first = _send(client_as(N), "post", url, body, "visit-1")
    again = _send(client_as(N), "post", url, body, "visit-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again[REPLAYED] == "true" and REPLAYED not in first
    assert Refill.objects.filter(implant=implant).count() == 2  # the first fill and this one


def test_a_refill_key_reused_for_a_different_refill_is_refused_not_answered_with_the_first(
    client_as: Callable[[Role | None], Client], users: dict[Role, User], patient: Patient
) -> None:
    implant: Implant = baclofen_implant(users[P], patient)
    url = f"/api/implants/{implant.id}/refills"
    first = _send(client_as(N), "post", url, refill_body(version=implant.version), "visit-2")
    changed = refill_body(volume="18 mL", lot="LOT-9", version=implant.version)
    other = _send(client_as(N), "post", url, changed, "visit-2")
    assert (first.status_code, other.status_code) == (201, 422)
    error = other.json()["error"]
    assert error["field"] == "idempotency_key" and "different refill" in error["message"]
    assert Refill.objects.filter(implant=implant).count() == 2


def test_a_replay_to_a_user_who_lost_her_role_is_the_operations_403_and_shows_nothing(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    """Issue 14: a nurse whose role was removed got the patient back (201, replayed) by sending
    her first request's key again, and no audit entry recorded it."""
    body = {"mrn": "MRN-K1", "family_name": "Key", "given_name": "Anna", "birth_date": "1970-01-01"}
    first = _send(client_as(N), "post", "/api/patients", body, "k1")
    assert first.status_code == 201, first.content
    users[N].groups.clear()
    entries = AuditEntry.objects.count()
    again = _send(client_as(N), "post", "/api/patients", body, "k1")
    assert again.status_code == 403 and REPLAYED not in again
    assert again.json()["error"]["capability"] == PATIENT_READ
    assert "Anna" not in again.content.decode() and "MRN-K1" not in again.content.decode()
    assert AuditEntry.objects.count() == entries


def test_the_replay_of_an_answer_about_a_patient_is_audited_as_a_read_of_that_patient(
    client_as: Callable[[Role | None], Client], users: dict[Role, User]
) -> None:
    body = {"mrn": "MRN-K2", "family_name": "Key", "given_name": "Bea", "birth_date": "1970-01-01"}
    first = _send(client_as(N), "post", "/api/patients", body, "k2")
    again = _send(client_as(N), "post", "/api/patients", body, "k2")
    assert (first.status_code, again.status_code, again[REPLAYED]) == (201, 201, "true")
    entry = AuditEntry.objects.get(action="request.replay")
    assert entry.actor == users[N].username
    assert str(entry.patient_id) == first.json()["id"]
    assert entry.object_type == "request"  # the stored answer's row: ids stay short
    assert entry.after == {"request": "POST /api/patients", "key": "k2", "status": 201}


def test_every_write_of_the_schema_has_the_capability_its_replay_rechecks() -> None:
    """A write whose answer holds no patient data is listed in REPLAY_CAPABILITY; all others
    need patient.read, so a new write is checked as a read of patient data unless listed."""
    needs = {path: replay_capability(path) for _, path in _unsafe_operations()}
    assert needs["/api/settings"] == "settings.write"
    assert needs["/api/users/{user_id}/roles"] == "users.manage"
    assert needs["/api/clinic-catheters"] == "library.read"
    assert needs["/api/implants/{implant_id}/refills"] == PATIENT_READ
    assert needs["/api/patients"] == PATIENT_READ
