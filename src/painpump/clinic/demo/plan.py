"""The plan of the demo clinic: synthetic patients, their pathway steps, devices, prescribed
programs (continuous, flex: a baclofen night step, ziconotide lower at the weekend) and patient
boluses, refill dates and assessments, drawn from one random.Random(seed) relative to `today`, and
the refill volumes the pump twin computes for each implant. Pure values (no database): the same
seed, day and clinic locale give the same plan, which painpump.clinic.demo.seed then records through
the clinic services. Every day is a day of the clinic's calendar (its open weekdays and public
holidays) and every moment a time on the clinic's wall clock, in its zone (`DEMO_LOCALE`, a clinic
in Berlin, unless another locale is given).

Every number here is synthetic demo data, not clinical guidance: doses and concentrations are
chosen inside the drug library's limits, titration steps inside the label's step limits, refill
dates ahead of the projected alarm (and of the drug's stability limit), so that the services
accept them as a clinic would have recorded them."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypedDict

from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.baclofen import ScreeningBolus
from painpump.core.dosing import concentration_in_drug_unit, dose_in_drug_unit
from painpump.core.locale import ClinicLocale, DateFormat, TimeFormat, zone
from painpump.core.pathway.episode import Facts
from painpump.core.pathway.indications import DrugFamily, Indication
from painpump.core.scheduling import ClinicCalendar
from painpump.core.twin import Twin, load_scenario
from painpump.core.units import Q, format_decimal, of
from painpump.core.volumes import catheter_volume_ml

STAGES = (
    "referred",
    "test_phase",
    "responder",
    "closed_non_responder",
    "rehabilitation",
    "maintenance",
)
IMPLANTED_STAGES = frozenset({"rehabilitation", "maintenance"})
INDICATIONS = tuple(i.value for i in Indication)
SPASTICITY = frozenset(i.value for i in Indication if i.family is DrugFamily.SPASTICITY)
CEREBRAL = frozenset({"infantile_cerebral_palsy", "stroke", "traumatic_brain_injury"})

INDICATION_WEIGHTS = {
    "infantile_cerebral_palsy": 12,
    "multiple_sclerosis": 15,
    "paraplegia": 10,
    "stroke": 8,
    "traumatic_brain_injury": 7,
    "failed_back_surgery_syndrome": 20,
    "tumour_pain": 14,
    "polyneuropathy": 14,
}
STAGE_WEIGHTS = {
    "referred": 12,
    "test_phase": 4,
    "responder": 8,
    "closed_non_responder": 14,
    "rehabilitation": 4,
    "maintenance": 58,
}
TUMOUR_STAGE_WEIGHTS = {"referred": 15, "rehabilitation": 10, "maintenance": 75}
AGES = {
    "infantile_cerebral_palsy": (6, 35),
    "multiple_sclerosis": (30, 68),
    "paraplegia": (20, 72),
    "stroke": (45, 85),
    "traumatic_brain_injury": (18, 60),
    "failed_back_surgery_syndrome": (40, 82),
    "tumour_pain": (35, 85),
    "polyneuropathy": (45, 82),
}
LIMBS = {
    "infantile_cerebral_palsy": ("left_leg", "right_leg", "left_arm", "right_arm"),
    "multiple_sclerosis": ("left_leg", "right_leg"),
    "paraplegia": ("left_leg", "right_leg"),
    "traumatic_brain_injury": ("left_leg", "right_leg", "left_arm", "right_arm"),
}
OMED_BASELINE = {
    "failed_back_surgery_syndrome": (60, 240),
    "polyneuropathy": (40, 160),
    "tumour_pain": (120, 600),
}
TOLERANT_OMED = 60
"""Oral morphine equivalents (mg/day) from which a patient counts as opioid-tolerant (the FDA's
definition: at least 60 mg/day of oral morphine for a week or longer)."""
NAIVE_START = {"morphine": Decimal(1000), "hydromorphone": Decimal(150)}
"""The most an opioid-naive demo patient's pump starts at (mcg/day): the drug library's start
doses (morphine 1 mg/day opioid-naive, hydromorphone 0.15 mg/day)."""
LIFE_EXPECTANCY_MONTHS = (6, 36)
"""A tumour-pain patient's life expectancy, recorded before an implanted pump (beyond 3 months)."""


class RecordedFacts(TypedDict):
    """A demo patient's facts as patients.create_patient records them."""

    weight_kg: Decimal
    opioid_status: str
    psychosis_history: bool | None
    life_expectancy_months: int | None


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ASHWORTH_STEPS = (Decimal(0), Decimal(1), Decimal("1.5"), Decimal(2), Decimal(3), Decimal(4))
FAMILY_NAMES = _words(
    "Adler Bauer Becker Berg Brandt Braun Busch Dietrich Engel Fischer Frank Fuchs Graf Hahn "
    "Hartmann Hoffmann Horn Jung Kaiser Keller Klein Koch Kraus Krüger Lang Lehmann Lorenz "
    "Maier Meyer Möller Neumann Otto Peters Roth Schäfer Schmid Schulz Schwarz Simon Sommer "
    "Vogel Voigt Wagner Walter Weber Werner Winkler Wolf Zimmermann"
)
GIVEN_NAMES = _words(
    "Anna Ben Clara David Elena Felix Greta Hannah Ida Jonas Karl Lena Lukas Marie Max Mia "
    "Noah Olga Paul Rosa Sara Theo Ulla Vera Wilhelm Yara Zoe Emil Frieda Henry Ina Jakob "
    "Leonie Moritz Nina Oskar Pia Rainer Sophie Tom"
)

MARGIN_DAYS = 7  # ClinicSettings.refill_margin_days default: refills are planned ahead of it
FIRST_FILL_DELAY = timedelta(minutes=30)
PRESCRIBED_BEFORE = timedelta(minutes=90)
FIRST_PRESCRIBED_BEFORE = timedelta(minutes=25)
CHECKED_AFTER = timedelta(minutes=15)
PROGRAMMED_AFTER = timedelta(hours=1)
"""A refill's new prescription is signed PRESCRIBED_BEFORE it (the first fill's just after the
implantation), double-checked CHECKED_AFTER that; a change between refills is programmed
PROGRAMMED_AFTER it was signed."""
READBACK_AFTER = timedelta(minutes=5)
"""The nurse reads the programmer back this long after programming."""
READBACK_SLIP = Decimal(2)
"""mL: the reservoir volume the demo's one wrong readback is off by (an incident)."""
NIGHT_STEPS = ((0, Decimal("1.1")), (6 * 3600, Decimal("0.95")), (22 * 3600, Decimal("1.1")))
"""A baclofen night step (start, share of the daily dose): a tenth more from 22:00 to 06:00 for
nocturnal spasms (within the label's titration step at every hour, cerebral +15 %), less by day;
the day gives the daily dose as before (16 h x 0.95 + 8 h x 1.1 = 24 h)."""
WEEKEND_CUT = Decimal("0.6")
ZICONOTIDE_LOWEST = Decimal("1.2")
"""mcg/day: ziconotide runs WEEKEND_CUT lower on Saturday and Sunday once the weekday dose leaves
the weekend at least this (25 mcg/mL at the pump's lowest rate, 0.048 mL/day)."""
NIGHT_STEP_EVERY = 4
PTM_EVERY = 2
"""Every NIGHT_STEP_EVERY-th baclofen pump (the first included) gets a night step; every
PTM_EVERY-th opioid-tolerant patient's morphine SynchroMed pump patient boluses."""
PTM_DURATION_S, PTM_LOCKOUT_S, PTM_MAX_PER_DAY = 600, 4 * 3600, 4
PTM_REQUESTS = ("08:00", "10:00", "20:00")
"""When a demo patient asks for a bolus every day (pump clock): the 10:00 request falls in the
lockout of the 08:00 bolus and is denied, so the refills record 3 requests and 2 boluses a day."""
SPECIALS = ("rejected", "readback_mismatch", "pending")
"""The states the demo shows once each, on the first maintenance patients (not near the alarm
nor over-infusing): a prescription rejected at its double-check and signed again corrected, a
programmer readback that differs from the prescription (an open incident), and a new
prescription awaiting its double-check."""


# --- drugs and their demo regimens -----------------------------------------------------------


@dataclass(frozen=True)
class Regimen:
    """How a demo patient's pump is filled and titrated: the principal drug's concentration
    ladder (mcg/mL, the one whose rate stays at or above `threshold` mL/day is used), other
    drugs of an admixture, the dose step (mcg/day), start and target daily doses (mcg/day), the
    most a dose may rise at one refill (fraction, or absolute mcg/day) and the stability limit."""

    drug: str
    ladder: tuple[Decimal, ...]
    threshold: Decimal
    step: Decimal
    start: Decimal
    target: Decimal
    rise_fraction: Decimal | None
    rise_absolute: Decimal | None
    stability_days: int
    first_refill_days: int | None = None
    extra: tuple[tuple[str, Decimal], ...] = ()


def _floor(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def _uniform(rng: random.Random, low: float, high: float, step: Decimal) -> Decimal:
    return max(step, _floor(Decimal(str(rng.uniform(low, high))), step))


def _regimen(
    rng: random.Random, indication: str, bolus_mcg: Decimal | None, naive: bool = False
) -> Regimen:
    """The regimen of a patient's pump; an opioid-naive patient's opioid starts at its
    opioid-naive start dose at most (NAIVE_START), an opioid-tolerant one's above it (converted
    from the systemic opioids)."""
    regimen = _drawn_regimen(rng, indication, bolus_mcg)
    most = NAIVE_START.get(regimen.drug)
    if naive and most is not None and regimen.start > most:
        return replace(regimen, start=most)
    return regimen


def _drawn_regimen(rng: random.Random, indication: str, bolus_mcg: Decimal | None) -> Regimen:
    if indication in SPASTICITY:
        # Baclofen: Gablofen/Lioresal products 500, 1000, 2000 mcg/mL; start 2 x the effective
        # screening bolus (1 x if its effect lasted over 8 h); label steps 15 % cerebral, 30 %
        # spinal origin (demo steps stay below them).
        assert bolus_mcg is not None
        factor = 1 if rng.random() < 0.2 else 2
        start = bolus_mcg * factor
        cerebral = indication in CEREBRAL
        high = 400 if indication == "infantile_cerebral_palsy" else 800
        target = max(start, _uniform(rng, 150, high, Decimal(5)))
        return Regimen(
            "baclofen",
            (Decimal(500), Decimal(1000), Decimal(2000)),
            Decimal("0.15"),
            Decimal(5),
            start,
            target,
            Decimal("0.14") if cerebral else Decimal("0.28"),
            None,
            180,
        )
    draw = rng.random()
    if indication == "tumour_pain" and draw < 0.2:
        # morphine 20 mg/mL + bupivacaine 15 mg/mL + clonidine 75 mcg/mL (a stable admixture
        # of the drug library, 90 days)
        return Regimen(
            "morphine",
            (Decimal(20000),),
            Decimal("0.1"),
            Decimal(50),
            _uniform(rng, 2000, 4000, Decimal(50)),
            _uniform(rng, 4000, 7500, Decimal(50)),
            Decimal("0.2"),
            None,
            90,
            extra=(("bupivacaine", Decimal(15000)), ("clonidine", Decimal(75))),
        )
    if indication != "tumour_pain" and draw < 0.12:
        # ziconotide 25 mcg/mL (Prialt, undiluted): 1.2-2.4 mcg/day start, +1.2 mcg/day steps
        # at most (label: 2.4), first refill within 14 days, then 84 days undiluted
        return Regimen(
            "ziconotide",
            (Decimal(25),),
            Decimal("0.048"),
            Decimal("0.1"),
            _uniform(rng, 1.2, 2.4, Decimal("0.1")),
            _uniform(rng, 2.4, 7.0, Decimal("0.1")),
            None,
            Decimal("1.2"),
            84,
            first_refill_days=14,
        )
    if draw < 0.2:
        # hydromorphone, compounded 2, 5 or 10 mg/mL (drug library: at most 15 mg/mL soft)
        return Regimen(
            "hydromorphone",
            (Decimal(2000), Decimal(5000), Decimal(10000)),
            Decimal("0.15"),
            Decimal(25),
            _uniform(rng, 500, 1000, Decimal(25)),
            _uniform(rng, 1000, 4000, Decimal(25)),
            Decimal("0.2"),
            None,
            90,
        )
    # morphine, Infumorph 10 or 25 mg/mL, or compounded 20 mg/mL
    high_strength = rng.random() < 0.15
    low, high = (2000, 5000) if indication == "tumour_pain" else (1000, 2500)
    return Regimen(
        "morphine",
        (Decimal(10000), Decimal(25000) if high_strength else Decimal(20000)),
        Decimal("0.2"),
        Decimal(50),
        _uniform(rng, low, high, Decimal(50)),
        _uniform(rng, max(high, 2000), 10000, Decimal(50)),
        Decimal("0.2"),
        None,
        90,
    )


def _concentration(regimen: Regimen, dose: Decimal, current: Decimal | None) -> Decimal:
    """The strongest concentration of the ladder that keeps the rate at or above the threshold
    (the weakest if none does); never weaker than the one in the pump unless the rate needs it."""
    fitting = [c for c in regimen.ladder if dose / c >= regimen.threshold]
    chosen = max(fitting) if fitting else min(regimen.ladder)
    if current is not None and current > chosen and dose / current >= regimen.threshold:
        return current
    return chosen


def _next_dose(rng: random.Random, regimen: Regimen, dose: Decimal) -> Decimal:
    """The dose after one refill visit: a titration step toward the target, or at the plateau
    now and then a small adjustment (never beyond the step limits)."""
    if dose < regimen.target:
        if regimen.rise_absolute is not None:
            rise = _floor(regimen.rise_absolute * Decimal(str(rng.uniform(0.5, 1.0))), regimen.step)
        else:
            assert regimen.rise_fraction is not None
            rise = _floor(
                dose * regimen.rise_fraction * Decimal(str(rng.uniform(0.5, 1.0))), regimen.step
            )
        return min(regimen.target, dose + max(rise, regimen.step))
    if rng.random() < 0.12:
        change = _floor(dose * Decimal(str(rng.uniform(-0.1, 0.08))), regimen.step)
        if regimen.rise_absolute is not None:
            change = min(change, regimen.rise_absolute)
        return min(regimen.target * Decimal("1.1"), max(regimen.step * 2, dose + change))
    return dose


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    kind: str
    value: Decimal
    taken_at: datetime
    limb: str = ""
    note: str = ""


@dataclass(frozen=True)
class Step:
    """A pathway step as the clinic records it (action, facts, acknowledged warnings)."""

    action: str
    now: datetime
    facts: Facts
    acknowledge: dict[str, str] | None = None


@dataclass(frozen=True)
class Device:
    pump_model: str
    pump_serial: str
    catheter_model: str
    catheter_length_cm: Decimal
    dead_volume_ml: Decimal
    implanted_on: date
    implant_at: datetime
    dead_volume_reason: str = ""
    """Why a dead volume the catheter catalog cannot check passes its warning ("": checked)."""


@dataclass(frozen=True)
class Visit:
    """The first fill or a refill: when, the drugs (mcg/mL) and volume filled, the program and
    its daily dose (mcg/day, the largest day), who prescribes it, double-checks it (and verifies
    a refill that needs it) and refills (demo user keys) and, for a refill, the volumes the twin
    computed (and the patient-bolus requests and boluses given since the fill before, as the
    pump reports them). `reason` is why the refill executes a new prescription ("": the one in
    force); `rejected` the program of a prescription signed first, unchanged from the one in
    force, and rejected at its double-check; `readback_error`: the programmer's reservoir volume
    is read back wrong (READBACK_SLIP)."""

    at: datetime
    drugs: tuple[tuple[str, Decimal], ...]
    volume_ml: Decimal
    dose: Decimal
    performer: str
    prescriber: str
    verifier: str
    verify_after: timedelta
    leave_unverified: bool
    program: rx.PrescribedProgram
    reason: str = ""
    rejected: rx.PrescribedProgram | None = None
    readback_error: bool = False
    expected_ml: Decimal | None = None
    aspirated_ml: Decimal | None = None
    ptm_requests: int | None = None
    ptm_given: int | None = None


@dataclass(frozen=True)
class Order:
    """A prescription signed between refills (same drugs, daily dose in mcg/day): when, the
    program, the prescriber, why."""

    at: datetime
    dose: Decimal
    program: rx.PrescribedProgram
    prescriber: str
    reason: str


@dataclass(frozen=True)
class Programming:
    """An order double-checked by `checker` and programmed by the nurse `performer` between
    refills."""

    order: Order
    checker: str
    performer: str

    @property
    def at(self) -> datetime:
        return self.order.at + PROGRAMMED_AFTER


@dataclass(frozen=True)
class PatientPlan:
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    indication: str
    stage: str
    referred_on: date
    injury_date: date | None
    steps: tuple[Step, ...]
    device: Device | None = None
    after_implant: tuple[Step, ...] = ()
    visits: tuple[Visit, ...] = ()
    accuracy: Decimal = Decimal(1)
    fault: tuple[datetime, Decimal] | None = None
    near_alarm: bool = False
    assessments: tuple[Assessment, ...] = ()
    weight_kg: Decimal | None = None
    opioid_status: str | None = None
    psychosis_history: bool | None = None
    life_expectancy_months: int | None = None
    ptm: rx.PatientBolus | None = None
    programmings: tuple[Programming, ...] = ()
    pending: Order | None = None


@dataclass
class _Draft:
    """A patient's plan while it is being drawn."""

    index: int
    indication: str
    stage: str
    near_alarm: bool = False
    over_infusing: bool = False
    special: str = ""
    opioid_status: str | None = None
    steps: list[Step] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)


DEMO_LOCALE = ClinicLocale(
    zone=zone("Europe/Berlin"),
    calendar=ClinicCalendar("DE", "BE", open_weekdays=frozenset({0, 1, 2, 3, 4})),
    opens_at=time(8, 0),
    closes_at=time(16, 0),
    date_format=DateFormat.DAY_MONTH_YEAR_DOTS,
    time_format=TimeFormat.H24,
)
"""The demo clinic: in Berlin (its zone, Germany's and Berlin's public holidays), open Monday to
Friday 08:00-16:00, writing 25.11.2026 and 14:30. painpump.clinic.demo.seed seeds these settings."""


class _Planner:
    def __init__(self, seed: int, today: date, locale: ClinicLocale) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = today
        self.locale = locale
        self.calendar = locale.calendar
        self.hours = (locale.opens_at.hour, max(locale.opens_at.hour, locale.closes_at.hour - 1))
        self.shaped = {"baclofen": 0, "ptm": 0}

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """The moment the clinic's clock shows `hour`:`minute` on `day`, in the clinic's zone."""
        return self.locale.at(day, time(hour, minute)).astimezone(self.locale.zone)

    def working_day(self, day: date) -> date:
        """The latest working day of the clinic on or before `day`."""
        while not self.calendar.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def days(self, low: int, high: int) -> timedelta:
        return timedelta(days=self.rng.randint(low, high))

    def clock(self, day: date) -> datetime:
        """A time in the clinic's opening hours on `day`."""
        return self.at(day, self.rng.randint(*self.hours), self.rng.choice((0, 15, 30, 45)))

    # -- who the patients are --------------------------------------------------------------

    def assign(self, count: int) -> list[_Draft]:
        """Indication and stage of each patient: the first 24 go round every indication and
        stage (so a small clinic still shows each), the rest follow the weights."""
        rng = self.rng
        drafts = []
        for i in range(count):
            if i < 24:
                indication, stage = INDICATIONS[i % 8], STAGES[i % 6]
            else:
                indication = rng.choices(
                    list(INDICATION_WEIGHTS), weights=list(INDICATION_WEIGHTS.values())
                )[0]
                stage = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
            if indication == "tumour_pain" and stage not in TUMOUR_STAGE_WEIGHTS:
                weights = TUMOUR_STAGE_WEIGHTS
                stage = rng.choices(list(weights), weights=list(weights.values()))[0]
            drafts.append(_Draft(i, indication, stage))
        maintenance = [d for d in drafts if d.stage == "maintenance"]
        baclofen = [d for d in maintenance if d.indication in SPASTICITY]
        for draft in rng.sample(baclofen, min(len(baclofen), max(1, count // 60))):
            draft.near_alarm = True
        others = [d for d in maintenance if not d.near_alarm]
        wanted = max(1, round(len(maintenance) * 0.04))
        for draft in rng.sample(others, min(len(others), wanted)):
            draft.over_infusing = True
        plain = [d for d in others if not d.over_infusing]
        for draft, special in zip(plain, SPECIALS, strict=False):
            draft.special = special
        return drafts

    def person(self, draft: _Draft) -> tuple[str, str, date]:
        rng = self.rng
        low, high = AGES[draft.indication]
        age_days = rng.randint(low * 365, high * 365)
        return rng.choice(FAMILY_NAMES), rng.choice(GIVEN_NAMES), self.today - timedelta(age_days)

    def facts(
        self, draft: _Draft, mrn: str, birth: date, baseline: dict[str, Decimal]
    ) -> RecordedFacts:
        """What the clinic records on the patient before an intrathecal drug: weight (for the
        age), opioid status (opioid-tolerant from TOLERANT_OMED of systemic opioids at referral,
        else opioid-naive), no psychosis history for a pain patient (screened before a trial,
        as ziconotide needs) and, for tumour pain, the life expectancy. Drawn from the patient's
        own random stream, so the rest of the plan stays the same for a seed."""
        rng = random.Random(f"{self.seed}:{mrn}:facts")
        age = (self.today - birth).days / 365.25
        low, high = (18, 40) if age < 12 else (35, 70) if age < 18 else (50, 110)
        weight = Decimal(str(round(rng.uniform(low, high), 1)))
        omed = baseline.get("omed_mg_per_day")
        status = "naive" if omed is None or omed < TOLERANT_OMED else "tolerant"
        pain = draft.indication not in SPASTICITY
        months = None
        if draft.indication == "tumour_pain":
            months = rng.randint(*LIFE_EXPECTANCY_MONTHS)
        return {
            "weight_kg": weight,
            "opioid_status": status,
            "psychosis_history": False if pain else None,
            "life_expectancy_months": months,
        }

    # -- assessments -----------------------------------------------------------------------

    def baseline(self, draft: _Draft, on: datetime) -> dict[str, Decimal]:
        """Pain NRS, Ashworth per affected limb (spasticity), OMED (pain) at referral."""
        rng = self.rng
        spastic = draft.indication in SPASTICITY
        values: dict[str, Decimal] = {
            "pain_nrs": Decimal(rng.randint(2, 7) if spastic else rng.randint(6, 9))
        }
        if spastic:
            limbs = LIMBS.get(draft.indication)
            if limbs is None:  # stroke: one side
                side = rng.choice(("left", "right"))
                limbs = (f"{side}_arm", f"{side}_leg")
            for limb in limbs:
                values[limb] = rng.choice(ASHWORTH_STEPS[2:])
        if draft.indication in OMED_BASELINE:
            low, high = OMED_BASELINE[draft.indication]
            values["omed_mg_per_day"] = Decimal(rng.randint(low // 5, high // 5) * 5)
        self.record(draft, values, on, "baseline at referral")
        return values

    def record(
        self, draft: _Draft, values: dict[str, Decimal], taken_at: datetime, note: str
    ) -> None:
        for key, value in values.items():
            if key in ("pain_nrs", "omed_mg_per_day"):
                draft.assessments.append(Assessment(key, value, taken_at, note=note))
            else:
                draft.assessments.append(Assessment("ashworth", value, taken_at, key, note))

    def improved(self, base: dict[str, Decimal], progress: float) -> dict[str, Decimal]:
        """Outcomes after implantation: pain and OMED fall, spasticity eases (progress 0..1)."""
        rng = self.rng
        out: dict[str, Decimal] = {}
        for key, value in base.items():
            if key == "pain_nrs":
                relief = progress * rng.uniform(0.3, 0.6)
                out[key] = Decimal(max(1, round(float(value) * (1 - relief))))
            elif key == "omed_mg_per_day":
                left = 1 - progress * rng.uniform(0.6, 1.0)
                out[key] = Decimal(max(0, round(float(value) * left / 5) * 5))
            else:
                eased = float(value) - progress * rng.uniform(1.0, 2.5)
                out[key] = min(ASHWORTH_STEPS, key=lambda s: abs(float(s) - max(0.0, eased)))
        return out

    # -- the pathway before implantation ----------------------------------------------------

    def test_phase(
        self, draft: _Draft, start: date, length: int, *, decide: str | None, protocol: str
    ) -> tuple[date, Decimal | None]:
        """Admission for the test phase, screening boluses (bolus protocol) and, unless still
        running, the decision `length` days after admission and the temporary catheter's
        removal. Returns the decision day (or the last day recorded) and the effective
        screening bolus."""
        rng = self.rng
        rehabilitation = length > 3
        facts: Facts = {"on": start, "protocol": protocol}
        if rehabilitation:
            facts["rehabilitation"] = True
        draft.steps.append(Step("start_test_phase", self.at(start, 9), facts))
        effective: Decimal | None = None
        last = start
        if protocol == "bolus":
            doses = (Decimal(50), Decimal(75), Decimal(100))
            positive_at = rng.choices((0, 1, 2), weights=(60, 25, 15))[0]
            if decide == "non_responder":
                positive_at = 3
            for k, dose in enumerate(doses):
                day = start + timedelta(days=k)
                if day >= self.today and decide is None:
                    break
                given = self.at(day, 10)
                bolus = ScreeningBolus(of(dose, "mcg"), positive=k == positive_at, given_at=given)
                draft.steps.append(Step("record_screening_bolus", given, {"bolus": bolus}))
                last = day
                if k == positive_at:
                    effective = dose
                    break
        if decide is None:
            return last, None
        decided = max(last, start + timedelta(days=length))
        ack = None
        if rehabilitation:
            ack = {"hospital_stay": "test phase combined with rehabilitation (severe spasticity)"}
        decision: Facts = {"on": decided, "outcome": decide}
        draft.steps.append(Step("decide_test_phase", self.at(decided, 14), decision, ack))
        draft.steps.append(Step("record_catheter_removal", self.at(decided, 15), {"on": decided}))
        if effective is None and draft.indication in SPASTICITY and decide == "responder":
            effective = Decimal(50)  # continuous test infusion: start as after a 50 mcg bolus
        return decided, effective

    # -- one patient -------------------------------------------------------------------------

    def patient(self, draft: _Draft) -> PatientPlan:
        rng, today = self.rng, self.today
        family, given, birth = self.person(draft)
        mrn = f"DEMO-{draft.index + 1:05d}"
        indication, stage = draft.indication, draft.stage
        spastic = indication in SPASTICITY
        protocol = "bolus" if spastic and rng.random() < 0.8 else "continuous"
        # a continuous spasticity test phase is combined with rehabilitation (a longer stay)
        length = rng.randint(6, 14) if spastic and protocol == "continuous" else rng.randint(2, 3)

        implant_on: date | None = None
        start = today
        if stage == "referred":
            referred = today - self.days(0, 60)
        elif stage == "test_phase":
            start = today - self.days(1, min(length - 1, 5))
            referred = start - self.days(14, 120)
        elif stage == "responder":
            start = today - self.days(1, 35) - timedelta(days=length)
            referred = start - self.days(14, 120)
        elif stage == "closed_non_responder":
            start = today - self.days(20, 5 * 365)
            referred = start - self.days(14, 120)
        else:
            if stage == "rehabilitation":
                implant_on = self.working_day(today - self.days(4, 35))
            else:
                youngest = 500 if (draft.near_alarm or draft.over_infusing) else 60
                implant_on = self.working_day(today - self.days(youngest, 5 * 365))
            if indication == "tumour_pain":
                referred = implant_on - self.days(7, 45)
            else:
                start = implant_on - self.days(21, 60) - timedelta(days=length)
                referred = start - self.days(14, 120)
        if stage != "test_phase":  # a stay still running keeps its days
            start = self.working_day(start)  # admissions and referrals on the clinic's open days
        referred = self.working_day(referred)
        injury = None
        if indication == "traumatic_brain_injury":
            injury = referred - self.days(370, 2000)

        baseline = self.baseline(draft, self.at(referred, 11))
        facts = self.facts(draft, mrn, birth, baseline)
        draft.opioid_status = facts["opioid_status"]
        effective: Decimal | None = None
        if stage == "test_phase":
            self.test_phase(draft, start, length, decide=None, protocol=protocol)
        elif stage == "closed_non_responder":
            decided, _ = self.test_phase(
                draft, start, length, decide="non_responder", protocol=protocol
            )
            draft.steps.append(Step("close_non_responder", self.at(decided, 16), {"on": decided}))
        elif stage == "responder" or (stage in IMPLANTED_STAGES and indication != "tumour_pain"):
            decided, effective = self.test_phase(
                draft, start, length, decide="responder", protocol=protocol
            )
            self.record(
                draft, self.improved(baseline, 0.5), self.at(decided, 13), "end of test phase"
            )

        if implant_on is None:
            plan = PatientPlan(
                mrn,
                family,
                given,
                birth,
                indication,
                stage,
                referred,
                injury,
                tuple(draft.steps),
                assessments=tuple(draft.assessments),
            )
        else:
            who = (mrn, family, given, birth)
            plan = self.implanted(draft, who, referred, injury, implant_on, effective, baseline)
        return replace(plan, **facts)

    def implanted(
        self,
        draft: _Draft,
        who: tuple[str, str, str, date],
        referred: date,
        injury: date | None,
        implant_on: date,
        bolus: Decimal | None,
        baseline: dict[str, Decimal],
    ) -> PatientPlan:
        rng, today = self.rng, self.today
        mrn, family, given, birth = who
        regimen = _regimen(rng, draft.indication, bolus, naive=draft.opioid_status == "naive")
        device = self.device(regimen, implant_on)
        discharged = min(today, implant_on + self.days(2, 3))
        after = [Step("discharge", self.at(discharged, 11), {"on": discharged})]
        after.append(Step("start_rehabilitation", self.at(discharged, 12), {"on": discharged}))
        if draft.stage == "maintenance":
            maintenance = min(today, discharged + self.days(14, 42))
            after.append(Step("start_maintenance", self.at(maintenance, 10), {"on": maintenance}))

        accuracy = Decimal(str(round(rng.uniform(0.97, 1.03), 3)))
        if rng.random() < 0.25:
            accuracy = Decimal(str(round(rng.uniform(0.9, 0.97), 3)))  # slightly under
        fault = None
        if draft.over_infusing:
            fault_at = self.at(today - self.days(200, 400), 3)
            fault = (fault_at, Decimal(str(round(rng.uniform(1.2, 1.3), 3))))
        ptm = self.patient_bolus(draft, regimen, device)
        visits = self.visits(draft, regimen, device, accuracy, fault, ptm)
        visits, programmings, pending = self.prescriptions(draft, regimen, visits)
        twin = TwinPump(regimen.drug, device, accuracy, fault, ptm)
        visits = self.run_twin(twin, visits, programmings)

        implant_at = device.implant_at
        for months in (3, 6, 12, 24, 36, 48):
            when = implant_at + timedelta(days=months * 30.4)
            if when.date() >= today:
                break
            # assessed at the refill visit nearest to that time
            visit = min(visits, key=lambda v: abs((v.at - when).total_seconds()))
            progress = min(1.0, 0.5 + months / 24)
            self.record(
                draft,
                self.improved(baseline, progress),
                visit.at + timedelta(minutes=20),
                f"follow-up {months} months after implantation",
            )
        return PatientPlan(
            mrn,
            family,
            given,
            birth,
            draft.indication,
            draft.stage,
            referred,
            injury,
            tuple(draft.steps),
            device,
            tuple(after),
            visits,
            accuracy,
            fault,
            draft.near_alarm,
            tuple(draft.assessments),
            ptm=ptm,
            programmings=programmings,
            pending=pending,
        )

    def device(self, regimen: Regimen, implant_on: date) -> Device:
        rng = self.rng
        size = rng.choice(("20", "40"))
        prometra = regimen.drug == "morphine" and not regimen.extra and rng.random() < 0.5
        if prometra:
            # Prometra II, its own catheter: volume = implanted length x 0.0026 mL/cm (IFU)
            catheter = catalog.catheters()["prometra-catheter"]
            length = Decimal(rng.randint(40, 70))
            dead = catheter_volume_ml(catheter, length)
            pump, serial, model = (
                f"prometra-ii-{size}",
                f"PII{rng.randint(0, 999999):06d}",
                (catheter.model),
            )
        else:
            # SynchroMed II with a Medtronic catheter; the clinic enters the dead volume (pump
            # tubing + catheter) from the implant record: a synthetic 0.20-0.30 mL here
            length = Decimal(rng.randint(45, 75))
            dead = Decimal(rng.randint(20, 30)) / 100
            pump = f"synchromed-ii-{size}"
            serial = f"NGP{rng.randint(0, 999999):06d}H"
            model = rng.choice(("8709SC", "8731SC", "8781 Ascenda"))
        reason = "" if prometra else f"dead volume of the {model} taken from the implant record"
        return Device(
            pump, serial, model, length, dead, implant_on, self.at(implant_on, 11), reason
        )

    # -- refills -------------------------------------------------------------------------------

    def visits(
        self,
        draft: _Draft,
        regimen: Regimen,
        device: Device,
        accuracy: Decimal,
        fault: tuple[datetime, Decimal] | None,
        ptm: rx.PatientBolus | None,
    ) -> tuple[Visit, ...]:
        """The first fill at implantation and the refills after it, every 1-6 months and ahead of
        the projected alarm (every allowed patient bolus given) and the drug's stability limit;
        the last one before today (for a near-alarm patient: the one whose alarm comes a few
        days after today)."""
        rng, today = self.rng, self.today
        pump = catalog.pump(device.pump_model)
        capacity = pump.reservoir_volume.value.canonical
        alarm = pump.low_reservoir_alarm.value.canonical
        volume = Decimal(20) if regimen.drug == "ziconotide" else capacity
        dose = regimen.start
        conc = _concentration(regimen, dose, None)
        first_at = device.implant_at + FIRST_FILL_DELAY
        visits = [self.visit(first_at, regimen, conc, volume, dose)]
        near_alarm_in = self.days(5, 12)
        while True:
            last = visits[-1]
            rate = (dose + (ptm.worst_day.canonical if ptm else 0)) / conc
            factor = max(accuracy, fault[1] if fault else accuracy)
            days_alarm = (volume - alarm) / rate
            limit = regimen.stability_days
            if len(visits) == 1 and regimen.first_refill_days:
                limit = regimen.first_refill_days
            safe = min(days_alarm - MARGIN_DAYS, Decimal(limit), Decimal(183))
            safe = min(safe, (volume - 1) / (rate * factor) - 3)
            interval = float(safe) - rng.uniform(0, min(14.0, float(safe) / 4))
            if dose < regimen.target:
                interval = min(interval, rng.uniform(28, 56))
            interval = max(interval, min(float(safe), 10.0))
            next_dose = _next_dose(rng, regimen, dose)
            next_conc = _concentration(regimen, next_dose, conc)
            day = self.working_day((last.at + timedelta(days=interval)).date())
            if draft.near_alarm:
                to_alarm = (volume - alarm) / (next_dose / next_conc)
                latest = self.working_day(today + near_alarm_in - timedelta(days=float(to_alarm)))
                if day >= latest:
                    day = latest
                    if day <= last.at.date():
                        break
                    visits.append(
                        self.visit(self.clock(day), regimen, next_conc, volume, next_dose)
                    )
                    break
            if day >= today or day <= last.at.date():
                break
            visits.append(self.visit(self.clock(day), regimen, next_conc, volume, next_dose))
            dose, conc = next_dose, next_conc
        return tuple(visits)

    def visit(
        self,
        when: datetime,
        regimen: Regimen,
        conc: Decimal,
        volume: Decimal,
        dose: Decimal,
    ) -> Visit:
        rng = self.rng
        physician = rng.choice(("physician1", "physician2"))
        performer = rng.choice(("nurse1", "nurse2"))
        if rng.random() < 0.7:
            verifier = "pharmacist"
        else:
            verifier = "physician2" if physician == "physician1" else "physician1"
        recent = when.date() >= self.today - timedelta(days=14)
        return Visit(
            when,
            ((regimen.drug, conc), *regimen.extra),
            volume,
            dose,
            performer,
            physician,
            verifier,
            timedelta(minutes=rng.randint(20, 300)),
            recent and rng.random() < 0.6,
            planned_program("continuous", regimen.drug, dose),
        )

    # -- prescriptions ---------------------------------------------------------------------------

    def shape(self, regimen: Regimen) -> str:
        """The program's shape: ziconotide lower at the weekend, every NIGHT_STEP_EVERY-th
        baclofen pump with a night step, else continuous."""
        if regimen.drug == "ziconotide":
            return "weekend_lower"
        if regimen.drug == "baclofen":
            self.shaped["baclofen"] += 1
            if (self.shaped["baclofen"] - 1) % NIGHT_STEP_EVERY == 0:
                return "night_step"
        return "continuous"

    def patient_bolus(
        self, draft: _Draft, regimen: Regimen, device: Device
    ) -> rx.PatientBolus | None:
        """Patient boluses for every PTM_EVERY-th opioid-tolerant patient with morphine alone
        in a SynchroMed pump (PTM): a twentieth of the start dose, over 10 min, 4 h lockout, at
        most 4 a day."""
        if (
            regimen.drug != "morphine"
            or regimen.extra
            or draft.opioid_status != "tolerant"
            or not device.pump_model.startswith("synchromed")
        ):
            return None
        self.shaped["ptm"] += 1
        if (self.shaped["ptm"] - 1) % PTM_EVERY:
            return None
        dose = max(Decimal(25), _floor(regimen.start / 20, Decimal(25)))
        return rx.PatientBolus(of(dose, "mcg"), PTM_DURATION_S, PTM_LOCKOUT_S, PTM_MAX_PER_DAY)

    def prescriptions(
        self, draft: _Draft, regimen: Regimen, visits: tuple[Visit, ...]
    ) -> tuple[tuple[Visit, ...], tuple[Programming, ...], Order | None]:
        """Each visit's program (the pump's shape at its dose) and the reason for a new
        prescription where the drugs or the program change; a night step starts between
        refills (programmed, the daily dose kept) once the concentration stays as it is; the
        patient's special state (SPECIALS), if any."""
        shape = self.shape(regimen)
        night_from = len(visits)
        if shape == "night_step":
            night_from = next(
                (
                    i
                    for i in range(1, len(visits) - 1)
                    if all(v.drugs == visits[i].drugs for v in visits[i:])
                    and visits[i + 1].at - visits[i].at >= timedelta(days=21)
                ),
                len(visits),
            )
        programmings: list[Programming] = []
        out: list[Visit] = []
        kind = "continuous"
        last_change: tuple[int, rx.PrescribedProgram] | None = None
        for index, visit in enumerate(visits):
            kind = "continuous" if shape == "night_step" and index <= night_from else shape
            program = planned_program(kind, regimen.drug, visit.dose)
            if not out:
                out.append(replace(visit, program=program, reason=FIRST_REASON))
                continue
            if index == night_from + 1:
                programmings.append(self.night_step(regimen, out[-1]))
            in_force = programmings[-1].order.program if programmings else out[-1].program
            changed = _change(out[-1], visit, program, in_force)
            out.append(replace(visit, program=program, reason=changed))
            if visit.dose != out[-2].dose:
                last_change = (len(out) - 1, in_force)
        pending = None
        if draft.special == "rejected" and last_change is not None:
            where, unchanged = last_change
            out[where] = replace(out[where], rejected=unchanged)
        elif draft.special == "readback_mismatch":
            out[-1] = replace(out[-1], readback_error=True)
        elif draft.special == "pending":
            pending = self.pending(regimen, out[-1], programmings, kind)
        return tuple(out), tuple(programmings), pending

    def night_step(self, regimen: Regimen, last: Visit) -> Programming:
        """The night step, programmed two weeks after the refill `last` at its daily dose."""
        rng = self.rng
        day = self.working_day((last.at + timedelta(days=14)).date())
        order = Order(
            self.clock(day),
            last.dose,
            planned_program("night_step", regimen.drug, last.dose),
            rng.choice(("physician1", "physician2")),
            "demo: more baclofen at night for nocturnal spasms, the daily dose kept",
        )
        return Programming(order, "pharmacist", rng.choice(("nurse1", "nurse2")))

    def pending(
        self, regimen: Regimen, last: Visit, programmings: list[Programming], shape: str
    ) -> Order | None:
        """A dose one step higher, signed on the clinic's last working day before today (after
        the pump's last refill or programming, if that was the same day) and awaiting its
        double-check; none when the pump was refilled or programmed today."""
        day = self.working_day(self.today - timedelta(days=1))
        latest = max([last.at, *(p.at for p in programmings)])
        signed = max(self.at(day, 14), latest + timedelta(hours=1))
        if signed >= self.at(self.today, 0):
            return None
        dose = last.dose + regimen.step
        return Order(
            signed,
            dose,
            planned_program(shape, regimen.drug, dose),
            "physician1",
            "demo: one titration step up, the symptoms are not yet controlled",
        )

    def run_twin(
        self, pump: TwinPump, visits: tuple[Visit, ...], programmings: tuple[Programming, ...]
    ) -> tuple[Visit, ...]:
        """Run the pump twin over the implant's history; each refill gets the expected (pump's
        computed) and aspirated (truly left) volumes of its refill event and, with patient
        boluses, the requests and boluses granted since the fill before."""
        if len(visits) == 1:
            return visits
        result = Twin(load_scenario(scenario(pump, visits, programmings))).run()
        refills = [e for e in result.events if e.kind == "refill"]
        assert len(refills) == len(visits) - 1, (len(refills), len(visits))
        out = [visits[0]]
        for before, visit, event in zip(visits, visits[1:], refills, strict=False):
            expected: Q = event.details["expected"]
            aspirated: Q = event.details["aspirated"]
            since = int(before.at.timestamp()), int(visit.at.timestamp())
            asked = [r for r in result.ptm if since[0] < r.at <= since[1]]
            out.append(
                replace(
                    visit,
                    expected_ml=_microlitre(expected.canonical),
                    aspirated_ml=_microlitre(aspirated.canonical),
                    ptm_requests=len(asked) if pump.ptm else None,
                    ptm_given=sum(r.granted for r in asked) if pump.ptm else None,
                )
            )
        return tuple(out)


@dataclass(frozen=True)
class TwinPump:
    """What the twin runs an implant's history with besides its visits: the principal drug, the
    device, its true accuracy (and fault) and the PTM settings."""

    drug: str
    device: Device
    accuracy: Decimal
    fault: tuple[datetime, Decimal] | None
    ptm: rx.PatientBolus | None


FIRST_REASON = "demo: start of the intrathecal therapy after the implantation"


def planned_program(shape: str, drug: str, dose: Decimal) -> rx.PrescribedProgram:
    """The program of `shape` (continuous, night_step, weekend_lower) whose largest day gives
    `dose` (mcg/day) of `drug`, in the drug's dose unit."""
    unit = catalog.drug(drug).dose_rate_unit
    if shape == "night_step":
        steps = tuple(rx.Step(start, of(dose * share, unit)) for start, share in NIGHT_STEPS)
        return rx.PrescribedProgram.flex((steps,) * 7)
    weekend = dose - WEEKEND_CUT
    if shape == "weekend_lower" and weekend >= ZICONOTIDE_LOWEST:
        weekday = (rx.Step(0, of(dose, unit)),)
        return rx.PrescribedProgram.flex((weekday,) * 5 + ((rx.Step(0, of(weekend, unit)),),) * 2)
    return rx.PrescribedProgram.continuous(of(dose, unit))


def _change(
    before: Visit, visit: Visit, program: rx.PrescribedProgram, in_force: rx.PrescribedProgram
) -> str:
    """Why `visit` executes a new prescription ("": the refill changes nothing)."""
    if visit.dose > before.dose:
        return "demo: titration step up, the effect is not yet sufficient"
    if visit.dose < before.dose:
        return "demo: dose lowered at the follow-up, side effects"
    if visit.drugs != before.drugs or program != in_force:
        return "demo: new concentration, the daily dose kept"
    return ""


def _microlitre(volume_ml: Decimal) -> Decimal:
    """The twin's exact volume at the clinic record's resolution (6 decimal places of mL)."""
    return volume_ml.quantize(Decimal("0.000001"))


def _text(value: Decimal, unit: str) -> str:
    return f"{format_decimal(value)} {unit}"


def _fluid(drugs: tuple[tuple[str, Decimal], ...]) -> list[dict[str, str]]:
    return [
        {"drug": name, "concentration": str(concentration_in_drug_unit(name, conc))}
        for name, conc in drugs
    ]


def _dose(name: str, dose: Decimal) -> str:
    return str(dose_in_drug_unit(name, dose))


def twin_program(drug: str, program: rx.PrescribedProgram, bridge: bool) -> dict[str, Any]:
    """A prescribed program as the twin scenario's program table (docs/scenarios.md)."""
    if program.kind is rx.ProgramKind.CONTINUOUS:
        dose = program.days[0][0].dose.canonical
        return {"kind": "continuous", "dose": _dose(drug, dose), "bridge": bridge}
    assert not bridge, "a bridge runs a continuous program"
    days = {
        name: [{"start": s.start, "dose": _dose(drug, s.dose.canonical)} for s in day]
        for name, day in zip(rx.WEEKDAYS, program.days, strict=True)
    }
    return {"kind": "flex", "steps": days["mon"], "weekdays": days}


def utc_offset(moment: datetime) -> str:
    """The pump clock's offset: the clinic's wall clock at `moment` (flex steps run on it)."""
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def scenario(
    pump: TwinPump, visits: tuple[Visit, ...], programmings: tuple[Programming, ...] = ()
) -> dict[str, Any]:
    """The twin scenario document (docs/scenarios.md) of an implant's fills, programs and PTM
    settings."""
    first = visits[0]
    events: list[dict[str, Any]] = [
        {
            "at": visit.at.isoformat(),
            "kind": "refill",
            "volume": _text(visit.volume_ml, "mL"),
            "drugs": _fluid(visit.drugs),
            "program": twin_program(pump.drug, visit.program, visit.drugs != before.drugs),
        }
        for before, visit in itertools.pairwise(visits)
    ]
    events += [
        {
            "at": p.at.isoformat(),
            "kind": "program",
            "program": twin_program(pump.drug, p.order.program, False),
        }
        for p in programmings
    ]
    if pump.fault is not None and pump.fault[0] < visits[-1].at:
        events.append(
            {"at": pump.fault[0].isoformat(), "kind": "accuracy", "factor": str(pump.fault[1])}
        )
    document: dict[str, Any] = {
        "start": first.at.isoformat(),
        "until": (visits[-1].at + timedelta(hours=1)).isoformat(),
        "pump": {
            "model": pump.device.pump_model,
            "accuracy": str(pump.accuracy),
            "dead_volume": _text(pump.device.dead_volume_ml, "mL"),
            "primed": True,
            "utc_offset": utc_offset(first.at),
        },
        "fill": {"volume": _text(first.volume_ml, "mL"), "drugs": _fluid(first.drugs)},
        "program": twin_program(pump.drug, first.program, False),
        "event": events,
    }
    if pump.ptm is not None:
        document["ptm"] = {
            "bolus": f"{format_decimal(pump.ptm.dose.canonical)} mcg",
            "duration": f"{pump.ptm.duration_s} s",
            "lockout": f"{pump.ptm.lockout_s} s",
            "max_per_day": pump.ptm.max_per_day,
            "daily": list(PTM_REQUESTS),
        }
    return document


def plan_clinic(
    *, patients: int, seed: int, today: date, locale: ClinicLocale = DEMO_LOCALE
) -> list[PatientPlan]:
    """The whole demo clinic as values, its days counted on `locale`'s calendar and its moments
    on its wall clock (`today` is the clinic's day): the same arguments give the same plan."""
    planner = _Planner(seed, today, locale)
    return [planner.patient(draft) for draft in planner.assign(patients)]


def quantity(value: Decimal, unit: str) -> Q:
    """A plan value (canonical unit) as the quantity a clinician would enter, in `unit` (the
    same value parse() gives for its text, without parsing it: pint's parser is slow)."""
    return of(value, unit)
