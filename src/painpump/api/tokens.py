"""API tokens for programs: random, prefixed `pp_`, shown once at creation and stored only as a
keyed hash (HMAC-SHA256 with the secret key, as painpump.plumbing.hashed_sessions stores
sessions), so a row written in the database without the key matches no token; read-only or
read-write; revocable. Creating and revoking one is audited (and `painpump audit verify` compares
every token with its creation: painpump.clinic.audit_tokens)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.crypto import salted_hmac

from painpump import clock
from painpump.api.models import ApiToken
from painpump.clinic import audit
from painpump.core.errors import Refusal

PREFIX = "pp_"
RULES = "painpump API token rules"


def digest(token: str) -> str:
    """The stored form of a token. A token stored before it was keyed (its plain SHA-256) no
    longer matches: it is refused, and its user creates a new one."""
    return salted_hmac(__name__, token, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just created: `secret` is the only copy of the token and is not stored."""

    record: ApiToken
    secret: str


@transaction.atomic
def create(username: str, *, read_only: bool, name: str = "", actor: str = "cli") -> NewToken:
    """A new token for an active user (refused for an unknown or inactive user)."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise Refusal("user", username, "an active user", RULES, "is not an active user")
    secret = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[: len(PREFIX) + 8],
        digest=digest(secret),
        read_only=read_only,
    )
    audit.record(
        actor,
        "token.create",
        "api_token",
        record.id,
        after={"user": username, "prefix": record.prefix, "read_only": read_only},
    )
    return NewToken(record, secret)


@transaction.atomic
def revoke(token_id: int, *, actor: str = "cli") -> ApiToken:
    record = ApiToken.objects.select_for_update().filter(id=token_id).first()
    if record is None:
        raise Refusal("token", str(token_id), "the id of an existing token", RULES, "is unknown")
    if record.revoked_at is None:
        record.revoked_at = clock.now()
        record.save(update_fields=["revoked_at"])
        audit.record(
            actor,
            "token.revoke",
            "api_token",
            record.id,
            before={"revoked": False},
            after={"revoked": True, "prefix": record.prefix},
        )
    return record


def user_for(secret: str) -> tuple[User, ApiToken] | None:
    """The active user and token a presented secret belongs to; None when it is unknown, revoked
    or its user is inactive."""
    if not secret.startswith(PREFIX):
        return None
    record = (
        ApiToken.objects.select_related("user")
        .filter(digest=digest(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if record is None:
        return None
    return record.user, record
