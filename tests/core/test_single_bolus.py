"""A single-bolus prescription: a dose over a duration, then the pump stops. Judged as its day's
dose, at a rate the pump can run, warning that every drug with a withdrawal risk then stops;
compared setting by setting at the double-check and the readback; run by the twin, after which
the reservoir holds what is left."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import (
    BolusRun,
    BolusState,
    PrescribedProgram,
    Prescription,
    ProgramKind,
    Step,
    check_shape,
    patient_bolus,
    single_bolus,
)
from painpump.core.prescription_compare import CheckEntries, Mismatch, compare_check
from painpump.core.prescription_decision import decide_prescription
from painpump.core.pump_twin import (
    PumpHistory,
    RecordedFill,
    RecordedProgram,
    forecast,
    projection,
)
from painpump.core.refill import LimitedBy
from painpump.core.refill_decision import (
    DosingRules,
    LastFill,
    PumpState,
    RunningProgram,
    Therapy,
    decide_program_change,
)
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
BACLOFEN = (("baclofen", parse("2000 mcg/mL", Kind.CONCENTRATION, "c")),)
BOLUS = PrescribedProgram.single_bolus(single_bolus("50 mcg", "10 min"))


def empty_pump(model: str = "synchromed-ii-20") -> PumpState:
    return PumpState(
        pump=catalog.pump(model, "pump"),
        dead_volume=parse("0.2 mL", Kind.VOLUME, "d"),
        alarm_volume=parse("2 mL", Kind.VOLUME, "a"),
        last_fill=None,
        running=None,
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False),
            origin="spinal",
        ),
    )


def running_baclofen(
    drug: str = "baclofen", concentration: int = 2000, dose: int = 400
) -> PumpState:
    """`drug` at `concentration` mcg/mL filled 30 days ago, `dose` mcg/day since (baclofen 2000
    mcg/mL at 400 mcg/day: 0.2 mL/day)."""
    filled = AT - timedelta(days=30)
    rate = Decimal(dose) / concentration
    return replace(
        empty_pump(),
        last_fill=LastFill(
            filled,
            parse("20 mL", Kind.VOLUME, "v"),
            ((drug, Decimal(concentration)),),
            (filled + timedelta(days=90)).date(),
            LimitedBy.STABILITY,
            ((rate, filled, None),),
        ),
        running=RunningProgram(Decimal(dose), rate, filled),
    )


def test_a_single_bolus_is_judged_as_its_days_dose_and_warns_that_the_pump_then_stops() -> None:
    decision = decide_prescription(running_baclofen(), Prescription(BACLOFEN, BOLUS), AT, RULES)
    assert decision.stop is None
    assert decision.prescription.daily_dose == parse("50 mcg/day", Kind.DOSE_RATE, "d")
    stopped = next(w for w in decision.warnings if w.rule == "stops_after_single_bolus")
    assert "baclofen then stops abruptly" in stopped.message
    assert BOLUS.words == "single bolus 50 mcg over 10 min, then the pump stops"


def test_a_single_bolus_gives_only_the_fluid_the_pump_holds_never_at_a_fill() -> None:
    first = decide_prescription(empty_pump(), Prescription(BACLOFEN, BOLUS), AT, RULES).stop
    assert first is not None and first.problem == "cannot be given with this fluid"
    half = (("baclofen", parse("1000 mcg/mL", Kind.CONCENTRATION, "c")),)
    other = decide_prescription(running_baclofen(), Prescription(half, BOLUS), AT, RULES).stop
    assert other is not None and "(baclofen 2000 mcg/mL)" in other.limit


def test_a_single_bolus_as_big_as_the_running_day_warns_as_a_possible_slip() -> None:
    big = PrescribedProgram.single_bolus(single_bolus("400 mcg", "1 hour"))
    decision = decide_prescription(running_baclofen(), Prescription(BACLOFEN, big), AT, RULES)
    size = next(w for w in decision.warnings if w.rule == "single_bolus_size")
    assert "400 mcg/day of baclofen the pump gives in a whole day" in size.message


def test_reviewer_case_a_bolus_under_a_tenth_of_the_running_day_is_no_slip_of_it() -> None:
    small = PrescribedProgram.single_bolus(single_bolus("25 mcg", "10 min"))
    decision = decide_prescription(running_baclofen(), Prescription(BACLOFEN, small), AT, RULES)
    assert decision.stop is None
    assert "tenfold_step" not in {w.rule for w in decision.warnings}
    stopped = next(w for w in decision.warnings if w.rule == "stops_after_single_bolus")
    assert "baclofen then stops abruptly" in stopped.message


def test_an_opioid_single_bolus_for_a_patient_not_known_tolerant_asks_for_observation() -> None:
    naive = replace(
        running_baclofen("morphine", 10_000, 1000),
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.NAIVE, psychosis_history=False)
        ),
    )
    morphine = (("morphine", parse("10 mg/mL", Kind.CONCENTRATION, "c")),)
    trial = PrescribedProgram.single_bolus(single_bolus("0.2 mg", "10 min"))
    decision = decide_prescription(naive, Prescription(morphine, trial), AT, RULES)
    watched = next(w for w in decision.warnings if w.rule == "single_bolus_observation")
    assert "at least 6 hours" in watched.message and watched.source.startswith("pacc-2017")


def test_a_single_bolus_above_the_labels_maximum_is_refused_as_a_days_dose() -> None:
    huge = PrescribedProgram.single_bolus(single_bolus("2 mg", "1 hour"))
    stop = decide_prescription(empty_pump(), Prescription(BACLOFEN, huge), AT, RULES).stop
    assert stop is not None and "hard limit" in stop.limit


def test_a_single_bolus_faster_than_the_pump_runs_is_refused_naming_its_duration() -> None:
    # 500 mcg at 50 mcg/mL is 10 mL; over 1 min that is 14,400 mL/day (the pump runs <= 24)
    weak = (("baclofen", parse("50 mcg/mL", Kind.CONCENTRATION, "c")),)
    fast = PrescribedProgram.single_bolus(single_bolus("500 mcg", "1 min"))
    state = running_baclofen(concentration=50)
    stop = decide_prescription(state, Prescription(weak, fast), AT, RULES).stop
    assert stop is not None
    assert stop.field == "program.bolus.duration"
    assert "500 mcg over 1 min" in stop.value


@pytest.mark.parametrize(
    ("program", "ptm", "model", "field", "problem"),
    [
        (
            BOLUS,
            patient_bolus("5 mcg", "2 min", "3 hour", "2"),
            "synchromed-ii-20",
            "ptm",
            "cannot be given",
        ),
        (
            PrescribedProgram.single_bolus(single_bolus("50 mcg", "25 hour")),
            None,
            "synchromed-ii-20",
            "program.bolus.duration",
            "is not a bolus's duration",
        ),
        (BOLUS, None, "constant-flow", "program.kind", "cannot be programmed"),
        (
            PrescribedProgram(ProgramKind.SINGLE_BOLUS, BOLUS.days),
            None,
            "synchromed-ii-20",
            "program.bolus",
            "is required",
        ),
    ],
    ids=["with-ptm", "longer-than-a-day", "constant-flow", "no-bolus"],
)
def test_a_single_bolus_the_pump_cannot_run_is_refused_by_its_shape(
    program: PrescribedProgram,
    ptm: object,
    model: str,
    field: str,
    problem: str,
) -> None:
    with pytest.raises(Refusal) as caught:
        check_shape(catalog.pump(model, "p"), program, ptm)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_the_double_check_compares_the_bolus_dose_and_duration() -> None:
    entered = PrescribedProgram.single_bolus(single_bolus("0.05 mg", "20 min"))
    found = compare_check(Prescription(BACLOFEN, BOLUS), CheckEntries(BACLOFEN, entered, None))
    assert found == (Mismatch("program.bolus.duration", "20 min", "10 min"),)
    continuous = PrescribedProgram.continuous(parse("50 mcg/day", Kind.DOSE_RATE, "d"))
    fields = {
        m.field
        for m in compare_check(
            Prescription(BACLOFEN, BOLUS), CheckEntries(BACLOFEN, continuous, None)
        )
    }
    assert fields == {"program.kind", "program.bolus"}


def test_the_twin_gives_the_bolus_then_holds_the_rest_with_no_alarm() -> None:
    drugs = (("baclofen", Decimal(2000)),)
    # 1000 mcg at 2000 mcg/mL: 0.5 mL over an hour, then nothing
    program = PrescribedProgram.single_bolus(single_bolus("1000 mcg", "1 hour"))
    history = PumpHistory(
        pump=catalog.pump("synchromed-ii-20", "p"),
        alarm_volume_ml=Decimal(2),
        dead_volume_ml=Decimal("0.2"),
        tz=ZoneInfo("Europe/Berlin"),
        fills=(RecordedFill(AT, Decimal(20), drugs),),
        programs=(RecordedProgram(AT, drugs, program, None),),
    )
    halfway = forecast(history, AT + timedelta(minutes=30))
    assert halfway.residual_ml == Decimal("19.75")
    later = forecast(history, AT + timedelta(days=30))
    assert later.residual_ml == Decimal("19.5")
    assert later.alarm_at is None and later.empty_at is None


def test_a_new_program_ends_a_single_bolus_still_running() -> None:
    drugs = (("baclofen", Decimal(2000)),)
    bolus = PrescribedProgram.single_bolus(single_bolus("1000 mcg", "1 hour"))
    basal = PrescribedProgram.continuous(parse("400 mcg/day", Kind.DOSE_RATE, "d"))
    history = PumpHistory(
        pump=catalog.pump("synchromed-ii-20", "p"),
        alarm_volume_ml=Decimal(2),
        dead_volume_ml=Decimal("0.2"),
        tz=ZoneInfo("Europe/Berlin"),
        fills=(RecordedFill(AT, Decimal(20), drugs),),
        programs=(
            RecordedProgram(AT, drugs, bolus, None),
            RecordedProgram(AT + timedelta(minutes=30), drugs, basal, None),
        ),
    )
    # half the bolus (0.25 mL) given, then 0.2 mL/day for a day
    later = forecast(history, AT + timedelta(minutes=30, days=1))
    assert later.residual_ml == Decimal("19.55")


def admixture(drugs: tuple[tuple[str, str], ...], dose: str) -> tuple[PumpState, Prescription]:
    """A pump filled 30 days ago with `drugs` (principal first), running `dose` of the principal
    a day; and a prescription of those drugs (its program set by the test)."""
    named = tuple((name, parse(c, Kind.CONCENTRATION, "c")) for name, c in drugs)
    principal = parse(dose, Kind.DOSE_RATE, "d").canonical
    filled = AT - timedelta(days=30)
    rate = principal / named[0][1].canonical
    state = replace(
        empty_pump(),
        last_fill=LastFill(
            filled,
            parse("20 mL", Kind.VOLUME, "v"),
            tuple((name, c.canonical) for name, c in named),
            (filled + timedelta(days=30)).date(),
            LimitedBy.STABILITY,
            ((rate, filled, None),),
        ),
        running=RunningProgram(principal, rate, filled),
    )
    return state, Prescription(named, BOLUS)


def bolus_of(prescription: Prescription, dose: str, duration: str = "10 min") -> Prescription:
    return replace(
        prescription, program=PrescribedProgram.single_bolus(single_bolus(dose, duration))
    )


@pytest.mark.parametrize(
    ("drugs", "running", "bolus", "partner"),
    [
        # 50 mcg of baclofen is 0.025 mL: 1.5 mcg of clonidine ("1.5 mg/day is within it")
        ((("baclofen", "2000 mcg/mL"), ("clonidine", "60 mcg/mL")), "400 mcg/day", "50 mcg", 1),
        # 0.2 mg of morphine is 0.01 mL: 10 mcg of bupivacaine ("10 mg/day is within it")
        ((("morphine", "20 mg/mL"), ("bupivacaine", "1 mg/mL")), "1 mg/day", "0.2 mg", 1),
    ],
    ids=["baclofen-clonidine", "morphine-bupivacaine"],
)
def test_a_partners_share_of_a_valid_single_bolus_is_not_refused_as_a_unit_slip(
    drugs: tuple[tuple[str, str], ...], running: str, bolus: str, partner: int
) -> None:
    """Regression: the partner's amount in a small bolus was judged as a day's dose and refused
    as a mg/mcg slip, though the principal's bolus was valid and nobody typed the partner's."""
    state, prescription = admixture(drugs, running)
    decision = decide_prescription(state, bolus_of(prescription, bolus), AT, RULES)
    assert decision.stop is None
    name = drugs[partner][0]
    assert not any(w.rule.startswith(f"{name}:usual_range") for w in decision.warnings)
    # the fall to the bolus's day is judged as the principal's is: a soft decrease, each drug
    falls = {w.rule for w in decision.warnings if w.rule.endswith(":max_decrease_percent")}
    assert falls <= {f"{n}:max_decrease_percent" for n, _ in drugs}


# (case, drugs, running, bolus, duration, field, text in the value, text in the problem)
BOLUS_STOPS = [
    (
        "the principal's own slip",
        (("baclofen", "2000 mcg/mL"), ("clonidine", "60 mcg/mL")),
        "400 mcg/day",
        "1 mcg",
        "10 min",
        "dose",
        "baclofen 2000 mcg/mL: a single bolus of 1 mcg (judged as the day's dose)",
        "is stopped by unit_slip: daily dose 1 mcg/day for baclofen is outside its usual range "
        "24 mcg/day to 1199 mcg/day, but 1 mg/day (= 1000 mcg/day) is within it: a mg/mcg slip?",
    ),
    (
        "a partner's hard maximum",
        (("morphine", "10 mg/mL"), ("ziconotide", "25 mcg/mL")),
        "10 mg/day",
        "10 mg",
        "24 hour",
        "dose",
        "ziconotide 25 mcg/mL: a single bolus of 25 mcg (judged as the day's dose)",
        "is stopped by max_daily_dose: 25 mcg/day exceeds the maximum daily dose 19.2 mcg/day (US)",
    ),
    (
        "a partner's share far above its usual ceiling",
        (("baclofen", "50 mcg/mL"), ("clonidine", "1000 mcg/mL")),
        "400 mcg/day",
        "400 mcg",
        "24 hour",
        "dose",
        "clonidine 1000 mcg/mL: a single bolus of 8000 mcg (judged as the day's dose)",
        "is stopped by far_above_usual: daily dose 8000 mcg/day for clonidine is 3 times its "
        "usual ceiling 2000 mcg/day or more",
    ),
]


@pytest.mark.parametrize(
    ("drugs", "running", "bolus", "duration", "field", "value", "problem"),
    [case[1:] for case in BOLUS_STOPS],
    ids=[case[0] for case in BOLUS_STOPS],
)
def test_an_admixture_bolus_keeps_the_principals_slip_and_every_drugs_hard_maxima(
    drugs: tuple[tuple[str, str], ...],
    running: str,
    bolus: str,
    duration: str,
    field: str,
    value: str,
    problem: str,
) -> None:
    state, prescription = admixture(drugs, running)
    stop = decide_prescription(state, bolus_of(prescription, bolus, duration), AT, RULES).stop
    assert stop is not None
    assert (stop.field, stop.value) == (field, value)
    assert problem in stop.problem
    assert "(hard limit: no override)" in stop.limit


def test_a_partners_share_of_a_single_bolus_above_its_maximum_daily_dose_is_refused() -> None:
    # 400 mcg of baclofen is 0.8 mL: 800 mcg of clonidine, above its 600 mcg/day; a single bolus
    # may not give more than a day's maximum of any drug (its soft tier as a daily dose aside)
    state, prescription = admixture(
        (("baclofen", "500 mcg/mL"), ("clonidine", "1000 mcg/mL")), "400 mcg/day"
    )
    decision = decide_prescription(state, bolus_of(prescription, "400 mcg", "24 hour"), AT, RULES)
    assert decision.stop is not None
    assert (decision.stop.field, decision.stop.value) == (
        "drugs[1]",
        "clonidine 1000 mcg/mL: a single bolus of 800 mcg",
    )
    assert "800 mcg clonidine exceeds the maximum daily dose 600 mcg/day" in decision.stop.problem


def test_a_single_bolus_runs_until_its_start_plus_its_duration_then_stops() -> None:
    bolus = single_bolus("50 mcg", "10 min")
    end = AT + timedelta(minutes=10)
    assert bolus.run(AT, AT) == BolusRun(AT, end, BolusState.RUNNING)
    assert bolus.run(AT, end - timedelta(seconds=1)).state is BolusState.RUNNING
    assert bolus.run(AT, end) == BolusRun(AT, end, BolusState.STOPPED)
    assert (BolusState.RUNNING.words, BolusState.STOPPED.words) == (
        "bolus running until",
        "stopped since",
    )


def test_the_chart_projection_of_a_single_bolus_is_running_until_its_end_then_stopped() -> None:
    drugs = (("baclofen", Decimal(2000)),)
    program = PrescribedProgram.single_bolus(single_bolus("1000 mcg", "1 hour"))
    history = PumpHistory(
        pump=catalog.pump("synchromed-ii-20", "p"),
        alarm_volume_ml=Decimal(2),
        dead_volume_ml=Decimal("0.2"),
        tz=ZoneInfo("Europe/Berlin"),
        fills=(RecordedFill(AT, Decimal(20), drugs),),
        programs=(RecordedProgram(AT, drugs, program, None),),
    )
    end = AT + timedelta(hours=1)
    for at, state in ((AT + timedelta(minutes=30), BolusState.RUNNING), (end, BolusState.STOPPED)):
        found = projection(history, at, margin_days=Decimal(7), stability=None, tz=UTC)
        assert found.stopped
        assert found.bolus == BolusRun(AT, end, state)


def test_a_single_bolus_is_given_as_its_dose_volume_and_rate_from_the_fluid() -> None:
    """1.5 mg of morphine at 20 mg/mL over 5 min: 0.075 mL at 0.9 mL/h, in the drug's unit."""
    bolus = single_bolus("1500 mcg", "5 min")
    given = bolus.delivery("morphine", Decimal(20_000))
    assert given.words == "single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)"
    assert ProgramKind.SINGLE_BOLUS.label == "single bolus"


def test_a_prescriptions_bolus_delivery_is_drawn_from_its_principal_drug() -> None:
    bolus = single_bolus("1500 mcg", "5 min")
    drugs = (("morphine", parse("20 mg/mL", Kind.CONCENTRATION, "c")),)
    delivery = Prescription(drugs, PrescribedProgram.single_bolus(bolus)).bolus_delivery
    assert delivery is not None
    assert delivery.words == "single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)"
    continuous = PrescribedProgram.continuous(parse("1 mg/day", Kind.DOSE_RATE, "d"))
    assert Prescription(drugs, continuous).bolus_delivery is None


def test_a_quantity_typed_with_extra_decimals_keeps_them_as_typed() -> None:
    typed = parse("39.8999 mL", Kind.VOLUME, "reservoir")
    assert str(typed) == "39.9 mL" and typed.typed == "39.8999 mL"


MORPHINE_20 = (("morphine", parse("20 mg/mL", Kind.CONCENTRATION, "c")),)


def basal_of(dose: str) -> PrescribedProgram:
    return PrescribedProgram.continuous(parse(dose, Kind.DOSE_RATE, "d"))


def q(text: str) -> Q:
    return parse(text, Kind.DOSE_RATE, "d")


def morphine_bolus(dose: str) -> Prescription:
    return Prescription(MORPHINE_20, PrescribedProgram.single_bolus(single_bolus(dose, "2 hour")))


def test_reviewer_case_a_bolus_with_the_day_before_it_is_held_to_the_days_ceiling() -> None:
    """20 mg of morphine on a pump giving 8.15 mg/day passed on reasons: the ceiling (20 mg, the
    daily dose its label cautions above) looked at the bolus alone, though within a day the
    patient gets both."""
    running = running_baclofen("morphine", 20_000, 8150)
    refused = decide_prescription(running, morphine_bolus("12 mg"), AT, RULES).stop
    assert refused is not None
    assert refused.field == "dose"
    assert refused.value == "morphine 20 mg/mL: a single bolus of 12 mg"
    assert refused.limit.startswith(
        "<= 11.85 mg a single bolus after the 8.15 mg the pump can have given in the 24 h before "
        "it (a day's ceiling of 20 mg: caution above a daily dose of 20 mg/day, unverified)"
    )
    assert refused.problem.startswith(
        "is stopped by single_bolus_day_total: a single bolus of 12 mg with the 8.15 mg the "
        "pump can have given in the 24 h before it, in all of 20.15 mg morphine exceeds 20 mg/day, "
        "the daily dose above which its source advises "
        "caution"
    )
    assert refused.source.startswith("infumorph-label")
    programmed = decide_program_change(
        running,
        parse("12 mg/day", Kind.DOSE_RATE, "d"),
        AT,
        None,
        RULES,
        basal=False,
        prescription=morphine_bolus("12 mg"),
    )
    assert programmed.stop is not None and programmed.stop.problem == refused.problem
    assert decide_prescription(running, morphine_bolus("11 mg"), AT, RULES).stop is None


def test_reviewer_case_a_second_bolus_counts_the_first_and_the_basal_before_it() -> None:
    """11 mg on 8.15 mg/day passed (19.15 mg); a second bolus of 19.9 mg a minute later passed
    on reasons, the pump counted as stopped: about 39 mg of morphine within a day."""
    moment = AT - timedelta(minutes=1)
    first = single_bolus("11 mg", "2 hour")
    after_first = replace(
        running_baclofen("morphine", 20_000, 8150),
        stopped_since=moment,
        single_bolus=(moment, first),
    )
    refused = decide_prescription(after_first, morphine_bolus("19.9 mg"), AT, RULES).stop
    assert refused is not None and refused.field == "dose"
    assert "is stopped by single_bolus_day_total: a single bolus of 19.9 mg with the" in (
        refused.problem
    )
    # 8.15 mg/day for the day but its last minute, and the 11 mg: 0.856 mg of room is left
    # the room rounded down: the bolus it names passes
    assert refused.limit.startswith("<= 0.855659 mg a single bolus after the 19.14434 mg")
    room = decide_prescription(after_first, morphine_bolus("0.855659 mg"), AT, RULES)
    assert room.stop is None


def test_a_bolus_on_a_day_already_at_the_ceiling_on_a_reason_is_refused_naming_no_room() -> None:
    """A patient given 22 mg/day of morphine, past the 20 mg/day ceiling on the prescriber's
    reason: a soft bolus on top let boluses stack without end (a reviewer's 20 mg, then 20 mg
    again); none fits in the day."""
    above = running_baclofen("morphine", 20_000, 22_000)
    refused = decide_prescription(above, morphine_bolus("0.5 mg"), AT, RULES).stop
    assert refused is not None
    assert refused.limit.startswith("<= 0 mg a single bolus after the 22 mg")
    assert refused.problem.endswith(
        "the day before it alone reaches that ceiling: no single bolus fits in it"
    )


def test_a_basal_program_cut_within_the_day_counts_with_its_own_worst_day() -> None:
    """A reviewer's case: 19 mg/day cut to 2 mg/day an hour ago; a 17 mg bolus passed, counted
    on 2 mg/day for the whole day (about 35 mg within the day)."""
    drugs = (("morphine", Decimal(20_000)),)

    running = running_baclofen("morphine", 20_000, 2000)
    cut = replace(
        running,
        history=PumpHistory(
            running.pump,
            Decimal(2),
            Decimal("0.25"),
            UTC,
            (RecordedFill(AT - timedelta(days=30), Decimal(20), drugs),),
            (
                RecordedProgram(AT - timedelta(days=30), drugs, basal_of("19 mg/day"), None),
                RecordedProgram(AT - timedelta(hours=1), drugs, basal_of("2 mg/day"), None),
            ),
        ),
    )
    refused = decide_prescription(cut, morphine_bolus("17 mg"), AT, RULES).stop
    assert refused is not None
    # 19 mg/day for 23 h and 2 mg/day for 1 h: 18.29 mg given; 1.71 mg of room
    assert refused.limit.startswith("<= 1.708333 mg a single bolus after the 18.291667 mg")


def history_of(*programs: RecordedProgram, fills: tuple[RecordedFill, ...] = ()) -> PumpHistory:
    drugs = (("morphine", Decimal(20_000)),)
    filled = fills or (RecordedFill(AT - timedelta(days=30), Decimal(20), drugs),)
    return PumpHistory(
        running_baclofen("morphine", 20_000, 8000).pump,
        Decimal(2),
        Decimal("0.25"),
        UTC,
        filled,
        programs,
    )


MORPHINE_MCG = (("morphine", Decimal(20_000)),)


def test_reviewer_cases_what_the_pump_can_have_given_counts_steps_boluses_and_priming() -> None:
    """Under-counts a reviewer found: a flex program's high step spread over the day, patient
    boluses spread over the hours they were allowed, a priming bolus at the refill, and a bolus
    programmed exactly 24 h before, all delivered within the day."""
    state = running_baclofen("morphine", 20_000, 8000)
    flex = PrescribedProgram.flex(
        ((Step(0, q("4 mg/day")), Step(6 * 3600, q("36 mg/day")), Step(9 * 3600, q("4 mg/day"))),)
        * 7
    )
    with_ptm = patient_bolus("1 mg", "10 min", "1 hour", "4")
    cases = {
        "flex step": history_of(
            RecordedProgram(AT - timedelta(days=30), MORPHINE_MCG, basal_of("8 mg/day"), None),
            RecordedProgram(AT - timedelta(hours=3), MORPHINE_MCG, flex, None),
        ),
        "patient boluses": history_of(
            RecordedProgram(AT - timedelta(days=30), MORPHINE_MCG, basal_of("8 mg/day"), None),
            RecordedProgram(AT - timedelta(hours=4), MORPHINE_MCG, basal_of("8 mg/day"), with_ptm),
        ),
        "priming": history_of(
            RecordedProgram(AT - timedelta(days=30), MORPHINE_MCG, basal_of("8 mg/day"), None),
            fills=(
                RecordedFill(AT - timedelta(days=30), Decimal(20), MORPHINE_MCG),
                RecordedFill(
                    AT - timedelta(hours=2),
                    Decimal(20),
                    (("morphine", Decimal(10_000)),),
                    priming=(Decimal("0.3"), 1000),
                ),
            ),
        ),
        "bolus 24 h before": history_of(
            RecordedProgram(AT - timedelta(days=30), MORPHINE_MCG, basal_of("8 mg/day"), None),
            RecordedProgram(
                AT - timedelta(days=1),
                MORPHINE_MCG,
                PrescribedProgram.single_bolus(single_bolus("10 mg", "2 hour")),
                None,
            ),
            RecordedProgram(AT - timedelta(hours=20), MORPHINE_MCG, basal_of("8 mg/day"), None),
        ),
    }
    for case, history in cases.items():
        judged = decide_prescription(
            replace(state, history=history), morphine_bolus("11 mg"), AT, RULES
        )
        assert judged.stop is not None, case
        assert "single_bolus_day_total" in judged.stop.problem, case


def test_a_bolus_on_a_stopped_pump_is_not_judged_with_a_day_it_no_longer_gives() -> None:
    stopped = replace(
        running_baclofen("morphine", 20_000, 8150), stopped_since=AT - timedelta(hours=30)
    )
    judged = decide_prescription(stopped, morphine_bolus("12 mg"), AT, RULES)
    assert judged.stop is None or "the day before it" not in judged.stop.problem
