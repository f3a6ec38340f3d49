"""Each API token against its audited creation: a token row no `token.create` entry records, or
one whose user, prefix or access differs from it (a row inserted in the database for another
user, a read-only token made read-write), was written outside the application; a token whose
audited revocation the database no longer holds was revived there. The API's tokens are read
through the app registry: the clinic layer does not import the API's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps

from painpump.clinic.models import AuditEntry

CREATE = "token.create"
REVOKE = "token.revoke"
OUTSIDE = "a token written outside the application"


@dataclass
class AuditedToken:
    """What the trail records of one token: its creation's `after` and seq, its revocation's
    seq."""

    created: dict[str, object] = field(default_factory=dict)
    created_seq: int | None = None
    revoked_seq: int | None = None


def audited_tokens() -> dict[str, AuditedToken]:
    rows = (
        AuditEntry.objects.filter(action__in=(CREATE, REVOKE), object_type="api_token")
        .order_by("seq")
        .values_list("seq", "action", "object_id", "after")
        .iterator(chunk_size=2000)
    )
    audited: dict[str, AuditedToken] = {}
    for seq, action, object_id, after in rows:
        token = audited.setdefault(object_id, AuditedToken())
        if action == CREATE:
            token.created = dict(after) if isinstance(after, dict) else {}
            token.created_seq = seq
        else:
            token.revoked_seq = seq
    return audited


def compare() -> list[str]:
    """Every token written outside the application, naming its id, prefix and user."""
    audited = audited_tokens()
    model = apps.get_model("api", "ApiToken")
    rows = model._default_manager.order_by("id").values_list(
        "id", "user__username", "prefix", "read_only", "revoked_at"
    )
    problems: list[str] = []
    for token_id, username, prefix, read_only, revoked_at in rows.iterator(chunk_size=2000):
        named = f"api token {token_id} ({prefix}…, {username})"
        trail = audited.get(str(token_id))
        if trail is None or trail.created_seq is None:
            problems.append(
                f"{named}: no `{CREATE}` audit entry records its creation: {OUTSIDE} (it acts "
                f"as {username}; revoke it with `painpump token revoke {token_id}`)"
            )
            continue
        stored = {"user": username, "prefix": prefix, "read_only": read_only}
        problems += [
            f"{named}: {name} is {value!r} in the database, {trail.created.get(name)!r} in its "
            f"audit trail (entry {trail.created_seq}): {OUTSIDE}"
            for name, value in stored.items()
            if trail.created.get(name) != value
        ]
        problems += _revived(named, revoked_at, trail)
    return problems


def _revived(named: str, revoked_at: datetime | None, trail: AuditedToken) -> list[str]:
    if trail.revoked_seq is None or revoked_at is not None:
        return []
    return [
        f"{named}: revoked is False in the database, True in its audit trail (entry "
        f"{trail.revoked_seq}): {OUTSIDE}"
    ]
