"""`{{ value|words }}`: a stored code such as "closed_non_responder" as the words it stands for;
`{{ implant.pump_model|pump_name }}`: a pump's catalog key as the catalog names the pump;
`{{ episode.indication|indication }}`: an indication code as its clinical name;
`{{ setting.limited_by|limited_words }}`: what sets a refill-by date, in words (LimitedBy);
`{{ note|dated }}`: the ISO days in a note the clinic wrote ("moved from 2026-11-30 by a dose
change") written as the clinic's pages write days, in its date format with the weekday
(clinic_time.day: "Mon 30.11.2026");
`{{ mismatch|in_units:prescription }}`: a readback's or double-check's entry ({"field",
"entered", "prescribed"}) with each quantity ("00:00 8900 mcg/day") in its drug's unit
(clinic.reads.drug_units); `{{ incident|incident_summary }}`: an incident's words so."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from django import template

from painpump.clinic.models import Incident, Indication, Prescription
from painpump.clinic.reads import drug_units
from painpump.core import catalog
from painpump.core.errors import Refusal
from painpump.core.refill import LimitedBy
from painpump.web.clinic_zone import current_locale
from painpump.web.templatetags.clinic_time import shown_day

register = template.Library()
ISO_DAY = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


@register.filter
def words(value: object) -> str:
    return str(value).replace("_", " ")


@register.filter
def pump_name(model: object) -> str:
    try:
        return catalog.pump(str(model), "pump_model").name
    except Refusal:  # not in the catalog (any more): the key stored is all there is
        return str(model)


@register.filter
def indication(code: object) -> str:
    try:
        return str(Indication(str(code)).label)
    except ValueError:  # an indication no longer offered: the code stored is all there is
        return str(code)


@register.filter
def limited_words(value: object) -> str:
    return LimitedBy(str(value)).words


@register.filter
def dated(value: object) -> str:
    text = str(value)
    if not ISO_DAY.search(text):
        return text
    locale = current_locale()

    def written(match: re.Match[str]) -> str:
        try:
            day = date.fromisoformat(match[1])
        except ValueError:  # not a real day (2026-13-45): left as written
            return match[1]
        return shown_day(day, locale)

    return ISO_DAY.sub(written, text)


@register.filter
def in_units(found: object, prescription: Prescription | None) -> dict[str, str]:
    values = found if isinstance(found, Mapping) else vars(found)
    return drug_units.entry_texts(values, drug_units.principal_of(prescription))


@register.filter
def incident_summary(incident: Incident) -> str:
    return drug_units.incident_summary(incident)
