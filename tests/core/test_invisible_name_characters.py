"""Regression (eighth outside attack, M3): family names holding a combining grapheme joiner, a
variation selector, the Hangul fillers, a blank Braille pattern or a line separator passed the
name rule ("Bec\\u034fker" shows as "Becker" and a search for Becker does not find it). Every
default-ignorable code point, line and paragraph separators, blank-looking characters and every
space but U+0020 are refused naming the character; names are NFC-normalised first, so that a
decomposed accent still passes. Lots, serials and account names share the rule."""

from __future__ import annotations

import unicodedata

import pytest

from painpump.core.errors import Refusal
from painpump.core.record_numbers import skeleton
from painpump.core.text import DEFAULT_IGNORABLE, TEXT_RULES, plain_text


def refused(typed: str, field: str = "family_name") -> Refusal:
    with pytest.raises(Refusal) as caught:
        plain_text(typed, field, 120)
    assert caught.value.field == field
    assert caught.value.source == TEXT_RULES
    return caught.value


@pytest.mark.parametrize(
    ("typed", "shown", "character"),
    [
        ("Bec\u034fker", "Bec\\u034fker", "U+034F (COMBINING GRAPHEME JOINER)"),
        ("Becker\ufe0f", "Becker\\ufe0f", "U+FE0F (VARIATION SELECTOR-16)"),
        ("Bec\u3164ker", "Bec\\u3164ker", "U+3164 (HANGUL FILLER)"),
        ("Bec\u115fker", "Bec\\u115fker", "U+115F (HANGUL CHOSEONG FILLER)"),
        ("Bec\u2800ker", "Bec\\u2800ker", "U+2800 (BRAILLE PATTERN BLANK)"),
        ("Bec\u2028ker", "Bec\\u2028ker", "U+2028 (LINE SEPARATOR)"),
        ("Bec\u00adker", "Bec\\u00adker", "U+00AD (SOFT HYPHEN)"),
        ("Bec\u180eker", "Bec\\u180eker", "U+180E (MONGOLIAN VOWEL SEPARATOR)"),
        ("Becker\U000e0041", "Becker\\U000e0041", "U+E0041 (TAG LATIN CAPITAL LETTER A)"),
    ],
    ids=[
        "combining-grapheme-joiner",
        "variation-selector",
        "hangul-filler",
        "hangul-choseong-filler",
        "blank-braille",
        "line-separator",
        "soft-hyphen",
        "mongolian-vowel-separator",
        "tag-letter",
    ],
)
def test_regression_each_invisible_character_of_the_attack_is_refused_naming_it(
    typed: str, shown: str, character: str
) -> None:
    refusal = refused(typed)
    assert refusal.value == shown
    assert refusal.problem.startswith(f"holds {character}, ")


@pytest.mark.parametrize(
    ("ch", "kind"),
    [
        ("\u2029", "a line or paragraph separator"),
        ("\u00a0", "a space other than the plain space (U+0020)"),
        ("\u3000", "a space other than the plain space (U+0020)"),
        ("\u2007", "a space other than the plain space (U+0020)"),
        ("\u1680", "a space other than the plain space (U+0020)"),
        ("\u1160", "an invisible (default-ignorable or blank) character"),
        ("\uffa0", "an invisible (default-ignorable or blank) character"),
        ("\u17b4", "an invisible (default-ignorable or blank) character"),
        ("\u180b", "an invisible (default-ignorable or blank) character"),
        ("\U000e0100", "an invisible (default-ignorable or blank) character"),
        ("\U0001d173", "a control or format character"),
    ],
)
def test_separators_other_spaces_and_invisible_letters_and_marks_are_refused_naming_the_kind(
    ch: str, kind: str
) -> None:
    refusal = refused(f"Anna{ch}Maria", "given_name")
    assert refusal.problem == f"holds U+{ord(ch):04X} ({unicodedata.name(ch)}), {kind}"


def test_every_default_ignorable_code_point_is_refused() -> None:
    for low, high in DEFAULT_IGNORABLE:
        for point in range(low, high + 1):
            refusal = refused(f"Ma{chr(point)}rie")
            assert refusal.problem.startswith(f"holds U+{point:04X} ")


@pytest.mark.parametrize("ch", ["\u00a0", "\u3000", "\u2028", "\u3164"])
def test_an_other_space_or_invisible_character_at_the_end_is_refused_not_trimmed(ch: str) -> None:
    assert refused(f"Becker{ch}").problem.startswith(f"holds U+{ord(ch):04X} ")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Müller", "Müller"),
        ("Mu\u0308ller", "Müller"),
        ("José", "José"),
        ("Jose\u0301", "José"),
        ("Ñúñez", "Ñúñez"),
        ("N\u0303u\u0301n\u0303ez", "Ñúñez"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("D\u2019Angelo", "D\u2019Angelo"),
        ("van der Berg", "van der Berg"),
        ("李", "李"),
        ("김민준", "김민준"),
        ("\u1100\u1161", "\uac00"),
        ("Åberg", "Åberg"),
    ],
    ids=[
        "umlaut-nfc",
        "umlaut-nfd",
        "acute-nfc",
        "acute-nfd",
        "tilde-nfc",
        "tilde-nfd",
        "apostrophe-hyphen",
        "typographic-apostrophe",
        "plain-spaces",
        "han",
        "hangul",
        "hangul-jamo",
        "ring",
    ],
)
def test_ordinary_names_pass_in_their_composed_form(typed: str, stored: str) -> None:
    assert plain_text(f" {typed}\t", "family_name", 120) == stored


def test_a_lot_and_a_serial_keep_the_same_rule() -> None:
    assert refused("LOT-12\u2800", "lot").problem.startswith("holds U+2800 ")
    assert refused("SN\u3164123", "pump_serial").problem.startswith("holds U+3164 ")


@pytest.mark.parametrize(
    "look_alike", ["demo.nurse1\u3164", "demo.nurse\u115f1", "demo.nurse\uffa01", "demo_nurse1"]
)
def test_the_skeleton_drops_hangul_fillers_and_reads_an_underscore_as_a_separator(
    look_alike: str,
) -> None:
    """Accounts made before the rule keep their names; a new one is compared with them."""
    assert skeleton(look_alike) == skeleton("demo.nurse1")
