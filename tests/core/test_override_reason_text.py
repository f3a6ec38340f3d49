"""An override's reason follows the rule names, lots and serials follow (core.text.plain_text):
a character that does not show as itself (a zero-width joiner, a Hangul filler, a line
separator, the blank Braille pattern, a space but the plain one) is refused naming the field
and the character, where only control and format characters by their category were; a reason
is stored composed (NFC), its line breaks and runs of spaces one space, as before."""

from __future__ import annotations

import unicodedata

import pytest

from painpump.core.errors import Refusal
from painpump.core.overrides import MAX_REASON_CHARS, checked_reason
from painpump.core.text import TEXT_RULES

FIELD = "overrides[max_step_percent]"
SAID = "taper agreed with the patient"


@pytest.mark.parametrize(
    ("hidden", "kind"),
    [
        ("\u200d", "a control or format character"),  # zero-width joiner
        ("\u3164", "an invisible (default-ignorable or blank) character"),  # Hangul filler
        ("\u115f", "an invisible (default-ignorable or blank) character"),  # Hangul choseong filler
        ("\u2800", "an invisible (default-ignorable or blank) character"),  # blank Braille
        ("\u034f", "an invisible (default-ignorable or blank) character"),  # grapheme joiner
        ("\u2028", "a line or paragraph separator"),
        ("\u2029", "a line or paragraph separator"),
        ("\u00a0", "a space other than the plain space (U+0020)"),
        ("\u3000", "a space other than the plain space (U+0020)"),
        ("\x85", "a control or format character"),  # next line: was tidied into a space
    ],
)
def test_a_reason_with_a_character_that_does_not_show_as_itself_is_refused(
    hidden: str, kind: str
) -> None:
    typed = f"taper agreed{hidden} with the patient"
    with pytest.raises(Refusal) as caught:
        checked_reason(FIELD, typed)
    refused = caught.value
    assert refused.field == FIELD
    assert refused.source == TEXT_RULES
    assert f"U+{ord(hidden):04X}" in refused.message and kind in refused.message
    assert f"\\u{ord(hidden):04x}" in refused.value  # escaped, so the reader sees it


def test_a_reason_with_accents_passes_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Dosis mit der Patientin abgesprochen, Ärztin Müller")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    reason = checked_reason(FIELD, decomposed)
    assert reason == "Dosis mit der Patientin abgesprochen, Ärztin Müller"
    assert unicodedata.is_normalized("NFC", reason)
    assert checked_reason(FIELD, "réduction progressive décidée") == (
        "réduction progressive décidée"
    )


def test_line_breaks_tabs_and_runs_of_spaces_become_one_space() -> None:
    typed = "  taper agreed\r\nwith the\tpatient   today \n"
    assert checked_reason(FIELD, typed) == "taper agreed with the patient today"


def test_the_own_length_and_letter_rules_still_name_the_field() -> None:
    for typed, said in [
        ("short", "is too short to say why the limit is passed"),
        ("a" * (MAX_REASON_CHARS + 1), "is too long"),
        ("ab ab ab ab", "says nothing about why the limit is passed"),
    ]:
        with pytest.raises(Refusal) as caught:
            checked_reason(FIELD, typed)
        assert caught.value.field == FIELD and said in caught.value.message
    assert checked_reason(FIELD, SAID) == SAID
