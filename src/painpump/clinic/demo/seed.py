"""The demo clinic (`painpump demo`): a realistic synthetic clinic recorded THROUGH THE CLINIC
SERVICES, so that every record is validated and audited exactly as a clinic would have recorded
it: demo users for each role, patients over every indication and pathway stage, implants with
years of refills whose expected and aspirated volumes come from the pump twin (see
painpump.clinic.demo.plan for what is drawn and how).

The patients and numbers are deterministic for a seed and a day; the demo users' passwords are
not: they are drawn from `secrets` at every seeding (or reset, see `reset_passwords`) and only
ever printed, never stored in clear."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from painpump import clock
from painpump.clinic import audit
from painpump.clinic.actions import (
    implantation,
    pathway,
    patients,
    prescriptions,
    programs,
    readbacks,
    refills,
)
from painpump.clinic.actions.settings_service import snapshot
from painpump.clinic.actions.users import account_snapshot
from painpump.clinic.demo.plan import (
    CHECKED_AFTER,
    DEMO_LOCALE,
    FIRST_PRESCRIBED_BEFORE,
    IMPLANTED_STAGES,
    PRESCRIBED_BEFORE,
    READBACK_AFTER,
    READBACK_SLIP,
    Order,
    PatientPlan,
    Programming,
    Visit,
    plan_clinic,
    quantity,
)
from painpump.clinic.locale import clinic_locale, clinic_settings, locale_of
from painpump.clinic.models import (
    ClinicSettings,
    DemoAnchor,
    Episode,
    Implant,
    Incident,
    Patient,
    Prescription,
    Program,
    Readback,
    Refill,
)
from painpump.clinic.reads import prescriptions as reads
from painpump.clinic.reads.pump_history import expected_residual
from painpump.clinic.reads.pump_state import dosing_rules, pump_state
from painpump.clinic.reads.readback_expected import fluid_change_run
from painpump.clinic.roles import Role
from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.dead_volume import UNCHECKED
from painpump.core.dose_history import Phase
from painpump.core.locale import ClinicLocale
from painpump.core.prescription_compare import CheckEntries
from painpump.core.prescription_compare import Readback as ReadValues
from painpump.core.prescription_decision import decide_prescription
from painpump.core.refill_decision import (
    Fill,
    PtmCounts,
    PumpState,
    RefillEntries,
    decide_refill,
)
from painpump.core.scheduling import WEEKDAYS
from painpump.core.units import Q, of

ACTOR = "painpump demo"
DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("physician1", "demo.physician1", Role.PHYSICIAN),
    ("physician2", "demo.physician2", Role.PHYSICIAN),
    ("nurse1", "demo.nurse1", Role.NURSE),
    ("nurse2", "demo.nurse2", Role.NURSE),
    ("pharmacist", "demo.pharmacist", Role.PHARMACIST),
    ("admin", "demo.admin", Role.ADMIN),
    ("admin2", "demo.admin2", Role.ADMIN),
    ("auditor", "demo.auditor", Role.AUDITOR),
)
"""(key in the plan, username, role) of each demo user; two admins, as a role is granted only
when a second admin approves it."""
BATCH = 5
"""Patients per transaction. Not one transaction for the whole clinic: every audit entry
updates the single audit head row, and PostgreSQL keeps each of its versions until the
transaction ends, so one huge transaction slows down quadratically."""
MAX_AGE_DAYS = 3
"""Demo data seeded more clinic days ago than this are stale: `painpump demo` reseeds them."""


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class DemoReport:
    """What was seeded: counts per stage and indication, implants, refills and what the
    reconciliations found, prescriptions per status, pumps on flex programs and with patient
    boluses, readbacks and open incidents, assessments, the demo logins and the time it took."""

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
    prescriptions: dict[str, int] = field(default_factory=dict)
    flex_pumps: int = 0
    ptm_pumps: int = 0
    readbacks: int = 0
    open_incidents: int = 0
    assessments: int = 0
    logins: tuple[Login, ...] = ()
    seconds: float = 0.0
    clinic: str = ""
    seeded_on: date | None = None

    def lines(self) -> list[str]:
        def counts(values: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(values.items(), key=lambda i: -i[1]))

        return [
            f"clinic: {self.clinic}",
            f"patients: {self.patients} (stages: {counts(self.stages)})",
            f"indications: {counts(self.indications)}",
            f"implants: {self.implants} (pumps: {counts(self.pumps)}; drugs: {counts(self.drugs)})",
            f"refills: {self.refills} after the first fills (reconciliation: "
            f"{counts(self.findings)}; over-infusing pumps: {self.over_infusing_pumps})",
            f"four eyes: {self.verified} verified, {self.awaiting_verification} awaiting a second "
            "clinician",
            f"baclofen pumps within 14 days of their low-reservoir alarm: {self.near_alarm}",
            f"prescriptions: {counts(self.prescriptions)} (pumps on a flex program: "
            f"{self.flex_pumps}, with patient boluses: {self.ptm_pumps})",
            f"programmer readbacks: {self.readbacks} (open incidents: {self.open_incidents})",
            f"assessments: {self.assessments}",
            f"seeded in {self.seconds:.1f} s",
        ]


def _password(user: User) -> str:
    """A random password the clinic's password rules accept for `user` (a random one can, rarely,
    look like the username)."""
    while True:
        password = secrets.token_urlsafe(12)
        try:
            password_validation.validate_password(password, user)
        except ValidationError:
            continue
        return password


def _create_users() -> tuple[dict[str, User], tuple[Login, ...]]:
    users: dict[str, User] = {}
    logins = []
    for key, username, role in DEMO_USERS:
        user = User(username=username, first_name=role.value)
        password = _password(user)
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        audit.record(ACTOR, "user.create", "user", username, after=account_snapshot(user))
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
        password = _password(user)
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
        patient = patients.create_patient(
            nurse,
            mrn=plan.mrn,
            family_name=plan.family_name,
            given_name=plan.given_name,
            birth_date=plan.birth_date,
            today=self.today,
            weight_kg=plan.weight_kg,
            opioid_status=plan.opioid_status,
            psychosis_history=plan.psychosis_history,
            life_expectancy_months=plan.life_expectancy_months,
        )
        episode = patients.open_episode(
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
            patients.record_assessment(
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
        implant = implantation.register_implantation(
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
            acknowledge={UNCHECKED: device.dead_volume_reason}
            if device.dead_volume_reason
            else None,
        )
        programmings = list(plan.programmings)
        for number, visit in enumerate(plan.visits):
            while programmings and programmings[0].at < visit.at:
                self.program(implant, plan, visit.drugs, programmings.pop(0))
            self.refill(implant, plan, number, visit)
        if plan.pending is not None:
            drugs = plan.visits[-1].drugs
            self.prescribe(implant, plan, drugs, plan.pending, rejected=None, checker=None)
        episode = Episode.objects.get(id=episode.id)
        for item in plan.after_implant:
            episode = self.step(episode, item)

    def prescribe(
        self,
        implant: Implant,
        plan: PatientPlan,
        drugs: tuple[tuple[str, Decimal], ...],
        order: Order,
        *,
        rejected: rx.PrescribedProgram | None,
        checker: str | None,
    ) -> None:
        """The physician signs `order` (its soft warnings passed with the demo's reasons) and,
        with a `checker`, the pharmacist or the other physician double-checks it, entering the
        label's concentrations, the order's program and its PTM settings. A `rejected` program
        is signed first (REJECTED_AHEAD) and rejected at its double-check: the entries differ
        from it."""
        fluid = tuple((n, quantity(c, catalog.drug(n).concentration_unit)) for n, c in drugs)
        change = demo_fluid_change(pump_state(implant), fluid)
        entries = CheckEntries(fluid, order.program, plan.ptm, change)
        if rejected is not None:
            assert checker is not None
            wrong = replace(order, at=order.at - REJECTED_AHEAD, program=rejected)
            prescriptions.double_check(
                self.users[checker],
                self._signed(implant, plan, fluid, wrong).id,
                entries=entries,
                accept=False,
                comment=REJECTION,
                now=wrong.at + CHECKED_AFTER,
            )
        record = self._signed(implant, plan, fluid, order)
        if checker is not None and record.status == Prescription.Status.AWAITING_CHECK:
            prescriptions.double_check(
                self.users[checker],
                record.id,
                entries=entries,
                accept=True,
                comment="",
                now=order.at + CHECKED_AFTER,
            )

    def _signed(
        self,
        implant: Implant,
        plan: PatientPlan,
        fluid: tuple[tuple[str, Q], ...],
        order: Order,
    ) -> Prescription:
        state = pump_state(implant)
        change = demo_fluid_change(state, fluid)
        prescription = rx.Prescription(fluid, order.program, plan.ptm, fluid_change=change)
        shown = decide_prescription(state, prescription, order.at, dosing_rules())
        return prescriptions.prescribe(
            self.users[order.prescriber],
            implant.id,
            prescription,
            reason=order.reason,
            now=order.at,
            expected_version=_version(implant),
            overrides={w.rule: demo_reason(w.rule, w.drug) for w in shown.warnings},
        )

    def program(
        self,
        implant: Implant,
        plan: PatientPlan,
        drugs: tuple[tuple[str, Decimal], ...],
        programming: Programming,
    ) -> None:
        """A program change between refills: prescribed, double-checked, programmed by the
        nurse, read back."""
        order = programming.order
        self.prescribe(implant, plan, drugs, order, rejected=None, checker=programming.checker)
        at = programming.at
        nurse = self.users[programming.performer]
        program = programs.program_pump(
            nurse, implant.id, expected_version=_version(implant), now=at
        )
        self.read_back(nurse, program, at, reservoir=_left(program, at), wrong=False)

    def read_back(
        self, nurse: User, program: Program, at: datetime, *, reservoir: Q, wrong: bool
    ) -> None:
        """The programmer's readback of what the program executes (its reservoir volume
        READBACK_SLIP too low when `wrong`: an incident)."""
        assert program.prescription is not None
        prescribed = reads.as_core(program.prescription)
        if wrong:
            reservoir = quantity(reservoir.canonical - READBACK_SLIP, "mL")
        values = ReadValues(
            reservoir,
            prescribed.drugs,
            prescribed.program,
            prescribed.ptm,
            fluid_change_run(program.refills.first()),
        )
        readbacks.record_readback(nurse, program.id, values, at + READBACK_AFTER)

    def refill(self, implant: Implant, plan: PatientPlan, number: int, visit: Visit) -> None:
        if visit.reason:
            ahead = FIRST_PRESCRIBED_BEFORE if number == 0 else PRESCRIBED_BEFORE
            order = Order(
                visit.at - ahead, visit.dose, visit.program, visit.prescriber, visit.reason
            )
            self.prescribe(
                implant, plan, visit.drugs, order, rejected=visit.rejected, checker=visit.verifier
            )
        name = visit.drugs[0][0]
        fill = Fill(
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
        user = self.users[visit.performer]
        # The nurse reads the warnings the prescriber gave no reason for (reconciliation beyond
        # the pump's accuracy) and passes each with a reason typed for it, as the service asks.
        executed = reads.to_execute(implant)
        assert executed is not None
        dose = of(executed.daily_dose_mcg_per_day, "mcg/day")
        ready = executed.status == Prescription.Status.READY and executed.phase
        phase = Phase(executed.phase) if ready else None
        ptm = None
        if visit.ptm_requests is not None and visit.ptm_given is not None:
            ptm = PtmCounts(visit.ptm_requests, visit.ptm_given)
        entries = RefillEntries(
            visit.at,
            expected,
            aspirated,
            fill,
            dose,
            phase=phase,
            ptm=ptm,
            fluid_change=rx.FluidChange(executed.fluid_change),
            basal=executed.bolus_dose_mcg is None,
            prescription=reads.as_core(executed),
        )
        shown = decide_refill(pump_state(implant), entries, dosing_rules(), now=clock.now())
        # the prescriber's reasons travel with the prescription, but for a priming bolus's
        # warnings, which the nurse acknowledges again at the fill
        given = reads.prescribers_reasons(shown, executed)
        overrides = {
            w.rule: demo_reason(w.rule, w.drug) for w in shown.warnings if w.rule not in given
        }
        refill = refills.perform_refill(
            user,
            implant.id,
            idempotency_key=f"demo-{plan.mrn}-{number}",
            performed_at=visit.at,
            expected=expected,
            aspirated=aspirated,
            fill=fill,
            overrides=overrides,
            ptm=ptm,
        )
        self.read_back(
            user, refill.program, visit.at, reservoir=fill.volume, wrong=visit.readback_error
        )
        if refill.needs_verification and not visit.leave_unverified:
            refills.verify_refill(
                self.users[visit.verifier], refill.id, visit.at + visit.verify_after
            )
        self.refills.append(refill)


def _version(implant: Implant) -> int:
    return int(Implant.objects.values_list("version", flat=True).get(id=implant.id))


def _left(program: Program, at: datetime) -> Q:
    """The reservoir volume the programmer shows when it is read back after programming at
    `at`: the pump's twin then, no patient bolus given since the fill (at a 0.1 mL display)."""
    expected = expected_residual(program.implant, at + READBACK_AFTER).most
    return quantity(expected.canonical.quantize(Decimal("0.1")), "mL")


REJECTED_AHEAD = timedelta(hours=1)
REJECTION = (
    "demo: the order and the syringe label give a new daily dose; the prescription repeats the "
    "one in force"
)
DEMO_REASONS = {
    "reconciliation": "demo: residual volume re-measured, pump interrogated, patient well",
    "priming_bolus_mixing": "demo: primed in the operating room, the patient under supervision",
    "old_fluid_at_new_rate": "demo: the old drug in the catheter tapers over the first day",
}


def demo_fluid_change(state: PumpState, fluid: tuple[tuple[str, Q], ...]) -> rx.FluidChange:
    """How the demo's physician has the old fluid in the path delivered: a new pump primed, a
    change of the same drug's concentration bridged, anything else at the new rate."""
    if state.pump.fixed_rate or state.dead_volume.canonical <= 0:
        return rx.FluidChange.NONE
    if state.last_fill is None:
        return rx.FluidChange.PRIMING
    (old_name, old_conc), (name, conc) = state.last_fill.drugs[0], fluid[0]
    if old_name == name and old_conc != conc.canonical:
        return rx.FluidChange.BRIDGE
    return rx.FluidChange.NONE


START_REASONS = {
    "morphine": "demo: start dose converted from the patient's systemic opioids (opioid-tolerant)",
    "hydromorphone": "demo: start dose converted from the patient's systemic opioids "
    "(opioid-tolerant)",
    "ziconotide": "demo: US label start dose, at most 2.4 mcg/day (0.1 mcg/h)",
}
"""Why a demo pump's first fill starts above the drug's start dose of the guidelines (a soft
limit): an opioid-tolerant patient's opioid is converted from the systemic dose; ziconotide
starts at the US label's start dose (its hard limit) rather than the guidelines' lower one."""


def demo_reason(rule: str, drug: str | None = None) -> str:
    """The reason the demo's clinician types to pass a soft warning (about `drug`, when it
    judges one): an override is recorded with a reason, never a bare tick."""
    if rule == "max_start_dose" and drug in START_REASONS:
        return START_REASONS[drug]
    return DEMO_REASONS.get(rule, f"demo: {rule} reviewed with the prescribing physician")


def describe(locale: ClinicLocale) -> str:
    """The clinic's locale in a line: zone, holidays, opening days and hours, formats."""
    calendar = locale.calendar
    region = f"{calendar.country}-{calendar.subdivision}" if calendar.subdivision else ""
    days = sorted(calendar.open_weekdays)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        open_days = f"{WEEKDAYS[days[0]]} to {WEEKDAYS[days[-1]]}"
    else:
        open_days = ", ".join(WEEKDAYS[day] for day in days)
    return (
        f"{locale.zone.key}, public holidays of {region or calendar.country}, open {open_days} "
        f"{locale.opens_at:%H:%M}-{locale.closes_at:%H:%M}, dates as "
        f"{locale.date_format.label}, times as {locale.time_format.label}"
    )


def seed_settings() -> ClinicSettings:
    """Set the clinic's locale to the demo clinic's (`DEMO_LOCALE`: Berlin), audited as a
    settings change by the demo; must run inside the seeding's transaction."""
    settings = clinic_settings()
    before = snapshot(settings)
    calendar = DEMO_LOCALE.calendar
    settings.time_zone = DEMO_LOCALE.zone.key
    settings.country = calendar.country
    settings.subdivision = calendar.subdivision or ""
    settings.open_weekdays = sorted(calendar.open_weekdays)
    settings.opens_at = DEMO_LOCALE.opens_at
    settings.closes_at = DEMO_LOCALE.closes_at
    settings.date_format = DEMO_LOCALE.date_format.value
    settings.time_format = DEMO_LOCALE.time_format.value
    locale_of(settings)  # the core's rules accept it (zone, country and region, hours)
    settings.version += 1
    settings.save()
    audit.record(ACTOR, "settings.update", "settings", 1, before=before, after=snapshot(settings))
    return settings


def anchor() -> DemoAnchor | None:
    """When the demo clinic in the database was seeded (None: not by this painpump, or the
    seeding was interrupted before its end)."""
    return DemoAnchor.objects.filter(id=1).first()


def has_demo_users() -> bool:
    return User.objects.filter(username__in=[name for _, name, _ in DEMO_USERS]).exists()


def is_empty() -> bool:
    """Nothing of a clinic yet: no patients and no demo users (seed into it as it is)."""
    return not Patient.objects.exists() and not has_demo_users()


@dataclass(frozen=True)
class Freshness:
    """How old the demo data are, in the clinic's days: seeded on `seeded_on` (None when the
    database carries no anchor), the clinic's `today`, and the clinic's locale to write them."""

    seeded_on: date | None
    today: date
    locale: ClinicLocale

    @property
    def age(self) -> int | None:
        return None if self.seeded_on is None else (self.today - self.seeded_on).days

    @property
    def stale(self) -> bool:
        """Older than MAX_AGE_DAYS, seeded after today (a clock moved back) or undated."""
        return self.age is None or not 0 <= self.age <= MAX_AGE_DAYS

    def describe(self) -> str:
        if self.seeded_on is None or self.age is None:
            return "carry no seeding date (seeded by an older painpump, or interrupted)"
        seeded = self.locale.format_date(self.seeded_on)
        if self.age < 0:
            return (
                f"were seeded on {seeded}, after the clinic's today "
                f"{self.locale.format_date(self.today)}"
            )
        ago = {0: "today", 1: "1 day ago"}.get(self.age, f"{self.age} days ago")
        older = f" (more than {MAX_AGE_DAYS})" if self.age > MAX_AGE_DAYS else ""
        return f"were seeded on {seeded}, {ago}{older}"


def freshness(now: datetime | None = None) -> Freshness:
    """How old the demo clinic in the database is at `now` (default: the clock's present)."""
    locale = clinic_locale()
    row = anchor()
    return Freshness(row.seeded_on if row else None, locale.today(now or clock.now()), locale)


def _report(
    plans: list[PatientPlan], logins: tuple[Login, ...], today: date, locale: ClinicLocale
) -> DemoReport:
    implanted = [p for p in plans if p.stage in IMPLANTED_STAGES]
    rows = Refill.objects.filter(expected_ml__isnull=False)
    findings = Counter(rows.values_list("finding", flat=True))
    to_verify = Refill.objects.filter(needs_verification=True)
    start, horizon = locale.day_start(today), locale.day_start(today + timedelta(days=14))
    latest = {}
    for refill in Refill.objects.order_by("performed_at").prefetch_related("drugs"):
        latest[refill.implant_id] = refill
    near = sum(
        1
        for r in latest.values()
        if r.drugs.all()[0].drug == "baclofen" and start <= r.alarm_at < horizon
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
        prescriptions=dict(Counter(Prescription.objects.values_list("status", flat=True))),
        flex_pumps=_pumps(Prescription.objects.filter(program_kind="flex")),
        ptm_pumps=_pumps(Prescription.objects.filter(ptm_dose_mcg__isnull=False)),
        readbacks=Readback.objects.count(),
        open_incidents=Incident.objects.filter(closed_at__isnull=True).count(),
        assessments=sum(len(p.assessments) for p in plans),
        logins=logins,
        clinic=f"{describe(locale)}; today {locale.format_date(today)}",
        seeded_on=today,
    )


def _pumps(prescribed: QuerySet[Prescription]) -> int:
    return prescribed.values("implant_id").distinct().count()


def seed(
    *, patients: int = 300, seed: int = 1, today: date | None = None, now: datetime | None = None
) -> DemoReport:
    """Create the demo clinic in the (empty) database: the demo clinic's settings (Berlin),
    demo users of every role (random passwords, returned in the report) and `patients`
    synthetic patients drawn from `seed`, with dates relative to `today` (default: the clinic's
    day at `now`, default the clock's present), committed `BATCH` patients at a time; the anchor
    (`DemoAnchor`) is written last, so an interrupted seeding leaves batches but no anchor (and
    `painpump demo` starts again from a fresh database)."""
    started = time.perf_counter()
    moment = now or clock.now()
    with transaction.atomic():
        locale = locale_of(seed_settings())
        users, logins = _create_users()
    day = today or locale.today(moment)
    plans = plan_clinic(patients=patients, seed=seed, today=day, locale=locale)
    seeder = _Seeder(users, day)
    for first in range(0, len(plans), BATCH):
        with transaction.atomic():
            for plan in plans[first : first + BATCH]:
                seeder.patient(plan)
    with transaction.atomic():
        DemoAnchor.objects.update_or_create(
            id=1,
            defaults={"seeded_on": day, "seeded_at": moment, "patients": patients, "seed": seed},
        )
        audit.record(
            ACTOR,
            "demo.seed",
            "demo",
            1,
            after={"seeded_on": day.isoformat(), "patients": patients, "seed": seed},
        )
    report = _report(plans, logins, day, locale)
    report.seconds = time.perf_counter() - started
    return report
