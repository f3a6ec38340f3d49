"""A clinic's own catheter entry: the volume per cm of a catheter the packaged catalog does not
hold (no source in docs/sources.md gives a Medtronic catheter's), as the clinic read it from the
catheter's labeling. It is refused for a model the catalog holds (the catalog's sourced figure
stands) and outside a plausible range (a unit or typing slip); once a second clinician has
approved it, core.dead_volume judges an implant's dead volume against it, unverified by
painpump."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from painpump.core import catalog
from painpump.core.catalog import SourcedNumber
from painpump.core.errors import Refusal
from painpump.core.units import INPUT_RULES, Kind, format_decimal, parse

ENTRY_RULES = (
    "rule-clinic-setting, rule-explicit-dead-volumes: a catheter's volume per cm that the "
    "catheter catalog does not hold is the clinic's own entry, read from that catheter's "
    "labeling and approved by a second pharmacist or physician; never another model's figure"
)
EXAMPLES = "0.0026 mL/cm, 2.6 uL/cm, 0.26 uL/mm"
MICROLITRES = Decimal(1000)
STORED_PLACES = 4
"""Decimal places of a uL/cm the clinic's record keeps: a finer figure is refused, never
rounded."""
MODEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._/-]{0,58}[A-Za-z0-9])?")
LENGTH_UNIT = re.compile(r"\s*(cm|mm)\s*")
TEXT_MAX = {"name": 100, "manufacturer": 100, "source": 500}
SOURCE_MIN = 8


@dataclass(frozen=True)
class ApprovedCatheter:
    """A clinic's catheter entry in force (approved by a second clinician), as core.dead_volume
    judges a dead volume against it; `entry` and `version` name the record it was read from."""

    model: str
    name: str
    manufacturer: str
    volume_per_cm: Decimal  # mL/cm
    source: str
    entered_by: str
    approved_by: str
    approved_on: date
    entry: str
    version: int

    def provenance(self) -> str:
        """Where the figure comes from, as every message that uses it says."""
        return (
            f"clinic catheter entry: {self.source} (entered by {self.entered_by}, approved by "
            f"{self.approved_by} on {self.approved_on.isoformat()}; unverified by painpump)"
        )


@dataclass(frozen=True)
class CheckedEntry:
    """An entry's values once accepted: the model's key, its texts trimmed, mL/cm."""

    model: str
    name: str
    manufacturer: str
    volume_per_cm: Decimal
    source: str


def model_key(text: str) -> str:
    """The key a catheter model is kept and looked up by: case and extra spaces ignored."""
    return " ".join(str(text).split()).lower()


def per_cm_text(volume_per_cm: Decimal) -> str:
    """A volume per cm (mL/cm) as painpump prints it, with the same figure in uL/cm."""
    microlitres = volume_per_cm * MICROLITRES
    return f"{format_decimal(volume_per_cm)} mL/cm ({format_decimal(microlitres)} uL/cm)"


def parse_volume_per_cm(text: object, field: str = "volume_per_cm") -> Decimal:
    """A volume per length typed with its units ("2.6 uL/cm", "0.26 uL/mm") in mL/cm."""
    raw = str(text)
    volume_text, slash, length_unit = raw.partition("/")
    if not slash or not LENGTH_UNIT.fullmatch(length_unit):
        raise Refusal(
            field,
            repr(raw),
            f"a volume per length with its units, e.g. {EXAMPLES}",
            INPUT_RULES,
            "is not a volume per cm",
        )
    try:
        volume = parse(volume_text, Kind.VOLUME, field, positive=True)
    except Refusal as refusal:
        raise replace(refusal, value=repr(raw)) from None
    return volume.canonical / parse(f"1 {length_unit.strip()}", Kind.LENGTH, field).canonical


def check_entry(
    *, model: str, name: str, manufacturer: str, volume_per_cm: Decimal, source: str
) -> CheckedEntry:
    """The entry's values, or a Refusal naming the field, the value, the limit and its source: a
    model the catalog holds, a volume per cm outside the plausible range or finer than the
    record keeps, a text missing or too long."""
    key = model_key(model)
    if not MODEL.fullmatch(key):
        raise Refusal(
            "model",
            repr(model),
            "1 to 60 letters, digits, spaces, '.', '_', '/' or '-', starting and ending with a "
            "letter or digit, e.g. 8709SC",
            ENTRY_RULES,
            "is not a catheter model",
        )
    known = catalog.catheters()
    if key in known:
        raise Refusal(
            "model",
            model.strip(),
            f"a catheter the catalog does not hold (it holds {', '.join(sorted(known))})",
            f"{known[key].volume_per_cm_source}; {ENTRY_RULES}",
            "is in the catheter catalog: its sourced figure stands",
        )
    texts = {"name": name, "manufacturer": manufacturer, "source": source}
    for field, text in texts.items():
        _check_text(field, text)
    _check_per_cm(volume_per_cm)
    return CheckedEntry(key, name.strip(), manufacturer.strip(), volume_per_cm, source.strip())


def _check_text(field: str, text: str) -> None:
    trimmed = text.strip()
    most = TEXT_MAX[field]
    least = SOURCE_MIN if field == "source" else 1
    if least <= len(trimmed) <= most and trimmed.isprintable():
        return
    wanted = (
        "the document the figure was read from, e.g. the IFU's number, version and page"
        if field == "source"
        else f"the catheter's {field}"
    )
    raise Refusal(
        field,
        repr(text),
        f"{least} to {most} printable characters: {wanted}",
        ENTRY_RULES,
        "is missing" if not trimmed else "is not allowed",
    )


def _check_per_cm(volume_per_cm: Decimal) -> None:
    typed = per_cm_text(volume_per_cm)
    microlitres = (volume_per_cm * MICROLITRES).normalize()
    exponent = microlitres.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > STORED_PLACES:
        raise Refusal(
            "volume_per_cm",
            typed,
            f"at most {STORED_PLACES} decimal places of a uL/cm (what the clinic's record keeps)",
            ENTRY_RULES,
            "is finer than the record keeps",
        )
    rules = catalog.clinic_catheter_rules()
    low, high = rules.volume_per_cm_min, rules.volume_per_cm_max
    if low.value <= volume_per_cm <= high.value:
        return
    side, limit = ("less", low) if volume_per_cm < low.value else ("more", high)
    raise Refusal(
        "volume_per_cm",
        typed,
        f"{_range(low, high)} (hard limit: no override)",
        limit.source,
        f"is {side} than an intrathecal catheter plausibly holds per cm: a unit or typing slip? "
        "Check the unit (mL or uL) and the length (per cm or per mm)",
    )


def _range(low: SourcedNumber, high: SourcedNumber) -> str:
    unverified = "" if low.verified and high.verified else "clinic settings, unverified: "
    return f"{unverified}{format_decimal(low.value)} to {format_decimal(high.value)} mL/cm"
