"""A priming bolus judged as the bolus it is (clinical review): what it pushes of each drug the
path held (dead volume x concentration) meets the same single-bolus limits as any other bolus of
that drug (the library's by its tier, the clinic's own, the day's ceiling), beside the whole-day
rule; a hard limit refuses the fluid change naming the amount, the limit and its source, a soft
one warns with the amount and what to prescribe instead."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from painpump.core import catalog, fluid_change
from painpump.core.catalog import Limit
from painpump.core.clinic_limits import clinic_limit, parse_value
from painpump.core.decision import Finding, Subject, Tier
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import FluidChange, PrescribedProgram, Prescription
from painpump.core.prescription_decision import decide_prescription
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    Fill,
    LastFill,
    PumpState,
    RefillDecision,
    RefillEntries,
    RunningProgram,
    Therapy,
    decide_refill,
)
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
SYNCHROMED = catalog.pump("synchromed-ii-20", "pump")
PATH = "0.28 mL"
"""The reviewer's pump tubing and catheter: at the SynchroMed II's 24 mL/day about 17 min."""
MORPHINE_20 = (("morphine", Decimal(20_000)),)
"""The path as the pump's last fill stored it (mcg/mL): 0.28 mL of it is 5.6 mg of morphine."""
RUNNING = "5.9 mg/day"
POLICY = "Opioid policy v3, section 4"
PACC = "pacc-2017-trialing: PACC 2017 trial bolus 0.1-0.5 mg as commonly cited"
PUSHES = "it pushes the 0.28 mL in the pump tubing and catheter within about 17 min"
BRIDGE = (
    "a bridge instead delivers the old fluid at the rate that gives the prescribed dose at its "
    "concentration"
)
PHYSICIAN = "a physician runs this priming bolus at the refill (rule-physician-priming-push)"
"""A push that breaks a limit is run by a physician, never on a nurse's acknowledgement alone."""
NO_BRIDGE = (
    "no bridge runs for another drug: run the old fluid at the new program's rate instead, "
    "or empty the path first"
)


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def state(path: tuple[tuple[str, Decimal], ...] = MORPHINE_20, running: str = RUNNING) -> PumpState:
    """A SynchroMed II with a 0.28 mL path holding `path`, filled 30 days ago and running
    `running` of its principal drug since, for an opioid-tolerant patient."""
    filled = AT - timedelta(days=30)
    dose = q(running).canonical
    rate = dose / path[0][1]
    return PumpState(
        pump=SYNCHROMED,
        dead_volume=q(PATH, Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=LastFill(
            filled,
            q("20 mL", Kind.VOLUME),
            path,
            (filled + timedelta(days=60)).date(),
            LimitedBy.RESERVOIR,
            ((rate, filled, None),),
        ),
        running=RunningProgram(dose, rate, filled),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False)
        ),
    )


def primed(drug: str, concentration: str, dose: str) -> Prescription:
    return Prescription(
        ((drug, q(concentration, Kind.CONCENTRATION)),),
        PrescribedProgram.continuous(q(dose)),
        fluid_change=FluidChange.PRIMING,
    )


MORPHINE_25 = primed("morphine", "25 mg/mL", RUNNING)
CLONIDINE = primed("clonidine", "500 mcg/mL", "100 mcg/day")


def clinic(value: str, severity: str, drug: str = "morphine") -> Limit:
    rule = "max_single_bolus"
    return clinic_limit(
        catalog.drug(drug), rule, parse_value(rule, value), severity, POLICY, region="us"
    )


def judged(
    prescription: Prescription,
    limits: tuple[Limit, ...] = (),
    path: tuple[tuple[str, Decimal], ...] = MORPHINE_20,
    running: str | None = RUNNING,
    dead_volume: str = PATH,
) -> list[Finding]:
    """fluid_change.judge as decide_prescription calls it, with the clinic's rules."""
    rate = q(running).canonical / path[0][1] if running else None
    return fluid_change.judge(
        SYNCHROMED,
        q(dead_volume, Kind.VOLUME),
        path,
        prescription,
        rate,
        region="us",
        clinic_limits=limits,
    )


def bolus_warnings(found: list[Finding] | tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.rule: f for f in found if "single_bolus" in f.rule and f.rule.count("priming_")}


@pytest.fixture
def hardened_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged largest single bolus of morphine (0.5 mg, soft) hardened in the library, as
    a pharmacist may for every clinic (docs/safety-engine.md)."""
    morphine = catalog.drug("morphine")
    limits = tuple(
        replace(lim, severity=Tier.HARD) if lim.rule == "max_single_bolus" else lim
        for lim in morphine.limits
    )
    monkeypatch.setitem(catalog.drugs(), "morphine", replace(morphine, limits=limits))


# --- the library's largest single bolus, by its tier, through the whole prescription ---


@pytest.mark.parametrize(
    ("prescription", "instead"),
    [(MORPHINE_25, BRIDGE), (CLONIDINE, NO_BRIDGE)],
    ids=["morphine-20-to-25-mg-per-ml", "morphine-to-clonidine"],
)
def test_the_morphine_a_priming_bolus_pushes_warns_above_the_librarys_soft_single_bolus(
    prescription: Prescription, instead: str
) -> None:
    decision = decide_prescription(state(), prescription, AT, RULES)
    assert decision.stop is None
    warning = bolus_warnings(decision.warnings)["priming_max_single_bolus"]
    assert warning.message == (
        "the priming bolus of 5.6 mg exceeds the largest single bolus of morphine, 0.5 mg (soft "
        f"limit, unverified; source pacc-2017-trialing): {PUSHES}; {instead}; {PHYSICIAN}"
    )
    assert warning.limit == "<= 0.5 mg a single bolus"
    assert warning.source.startswith(PACC)
    assert (warning.tier, warning.verified) == (Tier.SOFT, False)
    assert (warning.subject, warning.drug) == (Subject.DOSE, "morphine")
    pushed = next(w for w in decision.warnings if w.rule == "priming_pushes_old_drug")
    assert pushed.limit == "< 5.9 mg/day of morphine (a whole day's dose)"


@pytest.mark.parametrize(
    ("prescription", "instead"),
    [(MORPHINE_25, BRIDGE), (CLONIDINE, NO_BRIDGE)],
    ids=["morphine-20-to-25-mg-per-ml", "morphine-to-clonidine"],
)
@pytest.mark.usefixtures("hardened_library")
def test_the_morphine_a_priming_bolus_pushes_is_refused_above_a_hard_library_single_bolus(
    prescription: Prescription, instead: str
) -> None:
    stop = decide_prescription(state(), prescription, AT, RULES).stop
    assert stop is not None
    assert (stop.field, stop.value) == (
        "fluid_change",
        "priming: 5.6 mg of morphine as one bolus within about 17 min",
    )
    assert stop.limit == f"<= 0.5 mg a single bolus (hard limit: no override); {instead}"
    assert stop.source.startswith(PACC)
    assert stop.problem == (
        "is stopped by priming_max_single_bolus: the priming bolus of 5.6 mg exceeds the largest "
        "single bolus of morphine, 0.5 mg (hard limit, unverified; source pacc-2017-trialing)"
    )


# --- the clinic's own largest single bolus, and the rules beside it ---


@dataclass(frozen=True)
class Refused:
    """A scenario refused: the refusal's value, limit, source and problem."""

    value: str
    limit: str
    source: str
    problem: str


STOPPED_BY_CLINIC = (
    "is stopped by priming_clinic_max_single_bolus: the priming bolus of 5.6 mg morphine exceeds "
    "the clinic's largest single bolus 0.3 mg"
)
PUSH_56 = "priming: 5.6 mg of morphine as one bolus within about 17 min"

REFUSED = [
    (
        "clinic-hard-0.3-mg-stops-a-concentration-change",
        MORPHINE_25,
        (clinic("0.3 mg", "hard"),),
        Refused(
            PUSH_56,
            f"<= 0.3 mg a single bolus (hard limit: no override); {BRIDGE}",
            POLICY,
            STOPPED_BY_CLINIC,
        ),
    ),
    (
        "clinic-hard-0.3-mg-stops-a-switch-to-clonidine",
        CLONIDINE,
        (clinic("0.3 mg", "hard"),),
        Refused(
            PUSH_56,
            f"<= 0.3 mg a single bolus (hard limit: no override); {NO_BRIDGE}",
            POLICY,
            STOPPED_BY_CLINIC,
        ),
    ),
    (
        "clinic-hard-300-mcg-is-named-in-the-drugs-unit",
        MORPHINE_25,
        (clinic("300 mcg", "hard"),),
        Refused(
            PUSH_56,
            f"<= 0.3 mg (= 300 mcg) a single bolus (hard limit: no override); {BRIDGE}",
            POLICY,
            "is stopped by priming_clinic_max_single_bolus: the priming bolus of 5.6 mg morphine "
            "exceeds the clinic's largest single bolus 0.3 mg (= 300 mcg)",
        ),
    ),
]


@pytest.mark.parametrize(
    ("prescription", "limits", "refused"),
    [row[1:] for row in REFUSED],
    ids=[row[0] for row in REFUSED],
)
def test_a_clinics_hard_single_bolus_refuses_the_priming_bolus_naming_amount_limit_and_source(
    prescription: Prescription, limits: tuple[Limit, ...], refused: Refused
) -> None:
    with pytest.raises(Refusal) as caught:
        judged(prescription, limits)
    stop = caught.value
    assert stop.field == "fluid_change"
    assert (stop.value, stop.limit, stop.source, stop.problem) == (
        refused.value,
        refused.limit,
        refused.source,
        refused.problem,
    )


def test_a_clinics_soft_single_bolus_warns_under_its_own_rule_beside_the_librarys() -> None:
    found = bolus_warnings(judged(MORPHINE_25, (clinic("0.4 mg", "soft"),)))
    assert set(found) == {"priming_max_single_bolus", "priming_clinic_max_single_bolus"}
    warning = found["priming_clinic_max_single_bolus"]
    assert warning.message == (
        "the priming bolus of 5.6 mg morphine exceeds the clinic's largest single bolus 0.4 mg: "
        f"{PUSHES}; {BRIDGE}; {PHYSICIAN}"
    )
    assert (warning.limit, warning.source, warning.tier) == (
        "<= 0.4 mg a single bolus",
        POLICY,
        Tier.SOFT,
    )


def test_a_clinic_limit_of_another_drug_leaves_the_pushed_morphine_to_the_librarys() -> None:
    found = bolus_warnings(judged(MORPHINE_25, (clinic("10 mcg", "hard", "clonidine"),)))
    assert set(found) == {"priming_max_single_bolus"}


def test_a_small_push_within_every_single_bolus_limit_passes_them_all() -> None:
    # 0.28 mL of morphine 1 mg/mL is 0.28 mg: within the library's 0.5 mg and the clinic's
    # hard 0.3 mg; a day of 1 mg/day
    found = judged(
        primed("morphine", "2 mg/mL", "1 mg/day"),
        (clinic("0.3 mg", "hard"),),
        path=(("morphine", Decimal(1000)),),
        running="1 mg/day",
    )
    assert bolus_warnings(found) == {}
    assert [f.rule for f in found] == ["priming_bolus_mixing", "priming_pushes_old_drug"]
    assert found[1].message.endswith("within about 17 min: 0.28 mg of morphine as one bolus")


def test_a_whole_days_dose_pushed_is_still_refused_by_the_whole_day_rule_first() -> None:
    # 5.6 mg pushed of a 5 mg/day program: the whole-day rule speaks before the clinic's
    with pytest.raises(Refusal) as caught:
        judged(MORPHINE_25, (clinic("0.3 mg", "hard"),), running="5 mg/day")
    assert (caught.value.value, caught.value.problem) == (
        "priming",
        "pushes a whole day's dose as one bolus",
    )
    assert caught.value.limit.startswith("< 5 mg/day of morphine")


def test_with_no_program_running_the_days_ceiling_refuses_a_push_above_a_days_maximum() -> None:
    # 1 mL of morphine 25 mg/mL is 25 mg: above the 20 mg/day caution, the highest maximum
    # daily dose of morphine, whatever its tier (single_bolus_daily_maximum, hard)
    with pytest.raises(Refusal) as caught:
        judged(
            primed("morphine", "20 mg/mL", RUNNING),
            path=(("morphine", Decimal(25_000)),),
            running=None,
            dead_volume="1 mL",
        )
    stop = caught.value
    assert stop.value == "priming: 25 mg of morphine as one bolus within about 60 min"
    assert stop.problem.startswith(
        "is stopped by priming_single_bolus_daily_maximum: the priming bolus of 25 mg morphine "
        "exceeds 20 mg/day, the daily dose above which its source advises caution"
    )
    assert stop.source.startswith("infumorph-label")


def test_each_drug_an_admixture_pushes_is_judged_and_warned_of_on_its_own() -> None:
    # 0.3 mL of morphine 20, bupivacaine 15 mg/mL and clonidine 75 mcg/mL: 6 mg, 4.5 mg and
    # 22.5 mcg, each above its largest single bolus (0.5 mg, 2.5 mg, 20 mcg), of an 8 mg/day day
    path = (
        ("morphine", Decimal(20_000)),
        ("bupivacaine", Decimal(15_000)),
        ("clonidine", Decimal(75)),
    )
    new = Prescription(
        (
            ("morphine", q("25 mg/mL", Kind.CONCENTRATION)),
            ("bupivacaine", q("15 mg/mL", Kind.CONCENTRATION)),
            ("clonidine", q("75 mcg/mL", Kind.CONCENTRATION)),
        ),
        PrescribedProgram.continuous(q("8 mg/day")),
        fluid_change=FluidChange.PRIMING,
    )
    found = bolus_warnings(judged(new, path=path, running="8 mg/day", dead_volume="0.3 mL"))
    assert set(found) == {
        "morphine:priming_max_single_bolus",
        "bupivacaine:priming_max_single_bolus",
        "clonidine:priming_max_single_bolus",
    }
    assert found["clonidine:priming_max_single_bolus"].message.startswith(
        "clonidine: the priming bolus of 22.5 mcg exceeds the largest single bolus of clonidine, "
        "20 mcg (soft limit, unverified; source pacc-2017-trialing)"
    )


# --- the prescription passes the clinic's rules to the judge ---


def test_a_prescription_is_refused_by_the_clinics_hard_single_bolus_for_its_priming() -> None:
    rules = replace(RULES, clinic_limits=(clinic("0.3 mg", "hard"),))
    stop = decide_prescription(state(), MORPHINE_25, AT, rules).stop
    assert stop is not None
    assert (stop.field, stop.value, stop.source) == ("fluid_change", PUSH_56, POLICY)
    assert stop.problem == STOPPED_BY_CLINIC


# --- the refill that runs the priming bolus judges it again (the limits then in force) ---


def _refill_executing(prescription: Prescription, rules: DosingRules) -> RefillDecision:
    """A refill an hour after signing that fills 20 mL of the prescription's fluid and runs its
    priming bolus from the path as it is."""
    (name, concentration) = prescription.drugs[0]
    entries = RefillEntries(
        at=AT + timedelta(hours=1),
        expected=q("14.1 mL", Kind.VOLUME),
        aspirated=q("14.1 mL", Kind.VOLUME),
        fill=Fill(((name, concentration),), q("20 mL", Kind.VOLUME), "L1"),
        dose=q(RUNNING),
        fluid_change=prescription.fluid_change,
        prescription=prescription,
    )
    return decide_refill(state(), entries, rules, now=entries.at)


def test_a_clinic_hard_single_bolus_set_after_signing_stops_the_refill_that_primes() -> None:
    signed = decide_prescription(state(), MORPHINE_25, AT, RULES)
    assert signed.stop is None
    decision = _refill_executing(
        MORPHINE_25, replace(RULES, clinic_limits=(clinic("0.3 mg", "hard"),))
    )
    assert decision.stop is not None and decision.outcome is None
    assert (decision.stop.field, decision.stop.value) == ("fluid_change", PUSH_56)
    assert decision.stop.source == POLICY


def test_the_refill_that_primes_shows_the_priming_warnings_signing_showed() -> None:
    signed = {w.rule for w in decide_prescription(state(), MORPHINE_25, AT, RULES).warnings}
    decision = _refill_executing(MORPHINE_25, RULES)
    assert decision.stop is None
    priming = {w.rule for w in decision.warnings if w.rule.startswith("priming")}
    assert priming and priming <= signed


def test_reviewer_case_the_priming_days_total_counts_the_pushed_dose_with_the_new_program() -> None:
    """5.6 mg pushed and 9.5 mg/day of the new program: 15.1 mg of morphine on the day of the
    refill, above the 15 mg/day the library lists (soft): a reason, naming both parts."""
    found = {f.rule: f for f in judged(primed("morphine", "25 mg/mL", "9.5 mg/day"))}
    day = found["priming_day_max_daily_dose"]
    assert day.message.startswith("on the day of the refill ")
    assert "15.1 mg/day" in day.message and "15 mg/day" in day.message
    assert day.message.endswith(
        f"(5.6 mg pushed by the priming bolus and 9.5 mg/day of the new program's day); {PHYSICIAN}"
    )
    assert day.tier is Tier.SOFT and day.drug == "morphine"
    assert "priming_day_max_daily_dose" not in {f.rule for f in judged(MORPHINE_25)}


def test_a_hard_day_maximum_broken_by_the_priming_day_refuses_the_fluid_change() -> None:
    """Ziconotide (US: 19.2 mcg/day, hard): 0.28 mL of 25 mcg/mL pushes 7 mcg; with 14 mcg/day
    of the new program the day gives 21 mcg."""
    path = (("ziconotide", Decimal(25)),)
    with pytest.raises(Refusal) as refused:
        judged(primed("ziconotide", "50 mcg/mL", "14 mcg/day"), path=path, running="8 mcg/day")
    stop = refused.value
    assert stop.field == "fluid_change"
    assert stop.value.startswith("priming: 21 mcg/day of ziconotide on the day of the refill")
    assert stop.problem.startswith("is stopped by priming_day_max_daily_dose:")
    assert stop.limit.endswith("(hard limit: no override); bridge, or empty the path first")
    assert stop.source.startswith("prialt-us-label")
