"""`{{ value|words }}`: a stored code such as "closed_non_responder" as the words it stands for;
`{{ implant.pump_model|pump_name }}`: a pump's catalog key as the catalog names the pump;
`{{ episode.indication|indication }}`: an indication code as its clinical name;
`{{ note|dated }}`: the ISO days in a note the clinic wrote ("moved from 2026-11-30 by a dose
change") written as the app writes days ("Mon 30 Nov 2026")."""

from __future__ import annotations

import re
from datetime import date

from django import template
from django.utils.formats import date_format

from painpump.clinic.models import Indication
from painpump.core import catalog
from painpump.core.errors import Refusal

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
def dated(value: object) -> str:
    return ISO_DAY.sub(_written, str(value))


def _written(match: re.Match[str]) -> str:
    try:
        return date_format(date.fromisoformat(match[1]), "D j M Y")
    except ValueError:  # not a real day (2026-13-45): left as written
        return match[1]
