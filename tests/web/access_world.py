"""The web app's pages and forms for the access and CSRF tests: one set of records made once per
module (in a transaction rolled back at its end), the expected-access table of every named URL
of painpump.web.urls (who may GET it, who may POST to it) and, for each form, data that would be
accepted from a user allowed to send it, so that a refusal is the role's and not the form's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern
from django.utils import timezone

from clinic_fixtures import SETTINGS_FORM
from db_snapshot import snapshot
from frozen import TODAY, ZONE
from painpump.clinic.actions import (
    account_adoptions,
    alarms,
    catheters,
    implantation,
    library,
    patients,
    prescriptions,
    refills,
    role_grants,
    tolerance_requests,
)
from painpump.clinic.actions import users as accounts
from painpump.clinic.actions.readbacks import record_readback
from painpump.clinic.locale import clinic_settings
from painpump.clinic.models import Appointment, Episode, Implant, Incident, Program, Refill
from painpump.clinic.roles import Role
from painpump.clinic.testing import (
    CARRIED_OVER,
    MEDTRONIC_CATHETER,
    audited_user,
    baclofen,
    prescribed,
    responder_episode,
)
from painpump.core.prescription import FluidChange, PrescribedProgram, Prescription
from painpump.core.prescription_compare import Readback
from painpump.core.units import Kind, parse
from painpump.devtools.security import tamper
from painpump.web import urls

PASSWORD = "correct horse battery"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ANONYMOUS, INACTIVE = "anonymous", "inactive"
P, N, PH, AU, AD = (
    r.value for r in (Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.AUDITOR, Role.ADMIN)
)
CALLERS = (ANONYMOUS, P, N, PH, AU, AD, INACTIVE)
SIGNED_IN = frozenset({P, N, PH, AU, AD})
READERS = frozenset({P, N, PH, AU})
NOBODY: frozenset[str] = frozenset()
OTHER = "other physician"
"""The prescriber of the prescription awaiting its double-check (every caller may check it)."""
USERNAMES = {P: "dr.house", N: "nurse.joy", PH: "pharma.cist", AU: "audi.tor", AD: "ad.min"}
POLICY = "Clinic policy, pharmacy committee, 2026"


@dataclass(frozen=True)
class World:
    """The records the pages show and the forms change, made once for the module."""

    ids: dict[str, Any]
    users: dict[str, User]
    rows: dict[str, list[tuple[Any, ...]]]


Data = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Page:
    """A named URL: its arguments (keys of World.ids or literal values), who may GET it and
    who may POST to it (None: the method is not accepted, 405), the form data of a POST, and
    the status an allowed caller gets."""

    kwargs: dict[str, str] = field(default_factory=dict)
    get: frozenset[str] | None = None
    post: frozenset[str] | None = None
    data: Data | None = None
    get_status: int = 200
    post_status: int = 302
    query: str = ""
    status_for: dict[str, int] = field(default_factory=dict)
    reads_only: bool = False
    data_reads: bool = False  # the data is what a physician's review returned (audited reads)


def read_page(allowed: frozenset[str], **kwargs: str) -> Page:
    """A page that only shows records; it has no method restriction, so a POST is answered as
    the GET (and, like every POST, needs the CSRF token)."""
    return Page(kwargs, get=allowed, post=allowed, post_status=200, reads_only=True)


def today() -> date:
    return TODAY


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no field {name} on the page"
    return found.group(1)


def _refill(world: World) -> dict[str, Any]:
    """The refill form as the physician reviewed it, ready to confirm."""
    client = signed_in(world.users[P])
    url = f"/implants/{world.ids['implant']}/refill/"
    page = client.get(url).content.decode()
    data = {
        "version": hidden(page, "version"),
        "idempotency_key": hidden(page, "idempotency_key"),
        "expected": world.ids["expected"],
        "aspirated": world.ids["expected"],
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "lot": "LOT-7",
        "volume": "20 mL",
        "action": "review",
    }
    reviewed = client.post(url, data).content.decode()
    return data | {"reviewed": hidden(reviewed, "reviewed"), "action": "confirm"}


def _refill_live(world: World) -> dict[str, Any]:
    return {"expected": world.ids["expected"], "aspirated": world.ids["expected"]}


def _program(world: World) -> dict[str, Any]:
    """Programming the ready prescription (420 mcg/day) as the physician reviewed it."""
    page = signed_in(world.users[P]).get(f"/implants/{world.ids['implant']}/program/")
    shown = page.content.decode()
    return {
        "version": hidden(shown, "version"),
        "reviewed": hidden(shown, "reviewed"),
        "action": "confirm",
    }


def _prescribe(world: World) -> dict[str, Any]:
    """A continuous baclofen prescription as the physician reviewed it, ready to sign."""
    client = signed_in(world.users[P])
    url = f"/implants/{world.ids['implant']}/prescribe/"
    page = client.get(url).content.decode()
    data = {
        "version": hidden(page, "version"),
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "continuous",
        "dose": "400 mcg/day",
        "reason": "keep the established dose",
        "action": "review",
    }
    reviewed = client.post(url, data).content.decode()
    return data | {"reviewed": hidden(reviewed, "reviewed"), "action": "sign"}


def _check(world: World) -> dict[str, Any]:
    return {
        "concentration_0": "1000 mcg/mL",
        "kind": "continuous",
        "dose": "400 mcg/day",
        "fluid_change": "bridge",
        "action": "accept",
    }


def _readback(world: World) -> dict[str, Any]:
    return {
        "reservoir": "20 mL",
        "drug": "baclofen",
        "concentration": "2000 mcg/mL",
        "kind": "continuous",
        "dose": "400 mcg/day",
    }


def _start_test_phase(world: World) -> dict[str, Any]:
    return {
        "start_test_phase-version": "1",
        "start_test_phase-on": today().isoformat(),
        "start_test_phase-protocol": "bolus",
    }


def _plan_stay(world: World) -> dict[str, Any]:
    admit = today() + timedelta(days=14)
    while admit.weekday() >= 4:
        admit += timedelta(days=1)
    return {
        "plan-test-phase-version": "1",
        "plan-test-phase-admit_on": admit.isoformat(),
        "plan-test-phase-discharge_on": (admit + timedelta(days=2)).isoformat(),
        "plan-test-phase-protocol": "bolus",
    }


def _implant(world: World) -> dict[str, Any]:
    return {
        "implant-version": "1",
        "implant-pump_model": "synchromed-ii-20",
        "implant-pump_serial": "NGP-WEB-1",
        "implant-catheter_model": "8709SC",
        "implant-catheter_length": "60 cm",
        "implant-dead_volume": "0.25 mL",
        "implant-ack_dead_volume_unchecked": "on",
        "implant-note_dead_volume_unchecked": MEDTRONIC_CATHETER["dead_volume_unchecked"],
        "implant-alarm_volume": "",
        "implant-implanted_on": today().isoformat(),
        "implant-discharged_on": "",
    }


def _appointment(world: World) -> dict[str, Any]:
    prefix = world.ids["appointment"]
    return {
        f"{prefix}-version": str(world.ids["appointment_version"]),
        f"{prefix}-do": "book",
        f"{prefix}-on": "",
        f"{prefix}-view": "week",
        f"{prefix}-day": today().isoformat(),
    }


GOOD_PASSWORD = "a long enough passphrase 42"

PAGES: dict[str, Page] = {
    "dashboard": Page(
        get=SIGNED_IN, post=SIGNED_IN, post_status=200, status_for={AD: 302}, reads_only=True
    ),
    "sign-in": Page(
        get=frozenset(CALLERS),
        post=frozenset(CALLERS),
        data=lambda w: {"username": "nurse.joy", "password": PASSWORD},
    ),
    # No password step waits for a code on these sessions: everyone is sent to sign in.
    "sign-in-code": Page(
        get=frozenset(CALLERS), post=frozenset(CALLERS), get_status=302, post_status=302
    ),
    "sign-out": Page(post=frozenset(CALLERS)),
    # A signed-in user without an authenticator is offered to set one up (an empty form is
    # shown again); a stranger is sent to sign in.
    "two-factor": Page(
        get=frozenset(CALLERS),
        post=frozenset(CALLERS),
        post_status=200,
        status_for={ANONYMOUS: 302, INACTIVE: 302},
    ),
    "patients": Page(
        get=READERS, post=READERS, post_status=200, query="?q=muster", reads_only=True
    ),
    "patient": read_page(READERS, patient_id="patient"),
    "what-if": read_page(READERS, implant_id="implant"),
    "new-patient": Page(
        get=frozenset({P, N}),
        post=frozenset({P, N}),
        data=lambda w: {
            "mrn": "MRN-WEB-9",
            "family_name": "Neu",
            "given_name": "Nina",
            "birth_date": "1980-02-03",
        },
    ),
    "edit-patient": Page(
        {"patient_id": "patient"},
        get=frozenset({P, N}),
        post=frozenset({P, N}),
        data=lambda w: {
            "version": "1",
            "family_name": "Muster",
            "given_name": "Erika",
            "birth_date": "1970-05-01",
            "weight_kg": "72.5",
            "opioid_status": "unknown",
            "psychosis_history": "",
            "life_expectancy_months": "",
        },
    ),
    "episode-origin": Page(
        {"episode_id": "referred"},
        get=frozenset({P}),
        post=frozenset({P}),
        data=lambda w: {"version": "1", "origin": "", "reason": ""},
    ),
    "new-episode": Page(
        {"patient_id": "patient"},
        get=frozenset({P}),
        post=frozenset({P}),
        data=lambda w: {
            "key": "web-episode",
            "indication": "stroke",
            "referred_on": today().isoformat(),
            "injury_date": "",
        },
    ),
    "new-assessment": Page(
        {"patient_id": "patient"},
        get=frozenset({P, N}),
        post=frozenset({P, N}),
        data=lambda w: {
            "key": "web-assessment",
            "episode": str(w.ids["referred"]),
            "taken_at": (timezone.localtime(timezone=ZONE) - timedelta(minutes=5)).strftime(
                "%Y-%m-%d %H:%M"
            ),
            "pain_nrs": "6",
        },
    ),
    "episode": read_page(READERS, episode_id="referred"),
    "step": Page(
        {"episode_id": "referred", "action": "start_test_phase"},
        post=frozenset({P}),
        data=_start_test_phase,
    ),
    "plan-stay": Page(
        {"episode_id": "referred", "purpose": "test-phase"},
        post=frozenset({P}),
        data=_plan_stay,
    ),
    "implant": Page({"episode_id": "tumour"}, post=frozenset({P}), data=_implant),
    "calendar": Page(get=READERS),
    "appointment-change": Page(
        {"appointment_id": "appointment"}, post=frozenset({P, N}), data=_appointment
    ),
    "calendar-ics": Page(get=READERS, query="?from={today}&to={today}"),
    "refill-report": Page({"refill_id": "first_fill"}, get=READERS),
    "refill": Page(
        {"implant_id": "implant"},
        get=frozenset({P, N}),
        post=frozenset({P, N}),
        data=_refill,
        data_reads=True,
    ),
    "refill-live": Page(
        {"implant_id": "implant"},
        post=frozenset({P, N}),
        data=_refill_live,
        post_status=200,
        query="?part=reconciliation",
    ),
    "refill-record": read_page(READERS, refill_id="first_fill"),
    "refill-verify": Page({"refill_id": "unverified"}, get=READERS, post=frozenset({P, PH})),
    "refill-book": Page(
        {"refill_id": "first_fill"},
        post=frozenset({P, N}),
        data=lambda w: {
            "appointment": str(w.ids["appointment"]),
            "version": str(w.ids["appointment_version"]),
        },
    ),
    "program": Page(
        {"implant_id": "implant"},
        get=frozenset({P, N}),
        post=frozenset({P, N}),
        data=_program,
        data_reads=True,
    ),
    "program-record": read_page(READERS, program_id="program"),
    "program-report": Page({"program_id": "program"}, get=READERS),
    "readback": Page(
        {"program_id": "program"}, get=READERS, post=frozenset({P, N}), data=_readback
    ),
    "prescribe": Page(
        {"implant_id": "implant"},
        get=frozenset({P}),
        post=frozenset({P}),
        data=_prescribe,
        data_reads=True,
    ),
    "prescription-check": Page(
        {"prescription_id": "awaiting"},
        get=frozenset({P, PH}),
        post=frozenset({P, PH}),
        data=_check,
    ),
    "incident-close": Page(
        {"incident_id": "incident"},
        post=frozenset({P}),
        data=lambda w: {"resolution": "programmer corrected and read back again"},
    ),
    "patient-summary-report": Page({"patient_id": "patient"}, get=READERS),
    "library": read_page(SIGNED_IN),
    "library-devices": read_page(SIGNED_IN),
    "limit-new": Page(
        {"drug": "morphine"},
        get=frozenset({PH, AD}),
        post=frozenset({PH, AD}),
        data=lambda w: {
            "key": "web-limit",
            "rule_choice": "max_daily_dose",
            "value": "9 mg/day",
            "severity": "soft",
            "source": POLICY,
        },
    ),
    # the world's limit is hard: changing it is a pharmacist's library change
    "limit-change": Page(
        {"limit_id": "limit"},
        get=frozenset({PH, AD}),
        post=frozenset({PH}),
        data=lambda w: {"version": "1", "value": "8 mg/day", "severity": "hard", "source": POLICY},
    ),
    "limit-archive": Page(
        {"limit_id": "limit"}, post=frozenset({PH, AD}), data=lambda w: {"version": "1"}
    ),
    # the world's hard limit was set by the pharmacist: a physician is its second approver
    "limit-approve": Page(
        {"limit_id": "limit"}, post=frozenset({P}), data=lambda w: {"version": "1"}
    ),
    "clinic-catheters": read_page(SIGNED_IN),
    # entering or archiving a catheter's figure is a pharmacist's library change
    "clinic-catheter-new": Page(
        get=frozenset({PH}),
        post=frozenset({PH}),
        data=lambda w: {
            "model": "8780",
            "name": "Ascenda intrathecal catheter 8780",
            "manufacturer": "Medtronic",
            "volume_per_cm": "2.6 uL/cm",
            "source": POLICY,
        },
    ),
    # the world's waiting entry was entered by the pharmacist: a physician is its second approver
    "clinic-catheter-approve": Page(
        {"entry_id": "catheter"}, post=frozenset({P}), data=lambda w: {"version": "1"}
    ),
    "clinic-catheter-archive": Page(
        {"entry_id": "catheter"}, post=frozenset({PH}), data=lambda w: {"version": "1"}
    ),
    "users": read_page(frozenset({AD})),
    "user-new": Page(
        get=frozenset({AD}),
        post=frozenset({AD}),
        data=lambda w: {
            "username": "nurse.new",
            "first_name": "Nina",
            "last_name": "Neu",
            "roles": ["nurse"],
            "password": GOOD_PASSWORD,
            "repeat": GOOD_PASSWORD,
        },
    ),
    "user": read_page(frozenset({AD}), user_id="nurse_id"),
    "user-roles": Page(
        {"user_id": "nurse_id"},
        post=frozenset({AD}),
        data=lambda w: {"roles-version": "1", "roles-roles": ["nurse", "physician"]},
    ),
    "user-active": Page(
        {"user_id": "nurse_id"},
        post=frozenset({AD}),
        data=lambda w: {"active-version": "1", "active-active": "0"},
    ),
    "user-password": Page(
        {"user_id": "nurse_id"},
        post=frozenset({AD}),
        data=lambda w: {
            "reset-version": "1",
            "reset-password": GOOD_PASSWORD,
            "reset-repeat": GOOD_PASSWORD,
        },
    ),
    # The nurse has no second factor: the admin's reset is refused for that (422), where every
    # other role is refused by its role.
    "user-two-factor-reset": Page(
        {"user_id": "nurse_id"},
        post=frozenset({AD}),
        data=lambda w: {"two_factor-version": "1"},
        post_status=422,
    ),
    # the world's request was asked for by another admin: the admin is its second approver
    "grant-approve": Page({"grant_id": "grant"}, post=frozenset({AD})),
    "grant-decline": Page({"grant_id": "grant"}, post=frozenset({AD})),
    # the world's account made outside painpump with no adoption waiting: the admin asks
    "adoption-ask": Page(
        post=frozenset({AD}),
        data=lambda w: {"user": str(w.ids["outside_id"]), "reason": "made by a 2025 script"},
    ),
    # the world's adoption was asked for by another admin: the admin is its second approver, and
    # only its asker withdraws it (422)
    "adoption-approve": Page({"adoption_id": "adoption"}, post=frozenset({AD})),
    "adoption-decline": Page({"adoption_id": "adoption"}, post=frozenset({AD})),
    "adoption-withdraw": Page({"adoption_id": "adoption"}, post=frozenset({AD}), post_status=422),
    "settings": Page(
        get=SIGNED_IN,
        post=frozenset({AD}),
        data=lambda w: SETTINGS_FORM | {"implant_wait_days": "28 day"},
    ),
    # the world's wider tolerance, asked for by another admin, waits: the admin's own request
    # is refused for that (422), where every other role is refused by its role
    "tolerance-request": Page(
        post=frozenset({AD}),
        data=lambda w: {"ask-version": "1", "ask-readback_tolerance": "0.2 mL"},
        post_status=422,
    ),
    # the admin is the second approver of the world's request; only its asker withdraws it (422)
    "tolerance-request-approve": Page({"request_id": "tolerance_request"}, post=frozenset({AD})),
    "tolerance-request-decline": Page({"request_id": "tolerance_request"}, post=frozenset({AD})),
    "tolerance-request-withdraw": Page(
        {"request_id": "tolerance_request"}, post=frozenset({AD}), post_status=422
    ),
    "audit": read_page(frozenset({AU, AD})),
    "audit-verify": Page(post=frozenset({AU, AD}), post_status=200),
}


def named_patterns() -> set[str]:
    return {p.name for p in urls.urlpatterns if isinstance(p, URLPattern) and p.name}


def url_of(name: str, world: World) -> str:
    from django.urls import reverse

    page = PAGES[name]
    kwargs = {k: world.ids.get(v, v) for k, v in page.kwargs.items()}
    return reverse(f"web:{name}", kwargs=kwargs) + page.query.format(**world.ids)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=UTC)


def build() -> World:
    users: dict[str, User] = {}
    for caller, name in [*USERNAMES.items(), (INACTIVE, "dr.gone"), (OTHER, "dr.other")]:
        role = Role.PHYSICIAN if caller in (INACTIVE, OTHER) else Role(caller)
        users[caller] = audited_user(name, role, password=PASSWORD)
    physician, nurse, pharmacist = users[P], users[N], users[PH]
    clinic_settings()
    patient = patients.create_patient(
        nurse,
        mrn="MRN-0001",
        family_name="Muster",
        given_name="Erika",
        birth_date=date(1970, 5, 1),
        today=today(),
        life_expectancy_months=24,  # recorded for her tumour-pain referral's implantation
    )
    referred = patients.open_episode(
        physician, patient.id, indication="stroke", referred_on=today() - timedelta(days=30)
    )
    tumour = patients.open_episode(
        physician, patient.id, indication="tumour_pain", referred_on=today() - timedelta(days=10)
    )
    implant, first_fill = _implanted(physician, patient.id, "NGP-1")
    appointment = Appointment.objects.filter(patient=patient).latest("on")
    alarms.report_alarm(nurse, implant.id, kind="low_reservoir", reported_at=_at(today()))
    other = patients.create_patient(
        nurse,
        mrn="MRN-0002",
        family_name="Beispiel",
        given_name="Max",
        birth_date=date(1961, 3, 4),
        today=today(),
    )
    other_implant, _ = _implanted(physician, other.id, "NGP-2")
    unverified = refills.perform_refill(
        nurse,
        other_implant.id,
        idempotency_key="change",
        performed_at=_at(today() - timedelta(days=1)),
        expected=parse("9.8 mL", Kind.VOLUME, "e"),
        aspirated=parse("6 mL", Kind.VOLUME, "a"),
        fill=baclofen(),
        overrides={"reconciliation": "aspirate measured twice, the pump was checked"},
    )
    readback = record_readback(
        nurse,
        unverified.program_id,
        Readback(
            parse("19 mL", Kind.VOLUME, "r"),
            baclofen().drugs,
            PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
            None,
        ),
        _at(today() - timedelta(days=1)),
    )
    awaiting = prescriptions.prescribe(
        users[OTHER],
        other_implant.id,
        Prescription(
            baclofen("1000 mcg/mL").drugs,
            PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d")),
            fluid_change=FluidChange.BRIDGE,
        ),
        reason="a weaker concentration for a longer interval",
        now=_at(today()),
        expected_version=Implant.objects.get(id=other_implant.id).version,
    )
    prescribed(
        physician,
        pharmacist,
        implant.id,
        baclofen(),
        parse("420 mcg/day", Kind.DOSE_RATE, "dose"),
        at=_at(today()),
        reason="a small increase for the evening spasms",
    )
    limit = library.add_limit(
        pharmacist,
        drug="morphine",
        rule="max_daily_dose",
        value=parse("10 mg/day", Kind.DOSE_RATE, "value"),
        severity="hard",
        source=POLICY,
        idempotency_key="world-limit",
    )
    catheter = catheters.add_catheter(
        pharmacist,
        model="8731SC",
        name="Intrathecal catheter 8731SC",
        manufacturer="Medtronic",
        volume_per_cm=Decimal("0.0026"),
        source=POLICY,
    )
    other_admin = audited_user("ad.other", Role.ADMIN, password=PASSWORD)
    grant = role_grants.ask("ad.other", nurse, [Role.PHARMACIST])[0]
    wider = tolerance_requests.ask(other_admin, expected_version=1, tolerance="0.3 mL")
    outside = User.objects.get(username=tamper.insert_account("in.outside", "nurse"))
    waiting = User.objects.get(username=tamper.insert_account("in.waiting", "nurse"))
    adoption = account_adoptions.ask(other_admin, waiting.id, reason="made by a 2025 script")
    accounts.set_active(users[AD], users[INACTIVE].id, expected_version=1, active=False)
    ids = {
        "today": today().isoformat(),
        "patient": patient.id,
        "referred": referred.id,
        "tumour": tumour.id,
        "implant": implant.id,
        "first_fill": first_fill.id,
        "expected": "8 mL",
        "appointment": appointment.id,
        "appointment_version": appointment.version,
        "unverified": unverified.id,
        "program": Program.objects.filter(implant=implant).latest("started_at").id,
        "limit": limit.id,
        "catheter": catheter.id,
        "awaiting": awaiting.id,
        "incident": Incident.objects.get(readback=readback).id,
        "nurse_id": nurse.id,
        "grant": grant.id,
        "tolerance_request": wider.id,
        "outside_id": outside.id,
        "adoption": adoption.id,
    }
    return World(ids, users, snapshot())


def _implanted(physician: User, patient_id: Any, serial: str) -> tuple[Any, Refill]:
    """A stroke patient, responder, implanted and filled 60 days ago with baclofen 2000 mcg/mL,
    20 mL at 400 mcg/day (0.2 mL/day: 8 mL expected today), the established dose carried over
    (above the label's 200 mcg/day start)."""
    episode = patients.open_episode(
        physician, patient_id, indication="stroke", referred_on=today() - timedelta(days=200)
    )
    responder_episode(physician, episode.id, start=today() - timedelta(days=100))
    filled = _at(today() - timedelta(days=60))
    implant = implantation.register_implantation(
        physician,
        episode.id,
        expected_version=Episode.objects.get(id=episode.id).version,
        now=filled,
        pump_model="synchromed-ii-20",
        pump_serial=serial,
        catheter_model="8709SC",
        catheter_length_cm=Decimal(60),
        dead_volume=parse("0.25 mL", Kind.VOLUME, "d"),
        acknowledge=dict(MEDTRONIC_CATHETER),
        alarm_volume=None,
        implanted_on=filled.date(),
    )
    prescribed(
        physician,
        User.objects.get(username=USERNAMES[PH]),
        implant.id,
        baclofen(),
        parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        at=filled,
        overrides=CARRIED_OVER,
    )
    fill = refills.perform_refill(
        physician,
        implant.id,
        idempotency_key=f"fill-{serial}",
        performed_at=filled,
        expected=None,
        aspirated=None,
        fill=baclofen(),
        dose=parse("400 mcg/day", Kind.DOSE_RATE, "dose"),
        overrides=CARRIED_OVER,
    )
    return implant, fill


def module_world(django_db_blocker: Any) -> Iterator[World]:
    """The body of a module-scoped fixture: the world, rolled back once the module has run."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        yield build()
        transaction.set_rollback(True)
