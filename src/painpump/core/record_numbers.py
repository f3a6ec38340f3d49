"""Medical record numbers (rule-record-number): after NFKC normalisation only ASCII letters,
digits, '-', '/' and '.', so that none can hold a look-alike (a Cyrillic О, a non-breaking
hyphen) or an invisible character; and the skeleton by which a new number is compared with the
existing ones, so that none can be taken for another."""

from __future__ import annotations

import re
import unicodedata

from painpump.core.errors import Refusal
from painpump.core.text import HIDDEN, described, escaped, invisible

RULE = "rule-record-number: painpump's rule for record numbers"
MAX_LENGTH = 40
CHARACTERS = "ASCII letters, digits, '-', '/' and '.'"
LIMIT = (
    f"1 to {MAX_LENGTH} characters after NFKC normalisation: {CHARACTERS}, beginning and "
    "ending with a letter or digit"
)
ALLOWED = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9./-]*[A-Za-z0-9])?")
SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/.")

LOOK_ALIKES = str.maketrans(
    {
        # Within ASCII, case folded (confusables in the sense of Unicode Technical Standard #39):
        "0": "o",
        "1": "l",
        "i": "l",
        "|": "l",
        "2": "z",
        "5": "s",
        "6": "g",
        "8": "b",
        # Separators, doubled or left out alike ('_' in a username); dashes and hyphens (the
        # non-breaking hyphen, the minus sign) with them. Each is '-' until the leading zeros
        # are dropped:
        **dict.fromkeys("./_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58", "-"),
        # Cyrillic and Greek letters drawn like Latin ones, lower case (casefolded first):
        # (each mapped to what its Latin twin maps to: і and ι to l, like i)
        **dict(zip("авекмнорстухіјѕһԁӏԛԝ", "abekmhopctyxljshdlqw", strict=True)),
        **dict(zip("αβεζηικμνορτυχ", "abezhlkmnoptyx", strict=True)),
    }
)
"""Characters a reader takes for others, each mapped to the one it is taken for."""
PAIRS = {"rn": "m", "nn": "m", "vv": "w", "cl": "d"}
"""Two letters a reader takes for one ("DERNO" for "DEMO", "VV" for "W"), folded left to right
after the look-alikes (so "c1" and "CI" read as "d" too)."""
PAIR = re.compile("|".join(PAIRS))
LEADING_ZEROS = re.compile("(?<![olzsgb3479])[o-]*o[o-]*(?=[lzsgb3479])")
"""Zeros (or letters read as zeros, "o" once the look-alikes are mapped) that begin a run of
digits, with the separators among them: "DEMO-000012" reads as "DEMO-12", and so, separators
aside, as "DEMO000012" and "DEM-12". Zeros after a digit or a letter read as one stay ("1001",
"B001" as "8001"), and so do zeros no digit follows ("MRN-0")."""
UNSEEN = HIDDEN | {"Mn", "Me"}
"""What a skeleton drops: characters that do not show, and marks that did not combine (and the
default-ignorable and blank ones whatever their category: painpump.core.text.invisible)."""


def record_number(value: object, field: str = "mrn") -> str:
    """The record number typed, trimmed and NFKC-normalised (fullwidth digits become ASCII
    digits); refused naming the field, the value escaped and the first character outside the
    rule."""
    typed = str(value or "").strip()
    number = unicodedata.normalize("NFKC", typed).strip()
    if not number or len(number) > MAX_LENGTH:
        raise Refusal(field, escaped(typed), LIMIT, RULE, "is empty or too long")
    if ALLOWED.fullmatch(number):
        return number
    outside = next((ch for ch in typed if not set(unicodedata.normalize("NFKC", ch)) <= SAFE), None)
    problem = (
        "does not begin and end with a letter or digit"
        if outside is None
        else f"holds {described(outside)}, not allowed in a record number"
    )
    raise Refusal(field, escaped(typed), LIMIT, RULE, problem)


def skeleton(number: str) -> str:
    """What a reader sees in `number`: case folded, invisible characters and separators ('-',
    '.', '/', '_') dropped, digits of every script as ASCII digits, look-alikes (0/O, 1/l/I, 2/Z,
    5/S, 6/G, 8/B, Cyrillic and Greek twins) mapped to one of each kind, the leading zeros of a
    run of digits dropped, and pairs read as one letter (rn and nn/m, vv/w, cl/d) folded. Two
    record numbers with the same skeleton can be taken for each other."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", number).casefold())
    if not folded.isascii():
        folded = "".join(_seen(ch) for ch in folded)
    unzeroed = LEADING_ZEROS.sub("", folded.translate(LOOK_ALIKES)).replace("-", "")
    return PAIR.sub(lambda pair: PAIRS[pair.group()], unzeroed)


def _seen(ch: str) -> str:
    if unicodedata.category(ch) in UNSEEN or invisible(ch):
        return ""
    digit = unicodedata.decimal(ch, None)
    return ch if digit is None else str(digit)
