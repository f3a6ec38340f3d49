"""Roles of the clinic team and what each may do. A user's roles are Django groups of these
names; services check a capability before they change or show anything."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User


class Role(StrEnum):
    PHYSICIAN = "physician"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Forbidden(Exception):
    """The user's roles do not grant the capability; nothing was changed or shown."""

    def __init__(self, user: str, capability: str) -> None:
        allowed = ", ".join(sorted(role.value for role in CAPABILITIES.get(capability, ())))
        super().__init__(
            f"{user} may not {ACTIONS.get(capability, capability)} ({capability}: "
            f"{allowed or 'no role'})"
        )
        self.user = user
        self.capability = capability


CAPABILITIES: dict[str, frozenset[Role]] = {
    "patient.read": frozenset(Role) - {Role.ADMIN},
    "patient.write": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "episode.write": frozenset({Role.PHYSICIAN}),
    "assessment.write": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "pathway.decide": frozenset({Role.PHYSICIAN}),
    "program.prescribe": frozenset({Role.PHYSICIAN}),
    "refill.perform": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "change.verify": frozenset({Role.PHYSICIAN, Role.PHARMACIST}),
    "appointment.write": frozenset({Role.PHYSICIAN, Role.NURSE}),
    "library.read": frozenset(Role),
    "library.write": frozenset({Role.PHARMACIST, Role.ADMIN}),
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
    "program.prescribe": "change the prescribed dose",
    "refill.perform": "perform refills",
    "change.verify": "verify another clinician's change",
    "appointment.write": "change appointments",
    "library.read": "read the drug library and the device catalog",
    "library.write": "edit the drug library",
    "users.manage": "manage users",
    "settings.write": "change the clinic settings",
    "audit.read": "read the audit trail",
}


def roles_of(user: User | AnonymousUser) -> frozenset[Role]:
    if not user.is_authenticated:
        return frozenset()
    names = set(user.groups.values_list("name", flat=True))
    return frozenset(role for role in Role if role.value in names)


def require(user: User | AnonymousUser, capability: str) -> str:
    """The user's name when one of their roles grants `capability`; otherwise Forbidden."""
    name = user.get_username() if user.is_authenticated else "anonymous"
    if not roles_of(user) & CAPABILITIES[capability]:
        raise Forbidden(name, capability)
    return name
