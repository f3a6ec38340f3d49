"""`{% if user|may:"pathway.decide" %}`: a page offers a form or link only to the roles whose
capability the clinic service will accept (the service still checks; this only spares a user
a button that would end in "not allowed")."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser, User

from painpump.clinic.roles import CAPABILITIES, roles_of

register = template.Library()


@register.filter
def may(user: User | AnonymousUser, capability: str) -> bool:
    return bool(roles_of(user) & CAPABILITIES.get(capability, frozenset()))
