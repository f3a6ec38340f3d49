"""Schemathesis against the API's own OpenAPI schema. Every operation is called in-process through
the Django WSGI app, with the bearer token of a role allowed to call it and, most of the time, the
ids of real records in its path, so that generated requests reach the clinic services rather than
stopping at a 404; a write's generated body is also sent as a valid body with one field replaced,
so that each field's generated values meet the service with the others valid. Each answer must not
be a server error and must have a status, content type and body that the schema declares; data
that breaks the schema must be refused (4xx); a 2xx write must give back what was sent (nothing
silently changed). PAINPUMP_FUZZ_EXAMPLES sets the generated requests per operation and mode (a
few by default; hundreds by hand)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Ok, Result
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from therapy_setup import (
    at,
    baclofen_implant,
    check_body_of,
    day_60,
    fill,
    iso,
    new_episode,
    prescription_body,
    readback_body,
    refill_body,
    today,
)

from clinic_fixtures import PASSWORD
from frozen import ZONE_NAME
from painpump.api import tokens
from painpump.api.app import api
from painpump.clinic.actions import (
    account_adoptions,
    alarms,
    catheters,
    prescriptions,
    readbacks,
    role_grants,
    tolerance_requests,
)
from painpump.clinic.models import (
    AccountVersion,
    Appointment,
    AuditEntry,
    ClinicCatheter,
    ClinicSettings,
    Episode,
    Implant,
    Incident,
    Patient,
    Prescription,
    Program,
    Refill,
)
from painpump.clinic.reads import dashboard
from painpump.clinic.reads.incident_warnings import RULE
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, audited_user, prescribed, responder_episode
from painpump.core.clinic_catheters import parse_volume_per_cm
from painpump.core.errors import Refusal
from painpump.core.prescription_compare import Readback
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

EXAMPLES = int(os.environ.get("PAINPUMP_FUZZ_EXAMPLES", "5"))
SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"))


def _operation(
    result: Result[APIOperation[Any, Any, Any, Any], InvalidSchema],
) -> APIOperation[Any, Any, Any, Any]:
    assert isinstance(result, Ok), result
    return result.ok()


OPERATIONS = {op.label: op for op in map(_operation, SCHEMA.get_all_operations())}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The role each operation is called as: one that may call it (the physician may do most).
ROLE_OF = {
    "PATCH /api/settings": Role.ADMIN,
    "GET /api/users": Role.ADMIN,
    "PUT /api/users/{user_id}/roles": Role.ADMIN,
    "GET /api/users/adoptions": Role.ADMIN,
    "POST /api/users/{user_id}/adoption": Role.ADMIN,
    "POST /api/users/adoptions/{adoption_id}/approve": Role.ADMIN,
    "POST /api/users/adoptions/{adoption_id}/decline": Role.ADMIN,
    "POST /api/users/adoptions/{adoption_id}/withdraw": Role.ADMIN,
    "GET /api/role-grants": Role.ADMIN,
    "POST /api/role-grants/{grant_id}/approve": Role.ADMIN,
    "POST /api/role-grants/{grant_id}/decline": Role.ADMIN,
    "GET /api/settings/tolerance-requests": Role.ADMIN,
    "POST /api/settings/tolerance-requests": Role.ADMIN,
    "POST /api/settings/tolerance-requests/{request_id}/approve": Role.ADMIN,
    "POST /api/settings/tolerance-requests/{request_id}/decline": Role.ADMIN,
    "POST /api/settings/tolerance-requests/{request_id}/withdraw": Role.ADMIN,
    "POST /api/refills/{refill_id}/verify": Role.PHARMACIST,
    "POST /api/prescriptions/{prescription_id}/checks": Role.PHARMACIST,
    "POST /api/clinic-catheters": Role.PHARMACIST,
    "POST /api/clinic-catheters/{entry_id}/archive": Role.PHARMACIST,
}
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
LOGIN = "POST /api/auth/login"
CODE = "POST /api/auth/code"
"""The login's second step: it needs a login waiting on the same session, which the fuzzer's
calls never have, so it is fuzzed for its refusals (401, 422) only and has no valid request."""
# Every operation of the schema: one added to the API without being added here fails the test
# below, so that its role, its valid request and its round trip are decided, not forgotten.
EXPECTED = {
    "GET /api/auth/csrf",
    LOGIN,
    CODE,
    "POST /api/auth/logout",
    "GET /api/auth/me",
    "GET /api/patients",
    "POST /api/patients",
    "GET /api/patients/{patient_id}",
    "PATCH /api/patients/{patient_id}",
    "GET /api/patients/{patient_id}/episodes",
    "POST /api/patients/{patient_id}/episodes",
    "GET /api/episodes/{episode_id}",
    "PUT /api/episodes/{episode_id}/origin",
    "GET /api/episodes/{episode_id}/assessments",
    "POST /api/episodes/{episode_id}/assessments",
    "POST /api/episodes/{episode_id}/steps",
    "GET /api/episodes/{episode_id}/steps",
    "GET /api/episodes/{episode_id}/preview",
    "POST /api/episodes/{episode_id}/implants",
    "GET /api/implants/{implant_id}",
    "GET /api/patients/{patient_id}/implants",
    "POST /api/implants/{implant_id}/refills",
    "GET /api/implants/{implant_id}/refills",
    "POST /api/implants/{implant_id}/programs",
    "POST /api/implants/{implant_id}/prescriptions",
    "GET /api/implants/{implant_id}/prescriptions",
    "POST /api/implants/{implant_id}/prescriptions/preview",
    "POST /api/prescriptions/{prescription_id}/checks",
    "POST /api/programs/{program_id}/readbacks",
    "POST /api/incidents/{incident_id}/close",
    "GET /api/patients/{patient_id}/incidents",
    "POST /api/refills/{refill_id}/verify",
    "POST /api/implants/{implant_id}/alarms",
    "POST /api/alarms/{alarm_id}/acknowledge",
    "GET /api/alarms",
    "GET /api/dashboard",
    "PATCH /api/appointments/{appointment_id}",
    "GET /api/appointments",
    "GET /api/settings",
    "PATCH /api/settings",
    "GET /api/users",
    "PUT /api/users/{user_id}/roles",
    "GET /api/users/adoptions",
    "POST /api/users/{user_id}/adoption",
    "POST /api/users/adoptions/{adoption_id}/approve",
    "POST /api/users/adoptions/{adoption_id}/decline",
    "POST /api/users/adoptions/{adoption_id}/withdraw",
    "GET /api/role-grants",
    "POST /api/role-grants/{grant_id}/approve",
    "POST /api/role-grants/{grant_id}/decline",
    "GET /api/settings/tolerance-requests",
    "POST /api/settings/tolerance-requests",
    "POST /api/settings/tolerance-requests/{request_id}/approve",
    "POST /api/settings/tolerance-requests/{request_id}/decline",
    "POST /api/settings/tolerance-requests/{request_id}/withdraw",
    "GET /api/clinic-catheters",
    "POST /api/clinic-catheters",
    "POST /api/clinic-catheters/{entry_id}/approve",
    "POST /api/clinic-catheters/{entry_id}/archive",
}
FUZZED = sorted(OPERATIONS)
# Operations that take input (a parameter or a body), so that a request can break the schema.
WITH_INPUT = sorted(
    label for label, op in OPERATIONS.items() if len(op.path_parameters) + len(op.query) or op.body
)


@dataclass(frozen=True)
class Records:
    """Real records whose ids the fuzzer puts in paths, a token per role, the responder episode
    an implant can be registered for, and the nurse who logs in."""

    ids: dict[str, str]
    tokens: dict[Role, str]
    responder_id: str
    nurse: str


INCIDENT_SEEN: dict[str, Any] = {RULE: "the open readback incident seen, programmer checked"}
"""The reason for the warning of the incident the records' wrong readback leaves open."""


@pytest.fixture
def records(users: dict[Role, User], patient: Patient, episode: Episode) -> Records:
    physician = users[Role.PHYSICIAN]
    implant = baclofen_implant(physician, patient)
    refill = Refill.objects.filter(implant=implant).get()
    alarm = alarms.report_alarm(
        users[Role.NURSE], implant.id, kind="low_reservoir", reported_at=day_60(), note=""
    )
    appointment = Appointment.objects.filter(patient=patient).first()
    assert appointment is not None
    program = Program.objects.get(implant=implant)
    assert program.prescription is not None
    prescribed = as_core(program.prescription)
    reservoir = parse("19 mL", Kind.VOLUME, "r")
    wrong = Readback(reservoir, prescribed.drugs, prescribed.program, prescribed.ptm)
    readbacks.record_readback(users[Role.NURSE], program.id, wrong, at(today()))
    awaiting = prescriptions.prescribe(
        physician,
        implant.id,
        replace(prescribed, phase=None),
        reason="the same dose, prescribed again",
        now=at(today()),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    other_admin = audited_user("ad.other", Role.ADMIN)
    grant = role_grants.ask("ad.other", users[Role.NURSE], [Role.PHARMACIST])[0]
    # a decided request: a waiting one would refuse the valid request to ask for another
    wider = tolerance_requests.ask(other_admin, expected_version=1, tolerance="0.3 mL")
    tolerance_requests.withdraw(other_admin, wider.id)
    # an account made outside painpump to ask for, and another whose adoption ad.other asked
    outside = User.objects.get(username=tamper.insert_account("in.outside", "nurse"))
    waiting = User.objects.get(username=tamper.insert_account("in.waiting", "nurse"))
    adoption = account_adoptions.ask(other_admin, waiting.id, reason="made by a 2025 script")
    entry = catheters.add_catheter(
        users[Role.PHARMACIST],
        model="8731SC",
        name="Intrathecal catheter 8731SC",
        manufacturer="Medtronic",
        volume_per_cm=Decimal("0.0026"),
        source="IFU 8731SC rev A, page 3",
    )
    responder = new_episode(physician, patient, "stroke", 100)
    responder_episode(physician, responder.id, start=today() - timedelta(days=60))
    ids = {
        "patient_id": str(patient.id),
        "episode_id": str(episode.id),
        "implant_id": str(implant.id),
        "refill_id": str(refill.id),
        "alarm_id": str(alarm.id),
        "appointment_id": str(appointment.id),
        "prescription_id": str(awaiting.id),
        "program_id": str(program.id),
        "incident_id": str(Incident.objects.get().id),
        "user_id": str(users[Role.NURSE].id),
        "grant_id": str(grant.id),
        "request_id": str(wider.id),
        "entry_id": str(entry.id),
        "adoption_id": str(adoption.id),
        "outside_id": str(outside.id),
    }
    secrets = {
        role: tokens.create(users[role].username, read_only=False).secret
        for role in {Role.PHYSICIAN, *ROLE_OF.values()}
    }
    return Records(ids, secrets, str(responder.id), users[Role.NURSE].username)


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """Django's WSGI handler, without closing the test's database connection at the end of each
    request (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _version(
    model: type[Patient | Episode | Appointment | ClinicSettings | Implant], key: str
) -> int:
    return int(model.objects.get(id=key).version)


def _entry_version(entry_id: str) -> int:
    return int(ClinicCatheter.objects.get(id=entry_id).version)


def _account_version(user_id: str) -> int:
    found = AccountVersion.objects.filter(user_id=user_id).first()
    return found.version if found is not None else 1


def _awaiting(fallback: str) -> str:
    """The newest prescription awaiting its double-check (a signed one withdraws the one
    before), else the records' own."""
    waiting = Prescription.objects.filter(status="awaiting_check").order_by("-number").first()
    return str(waiting.id) if waiting is not None else fallback


def _running(implant_id: str) -> str:
    """The program in force (a refill ends the records' own)."""
    return str(Program.objects.get(implant_id=implant_id, ended_at__isnull=True).id)


Valid = tuple[dict[str, str], dict[str, Any]]


def _valid_request(label: str, records: Records) -> Valid | None:
    """Path ids and a body that the clinic accepts while the records allow it, for each write
    that takes a body (read at call time: versions change as the fuzzer writes)."""
    ids = records.ids
    day = today().isoformat()
    now = iso(at(today()))
    made: dict[str, Callable[[], Valid]] = {
        LOGIN: lambda: ({}, {"username": records.nurse, "password": PASSWORD}),
        "POST /api/patients": lambda: (
            {},
            {
                "mrn": f"MRN-{uuid4().hex[:8]}",
                "family_name": "Fuzz",
                "given_name": "Erika",
                "birth_date": "1961-02-03",
            },
        ),
        "PATCH /api/patients/{patient_id}": lambda: (
            ids,
            {"version": _version(Patient, ids["patient_id"]), "family_name": "Muster-Fuzz"},
        ),
        "POST /api/patients/{patient_id}/episodes": lambda: (
            ids,
            {"indication": "stroke", "referred_on": day},
        ),
        "PUT /api/episodes/{episode_id}/origin": lambda: (
            ids,
            {
                "version": _version(Episode, ids["episode_id"]),
                "origin": "cerebral",
                "reason": "brain imaging shows a cerebral lesion",
            },
        ),
        "POST /api/episodes/{episode_id}/assessments": lambda: (
            ids,
            {"kind": "omed_mg_per_day", "value": {"value": 120, "unit": "mg/day"}, "taken_at": now},
        ),
        "POST /api/episodes/{episode_id}/steps": lambda: (
            ids,
            {
                "action": "start_test_phase",
                "version": _version(Episode, ids["episode_id"]),
                "facts": {"on": day, "protocol": "bolus"},
            },
        ),
        "POST /api/episodes/{episode_id}/implants": lambda: (
            ids | {"episode_id": records.responder_id},
            {
                "version": _version(Episode, records.responder_id),
                "pump_model": "synchromed-ii-20",
                "pump_serial": "S-FUZZ-1",
                "catheter_model": "8709SC",
                "catheter_length": {"value": 60, "unit": "cm"},
                "dead_volume": "0.25 mL",
                "acknowledge": dict(MEDTRONIC_CATHETER),
                "implanted_on": day,
            },
        ),
        "POST /api/implants/{implant_id}/refills": lambda: (
            ids,
            refill_body(
                idempotency_key=f"fuzz-{uuid4()}",
                version=_version(Implant, ids["implant_id"]),
                overrides=INCIDENT_SEEN,
            ),
        ),
        "POST /api/implants/{implant_id}/programs": lambda: (
            ids,
            {"version": _version(Implant, ids["implant_id"])},  # once the incident is closed
        ),
        "POST /api/implants/{implant_id}/prescriptions": lambda: (
            ids,
            prescription_body(_version(Implant, ids["implant_id"])),
        ),
        "POST /api/implants/{implant_id}/prescriptions/preview": lambda: (
            ids,
            prescription_body(None),
        ),
        "POST /api/prescriptions/{prescription_id}/checks": lambda: (
            ids | {"prescription_id": _awaiting(ids["prescription_id"])},
            check_body_of(
                Prescription.objects.get(id=_awaiting(ids["prescription_id"])),
                comment="label and order read again",
            ),
        ),
        "POST /api/programs/{program_id}/readbacks": lambda: (
            ids | {"program_id": _running(ids["implant_id"])},
            readback_body(),
        ),
        "POST /api/incidents/{incident_id}/close": lambda: (
            ids,
            {"resolution": "pump read back again, as prescribed"},
        ),
        "POST /api/implants/{implant_id}/alarms": lambda: (
            ids,
            {"kind": "low_reservoir", "reported_at": now, "note": "patient heard the alarm"},
        ),
        "POST /api/alarms/{alarm_id}/acknowledge": lambda: (
            ids,
            {"action_taken": "refill booked"},
        ),
        "PATCH /api/appointments/{appointment_id}": lambda: (
            ids,
            {
                "status": "booked",
                "expected_version": _version(Appointment, ids["appointment_id"]),
                "late_reason": "patient abroad until then",
            },
        ),
        "POST /api/clinic-catheters": lambda: (
            {},
            {
                "model": f"M-{uuid4().hex[:8]}",
                "name": "Intrathecal catheter",
                "manufacturer": "Medtronic",
                "volume_per_cm": {"value": 2.6, "unit": "uL/cm"},
                "source": "IFU rev B, page 4",
            },
        ),
        "POST /api/clinic-catheters/{entry_id}/approve": lambda: (
            ids,
            {"version": _entry_version(ids["entry_id"])},
        ),
        "POST /api/clinic-catheters/{entry_id}/archive": lambda: (
            ids,
            {"version": _entry_version(ids["entry_id"])},
        ),
        "PUT /api/users/{user_id}/roles": lambda: (
            ids,
            {"version": _account_version(ids["user_id"]), "roles": ["nurse", "physician"]},
        ),
        "PATCH /api/settings": lambda: (
            {},
            {
                "version": _version(ClinicSettings, "1"),
                "refill_margin_days": 5,
                "time_zone": ZONE_NAME,  # the test clinic's: other operations count its days
                "open_weekdays": [0, 1, 2, 3, 4],
                "opens_at": "07:30",
                "closes_at": "16:00",
                "date_format": "dmy_dots",
                "time_format": "24h",
                "refill_visit_minutes": 45,
                "refill_capacity_per_day": 10,
                "readback_tolerance": "0.05 mL",  # a wider one takes a second admin
            },
        ),
        "POST /api/settings/tolerance-requests": lambda: (
            {},
            {"version": _version(ClinicSettings, "1"), "readback_tolerance": "0.3 mL"},
        ),
        "POST /api/users/{user_id}/adoption": lambda: (
            ids | {"user_id": ids["outside_id"]},
            {"reason": "made by the 2025 import script"},
        ),
    }
    make = made.get(label)
    return make() if make else None


# What a 2xx write must give back: for each field of the request, where the answer shows it and
# how the two compare. Text is trimmed of surrounding white space and clinic codes are upper case
# (the services store them so); times are shown to the millisecond; quantities to the places
# painpump prints for their unit, in any unit of the same kind.
Same = Callable[[Any, Any], bool]
Rule = tuple[tuple[str, ...], Same]


def _text(sent: Any, shown: Any) -> bool:
    return isinstance(sent, str) and sent.strip() == shown


def _code(sent: Any, shown: Any) -> bool:
    return isinstance(sent, str) and sent.strip().upper() == shown


def _equal(sent: Any, shown: Any) -> bool:
    return bool(sent == shown)


def _moment(sent: Any, shown: Any) -> bool:
    gap = datetime.fromisoformat(sent) - datetime.fromisoformat(shown)
    return timedelta(0) <= gap < timedelta(milliseconds=1)


def _day(sent: Any, shown: Any) -> bool:
    return date.fromisoformat(sent) == date.fromisoformat(shown)


def _quantity(kind: Kind) -> Same:
    def same(sent: Any, shown: Any) -> bool:
        text = f"{sent['value']} {sent['unit']}" if isinstance(sent, dict) else sent
        expected = parse(text, kind, "sent").to(shown["unit"]).rounded()
        return expected == Decimal(str(shown["value"]))

    return same


def _model_key(sent: Any, shown: Any) -> bool:
    """A catheter model is kept by its key: lower case, spaces collapsed."""
    return isinstance(sent, str) and " ".join(sent.split()).lower() == shown


def _per_cm(sent: Any, shown: Any) -> bool:
    text = f"{sent['value']} {sent['unit']}" if isinstance(sent, dict) else sent
    return bool(parse_volume_per_cm(text) == Decimal(str(shown["value"])))


def _drugs(sent: Any, shown: Any) -> bool:
    same = _quantity(Kind.CONCENTRATION)
    return [d["drug"].strip() for d in sent] == [d["drug"] for d in shown] and all(
        same(s["concentration"], d["concentration"]) for s, d in zip(sent, shown, strict=True)
    )


def _weekdays(sent: Any, shown: Any) -> bool:
    """Opening weekdays are a set: given back sorted, each once."""
    return bool(sorted(set(sent)) == shown)


def _fields(*names: str, same: Same = _text) -> dict[str, Rule]:
    return {name: ((name,), same) for name in names}


ROUND_TRIP: dict[str, dict[str, Rule]] = {
    LOGIN: _fields("username"),
    "POST /api/patients": _fields("mrn", "family_name", "given_name")
    | _fields("birth_date", same=_day),
    "PATCH /api/patients/{patient_id}": _fields("family_name", "given_name")
    | _fields("birth_date", same=_day),
    "POST /api/patients/{patient_id}/episodes": _fields("indication")
    | _fields("referred_on", "injury_date", same=_day),
    "PUT /api/episodes/{episode_id}/origin": {"origin": (("origin_override",), _text)},
    "POST /api/episodes/{episode_id}/assessments": _fields("kind", "limb", "note")
    | _fields("taken_at", same=_moment),
    # A step answers with the episode it moved and the findings: no field of the request.
    "POST /api/episodes/{episode_id}/steps": {},
    "POST /api/episodes/{episode_id}/implants": _fields("pump_model", "pump_serial")
    | _fields("catheter_model")
    | _fields("implanted_on", same=_day)
    | _fields("catheter_length", same=_quantity(Kind.LENGTH))
    | _fields("dead_volume", "alarm_volume", same=_quantity(Kind.VOLUME)),
    "POST /api/implants/{implant_id}/refills": _fields("lot", "idempotency_key")
    | _fields("performed_at", same=_moment)
    | _fields("volume", same=_quantity(Kind.VOLUME))
    | _fields("drugs", same=_drugs)
    | {"dose": (("program", "dose"), _quantity(Kind.DOSE_RATE))},
    # Programming takes the version and reasons only: the answer is the program prescribed.
    "POST /api/implants/{implant_id}/programs": {},
    "POST /api/implants/{implant_id}/prescriptions": _fields("reason")
    | _fields("drugs", same=_drugs),
    # A preview answers with the judgement, a readback with the comparison: no request field.
    "POST /api/implants/{implant_id}/prescriptions/preview": {},
    "POST /api/programs/{program_id}/readbacks": {},
    "POST /api/prescriptions/{prescription_id}/checks": _fields("comment")
    | {"accept": (("accepted",), _equal)},
    "POST /api/incidents/{incident_id}/close": _fields("resolution"),
    "POST /api/implants/{implant_id}/alarms": _fields("kind", "note")
    | _fields("reported_at", same=_moment),
    "POST /api/alarms/{alarm_id}/acknowledge": _fields("action_taken"),
    "PATCH /api/appointments/{appointment_id}": _fields("status") | _fields("on", same=_day),
    "PATCH /api/settings": _fields(
        "implant_wait_days", "stay_min_days", "stay_max_days", "refill_margin_days", same=_equal
    )
    | _fields("country", "subdivision", "dosing_region", same=_code)
    | _fields("time_zone", "date_format", "time_format")
    | _fields(
        "opens_at", "closes_at", "refill_visit_minutes", "refill_capacity_per_day", same=_equal
    )
    | _fields("open_weekdays", same=_weekdays)
    | _fields("readback_tolerance", same=_quantity(Kind.VOLUME)),
    "POST /api/clinic-catheters": _fields("name", "manufacturer", "source")
    | _fields("model", same=_model_key)
    | _fields("volume_per_cm", same=_per_cm),
    # An approval or an archiving takes the version only.
    "POST /api/clinic-catheters/{entry_id}/approve": {},
    "POST /api/clinic-catheters/{entry_id}/archive": {},
    # The answer shows the roles held; a role added is asked for (`asked`), not held yet.
    "PUT /api/users/{user_id}/roles": {},
    "POST /api/settings/tolerance-requests": {
        "readback_tolerance": (("requested",), _quantity(Kind.VOLUME))
    },
    "POST /api/users/{user_id}/adoption": {"reason": (("reason",), _text)},
}


def _differences(label: str, sent: Any, shown: Any) -> list[str]:
    """The fields of a 2xx write's request that its answer shows differently."""
    found = []
    for field, (path, same) in ROUND_TRIP.get(label, {}).items():
        if not isinstance(sent, dict) or sent.get(field) is None:
            continue
        value = shown
        for step in path:
            value = value[step]
        if not same(sent[field], value):
            found.append(f"{field}: sent {sent[field]!r}, shown {value!r}")
    return found


def _credentials(label: str, records: Records) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and cookies of a call: the bearer token of the operation's role, or for the
    login (which takes no token) the CSRF token in its cookie and header."""
    if label in {LOGIN, CODE}:
        csrf = _get_new_csrf_string()
        return {"X-CSRFToken": csrf}, {"csrftoken": csrf}
    return {"Authorization": f"Bearer {records.tokens[ROLE_OF.get(label, Role.PHYSICIAN)]}"}, {}


def _send(case: Case[Any], records: Records, app: WSGIHandler, checks: list[Any]) -> Response:
    """Call the operation and check the answer against the schema (and, for a 2xx write, that
    it gives back what was sent)."""
    label = case.operation.label
    headers, cookies = _credentials(label, records)
    response = case.call(app=app, headers=headers, cookies=cookies)
    case.validate_response(response, checks=checks, headers=headers)
    if case.method.upper() in WRITES and 200 <= response.status_code < 300:
        assert _differences(label, case.body, response.json()) == []
    return response


def _fuzz(label: str, mode: GenerationMode, records: Records, app: WSGIHandler) -> None:
    operation = OPERATIONS[label]
    real = {p.name: records.ids[p.name] for p in operation.path_parameters}
    cases = operation.as_strategy(mode)
    if real:
        # Two requests in three name real records.
        with_real = operation.as_strategy(mode, path_parameters=real)
        cases = st.one_of(with_real, with_real, cases)
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def run(case: Case[Any], data: st.DataObject) -> None:
        valid = _valid_request(label, records) if mode is GenerationMode.POSITIVE else None
        if valid is not None and data.draw(st.booleans(), label="one field of a valid body"):
            path, body = valid
            if isinstance(case.body, dict) and case.body:
                field = data.draw(st.sampled_from(sorted(case.body)), label="field")
                body[field] = case.body[field]
            case.path_parameters = {**(case.path_parameters or {}), **path}
            case.body = body
        _send(case, records, app, checks)

    run()


def test_every_operation_of_the_schema_is_fuzzed() -> None:
    """The parametrized test below covers exactly the schema's operations, and each write that
    takes a body (but the login's code) has a valid request and a round trip."""
    assert set(OPERATIONS) == EXPECTED
    with_body = {label for label, op in OPERATIONS.items() if op.body}
    assert with_body == set(ROUND_TRIP) | {CODE}


@pytest.mark.parametrize("label", FUZZED)
def test_an_operation_answers_as_its_schema_declares_and_refuses_what_breaks_it(
    label: str, records: Records, wsgi_app: WSGIHandler
) -> None:
    """Generated requests that fit the schema, then (for an operation that takes input) ones
    that break it."""
    _fuzz(label, GenerationMode.POSITIVE, records, wsgi_app)
    if label in WITH_INPUT:
        _fuzz(label, GenerationMode.NEGATIVE, records, wsgi_app)


def test_the_valid_request_of_every_write_is_accepted_and_given_back(
    records: Records, wsgi_app: WSGIHandler
) -> None:
    """The fuzzer's valid bodies are accepted (so its one-field variations reach the service)
    and each 2xx answer shows what was sent."""
    accepted = {}
    # The refill (dated day 60) before the titration (now), which would leave it out of order.
    for label in sorted(ROUND_TRIP, key=lambda label: (label.endswith("/programs"), label)):
        valid = _valid_request(label, records)
        assert valid is not None, label
        case = OPERATIONS[label].Case(path_parameters=valid[0], body=valid[1])
        accepted[label] = _send(case, records, wsgi_app, CHECKS).status_code
    assert {label: status for label, status in accepted.items() if status >= 300} == {}


def test_an_anonymous_call_of_every_secured_operation_is_a_declared_401(
    records: Records, wsgi_app: WSGIHandler
) -> None:
    """Every error an operation can answer is in its schema, the 401 included."""
    for label, operation in sorted(OPERATIONS.items()):
        if label in {"GET /api/auth/csrf", LOGIN, CODE}:
            continue
        real = {p.name: records.ids[p.name] for p in operation.path_parameters}
        valid = _valid_request(label, records)
        body = valid[1] if valid else ({} if operation.body else None)
        case = (
            operation.Case(path_parameters=real)
            if body is None
            else operation.Case(path_parameters=real, body=body)
        )
        response = case.call(app=wsgi_app)
        assert response.status_code == 401, label
        case.validate_response(response, checks=CHECKS)


def test_a_body_that_is_not_json_is_a_declared_400_naming_no_record(
    records: Records, wsgi_app: WSGIHandler
) -> None:
    """Regression: a body that is not JSON was answered 400, a status no operation declared."""
    for label, operation in sorted(OPERATIONS.items()):
        if not operation.body:
            continue
        real = {p.name: records.ids[p.name] for p in operation.path_parameters}
        case = operation.Case(path_parameters=real, body="{not json", media_type="text/plain")
        headers, cookies = _credentials(label, records)
        headers["Content-Type"] = "application/json"
        response = case.call(app=wsgi_app, headers=headers, cookies=cookies)
        assert response.status_code == 400, label
        case.validate_response(response, checks=CHECKS)


def test_a_dashboard_offset_beyond_the_database_integer_range_is_refused_naming_offset(
    records: Records, wsgi_app: WSGIHandler, users: dict[Role, User]
) -> None:
    """Regression: offset=2**63 reached the database and came back as a 409 'concurrent change'
    (SQLite) instead of a refusal naming the field."""
    case = OPERATIONS["GET /api/dashboard"].Case(query={"offset": 2**63})
    response = _send(case, records, wsgi_app, CHECKS)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "offset"
    with pytest.raises(Refusal) as refused:
        dashboard.worklist(
            users[Role.NURSE], at(today()), offset=dashboard.MAX_OFFSET + 1, limit=10
        )
    assert refused.value.field == "offset"


def test_a_patient_change_with_a_null_birth_date_is_refused_not_a_server_error(
    records: Records, wsgi_app: WSGIHandler
) -> None:
    """Regression: {"birth_date": null} in a patient change was a 500 (None compared with a
    date); it is refused naming birth_date and changes nothing."""
    patient_id = records.ids["patient_id"]
    version = _version(Patient, patient_id)
    case = OPERATIONS["PATCH /api/patients/{patient_id}"].Case(
        path_parameters={"patient_id": patient_id}, body={"version": version, "birth_date": None}
    )
    response = _send(case, records, wsgi_app, CHECKS)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "birth_date"
    assert _version(Patient, patient_id) == version


def test_a_nul_character_in_any_text_is_refused_naming_the_field(
    records: Records, wsgi_app: WSGIHandler
) -> None:
    """Regression: a NUL character in a text field was stored on SQLite and a 500 on PostgreSQL
    (which cannot store one); it is refused naming the field, nothing stored, nothing audited."""
    patients, entries = Patient.objects.count(), AuditEntry.objects.count()
    valid = _valid_request("POST /api/patients", records)
    assert valid is not None
    for field in ("mrn", "family_name", "given_name"):
        case = OPERATIONS["POST /api/patients"].Case(body=valid[1] | {field: "Mus\x00ter"})
        response = _send(case, records, wsgi_app, CHECKS)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == field
    alarm = OPERATIONS["POST /api/alarms/{alarm_id}/acknowledge"].Case(
        path_parameters={"alarm_id": records.ids["alarm_id"]}, body={"action_taken": "a\x00"}
    )
    assert _send(alarm, records, wsgi_app, CHECKS).json()["error"]["field"] == "action_taken"
    assert (Patient.objects.count(), AuditEntry.objects.count()) == (patients, entries)


def test_a_refill_dated_before_the_current_program_is_refused_naming_performed_at(
    records: Records, wsgi_app: WSGIHandler, users: dict[Role, User]
) -> None:
    """Regression: a refill dated before a later titration was refused as 'drugs[0]: -730 is
    negative; limit: >= 0 hour (source: drug library)'; it is refused naming performed_at and
    the program's start, and nothing is stored."""
    implant_id = records.ids["implant_id"]
    prescribed(
        users[Role.PHYSICIAN],
        users[Role.PHARMACIST],
        UUID(implant_id),
        fill("baclofen", "2000 mcg/mL"),
        parse("420 mcg/day", Kind.DOSE_RATE, "dose"),
        at=at(today(), 0),
    )
    titration = OPERATIONS["POST /api/implants/{implant_id}/programs"].Case(
        path_parameters={"implant_id": implant_id},
        body={"version": _version(Implant, implant_id), "overrides": INCIDENT_SEEN},
    )
    assert _send(titration, records, wsgi_app, CHECKS).status_code == 201
    refills, entries = Refill.objects.count(), AuditEntry.objects.count()
    body = refill_body(idempotency_key="late", version=_version(Implant, implant_id))
    del body["dose"]
    refill = OPERATIONS["POST /api/implants/{implant_id}/refills"].Case(
        path_parameters={"implant_id": implant_id}, body=body
    )
    error = _send(refill, records, wsgi_app, CHECKS).json()["error"]
    assert error["field"] == "performed_at"
    assert "after the start of the current program" in error["limit"]
    assert (Refill.objects.count(), AuditEntry.objects.count()) == (refills, entries)
