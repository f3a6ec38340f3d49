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


ENTRIES: tuple[Entry, ...] = (
    Entry("Dashboard", "web:dashboard", "patient.read"),
    Entry("Patients", "web:patients", "patient.read"),
    Entry("Calendar", "web:calendar", "patient.read"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context: the entries this user may open, the current one marked."""
    roles = roles_of(request.user)
    if not roles:
        return {"nav": [], "user_roles": []}
    items = []
    for entry in ENTRIES:
        if roles & CAPABILITIES[entry.capability]:
            url = reverse(entry.url_name)
            current = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"label": entry.label, "url": url, "current": current})
    return {"nav": items, "user_roles": sorted(role.value for role in roles)}
