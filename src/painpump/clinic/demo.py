"""The demo clinic (`painpump demo`): a realistic synthetic clinic recorded THROUGH THE CLINIC
SERVICES, so that every record is validated and audited exactly as a clinic would have recorded
it: demo users for each role, patients over every indication and pathway stage, implants with
years of refills whose expected and aspirated volumes come from the pump twin (see
painpump.clinic.demo_plan for what is drawn and how).

The patients and numbers are deterministic for a seed and a day; the demo users' passwords are
not: they are drawn from `secrets` at every seeding (or reset, see `reset_passwords`) and only
ever printed, never stored in clear."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction

from painpump.clinic import audit, pathway, refills, services
from painpump.clinic.demo_plan import (
    IMPLANTED_STAGES,
    PatientPlan,
    Visit,
    plan_clinic,
    quantity,
)
from painpump.clinic.models import Episode, Implant, Refill
from painpump.clinic.roles import Role
from painpump.core import catalog
from painpump.core.errors import Refusal

ACTOR = "painpump demo"
DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("physician1", "demo.physician1", Role.PHYSICIAN),
    ("physician2", "demo.physician2", Role.PHYSICIAN),
    ("nurse1", "demo.nurse1", Role.NURSE),
    ("nurse2", "demo.nurse2", Role.NURSE),
    ("pharmacist", "demo.pharmacist", Role.PHARMACIST),
    ("admin", "demo.admin", Role.ADMIN),
    ("auditor", "demo.auditor", Role.AUDITOR),
)
"""(key in the plan, username, role) of each demo user."""
ACK_PREFIX = "an acknowledgement of each warning: "
BATCH = 5
"""Patients per transaction. Not one transaction for the whole clinic: every audit entry
updates the single audit head row, and PostgreSQL keeps each of its versions until the
transaction ends, so one huge transaction slows down quadratically."""


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class DemoReport:
    """What was seeded: counts per stage and indication, implants, refills and what the
    reconciliations found, assessments, the demo logins and the time it took."""

    patients: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    indications: dict[str, int] = field(default_factory=dict)
    drugs: dict[str, int] = field(default_factory=dict)
    pumps: dict[str, int] = field(default_factory=dict)
    implants: int = 0
    refills: int = 0
    findings: dict[str, int] = field(default_factory=dict)
    over_infusing_pumps: int = 0
    verified: int = 0
    awaiting_verification: int = 0
    near_alarm: int = 0
    assessments: int = 0
    logins: tuple[Login, ...] = ()
    seconds: float = 0.0

    def lines(self) -> list[str]:
        def counts(values: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(values.items(), key=lambda i: -i[1]))

        return [
            f"patients: {self.patients} (stages: {counts(self.stages)})",
            f"indications: {counts(self.indications)}",
            f"implants: {self.implants} (pumps: {counts(self.pumps)}; drugs: {counts(self.drugs)})",
            f"refills: {self.refills} after the first fills (reconciliation: "
            f"{counts(self.findings)}; over-infusing pumps: {self.over_infusing_pumps})",
            f"four eyes: {self.verified} verified, {self.awaiting_verification} awaiting a second "
            "clinician",
            f"baclofen pumps within 14 days of their low-reservoir alarm: {self.near_alarm}",
            f"assessments: {self.assessments}",
            f"seeded in {self.seconds:.1f} s",
        ]


def _password() -> str:
    return secrets.token_urlsafe(12)


def _create_users() -> tuple[dict[str, User], tuple[Login, ...]]:
    users: dict[str, User] = {}
    logins = []
    for key, username, role in DEMO_USERS:
        password = _password()
        user = User.objects.create_user(username, password=password, first_name=role.value)
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        audit.record(
            ACTOR, "user.create", "user", user.pk, after={"username": username, "roles": [role]}
        )
        users[key] = user
        logins.append(Login(username, password, role.value))
    return users, tuple(logins)


@transaction.atomic
def reset_passwords() -> tuple[Login, ...]:
    """New random passwords for the demo users already in the database (audited), so that a
    reused demo clinic can print its logins again; () when it holds no demo users."""
    logins = []
    for _, username, role in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        password = _password()
        user.set_password(password)
        user.save(update_fields=["password"])
        audit.record(ACTOR, "user.password_reset", "user", user.pk, after={"username": username})
        logins.append(Login(username, password, role.value))
    return tuple(logins)


class _Seeder:
    def __init__(self, users: dict[str, User], today: date) -> None:
        self.users = users
        self.today = today
        self.refills: list[Refill] = []

    def step(self, episode: Episode, plan_step: Any) -> Episode:
        row, _ = pathway.step(
            self.users["physician1" if plan_step.now.day % 2 else "physician2"],
            episode.id,
            plan_step.action,
            expected_version=episode.version,
            now=plan_step.now,
            acknowledge=plan_step.acknowledge,
            **plan_step.facts,
        )
        return row

    def patient(self, plan: PatientPlan) -> None:
        nurse = self.users["nurse1"]
        physician = self.users["physician1"]
        patient = services.create_patient(
            nurse,
            mrn=plan.mrn,
            family_name=plan.family_name,
            given_name=plan.given_name,
            birth_date=plan.birth_date,
            today=self.today,
        )
        episode = services.open_episode(
            physician,
            patient.id,
            indication=plan.indication,
            referred_on=plan.referred_on,
            injury_date=plan.injury_date,
        )
        for item in plan.steps:
            episode = self.step(episode, item)
        if plan.device is not None:
            self.implant(episode, plan)
        for assessment in plan.assessments:
            services.record_assessment(
                self.users["nurse2" if assessment.taken_at.day % 2 else "nurse1"],
                episode.id,
                kind=assessment.kind,
                value=assessment.value,
                taken_at=assessment.taken_at,
                limb=assessment.limb,
                note=assessment.note,
            )

    def implant(self, episode: Episode, plan: PatientPlan) -> None:
        device = plan.device
        assert device is not None
        surgeon = self.users["physician1"]
        implant = refills.register_implant(
            surgeon,
            episode.id,
            expected_version=episode.version,
            now=device.implant_at,
            pump_model=device.pump_model,
            pump_serial=device.pump_serial,
            catheter_model=device.catheter_model,
            catheter_length_cm=device.catheter_length_cm,
            dead_volume=quantity(device.dead_volume_ml, "mL"),
            alarm_volume=None,
            implanted_on=device.implanted_on,
        )
        for number, visit in enumerate(plan.visits):
            self.refill(implant, plan, number, visit)
        episode = Episode.objects.get(id=episode.id)
        for item in plan.after_implant:
            episode = self.step(episode, item)

    def refill(self, implant: Implant, plan: PatientPlan, number: int, visit: Visit) -> None:
        name = visit.drugs[0][0]
        drug = catalog.drug(name)
        fill = refills.Fill(
            drugs=tuple(
                (n, quantity(c, catalog.drug(n).concentration_unit)) for n, c in visit.drugs
            ),
            volume=quantity(visit.volume_ml, "mL"),
            lot=f"LOT-{visit.at:%y%m}-{name[:3].upper()}",
        )
        expected = aspirated = None
        if visit.expected_ml is not None and visit.aspirated_ml is not None:
            expected = quantity(visit.expected_ml, "mL")
            aspirated = quantity(visit.aspirated_ml, "mL")
        arguments: dict[str, Any] = {
            "idempotency_key": f"demo-{plan.mrn}-{number}",
            "performed_at": visit.at,
            "expected": expected,
            "aspirated": aspirated,
            "fill": fill,
            "dose": quantity(visit.dose, drug.dose_rate_unit),
            "origin": plan.origin,
        }
        user = self.users[visit.performer]
        try:
            refill = refills.perform_refill(user, implant.id, **arguments)
        except Refusal as refusal:
            # The nurse reads the warnings (reconciliation beyond the pump's accuracy, a soft
            # drug-library limit) and acknowledges them, as the service asks.
            if refusal.field != "acknowledge" or not refusal.limit.startswith(ACK_PREFIX):
                raise
            rules = frozenset(refusal.limit.removeprefix(ACK_PREFIX).split(", "))
            refill = refills.perform_refill(user, implant.id, acknowledge=rules, **arguments)
        if refill.needs_verification and not visit.leave_unverified:
            refills.verify_refill(
                self.users[visit.verifier], refill.id, visit.at + visit.verify_after
            )
        self.refills.append(refill)


def _report(plans: list[PatientPlan], logins: tuple[Login, ...], today: date) -> DemoReport:
    implanted = [p for p in plans if p.stage in IMPLANTED_STAGES]
    rows = Refill.objects.filter(expected_ml__isnull=False)
    findings = Counter(rows.values_list("finding", flat=True))
    to_verify = Refill.objects.filter(needs_verification=True)
    horizon = datetime.combine(today + timedelta(days=14), datetime.min.time(), tzinfo=UTC)
    latest = {}
    for refill in Refill.objects.order_by("performed_at").prefetch_related("drugs"):
        latest[refill.implant_id] = refill
    near = sum(
        1
        for r in latest.values()
        if r.drugs.all()[0].drug == "baclofen"
        and datetime.combine(today, datetime.min.time(), tzinfo=UTC) <= r.alarm_at < horizon
    )
    return DemoReport(
        patients=len(plans),
        stages=dict(Counter(p.stage for p in plans)),
        indications=dict(Counter(p.indication for p in plans)),
        drugs=dict(Counter(" + ".join(n for n, _ in p.visits[0].drugs) for p in implanted)),
        pumps=dict(Counter(p.device.pump_model for p in implanted if p.device)),
        implants=Implant.objects.count(),
        refills=rows.count(),
        findings=dict(findings),
        over_infusing_pumps=rows.filter(finding="overinfusion")
        .values("implant_id")
        .distinct()
        .count(),
        verified=to_verify.exclude(verified_by="").count(),
        awaiting_verification=to_verify.filter(verified_by="").count(),
        near_alarm=near,
        assessments=sum(len(p.assessments) for p in plans),
        logins=logins,
    )


def seed(*, patients: int = 300, seed: int = 1, today: date) -> DemoReport:
    """Create the demo clinic in the (empty) database: demo users of every role (random
    passwords, returned in the report) and `patients` synthetic patients drawn from `seed`, with
    dates relative to `today`, committed `BATCH` patients at a time (an interrupted seeding
    leaves the batches committed so far: start again from an empty database)."""
    started = time.perf_counter()
    plans = plan_clinic(patients=patients, seed=seed, today=today)
    with transaction.atomic():
        users, logins = _create_users()
    seeder = _Seeder(users, today)
    for first in range(0, len(plans), BATCH):
        with transaction.atomic():
            for plan in plans[first : first + BATCH]:
                seeder.patient(plan)
    report = _report(plans, logins, today)
    report.seconds = time.perf_counter() - started
    return report
