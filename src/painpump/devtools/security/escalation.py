"""Drill: an insider with an admin account tries to reach patient records. On a scratch SQLite
clinic (two admins, a physician, a nurse and one patient), the admin signed
in to the web app and the API tries what the outside test did and what would come next:

- give himself the physician role (web, API), and create a second account of his own with it;
- approve a role request for himself (one a second admin asked for) and his own request for the
  new account (web, API), then sign in as that account;
- read the patient's chart and record (web, API);
- read the patient's name, record number or birth date in the audit log, and use its patient
  filter to tell whether a record number exists.

Every attempt that succeeds is a problem. Figures: the attempts and how each was answered.
Sign-in's second factor is off here (PAINPUMP_REQUIRE_2FA=0): the drill is about what a
signed-in admin may do. Small and full are the same drill. `drill(full)` runs it in a process of
its own (Django is configured once a process): `python -m painpump.devtools.security.escalation`
prints the report as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from painpump.devtools.faults.report import Report
from painpump.devtools.security.common import run_apart

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.test import Client

PASSWORD = "escalation drill passphrase 7"
ADMIN, SECOND_ADMIN, SHADOW = "drill.admin", "drill.admin2", "drill.shadow"
IDENTITY = ("Mallory-Target", "Eve-Patient", "MRN-ESC-1", "1961-02-03")
"""The patient's family name, given name, record number and birth date: none may reach the
admin."""


def drill(full: bool) -> Report:
    return run_apart("escalation", [], {"PAINPUMP_REQUIRE_2FA": "0"})


# -- the drill's own process ------------------------------------------------------------------


def _seed() -> dict[str, Any]:
    """The clinic: two admins, a physician, a nurse and one patient."""
    from datetime import date

    from django.core.management import call_command
    from django.db import transaction

    from painpump.clinic.actions import patients
    from painpump.clinic.locale import clinic_today
    from painpump.clinic.roles import Role
    from painpump.clinic.testing import audited_user

    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        made = {}
        for name, role in [
            (ADMIN, Role.ADMIN),
            (SECOND_ADMIN, Role.ADMIN),
            ("drill.physician", Role.PHYSICIAN),
            ("drill.nurse", Role.NURSE),
        ]:
            made[name] = audited_user(name, role, password=PASSWORD, actor="escalation drill")
        family, given, mrn, born = IDENTITY
        patient = patients.create_patient(
            made["drill.nurse"],
            mrn=mrn,
            family_name=family,
            given_name=given,
            birth_date=date.fromisoformat(born),
            today=clinic_today(),
        )
    return {"users": made, "patient": patient}


def _client(user: User) -> Client:
    from django.test import Client

    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    client.force_login(user)
    return client


def _roles(username: str) -> set[str]:
    from django.contrib.auth.models import User

    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


class Attempts:
    """Each attempt's answer (figures) and each success (problems)."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.answers: dict[str, str] = {}

    def tried(self, name: str, status: int, succeeded: bool, detail: str = "") -> None:
        self.answers[name] = f"{status}{': ' + detail if detail else ''}"
        if succeeded:
            self.report.problems.append(f"{name}: succeeded ({status}) {detail}".strip())


def _role_attempts(attempts: Attempts, admin: Client, admin_id: int) -> None:
    """The admin gives himself the physician role, through the web app and the API."""
    web = admin.post(
        f"/users/{admin_id}/roles/", {"roles-version": "1", "roles-roles": ["admin", "physician"]}
    )
    attempts.tried("web: own roles", web.status_code, "physician" in _roles(ADMIN))
    api = admin.put(
        f"/api/users/{admin_id}/roles",
        {"version": 1, "roles": ["admin", "physician"]},
        content_type="application/json",
    )
    attempts.tried("api: own roles", api.status_code, "physician" in _roles(ADMIN))


def _grant_attempts(attempts: Attempts, admin: Client, second: Client, admin_id: int) -> None:
    """The admin approves a request for himself (asked by the second admin) and his own request
    for an account he made and knows the password of; then signs in as it."""
    from django.contrib.auth.models import User

    from painpump.clinic.models import RoleGrant

    second.put(
        f"/api/users/{admin_id}/roles",
        {"version": 1, "roles": ["admin", "physician"]},
        content_type="application/json",
    )
    for_him = RoleGrant.objects.get(user_id=admin_id, status="pending").id
    web = admin.post(f"/users/grants/{for_him}/approve/")
    attempts.tried("web: approve a grant for himself", web.status_code, _held(for_him))
    api = admin.post(f"/api/role-grants/{for_him}/approve")
    attempts.tried("api: approve a grant for himself", api.status_code, _held(for_him))
    made = admin.post(
        "/users/new/",
        {
            "username": SHADOW,
            "first_name": "Shadow",
            "last_name": "Account",
            "roles": ["physician"],
            "password": PASSWORD,
            "repeat": PASSWORD,
        },
    )
    attempts.tried("web: a new account with a role", made.status_code, bool(_roles(SHADOW)))
    shadow_id = User.objects.get(username=SHADOW).id
    own = RoleGrant.objects.get(user_id=shadow_id, status="pending").id
    web = admin.post(f"/users/grants/{own}/approve/")
    attempts.tried("web: approve his own request", web.status_code, _held(own))
    api = admin.post(f"/api/role-grants/{own}/approve")
    attempts.tried("api: approve his own request", api.status_code, _held(own))
    shadow = _client(User.objects.get(username=SHADOW))
    chart = shadow.get("/api/patients")
    attempts.tried("api: patients as the new account", chart.status_code, chart.status_code == 200)


def _held(grant_id: int) -> bool:
    from painpump.clinic.models import RoleGrant

    grant = RoleGrant.objects.select_related("user").get(id=grant_id)
    return grant.status == "approved" or grant.role in _roles(grant.user.get_username())


def _chart_attempts(attempts: Attempts, admin: Client, patient_id: str) -> None:
    for name, url in [
        ("web: the chart", f"/patients/{patient_id}/"),
        ("web: the patient list", "/patients/?q=Mallory"),
        ("api: the patient", f"/api/patients/{patient_id}"),
        ("api: the patient list", "/api/patients?q=Mallory"),
        ("api: the implants", f"/api/patients/{patient_id}/implants"),
    ]:
        answer = admin.get(url)
        shown = [found for found in IDENTITY if found in answer.content.decode()]
        attempts.tried(name, answer.status_code, answer.status_code == 200 or bool(shown))


def _audit_attempts(attempts: Attempts, admin: Client) -> None:
    """The patient's identity in the audit log, and its patient filter as an oracle."""
    log = admin.get("/audit/")
    shown = [found for found in IDENTITY if found in log.content.decode()]
    attempts.tried("web: identity in the audit log", log.status_code, bool(shown), ", ".join(shown))
    known = admin.get("/audit/", {"patient": IDENTITY[2]})
    unknown = admin.get("/audit/", {"patient": "MRN-NOBODY"})
    same = _without(known.content.decode(), IDENTITY[2]) == _without(
        unknown.content.decode(), "MRN-NOBODY"
    )
    oracle = known.status_code != unknown.status_code or not same
    attempts.tried(
        "web: the patient filter tells a record number exists", known.status_code, oracle
    )
    for name, query in [("since", {"since": "0001-01-01"}), ("until", {"until": "9999-12-31"})]:
        answer = admin.get("/audit/", query)
        failed = answer.status_code >= 500
        attempts.tried(f"web: audit log {name} the calendar's end", answer.status_code, failed)


def _without(page: str, typed: str) -> str:
    """A page without what was typed and what changes with every request (tokens, times)."""
    page = page.replace(typed, "?")
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r"<td>[^<]*\d\d:\d\d:\d\d[^<]*</td>", "", page)


def run() -> Report:
    report = Report("escalation", "sqlite")
    clinic = _seed()
    users: dict[str, User] = clinic["users"]
    admin, second = _client(users[ADMIN]), _client(users[SECOND_ADMIN])
    attempts = Attempts(report)
    admin_id = users[ADMIN].id
    steps: list[Callable[[], None]] = [
        lambda: _role_attempts(attempts, admin, admin_id),
        lambda: _grant_attempts(attempts, admin, second, admin_id),
        lambda: _chart_attempts(attempts, admin, str(clinic["patient"].id)),
        lambda: _audit_attempts(attempts, admin),
    ]
    for step in steps:
        step()
    report.figures = {
        "attempts": len(attempts.answers),
        "answers": attempts.answers,
        "admin_roles": sorted(_roles(ADMIN)),
    }
    if _roles(ADMIN) != {"admin"}:
        report.problems.append(f"the admin holds {sorted(_roles(ADMIN))} after the drill")
    return report


def main() -> None:
    from painpump.runtime import setup_django

    setup_django()
    print(json.dumps(run().as_json()))


if __name__ == "__main__":
    main()
