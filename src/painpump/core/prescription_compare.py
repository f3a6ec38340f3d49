"""What a second reader enters independently, compared with the prescription: the double-check's
entries from the syringe label and the order (the concentrations, the whole program, the PTM
settings), and the clinician programmer's readback after programming. Both compare the program
and the PTM settings the same way. Every difference is named (field, entered, prescribed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from painpump.core.prescription import (
    WEEKDAYS,
    FluidChange,
    PatientBolus,
    PrescribedProgram,
    Prescription,
    SingleBolus,
    Step,
    duration_words,
)
from painpump.core.refill_decision import named_drugs
from painpump.core.units import Q

DOUBLE_CHECK = "rule-double-check"
READBACK = "rule-readback"


@dataclass(frozen=True)
class Mismatch:
    """A value entered independently (by the second clinician, or read back from the
    programmer) that differs from the prescription."""

    field: str
    entered: str
    prescribed: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "entered": self.entered, "prescribed": self.prescribed}

    @property
    def message(self) -> str:
        return f"{self.field}: entered {self.entered}, prescribed {self.prescribed}"


@dataclass(frozen=True)
class CheckEntries:
    """What the second clinician enters from the syringe label and the order, without seeing the
    prescription's numbers: each drug's concentration, the whole program (a flex program step by
    step), the PTM settings (None: off) and how the old fluid is delivered when the fluid
    changes."""

    concentrations: tuple[tuple[str, Q], ...]
    program: PrescribedProgram
    ptm: PatientBolus | None
    fluid_change: FluidChange = FluidChange.NONE


def _same(a: Q, b: Q) -> bool:
    return a.canonical == b.canonical


def compare_check(prescription: Prescription, entries: CheckEntries) -> tuple[Mismatch, ...]:
    """Every difference between the independent entries and the prescription: a program is
    compared day by day, step by step, exactly (no derived daily dose)."""
    found = _compare_drugs(prescription.drugs, entries.concentrations, "concentrations")
    found += _compare_principal(prescription.drugs, entries.concentrations, "concentrations")
    found += _compare_program(prescription.program, entries.program)
    found += _compare_ptm(prescription.ptm, entries.ptm)
    if entries.fluid_change is not prescription.fluid_change:
        found.append(
            Mismatch("fluid_change", entries.fluid_change.value, prescription.fluid_change.value)
        )
    return tuple(found)


def _compare_principal(
    prescribed: Sequence[tuple[str, Q]], entered: Sequence[tuple[str, Q]], field: str
) -> list[Mismatch]:
    """The drug entered first must be the prescription's principal: every dose of the program
    is a dose of it."""
    if not entered or not prescribed:
        return []
    first, principal = named_drugs(entered)[0][0], named_drugs(prescribed)[0][0]
    if first == principal:
        return []
    return [Mismatch(f"{field}[0]", f"{first} first", "the order's principal drug first")]


def _compare_drugs(
    prescribed: Sequence[tuple[str, Q]], entered: Sequence[tuple[str, Q]], field: str
) -> list[Mismatch]:
    wanted = {name: conc for name, conc in named_drugs(prescribed)}
    given = dict(named_drugs(entered)) if entered else {}
    found = []
    for name in sorted(set(wanted) | set(given)):
        a, b = given.get(name), wanted.get(name)
        if a is None or b is None or not _same(a, b):
            found.append(
                Mismatch(
                    f"{field}.{name}",
                    str(a) if a is not None else "not entered",
                    str(b) if b is not None else "not prescribed",
                )
            )
    return found


@dataclass(frozen=True)
class Readback:
    """What the clinician programmer shows after programming: the reservoir volume, the drugs and
    concentrations, the program's steps and the PTM settings."""

    reservoir: Q
    drugs: tuple[tuple[str, Q], ...]
    program: PrescribedProgram
    ptm: PatientBolus | None


def compare_readback(
    prescription: Prescription, filled: Q | None, readback: Readback
) -> tuple[Mismatch, ...]:
    """Every difference between the programmer's readback and the prescription (and the volume
    filled, when the session filled the pump)."""
    found = _compare_drugs(prescription.drugs, readback.drugs, "drugs")
    found += _compare_principal(prescription.drugs, readback.drugs, "drugs")
    if filled is not None and not _same(readback.reservoir, filled):
        found.append(Mismatch("reservoir", str(readback.reservoir), f"{filled} filled"))
    found += _compare_program(prescription.program, readback.program)
    found += _compare_ptm(prescription.ptm, readback.ptm)
    return tuple(found)


def _compare_program(prescribed: PrescribedProgram, entered: PrescribedProgram) -> list[Mismatch]:
    """The kind, then each weekday whose steps (start and dose, in any unit) differ, or a single
    bolus's dose and duration."""
    found = []
    if entered.kind is not prescribed.kind:
        found.append(Mismatch("program.kind", entered.kind.value, prescribed.kind.value))
    if prescribed.bolus is not None or entered.bolus is not None:
        return found + _compare_bolus(prescribed.bolus, entered.bolus)
    for weekday, mine, theirs in zip(WEEKDAYS, prescribed.days, entered.days, strict=True):
        if [(s.start_s, s.dose.canonical) for s in mine] != [
            (s.start_s, s.dose.canonical) for s in theirs
        ]:
            found.append(Mismatch(f"program.days.{weekday}", _day_text(theirs), _day_text(mine)))
    return found


def _compare_bolus(prescribed: SingleBolus | None, entered: SingleBolus | None) -> list[Mismatch]:
    if prescribed is None or entered is None:
        return [
            Mismatch(
                "program.bolus",
                entered.words if entered else "none",
                prescribed.words if prescribed else "none",
            )
        ]
    found = []
    if not _same(entered.dose, prescribed.dose):
        found.append(Mismatch("program.bolus.dose", str(entered.dose), str(prescribed.dose)))
    if entered.duration_s != prescribed.duration_s:
        found.append(
            Mismatch(
                "program.bolus.duration",
                duration_words(entered.duration_s),
                duration_words(prescribed.duration_s),
            )
        )
    return found


def _day_text(day: Sequence[Step]) -> str:
    return ", ".join(f"{s.start} {s.dose}" for s in day)


def _ptm_text(ptm: PatientBolus | None) -> str:
    if ptm is None:
        return "off"
    return ptm.words


def _compare_ptm(prescribed: PatientBolus | None, read: PatientBolus | None) -> list[Mismatch]:
    if prescribed is None and read is None:
        return []
    if prescribed is None or read is None:
        return [Mismatch("ptm", _ptm_text(read), _ptm_text(prescribed))]
    pairs = (
        ("ptm.dose", str(read.dose), str(prescribed.dose), _same(read.dose, prescribed.dose)),
        (
            "ptm.duration",
            duration_words(read.duration_s),
            duration_words(prescribed.duration_s),
            read.duration_s == prescribed.duration_s,
        ),
        (
            "ptm.lockout",
            duration_words(read.lockout_s),
            duration_words(prescribed.lockout_s),
            read.lockout_s == prescribed.lockout_s,
        ),
        (
            "ptm.max_per_day",
            str(read.max_per_day),
            str(prescribed.max_per_day),
            read.max_per_day == prescribed.max_per_day,
        ),
    )
    return [Mismatch(field, a, b) for field, a, b, same in pairs if not same]
