"""`{{ assessment|measured }}`: an outcome as it reads, an Ashworth grade as the scale writes it
("1+", stored as 1.5: painpump.core.outcomes), the oral morphine-equivalent dose with its unit,
a pain score as its number."""

from __future__ import annotations

from django import template

from painpump.clinic.models import Assessment
from painpump.core.outcomes import ashworth_label
from painpump.core.units import Q, format_decimal

register = template.Library()


@register.filter
def measured(assessment: Assessment) -> str:
    if assessment.kind == Assessment.Kind.ASHWORTH:
        return ashworth_label(assessment.value)
    if assessment.kind == Assessment.Kind.OMED:
        return str(Q(assessment.value, "mg/day"))
    return format_decimal(assessment.value)
