"""Worked examples of the pump twin, computed by hand from docs/scenarios.md: each asserts the
numbers and the kinds or reasons the twin reports."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from painpump.core.errors import Refusal
from painpump.core.refill import DeliveryFinding
from painpump.core.twin import Result, Twin, load_scenario
from painpump.core.twin.quantum import QUANTA_PER_ML
from painpump.core.units import Q

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday
HOUR, DAY = 3600, 86_400


def at(seconds: int = 0, *, days: float = 0, hours: float = 0) -> str:
    """An ISO instant this long after START."""
    moment = START + timedelta(days=days, hours=hours, seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


def base(days: float = 30, **changes: Any) -> dict[str, Any]:
    """SynchroMed II 20 mL, morphine 10 mg/mL filled to 20 mL, 0.5 mL/day, alarm 2 mL."""
    data: dict[str, Any] = {
        "start": at(),
        "until": at(days=days),
        "pump": {"model": "synchromed-ii-20", "alarm_volume": "2 mL"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "10 mg/mL"},
        "program": {"kind": "continuous", "rate": "0.5 mL/day"},
    }
    for key, value in changes.items():
        data[key] = value
    return data


def run(data: dict[str, Any]) -> Result:
    return Twin(load_scenario(copy.deepcopy(data))).run()


def ml(quanta: int) -> Fraction:
    return Fraction(quanta, QUANTA_PER_ML)


def after(result: Result, kinds: str = "alarms") -> list[tuple[str, float]]:
    """(kind, hours after START) of the alarms or the events."""
    start = int(START.timestamp())
    return [(a.kind, (a.at - start) / HOUR) for a in getattr(result, kinds)]


def drug(result: Result, name: str) -> Decimal:
    """The amount of a drug delivered at the catheter tip, in mcg."""
    return result.delivered_amounts()[name].canonical


SYNCHROMED_20 = {"model": "synchromed-ii-20", "alarm_volume": "2 mL"}
PRIMED_0_2 = {**SYNCHROMED_20, "dead_volume": "0.2 mL", "primed": True}


def without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def refill_at_day_10(**fields: Any) -> dict[str, Any]:
    return {"at": at(days=10), "kind": "refill", "volume": "20 mL", **fields}


TO_20_MG = {"drug": "morphine", "concentration": "20 mg/mL"}
DOSE_5_MG = {"kind": "continuous", "dose": "5 mg/day"}
FLEX = {
    "kind": "flex",
    "steps": [
        {"start": "00:00", "rate": "0.4 mL/day"},
        {"start": "07:00", "rate": "0.8 mL/day"},
        {"start": "22:00", "rate": "0.4 mL/day"},
    ],
    "weekdays": {"sat": [{"start": "00:00", "rate": "0.3 mL/day"}]},
}

# -- timelines: alarms, events and final volumes -----------------------------------------------

TIMELINES = [
    pytest.param(
        base(45),
        [("low_reservoir", 36 * 24), ("empty", 40 * 24)],
        [("reservoir_empty", 40 * 24)],
        Fraction(0),
        Fraction(0),
        # 18 mL above the alarm / 0.5 mL/day = 36 days; 20 mL / 0.5 mL/day = 40 days
        id="synchromed-20mL-0.5mL/day-low-reservoir-at-36-days-empty-at-40",
    ),
    pytest.param(
        base(45, pump={**SYNCHROMED_20, "accuracy": 1.2}),
        [("low_reservoir", 36 * 24), ("empty", 40 * 24)],
        [("reservoir_empty", 33 * 24 + 8)],
        Fraction(0),
        Fraction(0),
        # truly 0.6 mL/day: dry after 20 / 0.6 = 33 1/3 days, while the pump (computing from
        # its program) still shows 3.33 mL and announces low reservoir only at day 36
        id="over-infusion-1.2-runs-dry-at-33-days-8-hours-before-the-low-reservoir-alarm",
    ),
    pytest.param(
        base(
            120,
            pump={"model": "synchromed-ii-40"},
            fill={"volume": "40 mL", "drug": "morphine", "concentration": "10 mg/mL"},
            program={"kind": "continuous", "rate": "0.1 mL/day"},
            event=[{"at": at(days=5), "kind": "eri"}],
        ),
        [("eri", 5 * 24), ("end_of_service", 95 * 24)],
        [("pump_stopped", 95 * 24)],
        # 95 days at 0.1 mL/day, nothing after the end of service
        Fraction(40) - Fraction(95, 10),
        Fraction(40) - Fraction(95, 10),
        id="eri-then-end-of-service-90-days-later-and-no-delivery-after",
    ),
    pytest.param(
        base(
            10,
            program={"kind": "continuous", "rate": "1 mL/day"},
            event=[{"at": at(days=2), "kind": "mri"}],
        ),
        [("motor_stall", 48)],
        [("mri", 48), ("motor_stall_recovered", 48 + 1 + 24)],
        # 1 hour of MRI + 24 hours of resume delay without delivery
        Fraction(20) - (Fraction(10) - Fraction(25, 24)),
        Fraction(20) - (Fraction(10) - Fraction(25, 24)),
        id="synchromed-mri-stall-1-hour-plus-24-hours-resume-delay-delivers-nothing",
    ),
    pytest.param(
        base(
            10,
            pump={"model": "prometra-ii-20"},
            program={"kind": "continuous", "rate": "1 mL/day"},
            event=[
                {"at": at(days=1), "kind": "mri"},
                {"at": at(days=3), "kind": "valve_reset"},
            ],
        ),
        [],
        [("mri", 24), ("valve_closed", 24), ("valve_reset", 72)],
        Fraction(12),
        Fraction(12),
        id="prometra-mri-closes-the-valve-until-valve-reset",
    ),
    pytest.param(
        without(
            base(
                29,
                pump={"model": "constant-flow", "rate": "1 mL/day"},
                fill={"volume": "30 mL", "drug": "morphine", "concentration": "10 mg/mL"},
            ),
            "program",
        ),
        [],
        [],
        Fraction(1),
        Fraction(1),
        # below the 2 mL reference volume after 28 days, but a gas-driven pump has no alarm
        id="constant-flow-pump-runs-at-its-fixed-rate-and-announces-nothing",
    ),
    pytest.param(
        base(7, program=FLEX),
        [],
        [],
        # weekdays 9 h at 0.4 + 15 h at 0.8 = 0.65 mL; Saturday 0.3 mL: 6 x 0.65 + 0.3
        Fraction(20) - Fraction(42, 10),
        Fraction(20) - Fraction(42, 10),
        id="flex-week-with-a-saturday-override-delivers-4.2-mL",
    ),
    pytest.param(
        {**base(program=FLEX), "start": at(days=4), "until": at(days=5)},
        [],
        [],
        # Friday 08:00 to Saturday 08:00 UTC: 14 h at 0.8, 2 h at 0.4, 8 h at 0.3 (Saturday)
        Fraction(20) - Fraction(144, 240),
        Fraction(20) - Fraction(144, 240),
        id="flex-friday-to-saturday-in-utc",
    ),
    pytest.param(
        {
            **base(program=FLEX, pump={**SYNCHROMED_20, "utc_offset": "+01:00"}),
            "start": at(days=4),
            "until": at(days=5),
        },
        [],
        [],
        # the pump's clock is an hour ahead: 13 h at 0.8, 2 h at 0.4, 9 h at 0.3
        Fraction(20) - Fraction(139, 240),
        Fraction(20) - Fraction(139, 240),
        id="flex-friday-to-saturday-on-a-pump-clock-at-utc-plus-1",
    ),
]


@pytest.mark.parametrize(("data", "alarms", "events", "model", "true"), TIMELINES)
def test_timeline(
    data: dict[str, Any],
    alarms: list[tuple[str, float]],
    events: list[tuple[str, float]],
    model: Fraction,
    true: Fraction,
) -> None:
    result = run(data)
    assert after(result) == alarms
    kinds = {kind for kind, _ in events} or {"reservoir_empty", "pump_stopped"}
    assert [e for e in after(result, "events") if e[0] in kinds] == events
    assert ml(result.reservoir_model) == model
    assert ml(result.reservoir_true) == true


def test_over_infusion_runs_dry_before_the_pump_announces_anything() -> None:
    """The hazard of over-infusion: the pump's alarms come from its program, so the patient runs
    dry while the pump still shows 3.33 mL and no alarm has sounded."""
    result = run(base(45, pump={**SYNCHROMED_20, "accuracy": 1.2}))
    (dry,) = [e for e in result.events if e.kind == "reservoir_empty"]
    assert all(alarm.at > dry.at for alarm in result.alarms)
    assert ml(quanta_of(dry.details["reservoir_model"].canonical)) == Fraction(20) - Fraction(
        100, 6
    )


def quanta_of(value_ml: Decimal) -> int:
    return int(value_ml * QUANTA_PER_ML)


# -- what reaches the patient: plug flow, concentration changes, bridges ------------------------

DELIVERIES = [
    pytest.param(
        base(10, pump={**SYNCHROMED_20, "dead_volume": "0.25 mL"}),
        {"morphine": Decimal(47_500)},
        Fraction(1, 4),
        Fraction(15),
        # 5 mL pumped; the first 0.25 mL out of the catheter held no drug
        id="unprimed-catheter-delivers-its-drug-free-dead-volume-first",
    ),
    pytest.param(
        base(10, pump={**SYNCHROMED_20, "dead_volume": "0.25 mL", "primed": True}),
        {"morphine": Decimal(50_000)},
        Fraction(0),
        Fraction(15),
        id="primed-catheter-delivers-drug-from-the-start",
    ),
    pytest.param(
        base(
            10,
            pump={**SYNCHROMED_20, "dead_volume": "0.25 mL"},
            event=[{"at": at(), "kind": "priming"}],
        ),
        {"morphine": Decimal(50_000)},
        Fraction(1, 4),
        Fraction(20) - Fraction(5) - Fraction(1, 4),
        # the priming bolus (the dead volume, over 1 hour) pushes the saline out first
        id="priming-bolus-pushes-the-drug-to-the-catheter-tip",
    ),
    pytest.param(
        base(
            20,
            pump=PRIMED_0_2,
            program=DOSE_5_MG,
            event=[refill_at_day_10(**TO_20_MG, program=DOSE_5_MG)],
        ),
        # days 0-10: 50 mg; then the old 0.2 mL (2 mg) leaves at the new 0.25 mL/day over
        # 0.8 days instead of 0.4: 2 mg + (2.5 - 0.2) mL x 20 mg/mL = 48 mg, 2 mg under-dosed
        {"morphine": Decimal(98_000)},
        Fraction(0),
        Fraction(20) - Fraction(25, 10),
        id="concentration-change-without-bridge-under-doses-while-the-old-fluid-passes",
    ),
    pytest.param(
        base(20, pump=PRIMED_0_2, program=DOSE_5_MG, event=[refill_at_day_10(**TO_20_MG)]),
        {"morphine": Decimal(98_000)},
        Fraction(0),
        Fraction(20) - Fraction(25, 10),
        id="refill-recomputes-a-dose-based-program-for-the-new-concentration",
    ),
    pytest.param(
        base(
            20,
            pump=PRIMED_0_2,
            program=DOSE_5_MG,
            event=[refill_at_day_10(**TO_20_MG, program={**DOSE_5_MG, "bridge": True})],
        ),
        # the bridge runs 0.2 mL at 0.5 mL/day (9.6 h: 2 mg), then 9.6 days at 0.25 mL/day
        {"morphine": Decimal(100_000)},
        Fraction(0),
        Fraction(20) - Fraction(2, 10) - Fraction(96, 10) * Fraction(1, 4),
        id="concentration-change-with-bridge-keeps-the-prescribed-dose",
    ),
    pytest.param(
        base(20, pump=PRIMED_0_2, event=[refill_at_day_10(**TO_20_MG)]),
        # a rate-based program keeps 0.5 mL/day: 50 mg, then 2 mg + 4.8 mL x 20 mg/mL
        {"morphine": Decimal(148_000)},
        Fraction(0),
        Fraction(15),
        id="rate-based-program-doubles-the-dose-when-the-concentration-doubles",
    ),
    pytest.param(
        base(
            10,
            fill={
                "volume": "20 mL",
                "drugs": [
                    {"drug": "morphine", "concentration": "10 mg/mL"},
                    {"drug": "clonidine", "concentration": "100 mcg/mL"},
                ],
            },
        ),
        {"morphine": Decimal(50_000), "clonidine": Decimal(500)},
        Fraction(0),
        Fraction(15),
        id="admixture-delivers-each-drug-at-its-own-concentration",
    ),
]


@pytest.mark.parametrize(("data", "amounts", "without_drug", "model"), DELIVERIES)
def test_delivery(
    data: dict[str, Any], amounts: dict[str, Decimal], without_drug: Fraction, model: Fraction
) -> None:
    result = run(data)
    assert {name: q.canonical for name, q in result.delivered_amounts().items()} == amounts
    assert Fraction(result.delivered_volume_without_drug().canonical) == without_drug
    assert ml(result.reservoir_model) == model
    assert result.filled == result.aspirated + result.delivered + result.reservoir_true


def test_bridge_ends_when_the_old_fluid_has_passed() -> None:
    data = base(
        20,
        pump=PRIMED_0_2,
        program=DOSE_5_MG,
        event=[refill_at_day_10(**TO_20_MG, program={**DOSE_5_MG, "bridge": True})],
    )
    result = run(data)
    assert ("bridge_end", 10 * 24 + 9.6) in after(result, "events")
    (program,) = [e for e in result.events if e.kind == "program"]
    assert program.details["bridge_rate"].canonical == Decimal("0.5")


def test_refill_of_an_over_infusing_pump_reports_less_aspirated_than_expected() -> None:
    """Accuracy 1.1 at 0.5 mL/day for 20 days: the pump expects 10 mL, 9 mL are truly left."""
    result = run(
        base(25, pump={**SYNCHROMED_20, "accuracy": 1.1}, event=[refill_at_day_10()])
        | {"event": [{"at": at(days=20), "kind": "refill", "volume": "20 mL"}]}
    )
    (refill,) = [e for e in result.events if e.kind == "refill"]
    assert refill.at - int(START.timestamp()) == 20 * DAY
    details = {k: v.canonical for k, v in refill.details.items() if isinstance(v, Q)}
    assert details == {
        "expected": Decimal(10),
        "aspirated": Decimal(9),
        "difference": Decimal(-1),
        "volume": Decimal(20),
    }
    assert refill.details["difference"].unit == "mL"
    # the verdict a clinic records (calc discrepancy): 10 % more than programmed, within 14.5 %
    assert refill.details["finding"] is DeliveryFinding.NONE
    assert refill.details["delivery_error_percent"] == Decimal(10)
    assert refill.details["within_accuracy"] is True
    # both reservoirs are equal again after the refill: 5 days at 0.5 and 0.55 mL/day
    assert ml(result.reservoir_model) == Fraction(20) - Fraction(5, 2)
    assert ml(result.reservoir_true) == Fraction(20) - Fraction(55, 20)
    assert ml(result.aspirated) == 9


@pytest.mark.parametrize(
    ("day", "finding", "error"),
    [
        (20, DeliveryFinding.OVERINFUSION, Decimal(30)),
        (38, DeliveryFinding.EMPTY, Decimal("5.263")),
    ],
    ids=["30-percent-over-is-overinfusion", "run-dry-is-found-empty-not-within-accuracy"],
)
def test_a_refill_event_carries_the_verdict_of_calc_discrepancy(
    day: int, finding: DeliveryFinding, error: Decimal
) -> None:
    """Accuracy 1.3 at 0.5 mL/day: on day 20, 7 mL are left of the 10 mL expected; on day 38
    the pump ran dry 2.6 days before, with 1 mL expected."""
    result = run(
        base(day + 5, pump={**SYNCHROMED_20, "accuracy": 1.3})
        | {"event": [{"at": at(days=day), "kind": "refill", "volume": "20 mL"}]}
    )
    (refill,) = [e for e in result.events if e.kind == "refill"]
    assert refill.details["finding"] is finding
    assert refill.details["delivery_error_percent"] == error
    assert refill.details["within_accuracy"] is False


# -- PTM decisions ----------------------------------------------------------------------------


def ptm(*seconds: int, **changes: Any) -> dict[str, Any]:
    """0.05 mL over 2 min, lockout 3 hours, 3 a day, requested at these seconds after START."""
    table: dict[str, Any] = {
        "bolus": "0.05 mL",
        "duration": "2 min",
        "lockout": "3 hour",
        "max_per_day": 3,
        "requests": [at(s) for s in seconds],
    }
    return table | changes


GRANTED = (True, None)

PTM_CASES = [
    pytest.param(
        base(1, ptm=ptm(1 * HOUR, 4 * HOUR, 7 * HOUR - 1, 7 * HOUR)),
        [GRANTED, GRANTED, (False, "lockout"), GRANTED],
        id="lockout-exactly-3-hours-later-granted-one-second-earlier-denied",
    ),
    pytest.param(
        base(
            2,
            ptm=ptm(HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR, 25 * HOUR - 1, 25 * HOUR, lockout="1 hour"),
        ),
        [GRANTED, GRANTED, GRANTED, (False, "max_per_day"), (False, "max_per_day"), GRANTED],
        id="max-per-day-rolling-24-hours-a-grant-exactly-24-hours-old-no-longer-counts",
    ),
    pytest.param(
        base(
            2,
            event=[{"at": at(hours=10), "kind": "mri"}],
            ptm=ptm(12 * HOUR, 35 * HOUR - 1, 35 * HOUR),
        ),
        [(False, "stopped"), (False, "stopped"), GRANTED],
        id="stopped-during-an-mri-stall-granted-once-the-pump-resumes",
    ),
    pytest.param(
        base(1, program={"kind": "stopped"}, ptm=ptm(HOUR)),
        [(False, "stopped")],
        id="stopped-program",
    ),
    pytest.param(
        base(
            2,
            pump={"model": "prometra-ii-20"},
            event=[
                {"at": at(hours=10), "kind": "mri"},
                {"at": at(hours=20), "kind": "valve_reset"},
            ],
            ptm=ptm(15 * HOUR, 20 * HOUR),
        ),
        [(False, "stopped"), GRANTED],
        id="stopped-while-the-prometra-valve-is-closed",
    ),
    pytest.param(
        base(
            92,
            pump={"model": "synchromed-ii-40"},
            program={"kind": "continuous", "rate": "0.1 mL/day"},
            event=[{"at": at(hours=1), "kind": "eri"}],
            ptm=ptm(90 * DAY + HOUR - 1, 90 * DAY + HOUR + 1),
        ),
        [GRANTED, (False, "stopped")],
        id="stopped-after-end-of-service",
    ),
    pytest.param(
        base(
            2,
            fill={"volume": "1 mL", "drug": "morphine", "concentration": "10 mg/mL"},
            ptm=ptm(24 * HOUR, 26 * HOUR, bolus="0.5 mL", lockout="1 hour"),
        ),
        # at 24 h the pump computes exactly 0.5 mL left: one bolus, granted; then nothing
        [GRANTED, (False, "empty")],
        id="empty-when-the-computed-reservoir-holds-less-than-one-bolus",
    ),
    pytest.param(
        base(1, program={"kind": "stopped"}, ptm=ptm(HOUR, lockout="1 hour"))
        | {"fill": {"volume": "0.01 mL", "drug": "morphine", "concentration": "10 mg/mL"}},
        [(False, "stopped")],
        id="stopped-is-reported-before-empty",
    ),
]


@pytest.mark.parametrize(("data", "decisions"), PTM_CASES)
def test_ptm_decisions(data: dict[str, Any], decisions: list[tuple[bool, str | None]]) -> None:
    result = run(data)
    assert [(r.granted, r.reason) for r in result.ptm] == decisions
    assert result.ptm_granted == sum(granted for granted, _ in decisions)


def test_ptm_dose_bolus_follows_the_concentration_in_the_reservoir() -> None:
    """A 1 mg bolus is 0.1 mL of 10 mg/mL, and 0.05 mL after a refill with 20 mg/mL."""
    data = base(
        20,
        pump=PRIMED_0_2,
        program={"kind": "continuous", "rate": "0.1 mL/day"},
        event=[refill_at_day_10(**TO_20_MG)],
        ptm=ptm(DAY, 11 * DAY, bolus="1 mg"),
    )
    result = run(data)
    assert [r.granted for r in result.ptm] == [True, True]
    # 20 days at 0.1 mL/day and the boluses: 0.1 mL before the refill, 0.05 mL after it
    assert ml(result.delivered) == Fraction(2) + Fraction(1, 10) + Fraction(1, 20)
    # before: 1.1 mL x 10 mg/mL; after: the old 0.2 mL in the catheter (2 mg), then
    # 0.85 mL x 20 mg/mL
    assert drug(result, "morphine") == Decimal(11_000) + Decimal(2000) + Decimal(17_000)


# -- refusals ---------------------------------------------------------------------------------


def change(path: str, value: Any) -> Any:
    def apply(data: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        target = data
        for parent in parents:
            target = target.setdefault(parent, {})
        target[key] = value

    return apply


REFUSALS = [
    pytest.param(
        change("fill.volume", "21 mL"),
        "fill.volume",
        "at most 20 mL (reservoir of synchromed-ii-20)",
        "would overfill the reservoir",
        id="overfill-of-the-first-fill",
    ),
    pytest.param(
        change("event", [{"at": at(days=1), "kind": "refill", "volume": "25 mL"}]),
        "event[0].volume",
        "at most 20 mL (reservoir of synchromed-ii-20)",
        "would overfill the reservoir",
        id="overfill-at-a-refill",
    ),
    pytest.param(
        change("program.rate", "0.04 mL/day"),
        "program.rate",
        "at least 0.048 mL/day for synchromed-ii-20",
        "is outside the pump's rate range",
        id="rate-below-synchromed-minimum-0.048-mL/day",
    ),
    pytest.param(
        change("program", {"kind": "continuous", "dose": "0.4 mg/day"}),
        "program.dose",
        "at least 0.048 mL/day for synchromed-ii-20",
        "is outside the pump's rate range",
        id="dose-whose-rate-is-below-synchromed-minimum",
    ),
    pytest.param(
        change("fill.drug", "morfine"),
        "fill.drug",
        "one of baclofen, bupivacaine, clonidine, fentanyl, hydromorphone, morphine, "
        "sufentanil, ziconotide",
        "is not a known drug",
        id="unknown-drug",
    ),
    pytest.param(
        change("program.rate", "5 mg"),
        "program.rate",
        "a volume rate, e.g. 0.5 mL/day",
        "is not a volume rate",
        id="rate-in-a-unit-of-the-wrong-kind",
    ),
    pytest.param(
        change("fill.concentration", "10 mg"),
        "fill.concentration",
        "a concentration, e.g. 25 mg/mL, 500 mcg/mL",
        "is not a concentration",
        id="concentration-in-a-unit-of-the-wrong-kind",
    ),
    pytest.param(
        change("program.rate", "0.5"),
        "program.rate",
        "a volume rate with its unit, e.g. 0.5 mL/day",
        "has no unit",
        id="bare-number-without-unit",
    ),
    pytest.param(
        change("ptm", ptm(bolus="0.1 mL", duration="10 min", lockout="5 min")),
        "ptm.lockout",
        "at least the bolus duration (10 min)",
        "is shorter than the bolus",
        id="lockout-shorter-than-the-bolus",
    ),
    pytest.param(
        change("pump", {"model": "constant-flow", "rate": "1 mL/day"}),
        "program",
        "none: the rate of a constant-flow pump is fixed at manufacture; give [pump] rate",
        "cannot be programmed",
        id="program-for-a-constant-flow-pump",
    ),
    pytest.param(
        change("ptm", ptm(99 * DAY)),
        "ptm.requests[0]",
        "between start and until",
        "is outside the scenario",
        id="ptm-request-outside-the-horizon",
    ),
    pytest.param(
        change("program.bridge", True),
        "program.bridge",
        "a dose-based continuous program (the bridge keeps the prescribed dose at the old "
        "concentration)",
        "needs a dose",
        id="bridge-on-a-rate-based-program",
    ),
]


@pytest.mark.parametrize(("mutate", "field", "limit", "problem"), REFUSALS)
def test_refusal(mutate: Any, field: str, limit: str, problem: str) -> None:
    data = base(30)
    mutate(data)
    with pytest.raises(Refusal) as refused:
        load_scenario(data)
    assert (refused.value.field, refused.value.limit, refused.value.problem) == (
        field,
        limit,
        problem,
    )
    assert refused.value.source and field in refused.value.message


# -- regressions (one per defect found, named after it) ---------------------------------------


def test_regression_overfill_limit_was_printed_as_2E_plus_1_mL() -> None:
    """The reservoir volume was a normalized Decimal, so the limit read "at most 2E+1 mL"."""
    data = base(40, pump={"model": "synchromed-ii-40"}, fill={**base()["fill"], "volume": "41 mL"})
    with pytest.raises(Refusal) as refused:
        load_scenario(data)
    assert refused.value.limit == "at most 40 mL (reservoir of synchromed-ii-40)"
    assert "E+" not in refused.value.message


def test_regression_program_event_was_always_refused_as_not_a_program_kind() -> None:
    """An [[event]] of kind "program" used to be parsed with its own kind ("program") as the
    program's kind, so every program change was refused. It takes `program = {...}` as a refill
    does, or the bare fields of a continuous program."""
    inline = base(4, event=[{"at": at(days=1), "kind": "program", "program": {"kind": "stopped"}}])
    bare = base(4, event=[{"at": at(days=1), "kind": "program", "rate": "1 mL/day"}])
    assert ml(run(inline).reservoir_model) == Fraction(20) - Fraction(1, 2)
    assert ml(run(bare).reservoir_model) == Fraction(20) - Fraction(1, 2) - 3


def test_regression_ptm_was_granted_after_a_single_bolus_program_had_stopped_the_pump() -> None:
    """A PTM request after a single-bolus program had ended was granted (the lazy request did not
    advance, so the pump still looked busy with the bolus) and the stop was logged late."""
    data = base(
        1,
        program={"kind": "bolus", "volume": "0.5 mL", "duration": "1 hour"},
        ptm={
            "bolus": "0.01 mL",
            "duration": "2 min",
            "lockout": "1 hour",
            "max_per_day": 4,
            "requests": [at(hours=0.5), at(hours=4)],
        },
    )
    result = run(data)
    assert [(r.granted, r.reason) for r in result.ptm] == [(True, None), (False, "stopped")]
    assert ("program", 1.0) in after(result, "events")
    assert ml(result.reservoir_model) == Fraction(20) - Fraction(1, 2) - Fraction(1, 100)


def test_regression_stopped_program_during_a_bridge_was_restarted_by_the_bridge_end() -> None:
    """A program that stopped the pump during a bridge was undone when the bridge's timer fired
    (the pump restarted the bridged program)."""
    data = base(
        3,
        pump={"model": "synchromed-ii-20", "dead_volume": "0.2 mL", "primed": True},
        program={"kind": "continuous", "dose": "5 mg/day"},
        event=[
            {
                "at": at(days=1),
                "kind": "refill",
                "volume": "20 mL",
                "drug": "morphine",
                "concentration": "20 mg/mL",
                "program": {"kind": "continuous", "dose": "5 mg/day", "bridge": True},
            },
            {"at": at(days=1, hours=1), "kind": "program", "program": {"kind": "stopped"}},
        ],
    )
    result = run(data)
    # one hour at the bridge rate (0.5 mL/day), then nothing
    assert ml(result.reservoir_model) == Fraction(20) - Fraction(1, 2) / 24
    assert "bridge_end" not in [e.kind for e in result.events]


def _bridged_refill(days: float, *extra: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Morphine 10 mg/mL at 5 mg/day (0.5 mL/day), primed dead volume 0.2 mL; at day 1 a refill
    to 20 mg/mL keeps 5 mg/day (0.25 mL/day) with a bridge: 0.2 mL at 0.5 mL/day = 9.6 hours."""
    event = {
        "at": at(days=1),
        "kind": "refill",
        "volume": "20 mL",
        "drug": "morphine",
        "concentration": "20 mg/mL",
        "program": {"kind": "continuous", "dose": "5 mg/day", "bridge": True},
    }
    return base(
        days,
        pump={"model": "synchromed-ii-20", "dead_volume": "0.2 mL", "primed": True},
        program={"kind": "continuous", "dose": "5 mg/day"},
        event=[event, *extra],
        **changes,
    )


def test_regression_bridge_ended_on_the_clock_during_an_mri_stall_and_under_dosed() -> None:
    """The bridge used to end at a fixed time (9.6 h after the refill) even when an MRI had
    stalled the pump meanwhile, so old fluid left at the new (half) rate: 0.625 mg missing. It
    ends when the dead volume has passed: 9.6 h of delivery, 3 h later."""
    mri = {"at": at(days=1, hours=1), "kind": "mri", "duration": "1 hour", "resume_delay": "2 hour"}
    result = run(_bridged_refill(4, mri))
    assert ("bridge_end", 24 + 9.6 + 3) in after(result, "events")
    # 4 days at 5 mg/day less the 3 hours of stall
    assert drug(result, "morphine") == Decimal(20_000) - Decimal(5000) * 3 / 24


def test_regression_bridge_overran_the_dead_volume_when_ptm_boluses_pushed_it() -> None:
    """PTM boluses during a bridge push the old fluid out too; the bridge used to run on by the
    clock and deliver the new fluid at the bridge rate (an overdose). 2 boluses of 0.02 mL during
    the bridge leave 0.16 mL for the basal: the bridge ends after 0.16 / 0.5 day = 7.68 hours."""
    ptm = {
        "bolus": "0.02 mL",
        "duration": "1 min",
        "lockout": "1 hour",
        "max_per_day": 4,
        "requests": [at(days=1, hours=1), at(days=1, hours=3)],
    }
    result = run(_bridged_refill(3, ptm=ptm))
    assert [r.granted for r in result.ptm] == [True, True]
    assert ("bridge_end", 24 + 7.68) in after(result, "events")
    # 3 days at 5 mg/day; the boluses: 0.02 mL at 10 mg/mL (old fluid at the tip) twice = 0.4 mg
    assert drug(result, "morphine") == Decimal(15_000) + 400


def test_regression_refill_to_a_tenfold_concentration_pushed_the_dose_program_below_min_rate() -> (
    None
):
    document = {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "pump": {"model": "synchromed-ii-20"},
        "fill": {"volume": "20 mL", "drug": "ziconotide", "concentration": "25 mcg/mL"},
        "program": {"kind": "continuous", "dose": "1.2 mcg/day"},
        "event": [
            {
                "at": "2026-01-14T00:00:00Z",
                "kind": "refill",
                "volume": "20 mL",
                "drug": "ziconotide",
                "concentration": "100 mcg/mL",
            },
        ],
    }
    with pytest.raises(Refusal) as caught:
        load_scenario(document)
    assert caught.value.field == "event[0].concentration"
    assert "0.048 mL/day" in caught.value.limit


def test_regression_doses_were_checked_against_the_fluid_of_the_file_order_not_time_order() -> None:
    document = {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "pump": {"model": "synchromed-ii-20"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "1 mg/mL"},
        "program": {"kind": "continuous", "dose": "1 mg/day"},
        "event": [
            # listed first, happens last: at 1 mg/mL, 0.04 mg/day is 0.04 mL/day, below the minimum
            {
                "at": "2026-02-01T00:00:00Z",
                "kind": "program",
                "program": {"kind": "continuous", "dose": "0.04 mg/day"},
            },
            {
                "at": "2026-01-15T00:00:00Z",
                "kind": "refill",
                "volume": "20 mL",
                "drug": "morphine",
                "concentration": "0.5 mg/mL",
                "program": {"kind": "continuous", "dose": "1 mg/day"},
            },
        ],
    }
    scenario = load_scenario(document)
    assert [e.kind for e in scenario.events] == ["refill", "program"]


def test_regression_a_program_that_is_not_a_table_crashed_instead_of_being_refused() -> None:
    document = {
        "start": "2026-01-01T00:00:00Z",
        "until": "2026-03-01T00:00:00Z",
        "pump": {"model": "synchromed-ii-20"},
        "fill": {"volume": "20 mL", "drug": "morphine", "concentration": "10 mg/mL"},
        "program": {"kind": "continuous", "dose": "5 mg/day"},
        "event": [
            {
                "at": "2026-01-15T00:00:00Z",
                "kind": "refill",
                "volume": "20 mL",
                "program": "continuous",
            },
        ],
    }
    with pytest.raises(Refusal) as caught:
        load_scenario(document)
    assert caught.value.field == "event[0].program"
    assert caught.value.problem == "is not a table"
