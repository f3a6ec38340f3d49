"""A drug's amounts, doses and concentrations shown in one unit on every page, report and API
text, from the order to the pump: a thousand-fold mg/mcg confusion is the classic intrathecal
overdose. The unit is the drug library's (`dose_unit`: mg for morphine, mcg for baclofen), the
unit its orders are written in, as a smart pump's drug library fixes each drug's dosing unit; the
records keep canonical mcg, so each quantity is re-expressed here, exactly: every digit a stored
value holds, nothing a typed dose had rounded away."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from decimal import Decimal

from painpump.clinic.models import Incident, Prescription
from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.errors import Refusal
from painpump.core.units import Kind, Q

STORED_PLACES = 6
"""Decimal places of the canonical amounts the clinic stores (mcg, mcg/day, mcg/mL): a value
with no more places is shown with all of them."""
PER = {Kind.MASS: "", Kind.DOSE_RATE: "/day", Kind.CONCENTRATION: "/mL"}
"""The kinds a drug's unit applies to, with what follows the mass unit."""
QUANTITY = re.compile(
    r"(?:\b(?P<drug>[a-z]+) )?(?<![\w.])(?P<value>\d+(?:\.\d+)?) ?"
    r"(?P<unit>mcg|mg)(?P<per>/mL|/day)?(?![\w/])"
)
"""An amount, dose or concentration in painpump's words ("00:00 8900 mcg/day"), with the word
before it (a drug's name, in "morphine 20000 mcg/mL")."""
DRUG_FIELD = re.compile(r"(?:concentrations|drugs)\.([a-z]+)")
"""The field of a double-check's or readback's concentration entry, naming its drug."""
MISMATCH = re.compile(r"(?P<field>[\w.\[\]]+): entered ")
"""Where a difference begins in an incident's words ("ptm.dose: entered 200 mcg, ...")."""


def unit_of(drug: str, kind: Kind) -> str | None:
    """The unit a drug's quantity of `kind` is shown in; None for other kinds (a volume, a
    rate) and for a drug the library does not hold (then shown as recorded)."""
    if kind not in PER:
        return None
    try:
        return catalog.drug(drug, "drug").dose_unit + PER[kind]
    except Refusal:  # not in the library (any more): its quantities stay as recorded
        return None


def expressed(drug: str, quantity: Q) -> Q:
    """`quantity` of `drug` in the drug's unit (the same value)."""
    unit = unit_of(drug, quantity.kind)
    return quantity if unit is None or unit == quantity.unit else quantity.to(unit)


def exact(quantity: Q) -> str:
    """Every digit of a stored or typed value ("1.2345678 mg/day", never rounded to 1.234568);
    a computed one finer than the clinic stores (a flex day's mean) as painpump prints it."""
    exponent = quantity.canonical.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -STORED_PLACES:
        return quantity.typed
    return str(quantity)


def shown(drug: str, quantity: Q) -> str:
    """A quantity of `drug` as every page shows it: in the drug's unit, exactly."""
    return exact(expressed(drug, quantity))


def steps(drug: str, day: tuple[rx.Step, ...]) -> str:
    """A day's steps: "00:00 5 mg/day, 08:00 5.5 mg/day"."""
    return ", ".join(f"{step.start} {shown(drug, step.dose)}" for step in day)


def program(drug: str, value: rx.PrescribedProgram) -> str:
    """A program's day patterns, weekdays with one pattern together ("mon-fri: 00:00 5 mg/day,
    08:00 5.5 mg/day; sat-sun: 00:00 5 mg/day"); a single bolus as its bolus."""
    if value.bolus is not None:
        return f"single bolus {single_bolus(drug, value.bolus)}"
    groups: list[tuple[list[str], tuple[rx.Step, ...]]] = []
    for name, day in zip(rx.WEEKDAYS, value.days, strict=True):
        if groups and groups[-1][1] == day:
            groups[-1][0].append(name)
        else:
            groups.append(([name], day))
    if len(groups) == 1:
        return steps(drug, groups[0][1])
    return "; ".join(
        (f"{names[0]}-{names[-1]}" if len(names) > 1 else names[0]) + f": {steps(drug, day)}"
        for names, day in groups
    )


def patient_bolus(drug: str, ptm: rx.PatientBolus) -> str:
    """ "0.1 mg over 10 min, lockout 4 h, at most 4 a day"."""
    return (
        f"{shown(drug, ptm.dose)} over {rx.duration_words(ptm.duration_s)}, lockout "
        f"{rx.duration_words(ptm.lockout_s)}, at most {ptm.max_per_day} a day"
    )


def single_bolus(drug: str, bolus: rx.SingleBolus) -> str:
    """ "1.5 mg over 5 min, then the pump stops"."""
    duration = rx.duration_words(bolus.duration_s)
    return f"{shown(drug, bolus.dose)} over {duration}, then the pump stops"


def bolus_delivery(drug: str, delivery: rx.BolusDelivery) -> str:
    """ "single bolus 1.5 mg over 5 min (0.075 mL, at 0.9 mL/h)"."""
    return (
        f"single bolus {shown(drug, delivery.dose)} over "
        f"{rx.duration_words(delivery.duration_s)} ({delivery.volume}, at {delivery.rate_words})"
    )


def reworded(text: str, principal: str) -> str:
    """Words painpump stored or a clinician typed ("read back 00:00 8900 mcg/day", "morphine
    20000 mcg/mL") with each amount, dose and concentration in its drug's unit: the drug named
    just before it, else `principal` (the program's and the patient boluses' drug)."""

    def one(match: re.Match[str]) -> str:
        named = match["drug"]
        drug = named if named is not None and unit_of(named, Kind.MASS) else principal
        unit = match["unit"] + (match["per"] or "")
        value = shown(drug, Q(Decimal(match["value"]), unit))
        return f"{named} {value}" if named is not None else value

    return QUANTITY.sub(one, text)


def entry(field: str, text: str, principal: str) -> str:
    """An entry of a double-check or readback, or what it was compared with, as `reworded`:
    a concentration entry (`concentrations.clonidine`, `drugs.clonidine`) is of the drug it
    names."""
    named = DRUG_FIELD.fullmatch(field)
    drug = named[1] if named is not None and unit_of(named[1], Kind.MASS) else principal
    return reworded(text, drug)


NAMING = frozenset({"field", "against"})
"""The parts of a mismatch that name what was compared, never a quantity."""


def entry_texts(
    found: Mapping[str, object], principal: str | None, typed: Collection[str] = ()
) -> dict[str, str]:
    """A mismatch or a differing entry ({"field", "entered", "prescribed", ...}) with its words
    in the drugs' units (`entry`), but the parts `typed` kept as the clinician typed them; all
    as recorded without a principal drug."""
    field = str(found.get("field", ""))
    return {
        name: str(value)
        if principal is None or name in NAMING or name in typed
        else entry(field, str(value), principal)
        for name, value in found.items()
    }


def drugs(value: rx.Prescription) -> str:
    """The drugs with their concentrations, each in its unit: "morphine 20 mg/mL + clonidine
    1000 mcg/mL"."""
    return " + ".join(f"{name} {shown(name, conc)}" for name, conc in value.drugs)


def principal_of(record: Prescription | None) -> str | None:
    """The prescription's principal drug (None: no prescription)."""
    if record is None:
        return None
    first = next(iter(record.drugs.all()), None)
    return first.drug if first is not None else None


def incident_summary(incident: Incident) -> str:
    """What the incident says, each quantity in its drug's unit (of the prescription its
    readback was compared with)."""
    readback = incident.readback
    drug = principal_of(readback.program.prescription) if readback is not None else None
    return incident.summary if drug is None else summary_words(incident.summary, drug)


def summary_words(summary: str, principal: str) -> str:
    """An incident's words ("...: ptm.dose: entered 200 mcg, prescribed 100 mcg; drugs.clonidine:
    entered 1 mg/mL, ..."), each difference as `entry` words the field it names."""
    parts = []
    for part in summary.split("; "):
        found = MISMATCH.search(part)
        parts.append(entry(found["field"], part, principal) if found else reworded(part, principal))
    return "; ".join(parts)
