"""Numbers in the safety engine's refusals and warnings are in the unit the clinician works in
(issue 13, the pharmacist's review): each dose, concentration and limit in its drug's own unit (mg
for morphine, hydromorphone and bupivacaine; mcg for baclofen, ziconotide and clonidine) or in the
unit typed, with the other after it ("= ..."), never led by the mcg painpump computes and stores
in; durations in words ("3 h"), never raw seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from painpump.core import catalog, checks, clinic_limits, dosing, fluid_change
from painpump.core.baclofen import ScreeningBolus, next_screening_step, starting_daily_dose
from painpump.core.errors import Refusal
from painpump.core.prescription import (
    FluidChange,
    PatientBolus,
    PrescribedProgram,
    Prescription,
    SingleBolus,
    Step,
    check_shape,
)
from painpump.core.prescription_compare import CheckEntries, Mismatch, compare_check
from painpump.core.pump_twin import PumpHistory, RecordedFill, RecordedProgram, forecast
from painpump.core.refill_decision import check_drugs
from painpump.core.twin import load_scenario
from painpump.core.units import Kind, Q, as_given, in_unit, of, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SYNCHROMED = catalog.pump("synchromed-ii-20")
HOUR = 3600


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def conc(text: str) -> Q:
    return q(text, Kind.CONCENTRATION)


def mass(text: str) -> Q:
    return q(text, Kind.MASS)


def mcg_per_day(value: int) -> Q:
    """A daily dose as painpump computes and stores it (a prescription's largest day)."""
    return of(Decimal(value), "mcg/day")


def refused(call: Any) -> tuple[str, str, str, str]:
    with pytest.raises(Refusal) as caught:
        call()
    return caught.value.field, caught.value.value, caught.value.limit, caught.value.problem


def test_every_packaged_quantity_is_written_in_its_drugs_unit() -> None:
    """The library's limits, usual ranges and products are shown as written: each must be in the
    drug's unit for a message to be."""
    for drug in catalog.drugs().values():
        written = [lim.value for lim in drug.limits if isinstance(lim.value, Q)]
        written += [u.low for u in drug.usual] + [u.high for u in drug.usual]
        written += list(drug.products)
        assert {str(v) for v in written if v.unit != drug.unit_for(v.kind)} == set(), drug.name


@pytest.mark.parametrize(
    ("quantity", "unit", "shown", "given_first"),
    [
        (mcg_per_day(1500), "mg/day", "1.5 mg/day (= 1500 mcg/day)", "1500 mcg/day (= 1.5 mg/day)"),
        (q("1.5 mg/day"), "mg/day", "1.5 mg/day", "1.5 mg/day"),
        (conc("150 mg/mL"), "mcg/mL", "150 mg/mL (= 150000 mcg/mL)", "150 mg/mL (= 150000 mcg/mL)"),
        (mass("100 mcg"), "mcg", "100 mcg", "100 mcg"),
        (mcg_per_day(0), "mg/day", "0 mg/day", "0 mcg/day"),
    ],
    ids=["computed mcg of an mg drug", "as ordered", "typed mg of an mcg drug", "mcg drug", "zero"],
)
def test_a_quantity_is_led_by_the_drugs_unit_or_the_unit_typed_never_by_mcg_alone(
    quantity: Q, unit: str, shown: str, given_first: str
) -> None:
    assert (in_unit(quantity, unit), as_given(quantity, unit)) == (shown, given_first)


# (drug, concentration, daily dose, rule, message, limit); a dose in mcg/day is one painpump
# computed (the largest day of a prescription, as the API keeps it canonical)
DAILY_DOSES = [
    (
        "morphine",
        "10 mg/mL",
        mcg_per_day(17000),
        "max_daily_dose",
        "17 mg/day (= 17000 mcg/day) exceeds the maximum daily dose 15 mg/day",
        "<= 15 mg/day",
    ),
    (
        "hydromorphone",
        "2 mg/mL",
        mcg_per_day(12000),
        "max_daily_dose",
        "12 mg/day (= 12000 mcg/day) exceeds the maximum daily dose 10 mg/day",
        "<= 10 mg/day",
    ),
    (
        "bupivacaine",
        "15 mg/mL",
        q("12 mg/day"),
        "max_daily_dose",
        "12 mg/day exceeds the maximum daily dose 10 mg/day",
        "<= 10 mg/day",
    ),
    (
        "clonidine",
        "500 mcg/mL",
        q("0.7 mg/day"),
        "max_daily_dose",
        "0.7 mg/day (= 700 mcg/day) exceeds the maximum daily dose 600 mcg/day",
        "<= 600 mcg/day",
    ),
    (
        "baclofen",
        "500 mcg/mL",
        q("1200 mcg/day"),
        "max_daily_dose",
        "1200 mcg/day exceeds the maximum daily dose 1000 mcg/day",
        "<= 1000 mcg/day",
    ),
    (
        "ziconotide",
        "25 mcg/mL",
        q("0.0216 mg/day"),
        "max_daily_dose",
        "0.0216 mg/day (= 21.6 mcg/day) exceeds the maximum daily dose 19.2 mcg/day (US)",
        "<= 19.2 mcg/day (US)",
    ),
    (
        "morphine",
        "10 mg/mL",
        mcg_per_day(60000),
        "far_above_usual",
        "daily dose 60 mg/day (= 60000 mcg/day) for morphine is 3 times its usual ceiling "
        "20 mg/day or more: a slip or a prescription no source supports; re-enter it",
        "< 60 mg/day",
    ),
    (
        "morphine",
        "10 mg/mL",
        q("15000 mg/day"),
        "unit_slip",
        "daily dose 15000 mg/day for morphine is outside its usual range 0.1 mg/day to 20 mg/day, "
        "but 15000 mcg/day (= 15 mg/day) is within it: a mg/mcg slip? Re-enter the value in the "
        "unit intended",
        "daily dose within 0.1 mg/day to 20 mg/day (usual range)",
    ),
    (
        "baclofen",
        "500 mcg/mL",
        q("0.5 mcg/day"),
        "unit_slip",
        "daily dose 0.5 mcg/day for baclofen is outside its usual range 24 mcg/day to 1199 "
        "mcg/day, but 0.5 mg/day (= 500 mcg/day) is within it: a mg/mcg slip? Re-enter the value "
        "in the unit intended",
        "daily dose within 24 mcg/day to 1199 mcg/day (usual range)",
    ),
    (
        "hydromorphone",
        "2 mg/mL",
        mcg_per_day(3_000_000),
        "implausible",
        "daily dose 3000 mg/day (= 3000000 mcg/day) for hydromorphone is at least 100 times the "
        "highest value in the drug library (25 mg/day): a unit or decimal slip; re-enter it",
        "< 2500 mg/day",
    ),
]


@pytest.mark.parametrize(
    ("drug", "concentration", "dose", "rule", "message", "limit"),
    DAILY_DOSES,
    ids=[f"{d}-{r}-{dose}".replace(" ", "") for d, _, dose, r, _, _ in DAILY_DOSES],
)
def test_a_daily_dose_is_judged_in_its_drugs_unit_with_the_other_beside_it(
    drug: str, concentration: str, dose: Q, rule: str, message: str, limit: str
) -> None:
    found = [f for f in checks.check(drug, conc(concentration), dose).findings if f.rule == rule]
    assert [(f.message, f.limit) for f in found][:1] == [(message, limit)]


# (drugs, principal daily dose, field, value, limit, problem)
STOPS = [
    (
        (("morphine", conc("20 mg/mL")),),
        mcg_per_day(60000),
        "dose",
        "morphine 20 mg/mL, 60 mg/day (= 60000 mcg/day)",
        "< 60 mg/day (hard limit: no override)",
        "is stopped by far_above_usual: daily dose 60 mg/day (= 60000 mcg/day) for morphine is "
        "3 times its usual ceiling 20 mg/day or more: a slip or a prescription no source "
        "supports; re-enter it",
    ),
    (
        (("morphine", of(Decimal(20000), "mcg/mL")),),
        mcg_per_day(60000),
        "dose",
        "morphine 20 mg/mL (= 20000 mcg/mL), 60 mg/day (= 60000 mcg/day)",
        "< 60 mg/day (hard limit: no override)",
        "is stopped by far_above_usual: daily dose 60 mg/day (= 60000 mcg/day) for morphine is "
        "3 times its usual ceiling 20 mg/day or more: a slip or a prescription no source "
        "supports; re-enter it",
    ),
    (
        (("baclofen", conc("2000 mcg/mL")), ("morphine", conc("30 mg/mL"))),
        q("400 mcg/day"),
        "drugs[1]",
        "morphine 30 mg/mL, 6 mg/day",
        "<= 25 mg/mL (hard limit: no override)",
        "is stopped by max_concentration: 30 mg/mL exceeds the maximum concentration 25 mg/mL",
    ),
    (
        (("clonidine", conc("150 mg/mL")),),
        q("300 mcg/day"),
        "drugs[0]",
        "clonidine 150 mg/mL (= 150000 mcg/mL), 300 mcg/day",
        "concentration within 10 mcg/mL to 1000 mcg/mL (usual range) (hard limit: no override)",
        "is stopped by unit_slip: concentration 150 mg/mL (= 150000 mcg/mL) for clonidine is "
        "outside its usual range 10 mcg/mL to 1000 mcg/mL, but 150 mcg/mL is within it: a "
        "mg/mcg slip? Re-enter the value in the unit intended",
    ),
    (
        (("ziconotide", conc("25 mcg/mL")),),
        q("0.1 mg/day"),
        "dose",
        "ziconotide 25 mcg/mL, 0.1 mg/day (= 100 mcg/day)",
        "< 64.8 mcg/day (hard limit: no override)",
        "is stopped by far_above_usual: daily dose 0.1 mg/day (= 100 mcg/day) for ziconotide is "
        "3 times its usual ceiling 21.6 mcg/day or more: a slip or a prescription no source "
        "supports; re-enter it",
    ),
    (
        (("bupivacaine", conc("0.5 mg/mL")),),
        mcg_per_day(19000),
        "dose",
        "19 mg/day (= 19000 mcg/day)",
        "<= 24 mL/day (max_rate of synchromed-ii-20, hard: the device's range)",
        "gives a rate above the pump's range",
    ),
]


@pytest.mark.parametrize(
    ("drugs", "dose", "field", "value", "limit", "problem"),
    STOPS,
    ids=[
        "morphine's computed day",
        "morphine as stored",
        "a partner's computed day",
        "typed mg of clonidine",
        "typed mg of ziconotide",
        "bupivacaine's rate",
    ],
)
def test_a_fill_or_program_stop_names_each_value_in_its_drugs_unit(
    drugs: tuple[tuple[str, Q], ...], dose: Q, field: str, value: str, limit: str, problem: str
) -> None:
    assert refused(lambda: check_drugs(SYNCHROMED, drugs, dose, None, AT, None, "us")) == (
        field,
        value,
        limit,
        problem,
    )


def test_a_clinic_limit_typed_in_mcg_for_morphine_is_shown_in_mg_with_the_mcg_beside() -> None:
    morphine = catalog.drug("morphine")
    day = clinic_limits.clinic_limit(
        morphine, "max_daily_dose", q("12000 mcg/day"), "hard", "policy", region="us"
    )
    step = clinic_limits.clinic_limit(
        morphine, "max_step_absolute", q("500 mcg/day"), "soft", "policy", region="us"
    )
    decision = checks.check(
        "morphine",
        conc("10 mg/mL"),
        mcg_per_day(13000),
        previous_dose=mcg_per_day(12000),
        extra_limits=(day, step),
    )
    clinic = [
        (f.rule, f.message, f.limit) for f in decision.findings if f.rule.startswith("clinic")
    ]
    assert clinic == [
        (
            "clinic_max_daily_dose",
            "13 mg/day (= 13000 mcg/day) exceeds the clinic's maximum daily dose 12 mg/day "
            "(= 12000 mcg/day)",
            "<= 12 mg/day (= 12000 mcg/day)",
        ),
        (
            "clinic_max_step_absolute",
            "increase of 1 mg/day, clinic largest titration step (amount) <= 0.5 mg/day "
            "(= 500 mcg/day)",
            "<= 0.5 mg/day (= 500 mcg/day)",
        ),
    ]


# (drug, rule, value typed, the clinic's hard limits, value shown, limit)
CLINIC_REFUSALS = [
    (
        "morphine",
        "max_daily_dose",
        q("25000 mcg/day"),
        (),
        "25000 mcg/day (= 25 mg/day)",
        "< 20 mg/day, the packaged soft maximum daily dose of morphine",
    ),
    (
        "bupivacaine",
        "max_concentration",
        conc("40000 mcg/mL"),
        (),
        "40000 mcg/mL (= 40 mg/mL)",
        "< 30 mg/mL, the packaged soft maximum concentration of bupivacaine",
    ),
    (
        "clonidine",
        "max_daily_dose",
        q("0.005 mg/day"),
        (),
        "0.005 mg/day (= 5 mcg/day)",
        "> 6 mcg/day (clonidine's packaged maximum daily dose is 600 mcg/day)",
    ),
    (
        "morphine",
        "max_daily_dose",
        q("13 mg/day"),
        (("max_daily_dose", "12000 mcg/day"),),
        "13 mg/day",
        "< 12 mg/day (= 12000 mcg/day), the clinic hard maximum daily dose of morphine",
    ),
]


@pytest.mark.parametrize(
    ("drug", "rule", "value", "others", "shown", "limit"),
    CLINIC_REFUSALS,
    ids=["looser, typed in mcg", "looser, in mcg/mL", "a slip, typed in mg", "looser than clinic"],
)
def test_a_clinic_limit_refused_shows_the_value_as_typed_and_in_the_drugs_unit(
    drug: str,
    rule: str,
    value: Q,
    others: tuple[tuple[str, str], ...],
    shown: str,
    limit: str,
) -> None:
    medicine = catalog.drug(drug)
    hard = tuple(
        clinic_limits.clinic_limit(medicine, name, q(text), "hard", "policy", region="us")
        for name, text in others
    )
    field, value_shown, limit_shown, _ = refused(
        lambda: clinic_limits.clinic_limit(
            medicine, rule, value, "soft", "policy", region="us", others=hard
        )
    )
    assert (field, value_shown, limit_shown) == ("value", shown, limit)


def _prescribed(change: FluidChange) -> Prescription:
    return Prescription(
        (("morphine", conc("10 mg/mL")),),
        PrescribedProgram.continuous(q("5 mg/day")),
        fluid_change=change,
    )


MORPHINE_20 = (("morphine", Decimal(20000)),)  # a path as the pump's last fill stored it
DEAD = q("0.25 mL", Kind.VOLUME)


def test_the_old_fluid_is_named_in_its_drugs_unit_when_refused_or_warned() -> None:
    unplanned = refused(
        lambda: fluid_change.judge(SYNCHROMED, DEAD, MORPHINE_20, _prescribed(FluidChange.NONE))
    )
    assert unplanned[2] == (
        "bridge or priming: the 0.25 mL in the pump tubing and catheter hold morphine 20 mg/mL; "
        "at the new program's rate it would give 2 times the prescribed dose of morphine until "
        "10 mg/mL arrives"
    )
    other_drug = fluid_change.judge(
        SYNCHROMED, DEAD, (("hydromorphone", Decimal(10000)),), _prescribed(FluidChange.NONE)
    )
    assert [f.message for f in other_drug] == [
        "the 0.25 mL in the pump tubing and catheter hold hydromorphone 10 mg/mL: at the new "
        "program's rate it gives 5 mg/day of hydromorphone for 12.0 h before morphine arrives"
    ]
    whole_day = refused(
        lambda: fluid_change.judge(
            SYNCHROMED, DEAD, MORPHINE_20, _prescribed(FluidChange.PRIMING), Decimal("0.2")
        )
    )
    assert whole_day[2] == (
        "< 4 mg/day of morphine (what the running program gives in a whole day) pushed as one "
        "bolus; the priming bolus pushes 5 mg within about 15 min: bridge, or empty the path first"
    )
    pushed = fluid_change.judge(
        SYNCHROMED, DEAD, MORPHINE_20, _prescribed(FluidChange.PRIMING), Decimal("0.5")
    )
    assert [(f.message, f.limit) for f in pushed if f.rule == "priming_pushes_old_drug"] == [
        (
            "the priming bolus pushes the 0.25 mL in the pump tubing and catheter within about "
            "15 min: 5 mg of morphine as one bolus",
            "< 10 mg/day of morphine (a whole day's dose)",
        )
    ]
    mixture = (("morphine", Decimal(20000)), ("clonidine", Decimal(500)))
    assert fluid_change.priming(SYNCHROMED, DEAD, mixture).words() == (
        "the 0.25 mL in the pump tubing and catheter pushed over 15 min: 5 mg of morphine, "
        "125 mcg of clonidine as one bolus"
    )


CONTINUOUS = PrescribedProgram.continuous(q("5 mg/day"))


def _flex(second_start_s: int) -> PrescribedProgram:
    monday = (Step(0, q("5 mg/day")), Step(second_start_s, q("6 mg/day")))
    return PrescribedProgram.flex((monday,) + ((Step(0, q("5 mg/day")),),) * 6)


def _ptm(duration_s: int, lockout_s: int, per_day: int) -> PatientBolus:
    return PatientBolus(mass("0.1 mg"), duration_s, lockout_s, per_day)


@pytest.mark.parametrize(
    ("program", "ptm", "field", "value", "limit"),
    [
        (
            CONTINUOUS,
            _ptm(600, 300, 4),
            "ptm.lockout",
            "5 min",
            "at least the bolus duration (10 min)",
        ),
        (
            CONTINUOUS,
            _ptm(600, 3 * HOUR, 9),
            "ptm.max_per_day",
            "9",
            "1 to 8 (24 h divided by the lockout of 3 h)",
        ),
        (CONTINUOUS, _ptm(0, 3 * HOUR, 4), "ptm.duration", "0 s", "above 0 s"),
        (
            _flex(8 * HOUR + 30 * 60 + 30),
            None,
            "program.days.mon[1].start",
            "08:30:30",
            "a whole minute from 00:00 to 23:59",
        ),
        (
            _flex(24 * HOUR),
            None,
            "program.days.mon[1].start",
            "24 h after 00:00",
            "a whole minute from 00:00 to 23:59",
        ),
    ],
    ids=[
        "lockout shorter",
        "more than the lockout allows",
        "no duration",
        "seconds",
        "past the day",
    ],
)
def test_a_duration_or_time_of_day_is_refused_in_words_never_in_raw_seconds(
    program: PrescribedProgram, ptm: PatientBolus | None, field: str, value: str, limit: str
) -> None:
    assert refused(lambda: check_shape(SYNCHROMED, program, ptm))[:3] == (field, value, limit)


def _scenario(**changes: Any) -> dict[str, Any]:
    """Morphine 10 mg/mL filled to 20 mL in a SynchroMed II, 5 mg/day for 30 days."""
    return {
        "start": "2026-01-05T08:00:00Z",
        "until": "2026-02-04T08:00:00Z",
        "pump": {"model": "synchromed-ii-20", "alarm_volume": "2 mL"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "10 mg/mL"},
        "program": {"kind": "continuous", "dose": "5 mg/day"},
        **changes,
    }


def test_a_scenarios_lockout_and_recomputed_dose_are_worded_as_the_order_is() -> None:
    ptm = {"bolus": "0.1 mg", "duration": "10 min", "lockout": "5 min", "max_per_day": 4}
    assert refused(lambda: load_scenario(_scenario(ptm=ptm)))[:3] == (
        "ptm.lockout",
        "5 min",
        "at least the bolus duration (10 min)",
    )
    weaker = {
        "at": "2026-01-15T08:00:00Z",
        "kind": "refill",
        "volume": "20 mL",
        "drug": "morphine",
        "concentration": "0.1 mg/mL",
    }
    warnings = load_scenario(_scenario(event=[weaker])).warnings
    assert any(
        w.startswith("event[0].concentration 5 mg/day at 0.1 mg/mL is outside") for w in warnings
    ), warnings


def test_a_constant_flow_pumps_changed_rate_is_refused_in_the_drugs_unit() -> None:
    fill = datetime(2026, 1, 5, tzinfo=UTC)
    morphine = (("morphine", Decimal(10000)),)
    history = PumpHistory(
        catalog.pump("constant-flow"),
        Decimal(2),
        Decimal("0.25"),
        UTC,
        (RecordedFill(fill, Decimal(20), morphine),),
        tuple(
            RecordedProgram(
                fill + timedelta(days=n), morphine, PrescribedProgram.continuous(d), None
            )
            for n, d in enumerate((mcg_per_day(1000), mcg_per_day(2000)))
        ),
        (),
    )
    field, value, _, problem = refused(lambda: forecast(history, fill + timedelta(days=10)))
    assert (field, value, problem) == (
        "programs[1]",
        "2 mg/day (= 2000 mcg/day)",
        "cannot be programmed",
    )


@pytest.mark.parametrize(
    ("call", "field", "value", "limit"),
    [
        (
            lambda: dosing.rate(q("5 mg/day"), Q(Decimal(0), "mg/mL")),
            "concentration",
            "0 mg/mL",
            "above 0 mg/mL",
        ),
        (
            lambda: dosing.rate(q("5 mg/day"), Q(Decimal("0.000000000001"), "mg/mL")),
            "concentration",
            "0.000000000001 mg/mL",
            "a concentration that gives 5 mg/day below 1000000000000 mL/day",
        ),
        (
            lambda: dosing.dose(q("1 mL/day", Kind.VOLUME_RATE), Q(Decimal(-1), "mg/mL")),
            "concentration",
            "-1 mg/mL",
            ">= 0 mg/mL",
        ),
        (
            lambda: parse("-5 mg/day", Kind.DOSE_RATE, "dose"),
            "dose",
            "'-5 mg/day'",
            "a dose rate of at least 0 mg/day",
        ),
        (
            lambda: parse("0 ug/ml", Kind.CONCENTRATION, "concentration", positive=True),
            "concentration",
            "'0 ug/ml'",
            "a concentration above 0 mcg/mL",
        ),
        (
            lambda: checks.check(
                "morphine", conc("10 mg/mL"), q("5 mg/day"), previous_dose=mcg_per_day(0)
            ),
            "previous_dose",
            "0 mg/day",
            "> 0 mg/day (a start from 0 is not a titration step)",
        ),
        (
            lambda: next_screening_step([ScreeningBolus(mass("0.06 mg"), positive=False)]),
            "history[0]",
            "0.06 mg (= 60 mcg)",
            "50 mcg (sequence 50 mcg, 75 mcg, 100 mcg)",
        ),
        (
            lambda: starting_daily_dose(mass("0.2 mg"), Decimal(4)),
            "effective_bolus",
            "0.2 mg (= 200 mcg)",
            "> 0 and <= 100 mcg (largest screening bolus)",
        ),
    ],
    ids=[
        "no concentration",
        "too weak for the dose",
        "negative concentration",
        "negative dose",
        "zero concentration",
        "titration from nothing",
        "screening bolus in mg",
        "effective bolus in mg",
    ],
)
def test_an_entry_refused_is_shown_in_the_unit_typed_with_the_drugs_beside(
    call: Any, field: str, value: str, limit: str
) -> None:
    assert refused(call)[:3] == (field, value, limit)


STORED = Prescription(
    (("morphine", of(Decimal(20000), "mcg/mL")), ("clonidine", of(Decimal(500), "mcg/mL"))),
    PrescribedProgram.flex(((Step(0, mcg_per_day(4000)), Step(8 * HOUR, mcg_per_day(4400))),) * 7),
    PatientBolus(of(Decimal(100), "mcg"), 600, 4 * HOUR, 4),
)
"""A morphine order as the clinic stores it (canonical mcg), clonidine beside it."""


@pytest.mark.parametrize(
    ("entries", "mismatches"),
    [
        (
            CheckEntries(
                (("morphine", conc("20 mcg/mL")), ("clonidine", conc("0.5 mg/mL"))),
                PrescribedProgram.flex(
                    (
                        (Step(0, q("4 mg/day")), Step(8 * HOUR, q("4400 mg/day"))),
                        *STORED.program.days[1:],
                    )
                ),
                PatientBolus(mass("200 mcg"), 300, 4 * HOUR, 4),
            ),
            [
                Mismatch("concentrations.morphine", "20 mcg/mL", "20 mg/mL"),
                Mismatch(
                    "program.days.mon",
                    "00:00 4 mg/day, 08:00 4400 mg/day",
                    "00:00 4 mg/day, 08:00 4.4 mg/day",
                ),
                Mismatch("ptm.dose", "200 mcg", "0.1 mg"),
                Mismatch("ptm.duration", "5 min", "10 min"),
            ],
        ),
        (
            CheckEntries(
                (("morphine", conc("20 mg/mL")), ("clonidine", conc("500 mcg/mL"))),
                STORED.program,
                None,
            ),
            [Mismatch("ptm", "off", "0.1 mg over 10 min, lockout 4 h, at most 4 a day")],
        ),
        (
            CheckEntries(
                (("morphine", conc("20 mg/mL")), ("clonidine", conc("500 mcg/mL"))),
                PrescribedProgram.single_bolus(SingleBolus(mass("1.5 mcg"), HOUR)),
                STORED.ptm,
            ),
            [
                Mismatch("program.kind", "single_bolus", "flex"),
                Mismatch("program.bolus", "1.5 mcg over 1 h, then the pump stops", "none"),
            ],
        ),
    ],
    ids=["each setting", "ptm left off", "a bolus for a flex order"],
)
def test_an_entry_is_compared_with_the_order_as_written_in_its_drugs_unit(
    entries: CheckEntries, mismatches: list[Mismatch]
) -> None:
    assert list(compare_check(STORED, entries)) == mismatches


def test_a_single_bolus_order_is_compared_in_its_drugs_unit() -> None:
    order = Prescription(
        (("morphine", of(Decimal(20000), "mcg/mL")),),
        PrescribedProgram.single_bolus(SingleBolus(of(Decimal(1500), "mcg"), 300)),
    )
    drugs = (("morphine", conc("20 mg/mL")),)
    dose_and_time = CheckEntries(
        drugs, PrescribedProgram.single_bolus(SingleBolus(mass("1.5 mcg"), HOUR)), None
    )
    assert list(compare_check(order, dose_and_time)) == [
        Mismatch("program.bolus.dose", "1.5 mcg", "1.5 mg"),
        Mismatch("program.bolus.duration", "1 h", "5 min"),
    ]
    basal = CheckEntries(drugs, CONTINUOUS, None)
    assert list(compare_check(order, basal)) == [
        Mismatch("program.kind", "continuous", "single_bolus"),
        Mismatch("program.bolus", "none", "1.5 mg over 5 min, then the pump stops"),
    ]
