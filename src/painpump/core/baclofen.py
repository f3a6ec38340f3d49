"""Intrathecal baclofen (ITB): the screening sequence (50, 75, 100 mcg bolus, 24 h apart; 25 mcg
in very small patients; no response to 100 mcg means not a candidate) and the starting daily dose
after implant (2 x the effective screening bolus, 1 x when its effect lasted over 8 h)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q, as_given, check_number, expect, of

LABEL_SCREENING = (
    "lioresal-label, gablofen-label: 50 mcg, then 75 mcg, then 100 mcg intrathecal bolus 24 h "
    "apart, observe 4-8 h; no response to 100 mcg = not a candidate (label dosing read through "
    "drugs.com, minclinic and skyscape copies)"
)
SMALL_PATIENT_SOURCE = (
    "boster-2016-itb-screening: Boster AL et al., Neuromodulation 2016: 25 mcg in very small "
    "children or patients who rely on spasticity for mobility"
)
START_SOURCE = (
    "lioresal-label: Lioresal label: initial daily dose = 2 x the effective screening dose over "
    "24 h, 1 x when the effect lasted more than 8 h; no increase in the first 24 h (label dosing "
    "read through skyscape tc256 and minclinic copies)"
)
SEQUENCE_MCG = (Decimal(50), Decimal(75), Decimal(100))
SMALL_START_MCG = Decimal(25)
INTERVAL = timedelta(hours=24)
LONG_EFFECT_HOURS = Decimal(8)


@dataclass(frozen=True)
class ScreeningBolus:
    """One screening bolus given and whether it gave a positive clinical response."""

    dose: Q
    positive: bool
    given_at: datetime | None = None


@dataclass(frozen=True)
class ScreeningStep:
    """What to do next in screening: `give` a bolus (not before a time), or the outcome
    `candidate` / `not_candidate`, with the reason and its source."""

    action: str
    dose: Q | None
    not_before: datetime | None
    reason: str
    source: str
    verified: bool


def _sequence(small_patient: bool) -> tuple[Decimal, ...]:
    """The bolus doses (mcg) in order; a small patient starts at 25 mcg."""
    return ((SMALL_START_MCG,) if small_patient else ()) + SEQUENCE_MCG


def next_screening_step(
    history: Sequence[ScreeningBolus], *, small_patient: bool = False
) -> ScreeningStep:
    """The next screening step after the boluses given so far (refuses a history that does not
    follow the labeled sequence)."""
    sequence = _sequence(small_patient)
    for index, bolus in enumerate(history):
        expect(bolus.dose, Kind.MASS, f"history[{index}]")
        expected = sequence[index] if index < len(sequence) else None
        if expected is None or bolus.dose.canonical != expected:
            wanted = f"{expected} mcg" if expected is not None else "no further bolus"
            raise Refusal(
                f"history[{index}]",
                as_given(bolus.dose, "mcg"),
                f"{wanted} (sequence {', '.join(f'{d} mcg' for d in sequence)})",
                SMALL_PATIENT_SOURCE if small_patient else LABEL_SCREENING,
                "does not follow the screening sequence",
            )
        if bolus.positive and index != len(history) - 1:
            raise Refusal(
                f"history[{index + 1}]",
                str(history[index + 1].dose),
                "no bolus after a positive response",
                LABEL_SCREENING,
                "was given after screening had succeeded",
            )
    if history and history[-1].positive:
        last = history[-1]
        return ScreeningStep(
            "candidate",
            None,
            None,
            f"positive response to {last.dose}: candidate for an implanted pump; start at "
            "2 x this dose per day (1 x if the effect lasted over 8 h)",
            LABEL_SCREENING,
            True,
        )
    if len(history) == len(sequence):
        return ScreeningStep(
            "not_candidate",
            None,
            None,
            "no response to a 100 mcg intrathecal bolus: not a candidate for an implanted pump",
            LABEL_SCREENING,
            True,
        )
    dose = of(sequence[len(history)], "mcg")
    last_at = history[-1].given_at if history else None
    not_before = last_at + INTERVAL if last_at is not None else None
    if small_patient and not history:
        return ScreeningStep(
            "give",
            dose,
            None,
            "first screening bolus for a very small patient",
            SMALL_PATIENT_SOURCE,
            True,
        )
    if small_patient and len(history) == 1:
        # The sources give 25 mcg as a start; continuing at 50 mcg is this module's reading.
        return ScreeningStep(
            "give",
            dose,
            not_before,
            "no response to 25 mcg: continue with the labeled 50 mcg bolus",
            f"{SMALL_PATIENT_SOURCE}; continuation at 50 mcg not stated",
            False,
        )
    reason = "first screening bolus" if not history else f"no response to {history[-1].dose}"
    return ScreeningStep(
        "give",
        dose,
        not_before,
        f"{reason}: give {dose}, 24 h after the last",
        LABEL_SCREENING,
        True,
    )


@dataclass(frozen=True)
class StartingDose:
    """The ITB starting daily dose and the factor of the label rule that gave it."""

    daily_dose: Q
    factor: int
    reason: str
    source: str


def starting_daily_dose(effective_bolus: Q, effect_hours: Decimal) -> StartingDose:
    """Starting daily dose after implant: 2 x the effective screening bolus, or 1 x when its
    effect lasted more than 8 h (label)."""
    check_number(effect_hours, "effect_hours")
    expect(effective_bolus, Kind.MASS, "effective_bolus")
    if effect_hours < 0:
        raise Refusal("effect_hours", str(effect_hours), ">= 0 hour", START_SOURCE, "is negative")
    largest = SEQUENCE_MCG[-1]
    bolus_mcg = effective_bolus.canonical
    if bolus_mcg <= 0 or bolus_mcg > largest:
        raise Refusal(
            "effective_bolus",
            as_given(effective_bolus, "mcg"),
            f"> 0 and <= {largest} mcg (largest screening bolus)",
            LABEL_SCREENING,
            "is not a screening bolus",
        )
    factor = 1 if effect_hours > LONG_EFFECT_HOURS else 2
    why = (
        f"effect lasted {effect_hours} h, more than 8 h: 1 x the effective bolus per day"
        if factor == 1
        else f"effect lasted {effect_hours} h, not more than 8 h: 2 x the effective bolus per day"
    )
    return StartingDose(of(bolus_mcg * factor, "mcg/day"), factor, why, START_SOURCE)
