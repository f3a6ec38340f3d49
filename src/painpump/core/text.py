"""Text a person types into a record (a name, a lot, a serial): trimmed, NFC-normalised, bounded,
and free of characters that do not show as themselves (control, format and default-ignorable
characters, line breaks, spaces but the plain one), so that no name can hide characters or
display as another (a right-to-left override makes "Anna" read backwards; a combining grapheme
joiner inside "Becker" shows as "Becker" and is not found by it)."""

from __future__ import annotations

import unicodedata

from painpump.core.errors import Refusal

TEXT_RULES = "painpump input rules: printable text, no control, format or invisible characters"
LIMIT = (
    "printable characters after NFC normalisation: no control, format, unassigned or "
    "default-ignorable character, line break, blank pattern or space but U+0020"
)
ASCII_BLANKS = " \t\n\r\f\v"
"""What is trimmed from the ends of typed text; any other space there is refused, not dropped."""
HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
"""Unicode categories that do not show as themselves: control, format (bidirectional overrides,
zero-width), surrogates, private use and unassigned."""
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
"""Unicode's default-ignorable code points (Default_Ignorable_Code_Point in the Unicode Character
Database's DerivedCoreProperties.txt), first and last of each range: shown as nothing whatever
their category (the combining grapheme joiner, variation selectors and the Hangul fillers are
marks and letters)."""
BLANK_LOOKING = frozenset("\u2800")
"""Characters drawn as blank that are neither spaces nor default-ignorable (the blank Braille
pattern)."""
UNDECODABLE = "\ufffd"
"""What the server reads for bytes that are no UTF-8 (a lone surrogate sent in a web form): never
what was meant, so it is refused like the hidden characters."""


def plain_text(value: object, field: str, max_length: int, source: str = TEXT_RULES) -> str:
    """The text trimmed, 1 to `max_length` characters, with no hidden characters; refused naming
    the field, the value escaped and the first hidden character otherwise (`source`: the rules
    the length is in). Decomposed accents (e and U+0301) are composed, and pass."""
    typed = str(value or "").strip(ASCII_BLANKS)
    text = unicodedata.normalize("NFC", typed)
    if not text or len(text) > max_length:
        raise Refusal(
            field, repr(value), f"1 to {max_length} characters", source, "is empty or too long"
        )
    for ch in text:
        kind = unseen(ch)
        if kind is not None:
            raise Refusal(
                field, escaped(typed), LIMIT, TEXT_RULES, f"holds {described(ch)}, {kind}"
            )
    return text


def unseen(ch: str) -> str | None:
    """What kind of character `ch` is if it does not show as itself in a name, else None."""
    category = unicodedata.category(ch)
    if category in HIDDEN or ch == UNDECODABLE:
        return "a control or format character"
    if invisible(ch):
        return "an invisible (default-ignorable or blank) character"
    if category in {"Zl", "Zp"}:
        return "a line or paragraph separator"
    if category == "Zs" and ch != " ":
        return "a space other than the plain space (U+0020)"
    return None


def invisible(ch: str) -> bool:
    """Whether `ch` is drawn as nothing or as blank: default-ignorable or blank-looking."""
    point = ord(ch)
    return ch in BLANK_LOOKING or any(low <= point <= high for low, high in DEFAULT_IGNORABLE)


def described(ch: str) -> str:
    """A character by its code point and name: `U+041E (CYRILLIC CAPITAL LETTER O)`."""
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')})"


def escaped(text: str) -> str:
    """`text` with every character but printable ASCII written as a \\u escape (\\U beyond
    U+FFFF) and the backslash doubled, so an invisible or look-alike character shows."""
    return "".join(_escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if " " <= ch <= "~":
        return ch
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
