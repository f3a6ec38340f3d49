"""Text a person types into a record (a name, a record number): trimmed, bounded, and free of
control and format characters, so that no name can hide characters or display as another
(a right-to-left override makes "Anna" read backwards)."""

from __future__ import annotations

import unicodedata

from painpump.core.errors import Refusal

TEXT_RULES = "painpump input rules: printable text, no control or format characters"
HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
"""Unicode categories that do not show as themselves: control, format (bidirectional overrides,
zero-width), surrogates, private use and unassigned."""
UNDECODABLE = "\ufffd"
"""What the server reads for bytes that are no UTF-8 (a lone surrogate sent in a web form): never
what was meant, so it is refused like the hidden characters."""


def plain_text(value: object, field: str, max_length: int, source: str = TEXT_RULES) -> str:
    """The text trimmed, 1 to `max_length` characters, with no hidden characters; refused naming
    the field, the value escaped and the first hidden character otherwise (`source`: the rules
    the length is in)."""
    text = str(value or "").strip()
    if not text or len(text) > max_length:
        raise Refusal(
            field, repr(value), f"1 to {max_length} characters", source, "is empty or too long"
        )
    for ch in text:
        if unicodedata.category(ch) in HIDDEN or ch == UNDECODABLE:
            raise Refusal(
                field,
                escaped(text),
                "printable characters only",
                TEXT_RULES,
                f"holds {described(ch)}, a control or format character",
            )
    return text


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
