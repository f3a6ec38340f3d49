"""`{{ value|words }}`: a stored code such as "closed_non_responder" as the words it stands for."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def words(value: object) -> str:
    return str(value).replace("_", " ")
