"""How a prescription has the old fluid in the pump tubing and catheter delivered when its fluid
replaces it (rule-fluid-change): a bridge only for the same drug at another concentration, a
priming bolus with the label's warning and what it pushes of an old drug, a change of
concentration never left unplanned; the twin runs what the fill recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from painpump.core import catalog, fluid_change
from painpump.core.errors import Refusal
from painpump.core.patient_facts import OpioidStatus, PatientFacts
from painpump.core.prescription import FluidChange, PrescribedProgram, Prescription
from painpump.core.prescription_decision import decide_prescription
from painpump.core.pump_twin import PumpHistory, RecordedFill, RecordedProgram, forecast
from painpump.core.refill import LimitedBy, fill_stability, first_of_drug
from painpump.core.refill_decision import DosingRules, LastFill, PumpState, RunningProgram, Therapy
from painpump.core.units import Kind, Q, parse

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = DosingRules(region="us", clinic_limits=(), margin_days=Decimal(7), tz=UTC)
BACLOFEN_2000 = (("baclofen", Decimal(2000)),)


def q(text: str, kind: Kind = Kind.DOSE_RATE) -> Q:
    return parse(text, kind, "test")


def pump(
    path: tuple[tuple[str, Decimal], ...] | None, model: str = "synchromed-ii-20"
) -> PumpState:
    """A pump whose path holds `path` (None: before its first fill), running baclofen 400
    mcg/day when filled; dead volume 0.25 mL."""
    filled = AT - timedelta(days=60)
    state = PumpState(
        pump=catalog.pump(model, "pump"),
        dead_volume=q("0.25 mL", Kind.VOLUME),
        alarm_volume=q("2 mL", Kind.VOLUME),
        last_fill=None,
        running=None,
        therapy=Therapy(
            patient=PatientFacts(opioid_status=OpioidStatus.TOLERANT, psychosis_history=False),
            origin="spinal",
        ),
    )
    if path is None:
        return state
    rate = Decimal(400) / path[0][1]
    return replace(
        state,
        last_fill=LastFill(
            at=filled,
            volume=q("20 mL", Kind.VOLUME),
            drugs=path,
            refill_by=(filled + timedelta(days=90)).date(),
            limited_by=LimitedBy.STABILITY,
            programs=((rate, filled, None),),
        ),
        running=RunningProgram(
            dose_mcg_per_day=Decimal(400),
            rate_ml_per_day=rate,
            started_at=filled,
        ),
    )


def baclofen(concentration: str, change: FluidChange, dose: str = "400 mcg/day") -> Prescription:
    return Prescription(
        (("baclofen", q(concentration, Kind.CONCENTRATION)),),
        PrescribedProgram.continuous(q(dose)),
        fluid_change=change,
    )


CLONIDINE = (("clonidine", q("500 mcg/mL", Kind.CONCENTRATION)),)


@pytest.mark.parametrize(
    ("path", "prescription", "problem", "in_limit"),
    [
        (
            BACLOFEN_2000,
            baclofen("1000 mcg/mL", FluidChange.NONE),
            "leaves the change of concentration unplanned",
            "2 times the prescribed dose",
        ),
        (
            (("baclofen", Decimal(1000)),),
            baclofen("2000 mcg/mL", FluidChange.NONE),
            "leaves the change of concentration unplanned",
            "0.5 times the prescribed dose",
        ),
        (
            None,
            baclofen("2000 mcg/mL", FluidChange.BRIDGE),
            "has nothing to bridge",
            "hold no drug before a first fill",
        ),
        (
            BACLOFEN_2000,
            baclofen("2000 mcg/mL", FluidChange.BRIDGE),
            "has nothing to bridge",
            "the fluid does not change",
        ),
        (
            BACLOFEN_2000,
            Prescription(
                CLONIDINE,
                PrescribedProgram.continuous(q("100 mcg/day")),
                fluid_change=FluidChange.BRIDGE,
            ),
            "has nothing to bridge",
            "a bridge keeps the dose of the same drug",
        ),
    ],
)
def test_a_fluid_change_that_cannot_run_or_is_unplanned_is_refused_naming_why(
    path: tuple[tuple[str, Decimal], ...] | None,
    prescription: Prescription,
    problem: str,
    in_limit: str,
) -> None:
    stop = decide_prescription(pump(path), prescription, AT, RULES).stop
    assert stop is not None
    assert stop.field == "fluid_change"
    assert stop.value == prescription.fluid_change.value
    assert stop.problem == problem
    assert in_limit in stop.limit
    assert stop.source == "rule-fluid-change"


def test_a_bridge_whose_rate_the_pump_cannot_run_is_refused_as_the_device_range() -> None:
    # 400 mcg/day of the old 50 mcg/mL is 8 mL/day; 2000 mcg/day of it 40 mL/day (> 24)
    low = (("baclofen", Decimal(50)),)
    stop = decide_prescription(
        pump(low),
        baclofen("2000 mcg/mL", FluidChange.BRIDGE, "2000 mcg/day"),
        AT,
        replace(RULES, clinic_limits=()),
    ).stop
    assert stop is not None and stop.field in ("fluid_change", "dose")


def test_a_bridge_of_the_same_drug_at_another_concentration_passes() -> None:
    decision = decide_prescription(
        pump(BACLOFEN_2000), baclofen("1000 mcg/mL", FluidChange.BRIDGE), AT, RULES
    )
    assert decision.stop is None
    assert not [w for w in decision.warnings if w.source.startswith("rule-fluid-change")]


def test_a_priming_bolus_warns_as_labeled_and_names_the_old_drug_it_pushes() -> None:
    decision = decide_prescription(
        pump((("baclofen", Decimal(1000)),)),
        baclofen("2000 mcg/mL", FluidChange.PRIMING),
        AT,
        RULES,
    )
    assert decision.stop is None
    by_rule = {w.rule: w for w in decision.warnings}
    assert by_rule["priming_bolus_mixing"].verified
    pushed = by_rule["priming_pushes_old_drug"]
    # 0.25 mL of 1000 mcg/mL at 24 mL/day: 250 mcg within 15 min, of a 400 mcg/day program
    assert "250 mcg of baclofen as one bolus" in pushed.message
    assert "within about 15 min" in pushed.message
    assert pushed.limit == "< 400 mcg/day of baclofen (a whole day's dose)"
    assert not pushed.verified


def test_a_priming_bolus_pushing_a_whole_days_dose_of_the_old_drug_is_refused() -> None:
    # 0.25 mL of 2000 mcg/mL is 500 mcg: more than the 400 mcg/day the pump gives
    stop = decide_prescription(
        pump(BACLOFEN_2000), baclofen("1000 mcg/mL", FluidChange.PRIMING), AT, RULES
    ).stop
    assert stop is not None
    assert (stop.field, stop.value) == ("fluid_change", "priming")
    assert stop.problem == "pushes a whole day's dose as one bolus"
    assert stop.limit.startswith("< 400 mcg/day of baclofen")
    assert "pushes 500 mcg within about 15 min" in stop.limit


def test_a_first_fill_may_be_primed_and_pushes_no_old_drug() -> None:
    decision = decide_prescription(
        pump(None), baclofen("2000 mcg/mL", FluidChange.PRIMING, "100 mcg/day"), AT, RULES
    )
    assert decision.stop is None
    rules = {w.rule for w in decision.warnings}
    assert "priming_bolus_mixing" in rules and "priming_pushes_old_drug" not in rules


def test_another_drug_run_from_the_path_at_the_new_rate_is_a_soft_warning_with_its_dose() -> None:
    decision = decide_prescription(
        pump(BACLOFEN_2000),
        Prescription(CLONIDINE, PrescribedProgram.continuous(q("100 mcg/day"))),
        AT,
        RULES,
    )
    assert decision.stop is None
    warning = next(w for w in decision.warnings if w.rule == "old_fluid_at_new_rate")
    # clonidine 100 mcg/day at 500 mcg/mL is 0.2 mL/day: 0.25 mL of baclofen over 30 h
    assert "400 mcg/day of baclofen for 30.0 h before clonidine arrives" in warning.message
    assert warning.drug == "baclofen" and warning.tier is not None


def test_a_constant_flow_pump_takes_no_bridge_or_priming_bolus() -> None:
    state = pump(None, "constant-flow")
    for change in (FluidChange.BRIDGE, FluidChange.PRIMING):
        stop = decide_prescription(state, baclofen("2000 mcg/mL", change), AT, RULES).stop
        assert stop is not None and stop.field == "fluid_change"
        assert stop.problem == "cannot be programmed"


def test_the_priming_bolus_is_the_dead_volume_at_the_pumps_highest_rate() -> None:
    primed = fluid_change.priming(catalog.pump("synchromed-ii-20", "p"), q("0.25 mL", Kind.VOLUME))
    assert primed.volume == q("0.25 mL", Kind.VOLUME)
    assert primed.duration_s == 900  # 0.25 mL / 24 mL/day


TZ = ZoneInfo("Europe/Berlin")


def history(fill: RecordedFill) -> PumpHistory:
    program = PrescribedProgram.continuous(q("400 mcg/day"))
    return PumpHistory(
        pump=catalog.pump("synchromed-ii-20", "p"),
        alarm_volume_ml=Decimal(2),
        dead_volume_ml=Decimal("0.25"),
        tz=TZ,
        fills=(fill,),
        programs=(RecordedProgram(fill.at, fill.drugs, program, None),),
    )


def test_the_twin_draws_a_recorded_priming_bolus_from_the_reservoir_at_the_fill() -> None:
    drugs = (("baclofen", Decimal(1000)),)
    plain = RecordedFill(AT, Decimal(20), drugs)
    primed = replace(plain, priming=(Decimal("0.25"), 900))
    later = AT + timedelta(days=10)
    without = forecast(history(plain), later).residual_ml
    with_priming = forecast(history(primed), later).residual_ml
    assert without - with_priming == Decimal("0.25")
    assert without == Decimal(20) - Decimal("0.4") * 10


def test_the_twin_runs_a_recorded_bridge_at_its_rate_before_the_program() -> None:
    drugs = (("baclofen", Decimal(1000)),)
    # 400 mcg/day of the old 2000 mcg/mL: 0.2 mL/day until the 0.25 mL path has passed
    bridged = RecordedFill(AT, Decimal(20), drugs, bridge_rate_ml_per_day=Decimal("0.2"))
    later = AT + timedelta(days=10)
    residual = forecast(history(bridged), later).residual_ml
    # 1.25 days at 0.2 mL/day, then 8.75 days at 0.4 mL/day
    assert residual == Decimal(20) - Decimal("0.25") - Decimal("0.4") * Decimal("8.75")


MORPHINE_MIX = (
    ("morphine", Decimal(20_000)),
    ("bupivacaine", Decimal(15_000)),
    ("clonidine", Decimal(75)),
)


def test_a_halved_admixture_reordered_cannot_run_from_the_path_at_the_new_rate() -> None:
    """Clonidine put first with every concentration halved: the rate doubles, so the old fluid
    would give twice the morphine until the new one arrives."""
    reordered = Prescription(
        (
            ("clonidine", q("37.5 mcg/mL", Kind.CONCENTRATION)),
            ("morphine", q("10 mg/mL", Kind.CONCENTRATION)),
            ("bupivacaine", q("7.5 mg/mL", Kind.CONCENTRATION)),
        ),
        PrescribedProgram.continuous(q("16.6875 mcg/day")),
    )
    with pytest.raises(Refusal) as caught:
        fluid_change.judge(
            catalog.pump("synchromed-ii-20", "p"),
            q("0.3 mL", Kind.VOLUME),
            MORPHINE_MIX,
            reordered,
            Decimal("0.2225"),
        )
    assert caught.value.problem == "leaves the change of concentration unplanned"
    assert "morphine 20 mg/mL" in caught.value.limit
    assert "2 times the prescribed dose of morphine" in caught.value.limit


def test_a_partner_concentration_changed_at_the_same_rate_may_run_from_the_path() -> None:
    """Clonidine doubled, morphine and its dose unchanged: the rate stays, so the old fluid
    gives the old doses until the new one arrives."""
    stronger = Prescription(
        (
            ("morphine", q("20 mg/mL", Kind.CONCENTRATION)),
            ("bupivacaine", q("15 mg/mL", Kind.CONCENTRATION)),
            ("clonidine", q("150 mcg/mL", Kind.CONCENTRATION)),
        ),
        PrescribedProgram.continuous(q("4.45 mg/day")),
    )
    judged = fluid_change.judge(
        catalog.pump("synchromed-ii-20", "p"),
        q("0.3 mL", Kind.VOLUME),
        MORPHINE_MIX,
        stronger,
        Decimal("0.2225"),
    )
    assert judged == []


def test_a_priming_bolus_of_the_same_fluid_is_refused_as_nothing_to_prime() -> None:
    stop = decide_prescription(
        pump(BACLOFEN_2000), baclofen("2000 mcg/mL", FluidChange.PRIMING), AT, RULES
    ).stop
    assert stop is not None and stop.problem == "has nothing to prime"


def test_ziconotide_added_to_an_opioid_gets_the_labels_first_refill() -> None:
    limit, _ = fill_stability(
        (("morphine", Decimal(10_000)), ("ziconotide", Decimal(5))), first_fill=True
    )
    assert limit is not None and limit.days == 14
    added = (("morphine", Decimal(10_000)), ("ziconotide", Decimal(5)))
    assert first_of_drug((("morphine", Decimal(10_000)),), added)
