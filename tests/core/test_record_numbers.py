"""Record numbers: ASCII letters, digits, '-', '/' and '.' after NFKC normalisation, refused
otherwise with the value escaped; and the skeleton that tells which two a reader could take for
each other."""

from __future__ import annotations

import pytest

from painpump.core.errors import Refusal
from painpump.core.record_numbers import record_number, skeleton


@pytest.mark.parametrize(
    ("typed", "shown", "character"),
    [
        ("MRN-\u041e001", "MRN-\\u041e001", "U+041E (CYRILLIC CAPITAL LETTER O)"),
        ("MRN\u20110001", "MRN\\u20110001", "U+2011 (NON-BREAKING HYPHEN)"),
        ("MRN-0001\u200b", "MRN-0001\\u200b", "U+200B (ZERO WIDTH SPACE)"),
        ("MRN 0001", "MRN 0001", "U+0020 (SPACE)"),
        ("MRN-\u0966001", "MRN-\\u0966001", "U+0966 (DEVANAGARI DIGIT ZERO)"),
    ],
    ids=["cyrillic-o", "non-breaking-hyphen", "zero-width-space", "space", "devanagari-zero"],
)
def test_a_record_number_outside_the_safe_characters_is_refused_escaped_naming_the_rule(
    typed: str, shown: str, character: str
) -> None:
    with pytest.raises(Refusal) as caught:
        record_number(typed)
    assert caught.value.field == "mrn"
    assert caught.value.value == shown
    assert caught.value.problem == f"holds {character}, not allowed in a record number"
    assert "ASCII letters, digits, '-', '/' and '.'" in caught.value.limit
    assert caught.value.source.startswith("rule-record-number")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("MRN-0001", "MRN-0001"),
        ("  12/345.6 ", "12/345.6"),
        ("\uff2d\uff32\uff2e-\uff10\uff10\uff11", "MRN-001"),
    ],
    ids=["plain", "trimmed", "fullwidth"],
)
def test_a_safe_record_number_is_kept_in_its_nfkc_form(typed: str, stored: str) -> None:
    assert record_number(typed) == stored


@pytest.mark.parametrize("typed", ["", "-0001", "0001.", "A" * 41])
def test_an_empty_too_long_or_punctuation_edged_record_number_is_refused(typed: str) -> None:
    with pytest.raises(Refusal):
        record_number(typed)


@pytest.mark.parametrize(
    "look_alike",
    [
        "mrn-0001",
        "MRN-OOO1",
        "MRN-000l",
        "MRN-000I",
        "MRN-\u041e001",
        "MRN\u20110001",
        "\uff2d\uff32\uff2e-0001",
        "MRN-0001\u200b",
        "MRN-\u0966001",
        "\u039cRN-0001",
        "MRN-000\u0399",
    ],
    ids=[
        "lower-case",
        "letter-o",
        "letter-l",
        "capital-i",
        "cyrillic-o",
        "non-breaking-hyphen",
        "fullwidth",
        "zero-width-space",
        "devanagari-zero",
        "greek-capital-mu",
        "greek-capital-iota",
    ],
)
def test_look_alikes_of_a_record_number_share_its_skeleton(look_alike: str) -> None:
    assert skeleton(look_alike) == skeleton("MRN-0001")


@pytest.mark.parametrize(
    ("look_alike", "existing"),
    [
        ("DEMO.00001", "DEMO-00001"),
        ("DEMO/00001", "DEMO-00001"),
        ("DEMO--00001", "DEMO-00001"),
        ("DEMO00001", "DEMO-00001"),
        ("DEMO-0000S", "DEMO-00005"),
        ("DEMO-0000B", "DEMO-00008"),
        ("DEMO-0000Z", "DEMO-00002"),
        ("DEMO-0000G", "DEMO-00006"),
        ("DERNO-00001", "DEMO-00001"),
        ("derno.ooool", "DEMO-00001"),
    ],
)
def test_regression_separators_and_ascii_look_alikes_share_the_skeleton(
    look_alike: str, existing: str
) -> None:
    """The outside attack's look-alikes: a separator changed, doubled or left out; S for 5, B
    for 8, Z for 2, G for 6 and rn for m."""
    assert skeleton(look_alike) == skeleton(existing)


@pytest.mark.parametrize(
    ("look_alike", "existing"),
    [
        ("DEMO-VV1", "DEMO-W1"),
        ("WARD-7", "VVARD-7"),
        ("CLARK-7", "DARK-7"),
        ("C1ARK-7", "DARK-7"),
        ("ANNA-7", "AMA-7"),
        ("DEMO-000012", "DEMO-00012"),
        ("DEMO-12", "DEMO-00012"),
        ("DEMO-OOOO12", "DEMO-00012"),
        ("DEMO000012", "DEMO-00012"),
        ("12/0034", "12/34"),
        ("0012", "12"),
    ],
)
def test_regression_letter_pairs_and_leading_zeros_share_the_skeleton(
    look_alike: str, existing: str
) -> None:
    """The last outside attack's further look-alikes: VV for W, cl for d, nn for m, and an
    extra leading zero in a run of digits (the leading zeros of a run are read past)."""
    assert skeleton(look_alike) == skeleton(existing)


@pytest.mark.parametrize(
    "other",
    [
        "MRN-0002",
        "MRN-0001-1",
        "MN-0001",
        "MRN-8001",
        "MRN-0003",
        "MRN-1001",
        "MRN-0010",
        "MRN-0011",
        "MRN-10",
        "MRN-0",
    ],
)
def test_record_numbers_a_reader_tells_apart_have_different_skeletons(other: str) -> None:
    assert skeleton(other) != skeleton("MRN-0001")


@pytest.mark.parametrize("width", [5, 6])
def test_numbers_of_one_prefix_and_width_never_share_a_skeleton(width: int) -> None:
    """A clinic's own numbering (a prefix and zero-padded digits) stays apart, the prefix
    ending in a letter pair's first half or in a letter read as a digit too."""
    for prefix in ("DEMO-", "ABC-", "MRN", "B", "VV-", ""):
        numbers = [f"{prefix}{n:0{width}d}" for n in range(1, 1200)]
        assert len({skeleton(number) for number in numbers}) == len(numbers)
