"""Regression (eighth outside attack, M3): POST /api/patients answered 201 for family names holding
U+034F, U+FE0F, U+3164, U+115F, U+2800 or U+2028 (a given name too); beside `Becker`, a
`Bec\\u034fker` showed as "Becker" and a search for Becker did not list it. Each is a 422 naming
the field and the character, and nothing is stored; accented names pass, composed (NFC) however
they were typed, so that a search finds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from painpump.clinic.models import AuditEntry, Patient
from painpump.clinic.roles import Role
from painpump.core.text import TEXT_RULES

JSON = "application/json"


def new_patient(client: Client, mrn: str, **names: str) -> Any:
    body = {"mrn": mrn, "family_name": "Becker", "given_name": "Erika", "birth_date": "1960-01-01"}
    return client.post("/api/patients", body | names, content_type=JSON)


@pytest.mark.parametrize(
    ("field", "typed", "shown", "character"),
    [
        ("family_name", "Bec\u034fker", "Bec\\u034fker", "U+034F (COMBINING GRAPHEME JOINER)"),
        ("family_name", "Becker\ufe0f", "Becker\\ufe0f", "U+FE0F (VARIATION SELECTOR-16)"),
        ("family_name", "Bec\u3164ker", "Bec\\u3164ker", "U+3164 (HANGUL FILLER)"),
        ("family_name", "Bec\u115fker", "Bec\\u115fker", "U+115F (HANGUL CHOSEONG FILLER)"),
        ("family_name", "Bec\u2800ker", "Bec\\u2800ker", "U+2800 (BRAILLE PATTERN BLANK)"),
        ("family_name", "Bec\u2028ker", "Bec\\u2028ker", "U+2028 (LINE SEPARATOR)"),
        ("given_name", "Eri\u2028ka", "Eri\\u2028ka", "U+2028 (LINE SEPARATOR)"),
        ("family_name", "Bec\u00adker", "Bec\\u00adker", "U+00AD (SOFT HYPHEN)"),
        ("family_name", "Bec\u180eker", "Bec\\u180eker", "U+180E (MONGOLIAN VOWEL SEPARATOR)"),
        (
            "family_name",
            "Becker\U000e0041",
            "Becker\\U000e0041",
            "U+E0041 (TAG LATIN CAPITAL LETTER A)",
        ),
        ("family_name", "Becker\u00a0", "Becker\\u00a0", "U+00A0 (NO-BREAK SPACE)"),
    ],
    ids=[
        "combining-grapheme-joiner",
        "variation-selector",
        "hangul-filler",
        "hangul-choseong-filler",
        "blank-braille",
        "line-separator",
        "line-separator-given-name",
        "soft-hyphen",
        "mongolian-vowel-separator",
        "tag-letter",
        "trailing-no-break-space",
    ],
)
def test_regression_a_name_with_an_invisible_character_is_a_422_naming_it(
    client_as: Callable[[Role | None], Client], field: str, typed: str, shown: str, character: str
) -> None:
    before = Patient.objects.count(), AuditEntry.objects.count()
    response = new_patient(client_as(Role.NURSE), "MRN-B2", **{field: typed})
    assert response.status_code == 422, response.content[:500]
    error = response.json()["error"]
    assert (error["field"], error["value"], error["source"]) == (field, shown, TEXT_RULES)
    assert f"holds {character}, " in error["message"]
    assert (Patient.objects.count(), AuditEntry.objects.count()) == before


def test_regression_a_second_becker_cannot_hide_from_the_search(
    client_as: Callable[[Role | None], Client],
) -> None:
    client = client_as(Role.NURSE)
    assert new_patient(client, "MRN-B1").status_code == 201
    assert new_patient(client, "MRN-B2", family_name="Bec\u034fker").status_code == 422
    listed = client.get("/api/patients?q=Becker").json()
    assert [p["mrn"] for p in listed] == ["MRN-B1"]
    assert Patient.objects.count() == 1


@pytest.mark.parametrize(
    ("family_name", "given_name", "stored"),
    [
        ("Müller", "José", ("Müller", "José")),
        ("Mu\u0308ller", "Jose\u0301", ("Müller", "José")),
        ("O'Brien-Smith", "Anne-Marie", ("O'Brien-Smith", "Anne-Marie")),
        ("D\u2019Angelo", "Mary Ann", ("D\u2019Angelo", "Mary Ann")),
    ],
    ids=["accents-nfc", "accents-nfd", "apostrophe-hyphen", "typographic-apostrophe-space"],
)
def test_an_ordinary_name_passes_composed_and_is_found_by_its_composed_form(
    client_as: Callable[[Role | None], Client],
    family_name: str,
    given_name: str,
    stored: tuple[str, str],
) -> None:
    client = client_as(Role.NURSE)
    response = new_patient(client, "MRN-A1", family_name=family_name, given_name=given_name)
    assert response.status_code == 201, response.content[:500]
    created = response.json()
    assert (created["family_name"], created["given_name"]) == stored
    listed = client.get("/api/patients", {"q": stored[0]}).json()
    assert [p["mrn"] for p in listed] == ["MRN-A1"]
