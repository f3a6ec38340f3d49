"""The secret key and the audit key must be random (painpump.key_strength): a patterned key is
refused at start with its length and estimated bits, however long it is, while generated keys
(secrets.token_urlsafe(32) and longer) and phrases of six or more words still start."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from django.core.exceptions import ImproperlyConfigured

from painpump import key_strength
from painpump import settings as painpump_settings

PATTERNED = {
    # name: (key, the reason: its length and estimated bits)
    "steps-of-two": ("acegikmoqsuwyACEGIKMOQSUWY02468!#%&(*,.", "39 characters, about 79 bits"),
    "steps-of-three": ("adgjmpsvyADGJMPSVY0369BEHKNQTWZcfilorux", "39 characters, about 54 bits"),
    "letters-and-digits-interleaved": (
        "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0",
        "40 characters, about 52 bits",
    ),
    "capitals-interleaved": (
        "AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPpQqRrSsTt",
        "40 characters, about 34 bits",
    ),
    "counting-in-hex": (
        "".join(f"{n:02x}" for n in range(32)),
        "64 characters, about 56 bits",
    ),
    "counting": ("".join(str(n) for n in range(1, 40)), "69 characters, about 68 bits"),
    "every-fourth-counts": (
        "abc1abd2abe3abf4abg5abh6abi7abj8abk9",
        "36 characters, about 57 bits",
    ),
    "mirrored": ("xK9pQ2mZa7Lr4TbWWbT4rL7aZm2Qp9Kx", "32 characters, about 107 bits"),
    "shifted-copy": ("xK9pQ2mZa7Lr4TbWyL:qR3n[b8Ms5UcX", "32 characters, about 125 bits"),
    "copy-in-capitals": ("xk9pq2mza7lr4tbwXK9PQ2MZA7LR4TBW", "32 characters, about 95 bits"),
    "repeated-word": ("Hospital2024!" * 4, "52 characters, about 85 bits"),
    "repeated-phrase": ("correcthorse" * 4, "48 characters, about 56 bits"),
    "period-of-twenty": ("xK9pQ2mZa7Lr4TbWjh3N" * 2, "40 characters, about 119 bits"),
    "period-of-four": ("abcd" * 10, "40 characters, about 8 bits"),
    "digits-repeated": ("0123456789" * 4, "40 characters, about 8 bits"),
    "same": ("x" * 32, "32 characters, about 5 bits"),
    # eighth outside attack: a phrase typed twice, groups of four doubled and stepped along, words
    # of one length (a space every sixth character)
    "phrase-typed-twice": (
        "correct horse battery staple correct horse battery staple",
        "57 characters, about 171 bits",
    ),
    "doubled-stepped-groups": (
        "aB3$aB3$cD4%cD4%eF5^eF5^gH6&gH6&iJ7*iJ7*",
        "40 characters, about 92 bits",
    ),
    "words-of-one-length": ("apple bread chair dance eagle fence", "35 characters, about 171 bits"),
}
"""Issue 14: the first seven and the mirrored and shifted copies were accepted before."""

SECRET = ("PAINPUMP_SECRET_KEY", painpump_settings._secret_key, "must hold a random secret")
AUDIT = ("PAINPUMP_AUDIT_KEY", painpump_settings._audit_key, "must hold a random key")


@pytest.mark.parametrize("which", [SECRET, AUDIT], ids=["secret-key", "audit-key"])
@pytest.mark.parametrize(("key", "reason"), PATTERNED.values(), ids=PATTERNED.keys())
def test_a_patterned_key_refuses_to_start_naming_its_length_and_bits(
    monkeypatch: pytest.MonkeyPatch,
    which: tuple[str, Callable[[], str], str],
    key: str,
    reason: str,
) -> None:
    variable, read, refusal = which
    monkeypatch.delenv(f"{variable}_FILE", raising=False)
    monkeypatch.setenv(variable, key)
    with pytest.raises(ImproperlyConfigured) as refused:
        read()
    message = str(refused.value)
    assert message.startswith(f"{variable}")
    assert refusal in message
    assert key_strength.RULE in message
    assert f"; this one has {reason}" in message


PHRASES = [
    "correct horse battery staple orange river",
    "tundra-velvet-oxygen-marble-pickle-saturn",
    "glider anvil quartz mellow fabric tiger humble",
    "unsaddle-gloomily-recital-pliable-overreach-chowder",
    "rerun.vowel.sulk.tidy.oxymoron.gains",
    "Zesty Unfrozen Pushover Reprint Cola Handcuff",
]
"""Six or seven words (from the EFF's diceware lists and others), as a person would type them."""


@pytest.mark.parametrize("which", [SECRET, AUDIT], ids=["secret-key", "audit-key"])
@pytest.mark.parametrize("phrase", PHRASES)
def test_a_phrase_of_six_or_more_words_starts(
    monkeypatch: pytest.MonkeyPatch, which: tuple[str, Callable[[], str], str], phrase: str
) -> None:
    variable, read, _ = which
    monkeypatch.delenv(f"{variable}_FILE", raising=False)
    monkeypatch.setenv(variable, phrase)
    assert read() == phrase


@pytest.mark.parametrize("size", [32, 40, 48, 64])
def test_token_urlsafe_of_32_bytes_or_more_passes_every_time(size: int) -> None:
    """2,000 of each: the shortest, token_urlsafe(32) (43 characters, about 280 bits), came under
    225 in none of 10,000 tries, far above the rule's 180."""
    for _ in range(2000):
        key = secrets.token_urlsafe(size)
        assert key_strength.strong_enough(key), (key, key_strength.estimated_bits(key))


def test_a_random_32_character_key_keeps_its_bits() -> None:
    """The patterns counted need four characters, so a random key's chance triples cost nothing
    here: this one has no character predicted (32 of 95 possible, 210 bits)."""
    key = "k3J9-fQ2_zL8pW5xR1tY7vB4nM6cH0dS"
    assert key_strength.predicted(key) == []
    assert round(key_strength.estimated_bits(key)) == 210
    assert key_strength.strong_enough(key)


@pytest.mark.parametrize(
    ("key", "predicted"),
    [
        ("xK9pQ2mZaceg", "g"),  # a step of 2, four characters long
        ("xK9pQ2mZace", ""),  # three are not yet a progression
        ("xK9pQ2mZa1b2c3d4", "d4"),  # letters and digits interleaved
        ("xK9pQ2mZa1b2c3", ""),
        ("xK9pQ2mZ5TbWWbT", "T"),  # four seen before, backwards
        ("xK9pQ2mZKEYkey", ""),  # three in another case are not yet a repeat
        ("xK9pQ2mZpassPASS", "PASS"),  # four are, and all four of them count
        ("xK9pQ2mZR3n", ""),  # three shifted by one from four before
        ("xK9pQ2mZR3n[", "["),  # four
    ],
)
def test_a_character_counts_as_predicted_once_four_show_the_pattern(
    key: str, predicted: str
) -> None:
    found = "".join(key[i] for i in key_strength.predicted(key))
    assert found == predicted
