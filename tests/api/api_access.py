"""The API's expected-access table (every operation of the OpenAPI schema: who may call it, the
status of an allowed call, a URL and body that would be accepted) and the records the calls act
on, made once per module inside a transaction rolled back at its end: shared by the access
matrix and the CSRF tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, override_settings
from therapy_setup import (
    at,
    baclofen_implant,
    fill,
    iso,
    new_episode,
    new_patient,
    prescription_body,
    readback_body,
    refill_body,
    today,
    unverified_refill,
)

from db_snapshot import snapshot
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
from painpump.clinic.actions import users as accounts
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import Appointment, Implant, Incident, Program
from painpump.clinic.reads.incident_warnings import RULE as INCIDENT_RULE
from painpump.clinic.reads.prescriptions import as_core
from painpump.clinic.roles import Role
from painpump.clinic.testing import MEDTRONIC_CATHETER, audited_user, prescribed
from painpump.core import prescription as rx
from painpump.core.prescription_compare import Readback
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper

PASSWORD = "correct horse battery"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ANONYMOUS, INACTIVE, READ_ONLY_TOKEN = "anonymous", "inactive", "read-only token"
P, N, PH, AD, AU = (r.value for r in Role)
# Every kind of caller; the read-only token is a physician's.
CALLERS = (ANONYMOUS, P, N, PH, AU, AD, INACTIVE, READ_ONLY_TOKEN)
EVERYONE = frozenset(CALLERS)
SIGNED_IN = frozenset({P, N, PH, AU, AD, READ_ONLY_TOKEN})
READERS = frozenset({P, N, PH, AU, READ_ONLY_TOKEN})
SAFE = frozenset({"get", "head", "options"})


@dataclass(frozen=True)
class World:
    """The records the calls act on, made once for the module."""

    ids: dict[str, str]
    users: dict[str, User]
    token: str
    rows: dict[str, list[tuple[Any, ...]]]


Body = Callable[[World], dict[str, Any]] | None


@dataclass(frozen=True)
class Access:
    """Who may call an operation (a read-only token also needs a safe method), the status of an
    allowed call, the URL with the world's ids, the body sent, and the capability (if any) the
    roles come from."""

    allowed: frozenset[str]
    status: int
    url: str
    body: Body = None
    capability: str | None = None


def _refill(world: World) -> dict[str, Any]:
    """The world's pump has a readback incident open (to close one): its refill gives the
    reason the incident's warning asks for."""
    return refill_body(
        idempotency_key="matrix",
        version=int(world.ids["implant_version"]),
        overrides={INCIDENT_RULE: "the open readback incident seen, programmer checked"},
    )


ACCESS: dict[tuple[str, str], Access] = {
    ("get", "/api/auth/csrf"): Access(EVERYONE, 200, "/api/auth/csrf"),
    ("post", "/api/auth/login"): Access(
        EVERYONE,
        200,
        "/api/auth/login",
        lambda w: {"username": "nurse.joy", "password": PASSWORD},
    ),
    # No login waits for a code on these sessions: everyone is told to log in first.
    ("post", "/api/auth/code"): Access(
        EVERYONE, 401, "/api/auth/code", lambda w: {"code": "123456"}
    ),
    ("post", "/api/auth/logout"): Access(SIGNED_IN - {READ_ONLY_TOKEN}, 200, "/api/auth/logout"),
    ("get", "/api/auth/me"): Access(SIGNED_IN, 200, "/api/auth/me"),
    ("get", "/api/patients"): Access(READERS, 200, "/api/patients?q=muster", None, "patient.read"),
    ("post", "/api/patients"): Access(
        frozenset({P, N}),
        201,
        "/api/patients",
        lambda w: {
            "mrn": "MRN-NEW",
            "family_name": "Neu",
            "given_name": "Nina",
            "birth_date": "1980-02-03",
        },
        "patient.write",
    ),
    ("get", "/api/patients/{patient_id}"): Access(
        READERS, 200, "/api/patients/{patient}", None, "patient.read"
    ),
    ("patch", "/api/patients/{patient_id}"): Access(
        frozenset({P, N}),
        200,
        "/api/patients/{patient}",
        lambda w: {"version": 1, "given_name": "Erika Maria"},
        "patient.write",
    ),
    ("get", "/api/patients/{patient_id}/episodes"): Access(
        READERS, 200, "/api/patients/{patient}/episodes", None, "patient.read"
    ),
    ("post", "/api/patients/{patient_id}/episodes"): Access(
        frozenset({P}),
        201,
        "/api/patients/{patient}/episodes",
        lambda w: {"indication": "stroke", "referred_on": today().isoformat()},
        "episode.write",
    ),
    ("get", "/api/episodes/{episode_id}"): Access(
        READERS, 200, "/api/episodes/{referred}", None, "patient.read"
    ),
    ("put", "/api/episodes/{episode_id}/origin"): Access(
        frozenset({P}),
        200,
        "/api/episodes/{referred}/origin",
        lambda w: {"version": 1, "origin": "", "reason": ""},
        "episode.write",
    ),
    ("get", "/api/episodes/{episode_id}/assessments"): Access(
        READERS, 200, "/api/episodes/{referred}/assessments", None, "patient.read"
    ),
    ("post", "/api/episodes/{episode_id}/assessments"): Access(
        frozenset({P, N}),
        201,
        "/api/episodes/{referred}/assessments",
        lambda w: {"kind": "pain_nrs", "value": 7, "taken_at": iso(at(today()))},
        "assessment.write",
    ),
    ("post", "/api/episodes/{episode_id}/steps"): Access(
        frozenset({P}),
        200,
        "/api/episodes/{referred}/steps",
        lambda w: {
            "action": "start_test_phase",
            "version": 1,
            "facts": {"on": today().isoformat(), "protocol": "continuous"},
            "acknowledge": {"tumour_pain_test_phase": "opioid trial before committing to a pump"},
        },
        "pathway.decide",
    ),
    ("get", "/api/episodes/{episode_id}/steps"): Access(
        READERS, 200, "/api/episodes/{referred}/steps", None, "patient.read"
    ),
    ("get", "/api/episodes/{episode_id}/preview"): Access(
        READERS,
        200,
        "/api/episodes/{referred}/preview?action=start_test_phase&protocol=bolus&on={today}",
        None,
        "patient.read",
    ),
    ("post", "/api/episodes/{episode_id}/implants"): Access(
        frozenset({P}),
        201,
        "/api/episodes/{referred}/implants",
        lambda w: {
            "version": 1,
            "pump_model": "synchromed-ii-20",
            "pump_serial": "NGP-MATRIX",
            "catheter_model": "8709SC",
            "catheter_length": "60 cm",
            "dead_volume": "0.25 mL",
            "acknowledge": dict(MEDTRONIC_CATHETER),
            "implanted_on": today().isoformat(),
        },
        "pathway.decide",
    ),
    ("get", "/api/implants/{implant_id}"): Access(
        READERS, 200, "/api/implants/{implant}", None, "patient.read"
    ),
    ("get", "/api/patients/{patient_id}/implants"): Access(
        READERS, 200, "/api/patients/{patient}/implants", None, "patient.read"
    ),
    ("post", "/api/implants/{implant_id}/refills"): Access(
        frozenset({P, N}), 201, "/api/implants/{implant}/refills", _refill, "refill.perform"
    ),
    ("get", "/api/implants/{implant_id}/refills"): Access(
        READERS, 200, "/api/implants/{implant}/refills", None, "patient.read"
    ),
    ("post", "/api/implants/{implant_id}/programs"): Access(
        frozenset({P, N}),
        201,
        "/api/implants/{other}/programs",
        lambda w: {"version": int(w.ids["other_version"])},
        "refill.perform",
    ),
    ("post", "/api/implants/{implant_id}/prescriptions"): Access(
        frozenset({P}),
        201,
        "/api/implants/{implant}/prescriptions",
        lambda w: prescription_body(int(w.ids["implant_version"])),
        "program.prescribe",
    ),
    ("post", "/api/implants/{implant_id}/prescriptions/preview"): Access(
        frozenset({P}),
        200,
        "/api/implants/{implant}/prescriptions/preview",
        lambda w: prescription_body(None),
        "program.prescribe",
    ),
    ("get", "/api/implants/{implant_id}/prescriptions"): Access(
        READERS, 200, "/api/implants/{implant}/prescriptions", None, "patient.read"
    ),
    ("post", "/api/prescriptions/{prescription_id}/checks"): Access(
        frozenset({P, PH}),
        201,
        "/api/prescriptions/{awaiting}/checks",
        lambda w: {
            "concentrations": [{"drug": "baclofen", "concentration": "2000 mcg/mL"}],
            "program": {"kind": "continuous", "dose": "380 mcg/day"},
            "ptm": None,
            "accept": True,
        },
        "prescription.check",
    ),
    ("post", "/api/programs/{program_id}/readbacks"): Access(
        frozenset({P, N}),
        201,
        "/api/programs/{program}/readbacks",
        lambda w: readback_body(),
        "refill.perform",
    ),
    ("post", "/api/incidents/{incident_id}/close"): Access(
        frozenset({P}),
        200,
        "/api/incidents/{incident}/close",
        lambda w: {"resolution": "pump reprogrammed as prescribed"},
        "incident.close",
    ),
    ("get", "/api/patients/{patient_id}/incidents"): Access(
        READERS, 200, "/api/patients/{patient}/incidents", None, "patient.read"
    ),
    ("post", "/api/refills/{refill_id}/verify"): Access(
        frozenset({P, PH}), 200, "/api/refills/{unverified}/verify", None, "change.verify"
    ),
    ("post", "/api/implants/{implant_id}/alarms"): Access(
        frozenset({P, N}),
        201,
        "/api/implants/{implant}/alarms",
        lambda w: {"kind": "low_reservoir", "reported_at": iso(at(today()))},
        "assessment.write",
    ),
    ("post", "/api/alarms/{alarm_id}/acknowledge"): Access(
        frozenset({P, N}),
        200,
        "/api/alarms/{alarm}/acknowledge",
        lambda w: {"action_taken": "refill booked"},
        "assessment.write",
    ),
    ("get", "/api/alarms"): Access(READERS, 200, "/api/alarms?open=true", None, "patient.read"),
    ("get", "/api/dashboard"): Access(READERS, 200, "/api/dashboard", None, "patient.read"),
    ("patch", "/api/appointments/{appointment_id}"): Access(
        frozenset({P, N}),
        200,
        "/api/appointments/{appointment}",
        lambda w: {
            "status": "booked",
            "late_reason": "patient abroad until then",
            "expected_version": int(w.ids["appointment_version"]),
        },
        "appointment.write",
    ),
    ("get", "/api/appointments"): Access(
        READERS, 200, "/api/appointments?from={today}&to={today}", None, "patient.read"
    ),
    ("get", "/api/settings"): Access(SIGNED_IN, 200, "/api/settings"),
    ("patch", "/api/settings"): Access(
        frozenset({AD}),
        200,
        "/api/settings",
        lambda w: {"version": 1, "implant_wait_days": 28},
        "settings.write",
    ),
    ("get", "/api/clinic-catheters"): Access(
        SIGNED_IN, 200, "/api/clinic-catheters", None, "library.read"
    ),
    ("post", "/api/clinic-catheters"): Access(
        frozenset({PH}),
        201,
        "/api/clinic-catheters",
        lambda w: {
            "model": "8780",
            "name": "Ascenda intrathecal catheter 8780",
            "manufacturer": "Medtronic",
            "volume_per_cm": {"value": 2.6, "unit": "uL/cm"},
            "source": "IFU 8780 rev B, page 4",
        },
        "library.harden",
    ),
    # the world's waiting entry was entered by the pharmacist: a physician is its second approver
    ("post", "/api/clinic-catheters/{entry_id}/approve"): Access(
        frozenset({P}), 200, "/api/clinic-catheters/{catheter}/approve", lambda w: {"version": 1}
    ),
    ("post", "/api/clinic-catheters/{entry_id}/archive"): Access(
        frozenset({PH}),
        200,
        "/api/clinic-catheters/{catheter}/archive",
        lambda w: {"version": 1},
        "library.harden",
    ),
    ("get", "/api/users"): Access(frozenset({AD}), 200, "/api/users", None, "users.manage"),
    ("put", "/api/users/{user_id}/roles"): Access(
        frozenset({AD}),
        200,
        "/api/users/{nurse_id}/roles",
        lambda w: {"version": 1, "roles": ["nurse", "physician"]},
        "users.manage",
    ),
    ("get", "/api/users/adoptions"): Access(
        frozenset({AD}), 200, "/api/users/adoptions", None, "users.manage"
    ),
    # the world's account made outside painpump with no adoption waiting: the admin asks
    ("post", "/api/users/{user_id}/adoption"): Access(
        frozenset({AD}),
        201,
        "/api/users/{outside_id}/adoption",
        lambda w: {"reason": "made by the 2025 import script"},
        "users.manage",
    ),
    # the world's adoption was asked for by another admin: the admin is its second approver, and
    # only its asker withdraws it (422)
    ("post", "/api/users/adoptions/{adoption_id}/approve"): Access(
        frozenset({AD}), 200, "/api/users/adoptions/{adoption}/approve", None, "users.manage"
    ),
    ("post", "/api/users/adoptions/{adoption_id}/decline"): Access(
        frozenset({AD}), 200, "/api/users/adoptions/{adoption}/decline", None, "users.manage"
    ),
    ("post", "/api/users/adoptions/{adoption_id}/withdraw"): Access(
        frozenset({AD}), 422, "/api/users/adoptions/{adoption}/withdraw", None, "users.manage"
    ),
    ("get", "/api/role-grants"): Access(
        frozenset({AD}), 200, "/api/role-grants", None, "users.manage"
    ),
    # the world's request was asked for by another admin: the admin is its second approver
    ("post", "/api/role-grants/{grant_id}/approve"): Access(
        frozenset({AD}), 200, "/api/role-grants/{grant}/approve", None, "users.manage"
    ),
    ("post", "/api/role-grants/{grant_id}/decline"): Access(
        frozenset({AD}), 200, "/api/role-grants/{grant}/decline", None, "users.manage"
    ),
    ("get", "/api/settings/tolerance-requests"): Access(
        frozenset({AD}), 200, "/api/settings/tolerance-requests", None, "settings.write"
    ),
    # the world's wider tolerance, asked for by another admin, waits: the admin's own request
    # is refused for that (422), where every other role is refused by its role
    ("post", "/api/settings/tolerance-requests"): Access(
        frozenset({AD}),
        422,
        "/api/settings/tolerance-requests",
        lambda w: {"version": 1, "readback_tolerance": "0.2 mL"},
        "settings.write",
    ),
    # the admin is the second approver of the world's request; only its asker withdraws it (422)
    ("post", "/api/settings/tolerance-requests/{request_id}/approve"): Access(
        frozenset({AD}),
        200,
        "/api/settings/tolerance-requests/{tolerance_request}/approve",
        None,
        "settings.write",
    ),
    ("post", "/api/settings/tolerance-requests/{request_id}/decline"): Access(
        frozenset({AD}),
        200,
        "/api/settings/tolerance-requests/{tolerance_request}/decline",
        None,
        "settings.write",
    ),
    ("post", "/api/settings/tolerance-requests/{request_id}/withdraw"): Access(
        frozenset({AD}),
        422,
        "/api/settings/tolerance-requests/{tolerance_request}/withdraw",
        None,
        "settings.write",
    ),
}


def schema_operations() -> set[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return {(method, path) for path, item in schema["paths"].items() for method in item}


def _build() -> World:
    users: dict[str, User] = {}
    for role, name in [
        (Role.PHYSICIAN, "dr.house"),
        (Role.NURSE, "nurse.joy"),
        (Role.PHARMACIST, "pharma.cist"),
        (Role.AUDITOR, "audi.tor"),
        (Role.ADMIN, "ad.min"),
        (Role.PHYSICIAN, "dr.gone"),
        (Role.ADMIN, "ad.other"),
    ]:
        users[name] = audited_user(name, role, password=PASSWORD)
    physician, nurse = users["dr.house"], users["nurse.joy"]
    clinic_settings()
    patient = new_patient(nurse, "MRN-0001", life_expectancy_months=24)  # tumour-pain referral
    referred = new_episode(physician, patient, "tumour_pain", 30)
    implant = baclofen_implant(physician, patient)
    alarm = alarms.report_alarm(nurse, implant.id, kind="low_reservoir", reported_at=at(today()))
    appointment = Appointment.objects.filter(patient=patient).latest("on")
    program = Program.objects.get(implant=implant)
    wrong = as_core(program.prescription) if program.prescription else None
    assert wrong is not None
    readbacks.record_readback(
        nurse,
        program.id,
        Readback(parse("19 mL", Kind.VOLUME, "r"), wrong.drugs, wrong.program, wrong.ptm),
        at(today()),
    )
    # An overinfusion passed by the nurse on another patient's pump: waits for verification.
    other: Implant = baclofen_implant(physician, new_patient(nurse, "MRN-0002", "Beispiel"))
    unverified = unverified_refill(nurse, other)
    dose = parse("380 mcg/day", Kind.DOSE_RATE, "d")
    prescribed(
        physician,
        users["pharma.cist"],
        other.id,
        fill("baclofen", "2000 mcg/mL"),
        dose,
        at=at(today()),
    )
    awaiting = prescriptions.prescribe(
        users["dr.gone"],
        implant.id,
        rx.Prescription(wrong.drugs, rx.PrescribedProgram.continuous(dose)),
        reason="a lower dose for daytime weakness",
        now=at(today()),
        expected_version=Implant.objects.get(id=implant.id).version,
    )
    grant = role_grants.ask("ad.other", nurse, [Role.PHARMACIST])[0]
    wider = tolerance_requests.ask(users["ad.other"], expected_version=1, tolerance="0.3 mL")
    outside = tamper.insert_account("in.outside", "nurse")  # made outside painpump
    waiting = User.objects.get(username=tamper.insert_account("in.waiting", "nurse"))
    adoption = account_adoptions.ask(
        users["ad.other"], waiting.id, reason="made by the 2025 import script"
    )
    catheter = catheters.add_catheter(
        users["pharma.cist"],
        model="8731SC",
        name="Intrathecal catheter 8731SC",
        manufacturer="Medtronic",
        volume_per_cm=Decimal("0.0026"),
        source="IFU 8731SC rev A, page 3",
    )
    token = tokens.create("dr.house", read_only=True).secret
    gone = users["dr.gone"]
    accounts.set_active(users["ad.min"], gone.id, expected_version=1, active=False)
    ids = {
        "today": today().isoformat(),
        "patient": str(patient.id),
        "referred": str(referred.id),
        "implant": str(implant.id),
        "alarm": str(alarm.id),
        "appointment": str(appointment.id),
        "appointment_version": str(Appointment.objects.get(id=appointment.id).version),
        "nurse_id": str(nurse.id),
        "grant": str(grant.id),
        "tolerance_request": str(wider.id),
        "outside_id": str(User.objects.get(username=outside).id),
        "adoption": str(adoption.id),
        "catheter": str(catheter.id),
        "unverified": str(unverified.id),
        "other": str(other.id),
        "other_version": str(Implant.objects.get(id=other.id).version),
        "implant_version": str(Implant.objects.get(id=implant.id).version),
        "awaiting": str(awaiting.id),
        "program": str(program.id),
        "incident": str(Incident.objects.get().id),
    }
    by_caller = {
        P: physician,
        N: nurse,
        PH: users["pharma.cist"],
        AU: users["audi.tor"],
        AD: users["ad.min"],
        INACTIVE: users["dr.gone"],
    }
    return World(ids, by_caller, token, snapshot())


def module_world(django_db_blocker: Any) -> Iterator[World]:
    """The body of a module-scoped fixture: the records, rolled back once the module has run."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        yield _build()
        transaction.set_rollback(True)


def client_for(world: World, caller: str) -> tuple[Client, dict[str, str]]:
    client = Client()
    if caller == READ_ONLY_TOKEN:
        return client, {"HTTP_AUTHORIZATION": f"Bearer {world.token}"}
    if caller != ANONYMOUS:
        client.force_login(world.users[caller])
    return client, {}


def allows(access: Access, method: str, caller: str) -> bool:
    if caller == READ_ONLY_TOKEN and method not in SAFE and access.allowed != EVERYONE:
        return False
    return caller in access.allowed
