"""How strong a configured key is (the secret key, the audit key): its length, and an estimate of
its entropy in bits, the characters a guesser could not predict times log2 of the alphabet they
come from. A character continuing a run (aaa, abc, 987), a walk along a keyboard row (qwe, asd) or
a three-character sequence already seen (abcabc...) is predictable and counts for nothing; the
alphabet is the hexadecimal digits for a hex key, else the classes its characters are drawn from
(digits 10, lower-case 26, upper-case 26, anything else 33). Generated keys pass with room to spare
(secrets.token_urlsafe(48): ~380 bits, openssl rand -base64 48: ~380, openssl rand -hex 32: ~250);
the estimate cannot tell a typed phrase from random text, so keys are to be generated."""

from __future__ import annotations

import math
import string

MIN_LENGTH = 32
MIN_BITS = 180
"""32 random letters and digits give 190 bits: the margin lets chance runs in a random key pass."""
RULE = (
    f"at least {MIN_LENGTH} characters and about {MIN_BITS} bits of estimated entropy (no runs, "
    "repeats or keyboard walks)"
)
GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"

_HEX = (frozenset(string.digits + "abcdef"), frozenset(string.digits + "ABCDEF"))
_CLASSES = (
    (frozenset(string.digits), 10),
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
)
_OTHERS = 33
"""ASCII punctuation and the space; any other character counts as one of these."""
_ROWS = (
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "~!@#$%^&*()_+",
    "QWERTYUIOP{}|",
    'ASDFGHJKL:"',
    "ZXCVBNM<>?",
)
_KEYS = {ch: (row % 4, column) for row, keys in enumerate(_ROWS) for column, ch in enumerate(keys)}
"""Each key's row and column on a US keyboard, shifted or not."""


def strong_enough(key: str) -> bool:
    key = key.strip()
    return len(key) >= MIN_LENGTH and estimated_bits(key) >= MIN_BITS


def estimated_bits(key: str) -> float:
    unpredicted = sum(1 for i in range(len(key)) if not _predictable(key, i))
    return unpredicted * math.log2(_alphabet(key)) if key else 0.0


def _alphabet(key: str) -> int:
    used = frozenset(key)
    if any(used <= hex_digits for hex_digits in _HEX):
        return 16
    size = sum(count for members, count in _CLASSES if used & members)
    others = used - frozenset(string.ascii_letters + string.digits)
    return size + (_OTHERS if others else 0)


def _predictable(key: str, i: int) -> bool:
    if i < 2:
        return False
    if key.find(key[i - 2 : i + 1], 0, i) >= 0:
        return True  # a sequence seen before: abcabc
    first, second = ord(key[i - 1]) - ord(key[i - 2]), ord(key[i]) - ord(key[i - 1])
    if first == second and abs(second) <= 1:
        return True  # a run: aaa, abc, 987
    before, last, this = (_KEYS.get(ch) for ch in key[i - 2 : i + 1])
    if before is None or last is None or this is None:
        return False
    step = this[1] - last[1]
    return before[0] == last[0] == this[0] and last[1] - before[1] == step and abs(step) == 1
