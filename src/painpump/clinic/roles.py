"""Roles of the clinic team and what each may do. A user's roles are Django groups of these
names; services check a capability before they change or show anything."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User
from django.db.models.signals import m2m_changed
from django.dispatch import receiver


class Role(StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Forbidden(Exception):
    """The user's roles do not grant the capability, or (with a `reason`) the user may not use it
    on this record (four eyes: not on their own change; `doing` then says what, in words, where
    the roles are not why); nothing was changed or shown."""

    def __init__(self, user: str, capability: str, reason: str = "", *, doing: str = "") -> None:
        message = f"{user} may not {doing or ACTIONS.get(capability, capability)}"
        if capability in CAPABILITIES and not doing:
            message += f": {who_may(capability) or 'no role'} may ({capability})"
        super().__init__(f"{message}: {reason}" if reason else message)
        self.user = user
        self.capability = capability
        self.reason = reason


CAPABILITIES: dict[str, frozenset[Role]] = {
    "patient.read": frozenset(Role) - {Role.ADMIN},
    "patient.write": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "episode.write": frozenset({Role.PHYSICIAN}),
    "assessment.write": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "pathway.decide": frozenset({Role.PHYSICIAN}),
    "program.prescribe": frozenset({Role.PHYSICIAN}),
    "refill.perform": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "change.verify": frozenset({Role.PHYSICIAN, Role.PHARMACIST}),
    "prescription.check": frozenset({Role.PHYSICIAN, Role.PHARMACIST}),
    "incident.close": frozenset({Role.PHYSICIAN}),
    "appointment.write": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "library.read": frozenset(Role),
    "library.write": frozenset({Role.PHARMACIST, Role.ADMIN}),
    "library.approve": frozenset({Role.PHARMACIST, Role.PHYSICIAN}),
    "library.harden": frozenset({Role.PHARMACIST}),
    "users.manage": frozenset({Role.ADMIN}),
    "settings.write": frozenset({Role.ADMIN}),
    "audit.read": frozenset({Role.AUDITOR, Role.ADMIN}),
}


ACTIONS: dict[str, str] = {
    "patient.read": "read patient records",
    "patient.write": "create or edit patient records",
    "episode.write": "open an episode of care",
    "assessment.write": "record assessments, screening boluses or alarms",
    "pathway.decide": "take pathway decisions",
    "program.prescribe": "prescribe (drug, concentration, program, patient boluses)",
    "refill.perform": "perform refills",
    "change.verify": "verify another clinician's change",
    "prescription.check": "double-check another clinician's prescription",
    "incident.close": "close an incident",
    "appointment.write": "change appointments",
    "library.read": "read the drug library and the device catalog",
    "library.write": "edit the drug library",
    "library.approve": (
        "approve a change to the clinic's library someone else made (a hard limit, a catheter "
        "figure)"
    ),
    "library.harden": "set or change a hard drug-library limit (a pharmacist's library change)",
    "users.manage": "manage users",
    "settings.write": "change the clinic settings",
    "audit.read": "read the audit trail",
}


ARTICLES = {Role.ADMIN: "an", Role.AUDITOR: "an"}


def who_may(capability: str) -> str:
    """Who may use `capability`, in words for a refusal ("a physician", "a physician or a
    pharmacist"); empty when no role may."""
    named = [
        f"{ARTICLES.get(role, 'a')} {role.value}"
        for role in Role
        if role in CAPABILITIES.get(capability, ())
    ]
    return " or ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)


ROLES_CACHE = "_painpump_roles"
"""The attribute that keeps a user object's roles once read: a page asks for them several times
(every capability check, every button it offers) and the user object lives for one request, as
Django keeps a user's permissions (ModelBackend's _perm_cache)."""


def roles_of(user: User | AnonymousUser) -> frozenset[Role]:
    if not user.is_authenticated:
        return frozenset()
    known: frozenset[Role] | None = getattr(user, ROLES_CACHE, None)
    if known is None:
        names = set(user.groups.values_list("name", flat=True))
        known = frozenset(role for role in Role if role.value in names)
        setattr(user, ROLES_CACHE, known)
    return known


@receiver(m2m_changed, sender=User.groups.through)
def _forget_roles(sender: object, instance: object, **kwargs: object) -> None:
    """A user's groups changed through this object (user.groups.add/set/remove/clear): its roles are
    read again. (painpump changes roles only this way, clinic.actions.users; a change made through a
    group, group.user_set, reaches a user object read before it with its next request.)"""
    if isinstance(instance, User):
        instance.__dict__.pop(ROLES_CACHE, None)


def may(user: User | AnonymousUser, capability: str) -> bool:
    """Whether one of the user's roles grants `capability` (a page offers the form; the service
    still requires it when it is sent)."""
    return bool(roles_of(user) & CAPABILITIES[capability])


def require(user: User | AnonymousUser, capability: str) -> str:
    """The user's name when one of their roles grants `capability`; otherwise Forbidden."""
    name = user.get_username() if user.is_authenticated else "anonymous"
    if not may(user, capability):
        raise Forbidden(name, capability)
    return name
