"""How strong a configured key is (the secret key, the audit key): its length, and an estimate of
its entropy in bits, the characters a guesser could not predict times log2 of the alphabet they
come from. A character is predictable, and counts for nothing, when it continues
- a run (aaa, abc, 987) or a walk along a keyboard row (qwe, asd);
- a three-character sequence seen before (abcabc..., a repeated word), and all of a
  four-character piece seen before, its first characters too (a phrase typed twice counts once);
- a progression of four characters, each a step of at most 3 from the one 1 to 8 places before it
  (aceg, adgj, a1b2c3d4, AaBbCc, 00010203, abc1abd2abe3, aB3$cD4%eF5^gH6&);
- four characters seen before backwards (abcddcba) or in another case (keyKEY), or a copy of four
  earlier ones shifted alike (abcd...bcde).
Compressing with zlib would catch only the repeats: a 32 to 64 character key is too short for it,
and a sequence does not compress. The alphabet is the hexadecimal digits for a hex key, else the
classes its characters are drawn from (digits 10, lower-case 26, upper-case 26, anything else
33). Generated keys pass with room to spare (secrets.token_urlsafe(32): ~280 bits, none of 10,000
under 225; token_urlsafe(48) and openssl rand -base64 48: ~420; openssl rand -hex 32: ~250);
so may phrases of six or more words of varied lengths, as the estimate cannot tell a typed phrase
from random text (six words drawn from a list of 7,776 hold only 78 bits): keys are to be
generated."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from itertools import pairwise

MIN_LENGTH = 32
MIN_BITS = 180
"""32 random letters and digits give 190 bits: the margin lets a chance pattern in a random key
pass (199 such keys in 200 do)."""
RULE = (
    f"at least {MIN_LENGTH} characters and about {MIN_BITS} bits of estimated entropy (no runs, "
    "sequences, repeats or keyboard walks)"
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
    unpredicted = len(key) - len(predicted(key))
    return unpredicted * math.log2(_alphabet(key)) if key else 0.0


def predicted(key: str) -> list[int]:
    """The positions of the characters a guesser predicts from those before them."""
    folded = key.casefold() if len(key.casefold()) == len(key) else key
    steps = "".join(chr((ord(b) - ord(a)) % _CODES) for a, b in pairwise(key))
    seen = _Seen(folded, steps)
    found = {i for i in range(2, len(key)) if _predictable(key, seen, i)}
    return sorted(found | _repeated(folded))


def _repeated(folded: str) -> set[int]:
    """Every character of a SPAN-character piece seen before, its first characters too (a word
    or group typed twice counts once: abcdabcd)."""
    return {
        i + k
        for i in range(1, len(folded) - SPAN + 1)
        if 0 <= folded.find(folded[i : i + SPAN], 0, i + SPAN - 1) < i
        for k in range(SPAN)
    }


def _alphabet(key: str) -> int:
    used = frozenset(key)
    if any(used <= hex_digits for hex_digits in _HEX):
        return 16
    size = sum(count for members, count in _CLASSES if used & members)
    others = used - frozenset(string.ascii_letters + string.digits)
    return size + (_OTHERS if others else 0)


SPAN = 4
"""The characters a progression, a backwards or other-case repeat or a shifted copy takes before
its next one counts as predicted: three would catch a random key's chance patterns too often."""
PROGRESSIONS = tuple((lag, 3) for lag in range(1, 2 * SPAN + 1))
"""(lag, largest step): a character this many places after the one before it in a progression
(up to 2 * SPAN: groups of four stepped along, doubled or not: aB3$cD4%eF5^, aB3$aB3$cD4%cD4%)."""
_CODES = 0x110000
"""Unicode's code points: the step between two characters, modulo this, is one character."""


@dataclass(frozen=True)
class _Seen:
    """The key in lower case (to find a repeat in another case) and the steps between its
    characters, as text (to find a shifted copy, whose steps repeat)."""

    folded: str
    steps: str


def _predictable(key: str, seen: _Seen, i: int) -> bool:
    if key.find(key[i - 2 : i + 1], 0, i) >= 0:
        return True  # a sequence seen before: abcabc
    first, second = ord(key[i - 1]) - ord(key[i - 2]), ord(key[i]) - ord(key[i - 1])
    if first == second and abs(second) <= 1:
        return True  # a run: aaa, abc, 987
    return _walk(key[i - 2 : i + 1]) or (i >= SPAN - 1 and _patterned(key, seen, i))


def _walk(three: str) -> bool:
    """Three keys along a keyboard row: qwe, asd, ;lk."""
    before, last, this = (_KEYS.get(ch) for ch in three)
    if before is None or last is None or this is None:
        return False
    step = this[1] - last[1]
    return before[0] == last[0] == this[0] and last[1] - before[1] == step and abs(step) == 1


def _patterned(key: str, seen: _Seen, i: int) -> bool:
    """The character ends a progression, a backwards or other-case repeat or a shifted copy."""
    last = seen.folded[i - SPAN + 1 : i + 1]
    if seen.folded.find(last, 0, i) >= 0 or seen.folded.find(last[::-1], 0, i) >= 0:
        return True  # keyKEY, abcddcba
    for lag, largest in PROGRESSIONS:
        if i >= (SPAN - 1) * lag:
            steps = {ord(key[i - k * lag]) - ord(key[i - (k + 1) * lag]) for k in range(SPAN - 1)}
            if len(steps) == 1 and abs(steps.pop()) <= largest:
                return True  # aceg, a1b2c3d4, AaBbCc
    # A shifted copy (abcd...bcde): the steps into the last SPAN characters, SPAN places or more
    # before.
    earlier = i - SPAN
    return earlier > 0 and seen.steps.find(seen.steps[i - SPAN + 1 : i], 0, earlier) >= 0
