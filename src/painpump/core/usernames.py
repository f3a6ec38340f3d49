"""Usernames of new accounts: after NFKC normalisation only ASCII letters, digits, '.', '-', '_'
and '@', so that none can hold a look-alike (a Cyrillic с in "physiсian") or an invisible
character (a Hangul filler); a new one is compared with the existing ones by the record numbers'
skeleton (painpump.core.record_numbers.skeleton), so that the audit trail never shows one account
as another."""

from __future__ import annotations

import re
import unicodedata

from painpump.core.errors import Refusal
from painpump.core.text import described, escaped

RULE = (
    "painpump user rules: a new username in ASCII after NFKC normalisation, none a reader could "
    "take for another account's (the skeleton of rule-record-number)"
)
MAX_LENGTH = 150
CHARACTERS = "ASCII letters, digits, '.', '-', '_' and '@'"
LIMIT = f"1 to {MAX_LENGTH} characters after NFKC normalisation: {CHARACTERS}"
LOOK_ALIKE_LIMIT = (
    "a username no reader could take for an existing account's (case, separators, look-alike "
    "and invisible characters and leading zeros aside)"
)
ALLOWED = re.compile(r"[A-Za-z0-9._@-]+")
SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-")


def username(value: object, field: str = "username") -> str:
    """The username typed, trimmed and NFKC-normalised (a fullwidth digit becomes an ASCII digit);
    refused naming the field, the value escaped and the first character outside the rule."""
    typed = str(value or "").strip()
    name = unicodedata.normalize("NFKC", typed).strip()
    if not name or len(name) > MAX_LENGTH:
        raise Refusal(field, escaped(typed), LIMIT, RULE, "is empty or too long")
    if ALLOWED.fullmatch(name):
        return name
    outside = next((ch for ch in typed if not set(unicodedata.normalize("NFKC", ch)) <= SAFE), None)
    shown = "a character" if outside is None else described(outside)
    raise Refusal(
        field, escaped(typed), LIMIT, RULE, f"holds {shown}, which a username cannot hold"
    )
