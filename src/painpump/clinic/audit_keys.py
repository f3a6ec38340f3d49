"""The keys of the audit trail: the entries' keyed hashes (HMAC-SHA256) and the checkpoints'
signatures. Keys come from the settings (the environment or a key file), never the database, so
an insider who can write the database cannot recompute the chain. Each key is known by its id (a
hash of the key, which reveals nothing of it); a rotation moves the chain to a new key with an
`audit.key_rotate` entry, and the keys rotated out stay known for verifying older entries."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

UNKEYED = "unkeyed-sha256"
"""The key id of the plain SHA-256 chain painpump wrote before its chain was keyed: accepted only
for the oldest entries, sealed by a keyed `audit.key_rotate` entry after them."""

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes  # empty for UNKEYED

    def digest(self, purpose: str, fields: dict[str, Any]) -> str:
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
        if not self.secret:
            return hashlib.sha256(text.encode("utf-8")).hexdigest()
        message = f"painpump audit {purpose}\n{text}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def key_id(secret: str) -> str:
    return hashlib.sha256(f"painpump audit key id\n{secret}".encode()).hexdigest()[:16]


@cache
def _key(secret: str) -> AuditKey:
    return AuditKey(key_id(secret), secret.encode("utf-8"))


def require_key() -> AuditKey:
    """The configured audit key; refuses (ImproperlyConfigured) when none is set."""
    secret: str = settings.PAINPUMP_AUDIT_KEY
    if not secret:
        raise ImproperlyConfigured(
            "PAINPUMP_AUDIT_KEY (or PAINPUMP_AUDIT_KEY_FILE) must hold the audit trail's key, a "
            f"random secret of at least 32 characters (e.g. {GENERATE}); painpump writes no "
            "audit entry without it and has no default (docs/security.md)"
        )
    return _key(secret)


def known_keys() -> dict[str, AuditKey]:
    """Every key an entry or a checkpoint may carry, by id, in the order to try them: the
    configured one, the retired ones, and the unkeyed digest of the oldest entries."""
    current = require_key()
    found = {current.id: current}
    for secret in settings.PAINPUMP_AUDIT_RETIRED_KEYS:
        found.setdefault(key_id(secret), _key(secret))
    found[UNKEYED] = AuditKey(UNKEYED, b"")
    return found
