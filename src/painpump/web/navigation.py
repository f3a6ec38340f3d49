"""The main navigation: each entry is shown only to the roles whose capability opens its page, so
a nurse never sees a link that would end in "not allowed"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from painpump.clinic.roles import CAPABILITIES, roles_of


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    capability: str
    also: tuple[str, ...] = ()  # further capabilities that open the page


ENTRIES: tuple[Entry, ...] = (
    Entry("Dashboard", "web:dashboard", "patient.read"),
    Entry("Patients", "web:patients", "patient.read"),
    Entry("Calendar", "web:calendar", "patient.read"),
    Entry("Users", "web:users", "users.manage"),
    Entry("Settings", "web:settings", "settings.write"),
    Entry("Audit log", "web:audit", "audit.read"),
    Entry("Drug library", "web:library", "patient.read", also=("library.write",)),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: the entries this user may open, the current one marked."""
    roles = roles_of(request.user)
    if not roles:
        return {"nav": [], "user_roles": []}
    items = []
    for entry in ENTRIES:
        if any(roles & CAPABILITIES[c] for c in (entry.capability, *entry.also)):
            url = reverse(entry.url_name)
            current = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"label": entry.label, "url": url, "current": current})
    return {"nav": items, "user_roles": sorted(role.value for role in roles)}


def landing(request: HttpRequest) -> str | None:
    """Where the dashboard sends a user who may not read patient records (an admin): the first
    page their roles open; None for the clinical roles (and for a user with no page at all)."""
    if roles_of(request.user) & CAPABILITIES["patient.read"]:
        return None
    items: list[dict[str, Any]] = navigation(request)["nav"]
    return str(items[0]["url"]) if items else None
