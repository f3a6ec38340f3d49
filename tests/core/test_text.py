"""Text typed into a record: trimmed and bounded, and refused when it holds characters that do not
show as themselves (a name made to display as another)."""

from __future__ import annotations

import pytest

from painpump.core.errors import Refusal
from painpump.core.text import TEXT_RULES, plain_text


@pytest.mark.parametrize(
    ("typed", "shown", "code"),
    [
        ("Ann\u202ea", "Ann\\u202ea", "U+202E"),
        ("Mu\u200bster", "Mu\\u200bster", "U+200B"),
        ("Muster\u0007", "Muster\\u0007", "U+0007"),
        ("\u2066Muster\u2069", "\\u2066Muster\\u2069", "U+2066"),
        ("Mus\ue000ter", "Mus\\ue000ter", "U+E000"),
    ],
    ids=["right-to-left-override", "zero-width-space", "bell", "isolate", "private-use"],
)
def test_a_name_with_a_hidden_character_is_refused_escaped_naming_it(
    typed: str, shown: str, code: str
) -> None:
    with pytest.raises(Refusal) as caught:
        plain_text(typed, "family_name", 120)
    assert caught.value.field == "family_name"
    assert caught.value.value == shown
    assert caught.value.problem.startswith(f"holds {code}")
    assert caught.value.source == TEXT_RULES


@pytest.mark.parametrize("typed", ["Müller", "Ñúñez", "O'Brien-Smith", "李", "Åberg"])
def test_names_of_every_script_pass_trimmed(typed: str) -> None:
    assert plain_text(f"  {typed} ", "family_name", 120) == typed


def test_an_empty_or_too_long_name_is_refused() -> None:
    for typed in ("", "   ", "x" * 121):
        with pytest.raises(Refusal):
            plain_text(typed, "family_name", 120)
