"""Every program and patient-bolus setting of a pump before and after a refill or a programming
executes a prescription, side by side (under review, or as recorded): the prescription in force
(or the one the program before ran) against the one executed,
worded as the settings history words them (prescription_history.shown_settings), so a changed
flex step or patient-bolus setting shows before the pump is programmed."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from painpump.clinic.models import Implant, Prescription, Program
from painpump.clinic.reads import prescriptions
from painpump.clinic.reads.prescription_history import (
    DAILY_DOSE,
    FLUID_CHANGE,
    shown_settings,
)
from painpump.core import prescription as rx

SHOWN_ELSEWHERE = frozenset({DAILY_DOSE, FLUID_CHANGE, "phase"})
"""Rows the before/after review has already (the drugs and the daily dose), or that the pump
is not programmed with (the phase, how the old fluid reaches the patient)."""
STEPS = "steps "


@dataclass(frozen=True)
class SettingChange:
    """A setting before and after ("" where one side has none)."""

    setting: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def compared(before: rx.Prescription | None, after: rx.Prescription) -> tuple[SettingChange, ...]:
    """The program's mode, the doses core derives, a flex program's steps (weekdays alike on
    both sides share a row) and the patient-bolus settings, before and after."""
    old = shown_settings(before) if before is not None else {}
    new = shown_settings(after)
    flex = any(
        value is not None and value.program.kind is rx.ProgramKind.FLEX for value in (before, after)
    )
    rows: list[SettingChange] = []
    for name in dict.fromkeys([*new, *old]):
        if name in SHOWN_ELSEWHERE or name.startswith("drug "):
            continue
        if name.startswith(STEPS):
            if flex and name == STEPS + rx.WEEKDAYS[0]:
                rows += _step_runs(old, new)
            continue
        rows.append(SettingChange(name, old.get(name, ""), new.get(name, "")))
    return tuple(rows)


def _step_runs(old: dict[str, str], new: dict[str, str]) -> list[SettingChange]:
    """One row per run of weekdays whose steps are alike before and alike after."""
    pairs = [(day, old.get(STEPS + day, ""), new.get(STEPS + day, "")) for day in rx.WEEKDAYS]
    rows = []
    for (before, after), run in groupby(pairs, key=lambda pair: pair[1:]):
        days = [day for day, _, _ in run]
        label = days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}"
        rows.append(SettingChange(STEPS + label, before, after))
    return rows


def executed_settings(program: Program) -> tuple[SettingChange, ...]:
    """The settings of the program the pump ran before `program` (a refill's or a programming's,
    as recorded) against those `program` executes; none for a program no prescription gave."""
    executed = program.prescription
    if executed is None:
        return ()
    previous = (
        program.implant.programs.filter(started_at__lt=program.started_at)
        .select_related("prescription")
        .order_by("-started_at")
        .first()
    )
    ran = previous.prescription if previous is not None else None
    before = prescriptions.as_core(ran) if ran is not None else None
    return compared(before, prescriptions.as_core(executed))


def settings_change(implant: Implant, executed: Prescription) -> tuple[SettingChange, ...]:
    """The pump's settings under the prescription in force against those of `executed` (a pump
    never programmed from a prescription: nothing before)."""
    in_force = prescriptions.in_force(implant)
    before = prescriptions.as_core(in_force) if in_force is not None else None
    return compared(before, prescriptions.as_core(executed))
