"""What a second reader enters independently, compared with the prescription: the double-check's
entries from the syringe label and the order (the concentrations, the whole program, the PTM
settings), and the clinician programmer's readback after programming, which also holds the
pump's own reservoir estimate (compared with the volume expected then, within the clinic's
tolerance) and the bridge or priming bolus a refill ran. Both compare the program and the PTM
settings the same way. Every difference is named (field, entered, prescribed or expected)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from painpump.core import catalog
from painpump.core.catalog import Sourced
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
from painpump.core.units import Q, of

DOUBLE_CHECK = "rule-double-check"
READBACK = "rule-readback"


@dataclass(frozen=True)
class Mismatch:
    """A value entered independently (by the second clinician, or read back from the
    programmer) that differs from the prescription."""

    field: str
    entered: str
    prescribed: str
    against: str = "prescribed"
    """What `prescribed` is: "prescribed", or "expected" for the volume the pump should hold."""

    def as_json(self) -> dict[str, str]:
        found = {"field": self.field, "entered": self.entered, "prescribed": self.prescribed}
        return found if self.against == "prescribed" else found | {"against": self.against}

    @property
    def message(self) -> str:
        return f"{self.field}: entered {self.entered}, {self.against} {self.prescribed}"


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


def _expressed(drug: str, quantity: Q) -> Q:
    """A prescribed amount, daily dose or concentration of `drug` in the drug's unit: what an
    entry is compared with is worded as the order is written, whatever unit it is stored in."""
    return quantity.to(catalog.drug(drug).unit_for(quantity.kind))


def _principal(prescription: Prescription) -> str:
    return named_drugs(prescription.drugs)[0][0]


def compare_check(prescription: Prescription, entries: CheckEntries) -> tuple[Mismatch, ...]:
    """Every difference between the independent entries and the prescription: a program is
    compared day by day, step by step, exactly (no derived daily dose)."""
    drug = _principal(prescription)
    found = _compare_drugs(prescription.drugs, entries.concentrations, "concentrations")
    found += _compare_principal(prescription.drugs, entries.concentrations, "concentrations")
    found += _compare_program(drug, prescription.program, entries.program)
    found += _compare_ptm(drug, prescription.ptm, entries.ptm)
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
                    a.typed if a is not None else "not entered",
                    str(_expressed(name, b)) if b is not None else "not prescribed",
                )
            )
    return found


@dataclass(frozen=True)
class FluidChangeShown:
    """A bridge (the path's volume and the rate it runs at) or a priming bolus (the path's
    volume), as a refill recorded it or as the programmer shows it."""

    kind: FluidChange
    volume: Q
    rate: Q | None = None

    def __post_init__(self) -> None:
        if (self.kind is FluidChange.BRIDGE) != (self.rate is not None):
            raise ValueError("a bridge has a rate, a priming bolus none")
        if self.kind is FluidChange.NONE:
            raise ValueError("no fluid change is shown as None")

    @property
    def words(self) -> str:
        if self.rate is not None:
            return f"a bridge of {self.volume} at {self.rate}"
        return f"a priming bolus of {self.volume}"


@dataclass(frozen=True)
class Readback:
    """What the clinician programmer shows after programming: the reservoir volume, the drugs and
    concentrations, the program's steps, the PTM settings and the bridge or priming bolus of the
    refill (None: none shown)."""

    reservoir: Q
    drugs: tuple[tuple[str, Q], ...]
    program: PrescribedProgram
    ptm: PatientBolus | None
    fluid_change: FluidChangeShown | None = None


@dataclass(frozen=True)
class ExpectedReservoir:
    """What the pump's own reservoir estimate should show at the readback: from `least` to
    `most` (equal when it is known exactly), for the reason `basis` gives, within the clinic's
    `tolerance`."""

    least: Q
    most: Q
    basis: str
    tolerance: Sourced

    def holds(self, shown: Q) -> bool:
        """Within the range as `words` shows it: each end and the tolerance rounded to the
        places printed, so the edge applied is the edge read."""
        least, most, margin = (
            _printed_canonical(q) for q in (self.least, self.most, self.tolerance.value)
        )
        return least - margin <= shown.canonical <= most + margin

    @property
    def words(self) -> str:
        """ "20 mL (filled) ± 0.1 mL (the clinic's readback tolerance, unverified:
        rule-clinic-setting)"."""
        span = str(self.most)
        if self.least.canonical != self.most.canonical:
            span = f"{self.least} to {self.most}"
        key = self.tolerance.source.split(":", 1)[0]
        verified = "" if self.tolerance.verified else "unverified: "
        return (
            f"{span} ({self.basis}) ± {self.tolerance.value} (the clinic's readback tolerance, "
            f"{verified}{key})"
        )


def _printed_canonical(quantity: Q) -> Decimal:
    """The canonical value of `quantity` as painpump prints it."""
    return Q(quantity.rounded(), quantity.unit).canonical


def filled_reservoir(
    filled: Q, priming: FluidChangeShown | None, tolerance: Sourced
) -> ExpectedReservoir:
    """The reservoir right after a fill: the volume filled, or with a priming bolus anything
    down to the volume filled less the bolus (the twin draws it from the fill over its
    duration, so the programmer shows it before, while or after it runs)."""
    if priming is None or priming.kind is not FluidChange.PRIMING:
        return ExpectedReservoir(filled, filled, "filled", tolerance)
    least = of(filled.canonical - priming.volume.canonical, "mL")
    basis = f"{filled} filled, less the {priming.volume} priming bolus as the pump draws it"
    return ExpectedReservoir(least, filled, basis, tolerance)


def compare_readback(
    prescription: Prescription,
    readback: Readback,
    *,
    reservoir: ExpectedReservoir,
    fluid_change: FluidChangeShown | None,
) -> tuple[Mismatch, ...]:
    """Every difference between the programmer's readback and the prescription, the reservoir
    expected and the bridge or priming bolus the refill ran (None: it ran none)."""
    drug = _principal(prescription)
    found = _compare_drugs(prescription.drugs, readback.drugs, "drugs")
    found += _compare_principal(prescription.drugs, readback.drugs, "drugs")
    if not reservoir.holds(readback.reservoir):
        found.append(Mismatch("reservoir", readback.reservoir.typed, reservoir.words, "expected"))
    found += _compare_program(drug, prescription.program, readback.program)
    found += _compare_ptm(drug, prescription.ptm, readback.ptm)
    found += _compare_fluid_change(fluid_change, readback.fluid_change)
    return tuple(found)


def _compare_fluid_change(
    ran: FluidChangeShown | None, shown: FluidChangeShown | None
) -> list[Mismatch]:
    """The bridge or priming bolus shown against the one the refill ran, each setting as
    painpump printed it for programming (the programmer shows what was programmed)."""
    if ran is None and shown is None:
        return []
    if ran is None or shown is None or ran.kind is not shown.kind:
        return [
            Mismatch(
                "fluid_change",
                shown.words if shown else "none",
                f"{ran.words} run by the refill" if ran else "none (the refill ran none)",
            )
        ]
    which = "bridge" if ran.kind is FluidChange.BRIDGE else "priming bolus"
    found = []
    if not _as_printed(shown.volume, ran.volume):
        found.append(
            Mismatch(
                "fluid_change.volume",
                shown.volume.typed,
                f"{ran.volume}, the {which} the refill ran",
            )
        )
    if ran.rate is not None and shown.rate is not None and not _as_printed(shown.rate, ran.rate):
        found.append(
            Mismatch(
                "fluid_change.rate", shown.rate.typed, f"{ran.rate}, the {which} the refill ran"
            )
        )
    return found


def _as_printed(shown: Q, recorded: Q) -> bool:
    """Equal as painpump prints the recorded value (0.1667 mL/day for 0.166667 mL/day)."""
    return shown.to(recorded.unit).rounded() == recorded.rounded()


def _compare_program(
    drug: str, prescribed: PrescribedProgram, entered: PrescribedProgram
) -> list[Mismatch]:
    """The kind, then each weekday whose steps (start and dose, in any unit) differ, or a single
    bolus's dose and duration; the prescribed doses in the unit of `drug` (the principal)."""
    found = []
    if entered.kind is not prescribed.kind:
        found.append(Mismatch("program.kind", entered.kind.value, prescribed.kind.value))
    if prescribed.bolus is not None or entered.bolus is not None:
        return found + _compare_bolus(drug, prescribed.bolus, entered.bolus)
    for weekday, mine, theirs in zip(WEEKDAYS, prescribed.days, entered.days, strict=True):
        if [(s.start_s, s.dose.canonical) for s in mine] != [
            (s.start_s, s.dose.canonical) for s in theirs
        ]:
            ordered = [Step(s.start_s, _expressed(drug, s.dose)) for s in mine]
            found.append(
                Mismatch(
                    f"program.days.{weekday}", _day_text(theirs, typed=True), _day_text(ordered)
                )
            )
    return found


def _compare_bolus(
    drug: str, prescribed: SingleBolus | None, entered: SingleBolus | None
) -> list[Mismatch]:
    if prescribed is None or entered is None:
        ordered = (
            replace(prescribed, dose=_expressed(drug, prescribed.dose))
            if prescribed is not None
            else None
        )
        return [
            Mismatch(
                "program.bolus",
                entered.words if entered else "none",
                ordered.words if ordered else "none",
            )
        ]
    found = []
    if not _same(entered.dose, prescribed.dose):
        found.append(
            Mismatch(
                "program.bolus.dose", entered.dose.typed, str(_expressed(drug, prescribed.dose))
            )
        )
    if entered.duration_s != prescribed.duration_s:
        found.append(
            Mismatch(
                "program.bolus.duration",
                duration_words(entered.duration_s),
                duration_words(prescribed.duration_s),
            )
        )
    return found


def _day_text(day: Sequence[Step], *, typed: bool = False) -> str:
    """A day's steps; `typed`: each dose with every digit entered."""
    return ", ".join(f"{s.start} {s.dose.typed if typed else s.dose}" for s in day)


def _ptm_text(ptm: PatientBolus | None) -> str:
    if ptm is None:
        return "off"
    return ptm.words


def _compare_ptm(
    drug: str, prescribed: PatientBolus | None, read: PatientBolus | None
) -> list[Mismatch]:
    """The PTM settings read against the prescribed, whose dose is in the unit of `drug`."""
    if prescribed is None and read is None:
        return []
    if prescribed is not None:
        prescribed = replace(prescribed, dose=_expressed(drug, prescribed.dose))
    if prescribed is None or read is None:
        return [Mismatch("ptm", _ptm_text(read), _ptm_text(prescribed))]
    pairs = (
        ("ptm.dose", read.dose.typed, str(prescribed.dose), _same(read.dose, prescribed.dose)),
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
