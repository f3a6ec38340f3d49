"""The field paths of core and the services ("program.days.mon[0].dose",
"concentrations.morphine") as the web forms label their entries ("Monday, step 1, dose",
"Morphine concentration"): a refusal on a web page names its field so, while the API and the
command line keep the paths. A path not known here is shown as it is."""

from __future__ import annotations

import re
from dataclasses import replace

from painpump.core import catalog
from painpump.core import prescription as rx
from painpump.core.errors import Refusal

WEEKDAY_NAMES = dict(
    zip(
        rx.WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
ORDINALS = ("first", "second", "third")
"""The drugs of a prescription, the principal first (at most three)."""
LABELS = {
    "drugs": "Drug",
    "concentrations": "Concentrations",
    "program": "Program",
    "program.kind": "Program",
    "program.days": "Steps by weekday",
    "program.highest_step": "Highest flex step",
    "program.bolus": "Single bolus",
    "program.bolus.dose": "Single bolus dose",
    "program.bolus.duration": "Duration of the single bolus",
    "ptm": "Patient bolus (PTM)",
    "ptm.dose": "Patient bolus dose",
    "ptm.duration": "Bolus duration",
    "ptm.lockout": "Lockout",
    "ptm.max_per_day": "Boluses a day at most",
    "fluid_change": "When this fluid replaces the one in the pump",
    "fluid_change.volume": "Bridge or priming bolus volume",
    "fluid_change.rate": "Bridge rate",
    "reservoir": "Reservoir volume",
}
STEP_PARTS = {"days": "days", "start": "start (HH:MM)", "dose": "dose"}
DAY_STEP = re.compile(r"program\.days\.([a-z]{3})(?:\[(\d{1,3})\](?:\.(start|dose))?)?")
FORM_STEP = re.compile(r"steps\[(\d{1,3})\](?:\.(days|start|dose))?")
DRUG = re.compile(r"(?:drugs|concentrations)\[(\d)\](\.concentration)?")
NAMED_DRUG = re.compile(r"(?:drugs|concentrations)\.([a-z]+)")
PATH = re.compile(
    r"\b(?:program\.[a-z_]+(?:\.[a-z_]+)?(?:\[\d{1,3}\](?:\.[a-z]+)?)?"
    r"|steps\[\d{1,3}\](?:\.[a-z]+)?"
    r"|(?:drugs|concentrations)(?:\[\d\](?:\.concentration)?|\.[a-z]+)"
    r"|(?:ptm|fluid_change)\.[a-z_]+)(?![\w\[])(?!\.\w)"
)
"""A field path inside a sentence (a refusal's problem: "(so do program.days.tue, ptm.dose)");
a bare word ("dose", "ptm") is left alone, it may be prose."""


def field_label(path: str) -> str:
    """The entry `path` names, as a web form labels it; unknown paths as they are."""
    if path in LABELS:
        return LABELS[path]
    if found := DAY_STEP.fullmatch(path):
        day, index, part = found.groups()
        if day not in WEEKDAY_NAMES:
            return path
        if index is None:
            return f"Steps on {WEEKDAY_NAMES[day]}"
        step = f"{WEEKDAY_NAMES[day]}, step {int(index) + 1}"
        return f"{step}, {part}" if part else step
    if found := FORM_STEP.fullmatch(path):
        index, part = found.groups()
        row = f"Step {int(index) + 1}"
        return f"{row}: {STEP_PARTS[part]}" if part else row
    if (found := DRUG.fullmatch(path)) and int(found.group(1)) < len(ORDINALS):
        drug = f"{ORDINALS[int(found.group(1))]} drug"
        return f"Concentration of the {drug}" if found.group(2) else drug.capitalize()
    if (found := NAMED_DRUG.fullmatch(path)) and found.group(1) in catalog.drugs():
        return f"{found.group(1).capitalize()} concentration"
    return path


def labels_in(text: str) -> str:
    """`text` with each field path it names (field_label knows) as the forms label it."""
    return PATH.sub(lambda found: field_label(found.group(0)), text)


def labelled(refusal: Refusal) -> Refusal:
    """`refusal` as a page shows it when no form entry carries it: its field and the paths its
    problem names as the forms label them."""
    return replace(refusal, field=field_label(refusal.field), problem=labels_in(refusal.problem))
