"""A prescription as the pages show it: its record (number, status, who prescribed and who
double-checked it, the reason), each setting as text with its unit
(clinic.reads.prescription_history.settings_of; on pages with the doses core derives,
shown_settings), and the program and patient-bolus settings the pump is programmed with."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import groupby

from painpump.clinic.models import Prescription
from painpump.clinic.reads.prescription_history import (
    DAILY_DOSE,
    SINGLE_BOLUS,
    WEEKLY_AVERAGE,
    WORST_DAY,
    settings_of,
    shown_settings,
)
from painpump.clinic.reads.prescriptions import as_core
from painpump.core import prescription as rx

PTM_SETTINGS = ("patient bolus", "bolus duration", "lockout", "boluses a day")
"""The patient-bolus settings of settings_of, in the order shown."""


@dataclass(frozen=True)
class ShownPrescription:
    record: Prescription
    settings: dict[str, str]
    programmed: tuple[tuple[str, str], ...]
    """The program (its mode; a flex program's steps by weekdays), its daily dose or single
    bolus with the doses core derives (a flex program's weekly average, the worst day with
    every patient bolus), and the patient-bolus settings, as (setting, value) rows."""
    with_doses: dict[str, str]
    """`settings` with the doses core derives next to the largest day (shown_settings)."""


def shown(record: Prescription) -> ShownPrescription:
    values = as_core(record)
    with_doses = shown_settings(values)
    return ShownPrescription(
        record, settings_of(values), programmed_rows(values.program, with_doses), with_doses
    )


def programmed_rows(
    program: rx.PrescribedProgram, settings: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    """The rows of what the pump is programmed with, worded as `settings` (settings_of or
    shown_settings of the program's prescription) words them; a run of weekdays with one
    pattern shares a row."""
    rows = [("program", mode(program))]
    if SINGLE_BOLUS in settings:
        rows.append((SINGLE_BOLUS, settings[SINGLE_BOLUS]))
    elif DAILY_DOSE in settings:  # a stopped pump: its program row says it all
        rows.append((DAILY_DOSE, settings[DAILY_DOSE]))
        rows += [(name, settings[name]) for name in (WEEKLY_AVERAGE, WORST_DAY) if name in settings]
    if program.kind is rx.ProgramKind.FLEX:
        runs = _runs(program, lambda day: day)
        rows += [(f"steps {days}", settings[f"steps {first}"]) for days, first, _ in runs]
    rows += [(name, settings[name]) for name in PTM_SETTINGS if name in settings]
    return tuple(rows)


def mode(program: rx.PrescribedProgram) -> str:
    """ "continuous", "single bolus", or a flex program with its steps a day: "flex: 2 steps a
    day mon-fri, 1 sat-sun"."""
    if program.kind is not rx.ProgramKind.FLEX:
        return program.kind.label
    (days, _, day), *others = _runs(program, len)
    steps = "1 step a day" if len(day) == 1 else f"{len(day)} steps a day"
    if not others:
        return f"flex: {steps}, every day"
    return f"flex: {steps} {days}" + "".join(f", {len(d)} {names}" for names, _, d in others)


def _runs(
    program: rx.PrescribedProgram, key: Callable[[tuple[rx.Step, ...]], Hashable]
) -> list[tuple[str, str, tuple[rx.Step, ...]]]:
    """The runs of weekdays whose days are alike by `key`: ("mon-fri", "mon", Monday's
    steps)."""
    runs = []
    pairs = zip(rx.WEEKDAYS, program.days, strict=True)
    for _, run in groupby(pairs, key=lambda pair: key(pair[1])):
        names, days = zip(*run, strict=True)
        label = names[0] if len(names) == 1 else f"{names[0]}-{names[-1]}"
        runs.append((label, names[0], days[0]))
    return runs
